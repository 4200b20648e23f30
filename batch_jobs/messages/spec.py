"""Job messages: a validated job spec dispatched to a registered function, at most one
effect per idempotency key.

A job message is JSON: ``{"job": "backfill", "params": {...}, "idempotency_key": "..."}``,
optionally with ``"launch": "ecs"`` (start the job as its own ECS task instead of running
it here), and for batch jobs ``"config"`` (the pipeline file) and ``"part"`` (``i/N``).
The runner claims the key in a DynamoDB ledger with a conditional write before running
the job (`attribute_not_exists`, or a lapsed claim of a crashed runner), marks it `done`
afterwards, and deletes the message. The same key delivered twice runs once: a `done` key
is deleted unrun, a key claimed by a live runner is left for later. An invalid spec or an
unknown job cannot succeed on retry and goes straight to the DLQ with its reason; a job
that raises is retried by redelivery and reaches the DLQ after the queue's receive limit.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection
from typing import Any, Literal

from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from consumer.errors import EtlError

log = logging.getLogger(__name__)


class JobSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    job: str = Field(min_length=1)
    params: dict[str, Any] = Field(default_factory=dict)
    idempotency_key: str = Field(min_length=1, max_length=512)
    launch: Literal["inline", "ecs"] = Field(
        "inline", description="run here, or start an ECS task of the same image (RunTask)"
    )
    config: str | None = Field(None, description="pipeline file of a batch job")
    part: str | None = Field(None, pattern=r"^\d+/\d+$", description="batch job part i/N")


class JobRejected(EtlError):
    """The message can never succeed (invalid spec, unknown job): DLQ at once."""


def parse(body: str, known: Collection[str]) -> JobSpec:
    try:
        spec = JobSpec.model_validate_json(body)
    except ValidationError as exc:
        raise JobRejected(f"invalid job spec: {exc.errors(include_url=False)[:3]}") from None
    if spec.job not in known:
        raise JobRejected(f"unknown job {spec.job!r} (known: {sorted(known)})")
    return spec


class JobLedger:
    """Idempotency records in DynamoDB, hash key `idempotency_key` (S)."""

    def __init__(
        self, client: Any, table: str, lease_s: int = 900, clock: Callable[[], float] = time.time
    ) -> None:
        self.client = client
        self.table = table
        self.lease_s = lease_s
        self.clock = clock

    def claim(self, key: str, job_name: str) -> str:
        """'claimed', 'done' (already had its effect) or 'busy' (a live runner holds it)."""
        now = int(self.clock())
        try:
            self.client.put_item(
                TableName=self.table,
                Item={
                    "idempotency_key": {"S": key},
                    "status": {"S": "running"},
                    "job": {"S": job_name},
                    "lease_until": {"N": str(now + self.lease_s)},
                },
                ConditionExpression="attribute_not_exists(idempotency_key) OR "
                "(#s = :running AND lease_until < :now)",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":running": {"S": "running"}, ":now": {"N": str(now)}},
            )
            return "claimed"
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
        item = self.client.get_item(
            TableName=self.table, Key={"idempotency_key": {"S": key}}, ConsistentRead=True
        ).get("Item", {})
        return "done" if item.get("status", {}).get("S") == "done" else "busy"

    def complete(self, key: str, task_arn: str | None = None) -> None:
        """Mark the key done; a job launched on ECS keeps the ARN of the task it started."""
        values: dict[str, Any] = {":done": {"S": "done"}, ":t": {"N": str(int(self.clock()))}}
        update = "SET #s = :done, finished_at = :t"
        if task_arn is not None:
            update += ", task_arn = :arn"
            values[":arn"] = {"S": task_arn}
        self.client.update_item(
            TableName=self.table,
            Key={"idempotency_key": {"S": key}},
            UpdateExpression=update,
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues=values,
        )

    def release(self, key: str) -> None:
        """Drop a claim after a failed run, so the retry can claim it at once."""
        self.client.delete_item(
            TableName=self.table,
            Key={"idempotency_key": {"S": key}},
            ConditionExpression="#s = :running",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":running": {"S": "running"}},
        )


def create_ledger_table(client: Any, table: str) -> None:
    try:
        client.create_table(
            TableName=table,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "idempotency_key", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "idempotency_key", "KeyType": "HASH"}],
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceInUseException":
            raise
