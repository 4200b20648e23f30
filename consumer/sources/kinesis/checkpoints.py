"""Per-shard checkpoints in DynamoDB.

`commit` is called only after every sink confirmed the cut ending at that position; a
shard read to its end is marked `ended` so that its children may start.

Positions are stored as fixed-width strings, so DynamoDB's string comparison orders them
and a conditional write refuses to move a checkpoint backwards.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from botocore.exceptions import ClientError

from consumer.delivery.retry import RetryConfig, backoff_delay
from consumer.flow import Position

log = logging.getLogger(__name__)
THROTTLED = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
    }
)

_SEQ_DIGITS = 60
_SUB_DIGITS = 10


def encode_position(position: Position) -> str:
    return f"{position.sequence:0{_SEQ_DIGITS}d}.{position.sub:0{_SUB_DIGITS}d}"


def decode_position(text: str) -> Position:
    sequence, _, sub = text.partition(".")
    return Position(int(sequence), int(sub or 0))


@dataclass(frozen=True, slots=True)
class ShardCheckpoint:
    position: Position | None = None
    ended: bool = False


class CheckpointStore(Protocol):
    def load(self, shard: str) -> ShardCheckpoint: ...

    def commit(self, shard: str, end: Position) -> None: ...

    def end_shard(self, shard: str) -> None: ...


class MemoryCheckpointStore:
    """In-process store for unit tests; same contract as the DynamoDB one."""

    def __init__(self) -> None:
        self.items: dict[str, ShardCheckpoint] = {}

    def load(self, shard: str) -> ShardCheckpoint:
        return self.items.get(shard, ShardCheckpoint())

    def commit(self, shard: str, end: Position) -> None:
        current = self.load(shard).position
        if current is not None and end < current:
            raise ValueError(f"checkpoint of {shard} would move back from {current} to {end}")
        self.items[shard] = ShardCheckpoint(end)

    def end_shard(self, shard: str) -> None:
        self.items[shard] = ShardCheckpoint(self.load(shard).position, ended=True)


class DynamoCheckpointStore:
    """Items keyed by `shard_key` = ``{application}#{stream}#{shard}``.

    Throttled reads and writes (on top of botocore's own few retries) are retried with
    full-jitter backoff for `retry.max_attempts`: a throttled checkpoint table slows the
    consumer down, never stops it. Other errors raise at once."""

    def __init__(
        self,
        client: Any,
        table: str,
        application: str,
        stream: str,
        retry: RetryConfig | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.table = table
        self.prefix = f"{application}#{stream}#"
        self.retry = retry or RetryConfig()
        self.sleep = sleep

    def _call(self, operation: str, **kwargs: Any) -> Any:
        for attempt in range(self.retry.max_attempts):
            try:
                return getattr(self.client, operation)(**kwargs)
            except ClientError as exc:
                code = exc.response["Error"]["Code"]
                if code not in THROTTLED or attempt + 1 == self.retry.max_attempts:
                    raise
                delay = backoff_delay(self.retry, attempt)
                log.warning(
                    "checkpoint table throttled",
                    extra={"operation": operation, "error": code, "delay_s": round(delay, 3)},
                )
                self.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _key(self, shard: str) -> dict[str, Any]:
        return {"shard_key": {"S": self.prefix + shard}}

    def load(self, shard: str) -> ShardCheckpoint:
        item = self._call(
            "get_item", TableName=self.table, Key=self._key(shard), ConsistentRead=True
        )
        found = item.get("Item")
        if not found:
            return ShardCheckpoint()
        position = found.get("checkpoint", {}).get("S")
        return ShardCheckpoint(
            decode_position(position) if position else None,
            found.get("ended", {}).get("BOOL", False),
        )

    def commit(self, shard: str, end: Position) -> None:
        try:
            self._update(
                shard,
                "SET checkpoint = :p, updated_at = :t",
                {":p": encode_position(end)},
                condition="attribute_not_exists(checkpoint) OR checkpoint <= :p",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise ValueError(f"checkpoint of {shard} would move backwards to {end}") from exc
            raise

    def end_shard(self, shard: str) -> None:
        self._update(shard, "SET ended = :e, updated_at = :t", {":e": True})

    def _update(
        self, shard: str, expression: str, values: dict[str, Any], condition: str | None = None
    ) -> None:
        attrs = {k: ({"BOOL": v} if isinstance(v, bool) else {"S": v}) for k, v in values.items()}
        attrs[":t"] = {"S": datetime.now(UTC).isoformat()}
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "Key": self._key(shard),
            "UpdateExpression": expression,
            "ExpressionAttributeValues": attrs,
        }
        if condition:
            kwargs["ConditionExpression"] = condition
        self._call("update_item", **kwargs)


def create_table(client: Any, table: str) -> None:
    """Create the checkpoint table (on-demand billing) unless it exists."""
    try:
        client.create_table(
            TableName=table,
            AttributeDefinitions=[{"AttributeName": "shard_key", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "shard_key", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceInUseException":
            raise
    client.get_waiter("table_exists").wait(TableName=table)
