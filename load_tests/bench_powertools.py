"""The peer a Lambda user would pick: Powertools for AWS Lambda's `BatchProcessor` with its
pydantic parser, beside sluice's core, on the same reference events, in this process.

Both sides do the same work per record: from the event as its runtime hands it over (the
Lambda event dict; the GetRecords entries as parsed JSON), base64-decode the data,
validate it with the same `OrderEvent` model, transform it with the same identity-style
function, encode a JSON line, put it in its hourly output partition (`dt=.../hr=...` from
`occurred_at`, sluice's `Partitioner` on both sides) and gzip each partition's lines at
level 1: per invocation of 500 records for Lambda, per cut of 500 for sluice. sluice also
turns entries into `Record`s (`to_records`, with the timestamps its client parses) and runs
the delivery engine (`load_tests/reader_loop.py`). Powertools runs as its documentation shows
(`process_partial_response`, a record model whose `data` is `Json[OrderEvent]`); the
Lambda runtime itself is not part of either figure.

A third figure is the floor: that shared work alone, in one plain loop, with nothing else
(no envelope model, no dispatch, no limits, routing or buffers), with the libraries a
Lambda user has by default (stdlib base64 and gzip). No consumer of this model, transform
and layout that picks those libraries can beat it.

The libraries are sluice's choice too, so two more rows show the gain from libraries apart
from the gain from design: Powertools and the floor with the libraries sluice picks
(pybase64's SIMD base64 decoder, ISA-L's gzip: `consumer.aws.clients.decode_blob`,
`consumer.sinks.gzipped.gzip_bytes`).
"""

from __future__ import annotations

import base64
import gzip
from collections.abc import Callable
from typing import Any

import orjson
from pydantic import Json, field_validator

from consumer.aws.clients import decode_blob, fast_timestamp
from consumer.delivery.buffer import BufferConfig
from consumer.pipeline.decode import DecodeConfig, Decoder
from consumer.pipeline.partitioning import PartitionConfig, Partitioner
from consumer.pipeline.process import Pipeline
from consumer.pipeline.route import Route, RouteConfig
from consumer.pipeline.router import Router
from consumer.sinks.gzipped import gzip_bytes
from consumer.sources.kinesis.records import to_records
from load_tests.reader_loop import bench_engine, feed, gzip_writer
from load_tests.reference import OrderEvent, events, order_route, order_row
from load_tests.timing import interleaved_us

COUNT, BATCH, LEVEL = 10_000, 500, 1
SEQUENCE = 49_650_000_000_000_000_000
ARRIVAL = 1_795_000_000.125
NEWLINE = orjson.OPT_APPEND_NEWLINE


def _partitioner() -> Partitioner:
    """The reference route's output partitions: hourly, from `occurred_at`."""
    return Partitioner(PartitionConfig(time_field="occurred_at"))


def _stdlib_gzip(data: bytes) -> bytes:
    return gzip.compress(data, LEVEL)


def _gzip_each(buffers: dict[str, list[bytes]], compress: Callable[[bytes], bytes]) -> None:
    for lines in buffers.values():
        compress(b"".join(lines))
    buffers.clear()


def _lambda_events(data: list[bytes]) -> list[dict[str, Any]]:
    """Kinesis events for Lambda, BATCH records each, as the event source mapping sends."""
    out = []
    for start in range(0, len(data), BATCH):
        records = [
            {
                "kinesis": {
                    "kinesisSchemaVersion": "1.0",
                    "partitionKey": f"customer-{index % 97}",
                    "sequenceNumber": str(SEQUENCE + index),
                    "data": base64.b64encode(raw).decode(),
                    "approximateArrivalTimestamp": ARRIVAL,
                },
                "eventSource": "aws:kinesis",
                "eventVersion": "1.0",
                "eventID": f"shardId-000000000000:{SEQUENCE + index}",
                "eventName": "aws:kinesis:record",
                "invokeIdentityArn": "arn:aws:iam::123456789012:role/lambda-role",
                "awsRegion": "us-east-1",
                "eventSourceARN": "arn:aws:kinesis:us-east-1:123456789012:stream/orders",
            }
            for index, raw in enumerate(data[start : start + BATCH], start)
        ]
        out.append({"Records": records})
    return out


def _fast_gzip(data: bytes) -> bytes:
    return gzip_bytes(data, LEVEL)


def _powertools(lambda_events: list[dict[str, Any]], fast: bool = False) -> Callable[[], None]:
    """Powertools as documented; with `fast`, with sluice's base64 and gzip libraries."""
    from aws_lambda_powertools.utilities.batch import (
        BatchProcessor,
        EventType,
        process_partial_response,
    )
    from aws_lambda_powertools.utilities.parser.models import (
        KinesisDataStreamRecord,
        KinesisDataStreamRecordPayload,
    )

    class OrderPayload(KinesisDataStreamRecordPayload):
        data: Json[OrderEvent]

    class FastOrderPayload(OrderPayload):
        @field_validator("data", mode="before")
        @classmethod
        def data_base64_decode(cls, value: str) -> bytes:
            return decode_blob(value)

    class OrderRecord(KinesisDataStreamRecord):
        kinesis: OrderPayload

    class FastOrderRecord(KinesisDataStreamRecord):
        kinesis: FastOrderPayload

    model = FastOrderRecord if fast else OrderRecord
    processor = BatchProcessor(event_type=EventType.KinesisDataStreams, model=model)
    compress = _fast_gzip if fast else _stdlib_gzip
    partitioner = _partitioner()
    buffers: dict[str, list[bytes]] = {}

    def handler(record: OrderRecord) -> None:
        row = order_row(record.kinesis.data)
        line = orjson.dumps(row, option=NEWLINE)
        buffers.setdefault(partitioner.partition(row, ARRIVAL), []).append(line)

    def run() -> None:
        for event in lambda_events:
            response = process_partial_response(
                event=event, record_handler=handler, processor=processor, context=None
            )
            assert not response["batchItemFailures"]
            _gzip_each(buffers, compress)  # a Lambda writes what it got before it returns

    return run


def _responses(data: list[bytes]) -> list[list[dict[str, Any]]]:
    """GetRecords entries of BATCH records each, as the response's JSON parses."""
    return [
        [
            {
                "SequenceNumber": str(SEQUENCE + index),
                "ApproximateArrivalTimestamp": ARRIVAL,
                "Data": base64.b64encode(raw).decode(),
                "PartitionKey": f"customer-{index % 97}",
            }
            for index, raw in enumerate(data[start : start + BATCH], start)
        ]
        for start in range(0, len(data), BATCH)
    ]


def _sluice(responses: list[list[dict[str, Any]]]) -> Callable[[], None]:
    spec = order_route(transform="load_tests.reference:order_row")
    route = Route(RouteConfig.model_validate(spec), 0)
    # S3 is the only sink: lines only, as `assemble` decides (the transform's rows are kept)
    pipeline = Pipeline(Decoder(DecodeConfig()), [route], Router([route], "type"), None, {"orders"})
    limits = BufferConfig(max_records=BATCH, max_bytes=50_000_000, max_age_s=60)
    write = gzip_writer(LEVEL)

    def run() -> None:
        shard = "shardId-000000000000"
        engine = bench_engine(pipeline, limits, write, "orders")
        for entries in responses:
            parsed = [  # what sluice's client parser adds to the JSON: bytes, timestamps
                {
                    **entry,
                    "Data": decode_blob(entry["Data"]),
                    "ApproximateArrivalTimestamp": fast_timestamp(
                        entry["ApproximateArrivalTimestamp"]
                    ),
                }
                for entry in entries
            ]
            records = [record for record, _ in to_records("orders", shard, parsed)]
            feed(engine, shard, records)
        engine.flush(shard)

    return run


def _floor(lambda_events: list[dict[str, Any]], fast: bool = False) -> Callable[[], None]:
    partitioner = _partitioner()
    validate = OrderEvent.model_validate_json
    b64decode = decode_blob if fast else base64.b64decode
    compress = _fast_gzip if fast else _stdlib_gzip

    def run() -> None:
        buffers: dict[str, list[bytes]] = {}
        for event in lambda_events:
            for record in event["Records"]:
                row = order_row(validate(b64decode(record["kinesis"]["data"])))
                line = orjson.dumps(row, option=NEWLINE)
                buffers.setdefault(partitioner.partition(row, ARRIVAL), []).append(line)
            _gzip_each(buffers, compress)

    return run


def run() -> list[tuple[str, float]]:
    data = events(COUNT)
    lambda_events = _lambda_events(data)
    try:
        powertools = _powertools(lambda_events)
    except ImportError:
        print("powertools group skipped: aws-lambda-powertools is not installed (dev extra)")
        return []
    return interleaved_us(
        [
            ("Powertools BatchProcessor + pydantic parser (baseline)", powertools),
            (
                "Powertools, with sluice's libraries (SIMD base64, ISA-L gzip)",
                _powertools(lambda_events, fast=True),
            ),
            ("sluice core, same model, transform and partitions", _sluice(_responses(data))),
            (
                "floor: the shared work alone (base64, validate, dump, partition, gzip)",
                _floor(lambda_events),
            ),
            ("floor, with sluice's libraries", _floor(lambda_events, fast=True)),
        ],
        COUNT,
    )
