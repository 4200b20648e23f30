"""DynamoDB sink: BatchWriteItem in chunks of 25, or conditional puts for a monotonic guard.

Without a `version_field` rows are written with BatchWriteItem, and unprocessed items are
resent with backoff until none are left or the budget is spent (then the write raises and
nothing is acked). With one, every row is a PutItem conditioned on the stored version
being absent or not newer, so a replayed older row never overwrites a newer one; a failed
condition is the guard working, not an error. Rows are collapsed to one per key first.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal
from uuid import UUID

from boto3.dynamodb.types import TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ConfigDict, Field

from consumer.errors import EtlError, SinkConfigError
from consumer.flow import Batch
from consumer.sinks.base import BuildContext, SinkBase
from consumer.sinks.diagnosis import dynamodb as diagnose
from consumer.sinks.rows import one_per_key, target_table

_CHUNK = 25
_RETRIABLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionConflictException",
    }
)
_SERIALIZER = TypeSerializer()


class UnprocessedItemsError(EtlError):
    """BatchWriteItem kept returning unprocessed items; retriable."""


class DynamoDbSinkConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["dynamodb"] = "dynamodb"
    table: str | None = Field(None, description="target table; the route name when unset")
    unprocessed_attempts: int = Field(8, ge=1, description="resends of unprocessed items")
    max_workers: int = Field(8, ge=1, description="parallel conditional puts per batch")

    def build(self, name: str, ctx: BuildContext) -> DynamoDbSink:
        return DynamoDbSink(name, self, ctx.aws.client("dynamodb"))


def to_attribute(value: Any) -> Any:
    """Python values as DynamoDB attribute values (floats as exact decimals)."""
    if isinstance(value, float):
        value = Decimal(repr(value))
    elif isinstance(value, datetime | date):
        value = value.isoformat()
    elif isinstance(value, UUID):
        value = str(value)
    elif isinstance(value, dict):
        return {"M": {str(k): to_attribute(v) for k, v in value.items()}}
    elif isinstance(value, list | tuple):
        return {"L": [to_attribute(v) for v in value]}
    return _SERIALIZER.serialize(value)


def to_item(row: dict[str, Any]) -> dict[str, Any]:
    return {name: to_attribute(value) for name, value in row.items() if value is not None}


class DynamoDbSink(SinkBase):
    def __init__(
        self, name: str, config: DynamoDbSinkConfig, client: Any, sleep: Any = time.sleep
    ) -> None:
        self.name = name
        self.config = config
        self.client = client
        self.sleep = sleep
        self._pool = ThreadPoolExecutor(config.max_workers, thread_name_prefix=f"ddb-{name}")

    def write(self, batch: Batch) -> None:
        table = target_table(batch, self.config.table)
        try:
            self._write(batch, table)
        except ClientError as exc:
            diagnosis = diagnose(exc, table, batch.route)
            if diagnosis is None:
                raise
            raise SinkConfigError(f"sink {self.name!r} route {batch.route!r}: {diagnosis}") from exc

    def _write(self, batch: Batch, table: str) -> None:
        rows = one_per_key(batch.rows, batch.key_fields, batch.version_field)
        items = [to_item(row) for row in rows]
        if batch.version_field:
            self._conditional_puts(table, items, batch.key_fields[0], batch.version_field)
        else:
            for start in range(0, len(items), _CHUNK):
                self._batch_write(table, items[start : start + _CHUNK])

    def _batch_write(self, table: str, items: Sequence[dict[str, Any]]) -> None:
        requests: dict[str, Any] = {table: [{"PutRequest": {"Item": item}} for item in items]}
        for attempt in range(self.config.unprocessed_attempts):
            response = self.client.batch_write_item(RequestItems=requests)
            requests = response.get("UnprocessedItems") or {}
            if not requests:
                return
            self.sleep(min(5.0, 0.05 * 2**attempt))
        left = sum(len(v) for v in requests.values())
        raise UnprocessedItemsError(f"{left} items still unprocessed in {table}")

    def _conditional_puts(
        self, table: str, items: Sequence[dict[str, Any]], key: str, version: str
    ) -> None:
        def put(item: dict[str, Any]) -> None:
            if version not in item:
                self.client.put_item(TableName=table, Item=item)
                return
            try:
                self.client.put_item(
                    TableName=table,
                    Item=item,
                    ConditionExpression="attribute_not_exists(#k) OR #v <= :v",
                    ExpressionAttributeNames={"#k": key, "#v": version},
                    ExpressionAttributeValues={":v": item[version]},
                )
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise

        for future in [self._pool.submit(put, item) for item in items]:
            future.result()

    def is_retriable(self, exc: BaseException) -> bool:
        if isinstance(exc, ClientError):
            return exc.response.get("Error", {}).get("Code") in _RETRIABLE_CODES
        return isinstance(exc, UnprocessedItemsError | BotoCoreError | ConnectionError)

    def close(self) -> None:
        self._pool.shutdown(wait=True)
