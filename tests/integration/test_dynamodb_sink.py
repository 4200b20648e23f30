"""The DynamoDB sink against the emulator: chunks of 25, unprocessed items, version guard."""

from __future__ import annotations

from typing import Any

import pytest

from consumer.aws.clients import AwsClients
from consumer.flow import Batch, Position
from consumer.sinks.dynamodb import DynamoDbSink, DynamoDbSinkConfig

pytestmark = pytest.mark.integration


def _table(aws: AwsClients, name: str) -> None:
    client = aws.client("dynamodb")
    client.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    )


def _batch(rows: list[dict[str, Any]], version: str | None) -> Batch:
    return Batch(
        route="items",
        source="s",
        partition="p",
        output_partition="",
        first_position=Position(1),
        last_position=Position(1),
        rows=rows,
        lines=[],
        key_fields=("id",),
        version_field=version,
    )


def _items(aws: AwsClients, table: str) -> dict[str, dict[str, Any]]:
    pages = aws.client("dynamodb").get_paginator("scan").paginate(TableName=table)
    return {item["id"]["S"]: item for page in pages for item in page["Items"]}


class HalfUnprocessed:
    """Proxy that makes the first BatchWriteItem call leave half its items unprocessed."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def batch_write_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        self.calls += 1
        if self.calls > 1:
            return dict(self.client.batch_write_item(RequestItems=RequestItems))
        ((table, requests),) = RequestItems.items()
        half = len(requests) // 2
        self.client.batch_write_item(RequestItems={table: requests[:half]})
        return {"UnprocessedItems": {table: requests[half:]}}


def test_batches_of_more_than_25_and_unprocessed_items(aws: AwsClients, unique: str) -> None:
    # GIVEN 60 rows and a service that leaves half of the first call unprocessed
    table = f"items-{unique}"
    _table(aws, table)
    client = HalfUnprocessed(aws.client("dynamodb"))
    sink = DynamoDbSink("ddb", DynamoDbSinkConfig(table=table), client, sleep=lambda s: None)
    rows = [
        {"id": f"i{i}", "n": i, "ratio": i / 3, "tags": ["a", "b"], "meta": {"k": None}}
        for i in range(60)
    ]

    # WHEN written
    sink.write(_batch(rows, version=None))
    sink.close()

    # THEN all are there, floats exact as decimals, nested values kept
    items = _items(aws, table)
    assert len(items) == 60 and client.calls == 4
    assert items["i7"]["ratio"] == {"N": "2.3333333333333335"}
    assert items["i7"]["tags"] == {"L": [{"S": "a"}, {"S": "b"}]}


def test_version_guard_keeps_the_newer_item(aws: AwsClients, unique: str) -> None:
    table = f"items-{unique}"
    _table(aws, table)
    sink = DynamoDbSink("ddb", DynamoDbSinkConfig(table=table), aws.client("dynamodb"))
    sink.write(_batch([{"id": f"i{i}", "v": 5, "who": "new"} for i in range(10)], "v"))
    sink.write(_batch([{"id": f"i{i}", "v": 3, "who": "old"} for i in range(5, 15)], "v"))
    sink.write(_batch([{"id": "i0", "v": 5, "who": "new-again"}], "v"))
    sink.close()
    items = _items(aws, table)
    assert {k: v["who"]["S"] for k, v in items.items()} == {
        **{f"i{i}": "new" for i in range(1, 10)},
        "i0": "new-again",
        **{f"i{i}": "old" for i in range(10, 15)},
    }
