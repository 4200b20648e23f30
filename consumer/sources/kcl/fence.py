"""Is this shard's lease still ours? Asked by a KCL child before every write.

A worker paused past its lease expiry (a long GC, a frozen container, SIGSTOP) is a
zombie: another worker has taken its shards and goes on from the last checkpoint, but the
zombie's daemon may still hand its children records for a moment after it resumes, before
its lease renewer notices the loss. A zombie's cut starts at the same checkpoint as the new
owner's, so its S3 object has the same key; written late, it would replace the new owner's
larger object, and the records only the new owner had written would be gone from the
lake. So before each write the child reads the lease (a consistent read of `leaseOwner`)
and writes only while its worker owns it.

`sluice kcl run` names the worker (`workerId`) and passes it and the lease table to the
children as `SLUICE_KCL_WORKER_ID` and `SLUICE_KCL_LEASE_TABLE`. The check narrows the
window to the moment between the read and the write; it cannot close it (S3 has no write
conditional on a DynamoDB item), which docs/decisions.md states.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from consumer.errors import SinkError

WORKER_ENV = "SLUICE_KCL_WORKER_ID"
TABLE_ENV = "SLUICE_KCL_LEASE_TABLE"


class LeaseFence:
    def __init__(self, dynamodb: Any, table: str, worker_id: str) -> None:
        self.dynamodb = dynamodb
        self.table = table
        self.worker_id = worker_id

    @classmethod
    def from_env(cls, env: Mapping[str, str], dynamodb: Any) -> LeaseFence | None:
        """The fence `sluice kcl run` asked for, or None when the child runs without it
        (a daemon started by hand with its own properties)."""
        worker, table = env.get(WORKER_ENV), env.get(TABLE_ENV)
        if not worker or not table:
            return None
        return cls(dynamodb, table, worker)

    def owner(self, shard: str) -> str | None:
        try:
            item = self.dynamodb.get_item(
                TableName=self.table,
                Key={"leaseKey": {"S": shard}},
                ConsistentRead=True,
                ProjectionExpression="leaseOwner",
            ).get("Item")
        except (BotoCoreError, ClientError) as exc:
            raise SinkError(f"lease check of {shard} in {self.table} failed: {exc}") from exc
        return None if item is None else item.get("leaseOwner", {}).get("S")

    def holds(self, shard: str) -> bool:
        return self.owner(shard) == self.worker_id
