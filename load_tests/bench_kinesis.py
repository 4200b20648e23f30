"""Kinesis GetRecords parsing: a plain boto3 client's parser beside the polling reader's.

Both parse the same GetRecords response bodies (1,000 reference events each, base64 as
Kinesis sends them). The baseline is what any boto3 loop pays per response: botocore's JSON
parser with its default timestamp parser. sluice's figure is its clients' parser (GetRecords
in one pass with orjson, `fast_timestamp`, pybase64: consumer/aws/parsers.py) plus turning
the entries into sluice `Record`s (`to_records`, KPL check included): the reader's whole
per-record parsing cost. The row keeps its first-round name so rounds compare.
"""

from __future__ import annotations

import base64
from typing import Any

import botocore.session
import orjson
from botocore import parsers

from consumer.aws.clients import AwsClients
from consumer.sources.kinesis.records import to_records
from load_tests.reference import events
from load_tests.timing import interleaved_us

RECORDS, RESPONSES = 1_000, 10


def _bodies() -> list[dict[str, Any]]:
    data = events(RECORDS)
    base_sequence = 49_650_000_000_000_000_000_000_000_000_000_000_000_000_000_000_000_000
    out = []
    for response in range(RESPONSES):
        entries = [
            {
                "SequenceNumber": str(base_sequence + response * RECORDS + index),
                "ApproximateArrivalTimestamp": 1_795_000_000.125 + index / 1000,
                "Data": base64.b64encode(raw).decode(),
                "PartitionKey": f"customer-{index % 97}",
            }
            for index, raw in enumerate(data)
        ]
        body = {"Records": entries, "NextShardIterator": "A" * 220, "MillisBehindLatest": 0}
        out.append({"status_code": 200, "headers": {}, "body": orjson.dumps(body)})
    return out


def run() -> list[tuple[str, float]]:
    bodies = _bodies()
    shape = (
        botocore.session.get_session()
        .get_service_model("kinesis")
        .operation_model("GetRecords")
        .output_shape
    )
    plain = parsers.JSONParser()
    client = AwsClients(region="us-east-1", endpoint_url="http://127.0.0.1:9").client("kinesis")
    ours = client._endpoint._response_parser_factory.create_parser("json")

    def boto3_loop() -> None:
        for body in bodies:
            plain.parse(body, shape)

    def sluice_reader() -> None:
        for body in bodies:
            for _ in to_records("s", "shardId-0", ours.parse(body, shape)["Records"]):
                pass

    return interleaved_us(
        [
            ("GetRecords parsing: plain boto3 client (baseline)", boto3_loop),
            ("GetRecords parsing: sluice reader (fast timestamps + Records)", sluice_reader),
        ],
        RECORDS * RESPONSES,
    )
