"""The peer a Lambda user would pick: Powertools for AWS Lambda's `BatchProcessor` with its
pydantic parser, beside sluice's core, on the same reference events, in this process.

Both start from base64 record data (a Lambda Kinesis event for Powertools, what
GetRecords carries for sluice), validate with the same `OrderEvent` model, transform with
the same identity-style function, encode JSON Lines and gzip each batch of 500 at level 1.
Powertools runs as its documentation shows (`process_partial_response`, a record model
whose `data` is `Json[OrderEvent]`); the Lambda runtime itself is not part of either figure.
"""

from __future__ import annotations

import base64
import gzip
from collections.abc import Callable
from typing import Any

import orjson
from pydantic import Json

from consumer.batcher import PartitionBatcher
from consumer.decode import DecodeConfig, Decoder
from consumer.pipeline import Pipeline
from consumer.record import Position, Record
from consumer.route import BufferConfig, Route, RouteConfig
from consumer.routing import Router
from load_tests.reference import OrderEvent, events, order_route, order_row
from load_tests.timing import interleaved_us

COUNT, BATCH, LEVEL = 10_000, 500, 1


def _lambda_events(data: list[bytes]) -> list[dict[str, Any]]:
    """Kinesis events for Lambda, BATCH records each, as the event source mapping sends."""
    out = []
    for start in range(0, len(data), BATCH):
        records = [
            {
                "kinesis": {
                    "kinesisSchemaVersion": "1.0",
                    "partitionKey": f"customer-{index % 97}",
                    "sequenceNumber": str(49_650_000_000_000_000_000 + index),
                    "data": base64.b64encode(raw).decode(),
                    "approximateArrivalTimestamp": 1_795_000_000.125,
                },
                "eventSource": "aws:kinesis",
                "eventVersion": "1.0",
                "eventID": f"shardId-000000000000:{49_650_000_000_000_000_000 + index}",
                "eventName": "aws:kinesis:record",
                "invokeIdentityArn": "arn:aws:iam::123456789012:role/lambda-role",
                "awsRegion": "us-east-1",
                "eventSourceARN": "arn:aws:kinesis:us-east-1:123456789012:stream/orders",
            }
            for index, raw in enumerate(data[start : start + BATCH], start)
        ]
        out.append({"Records": records})
    return out


def _powertools(lambda_events: list[dict[str, Any]]) -> Callable[[], None]:
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

    class OrderRecord(KinesisDataStreamRecord):
        kinesis: OrderPayload

    processor = BatchProcessor(event_type=EventType.KinesisDataStreams, model=OrderRecord)
    newline = orjson.OPT_APPEND_NEWLINE
    lines: list[bytes] = []

    def handler(record: OrderRecord) -> None:
        lines.append(orjson.dumps(order_row(record.kinesis.data), option=newline))

    def run() -> None:
        for event in lambda_events:
            response = process_partial_response(
                event=event, record_handler=handler, processor=processor, context=None
            )
            assert not response["batchItemFailures"]
            gzip.compress(b"".join(lines), LEVEL)
            lines.clear()

    return run


def _sluice(encoded: list[str]) -> Callable[[], None]:
    spec = order_route(transform="load_tests.reference:order_row")
    route = Route(RouteConfig.model_validate(spec), 0)
    pipeline = Pipeline(Decoder(DecodeConfig()), [route], Router([route], "type"))
    limits = BufferConfig(max_records=BATCH, max_bytes=50_000_000, max_age_s=60)

    def run() -> None:
        batcher = PartitionBatcher("s", "p", limits)
        for index, data in enumerate(encoded):
            record = Record("s", "p", Position(index), "k", 0.0, base64.b64decode(data))
            items, quarantined = pipeline.process(record)
            batcher.add(record.position, items, quarantined)
            if batcher.full:
                for batch in batcher.cut().batches:
                    gzip.compress(b"".join(batch.lines), LEVEL)

    return run


def run() -> list[tuple[str, float]]:
    data = events(COUNT)
    try:
        powertools = _powertools(_lambda_events(data))
    except ImportError:
        print("powertools group skipped: aws-lambda-powertools is not installed (dev extra)")
        return []
    encoded = [base64.b64encode(raw).decode() for raw in data]
    return interleaved_us(
        [
            ("Powertools BatchProcessor + pydantic parser (baseline)", powertools),
            ("sluice core, same model and transform", _sluice(encoded)),
        ],
        COUNT,
    )
