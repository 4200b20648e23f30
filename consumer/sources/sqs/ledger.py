"""The SQS ledger: which cut each message was written in, so that a message is in the lake
exactly once, whatever SQS redelivers and whenever (docs/decisions.md, "SQS into the lake
exactly once").

One DynamoDB table, two kinds of item:

- a claim `m#<queue>#<message id>` -> {cut}: the message's rows ride that cut;
- a cut `c#<cut id>` -> {state, owner, lease_until}: PENDING while its owner buffers and
  writes it, COMMITTED once every sink confirmed it, ABORTED when another consumer found it
  abandoned (its lease lapsed). COMMITTED and ABORTED are final.

A message is in the lake iff its claim names a COMMITTED cut. Every transition is a
conditional write, so a commit and an abort of the same cut can never both succeed: the
zombie whose cut was aborted learns it when its commit is refused, and its staged objects
were never visible. Items expire (TTL on `exp`) after the queue's retention, when SQS can
no longer redeliver what they guard.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import Enum
from typing import Any

from botocore.exceptions import ClientError

log = logging.getLogger(__name__)

PENDING, COMMITTED, ABORTED = "PENDING", "COMMITTED", "ABORTED"


class Claim(Enum):
    MINE = "mine"
    """Claimed for this consumer's open cut: take it."""
    DONE = "done"
    """Already in the lake (its cut is committed): delete it, write nothing."""
    HELD = "held"
    """Another live consumer's open cut holds it: leave it, it comes back later."""


@dataclass(frozen=True, slots=True)
class CutState:
    cut: str
    state: str
    owner: str
    lease_until: float


def create_table(client: Any, table: str) -> None:
    """The ledger table, if missing (local runs; Terraform makes it in AWS)."""
    try:
        client.create_table(
            TableName=table,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceInUseException":
            raise
        return
    client.get_waiter("table_exists").wait(TableName=table)
    client.update_time_to_live(
        TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"}
    )


class SqsLedger:
    def __init__(
        self,
        client: Any,
        table: str,
        queue: str,
        keep_s: float,
        lease_s: float,
        clock: Callable[[], float] = time.time,
        workers: int = 10,
    ) -> None:
        self.client = client
        self.table = table
        self.queue = queue
        self.keep_s = keep_s
        """How long items are kept: the queue's retention and a margin."""
        self.lease_s = lease_s
        self.clock = clock
        self.owner = uuid.uuid4().hex
        """This consumer, for as long as it runs: a restarted process is a new owner."""
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="sqs-ledger")

    # -- cuts ---------------------------------------------------------------------------------
    def open_cut(self) -> str:
        cut = uuid.uuid4().hex
        self.client.put_item(
            TableName=self.table,
            Item={
                "pk": {"S": f"c#{cut}"},
                "state": {"S": PENDING},
                "owner": {"S": self.owner},
                "lease_until": {"N": self._lease()},
                "exp": {"N": self._exp()},
            },
            ConditionExpression="attribute_not_exists(pk)",
        )
        return cut

    def renew(self, cut: str) -> bool:
        """Extend this consumer's lease on its open cut; False when it is no longer ours
        (another consumer aborted it)."""
        return self._update(cut, "SET lease_until = :lease", "#s = :pending AND #o = :me")

    def commit(self, cut: str) -> bool:
        """The cut's rows are in every sink: make its claims final. False when the cut was
        aborted meanwhile (this consumer was taken for dead): nothing may be published."""
        return self._update(cut, "SET #s = :committed", "#s = :pending AND #o = :me")

    def abort(self, cut: str, mine: bool = False) -> bool:
        """End a PENDING cut without writing it: its owner's (`mine`) or one whose lease
        lapsed. Its claims are free for other cuts."""
        condition = "#s = :pending AND " + ("#o = :me" if mine else "lease_until < :now")
        return self._update(cut, "SET #s = :aborted", condition)

    def state(self, cut: str) -> CutState | None:
        item = self.client.get_item(
            TableName=self.table, Key={"pk": {"S": f"c#{cut}"}}, ConsistentRead=True
        ).get("Item")
        if item is None:
            return None
        return CutState(
            cut, item["state"]["S"], item["owner"]["S"], float(item["lease_until"]["N"])
        )

    # -- claims -------------------------------------------------------------------------------
    def claim(self, cut: str, message_ids: Sequence[str]) -> dict[str, tuple[Claim, str]]:
        """Claim each message for `cut`; what became of each, and the cut that holds it. A
        message claimed by a cut that was aborted, or abandoned (lease lapsed: aborted
        here), is taken over."""
        results = self._pool.map(lambda mid: self._claim_one(cut, mid), message_ids)
        return dict(zip(message_ids, results, strict=True))

    def release(self, cut: str, message_ids: Iterable[str]) -> None:
        """Drop the claims of messages that will not ride `cut` (retried, put back)."""
        futures = [
            self._pool.submit(
                self._call,
                "delete_item",
                TableName=self.table,
                Key={"pk": {"S": self._claim_key(mid)}},
                ConditionExpression="#c = :cut",
                ExpressionAttributeNames={"#c": "cut"},
                ExpressionAttributeValues={":cut": {"S": cut}},
            )
            for mid in message_ids
        ]
        for future in futures:
            future.result()

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def _claim_one(self, cut: str, message_id: str, attempts: int = 3) -> tuple[Claim, str]:
        holder = ""
        for _ in range(attempts):
            holder = self._put_claim(cut, message_id, None) or cut
            if holder == cut:
                return Claim.MINE, cut
            found = self.state(holder)
            if found is not None and found.state == COMMITTED:
                return Claim.DONE, holder
            if found is not None and found.state == PENDING:
                if found.lease_until >= self.clock():
                    return Claim.HELD, holder
                if not self.abort(holder):
                    continue  # committed or renewed just now: look again
                log.warning("abandoned cut aborted", extra={"cut": holder, "owner": found.owner})
            if self._put_claim(cut, message_id, holder) is None:
                return Claim.MINE, cut
        return Claim.HELD, holder

    def _put_claim(self, cut: str, message_id: str, replacing: str | None) -> str | None:
        """Write the claim; None when written, else the cut that holds the message."""
        condition, values = "attribute_not_exists(pk)", {}
        if replacing is not None:
            condition, values = "#c = :old", {":old": {"S": replacing}}
        try:
            self.client.put_item(
                TableName=self.table,
                Item={
                    "pk": {"S": self._claim_key(message_id)},
                    "cut": {"S": cut},
                    "exp": {"N": self._exp()},
                },
                ConditionExpression=condition,
                **({"ExpressionAttributeNames": {"#c": "cut"}} if replacing else {}),
                **({"ExpressionAttributeValues": values} if values else {}),
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            old = exc.response.get("Item") or self._claim_item(message_id) or {}
            holder = old.get("cut", {}).get("S")
            return str(holder) if holder else (replacing or "")
        return None

    def _claim_item(self, message_id: str) -> dict[str, Any] | None:
        item: dict[str, Any] | None = self.client.get_item(
            TableName=self.table,
            Key={"pk": {"S": self._claim_key(message_id)}},
            ConsistentRead=True,
        ).get("Item")
        return item

    # -- plumbing -----------------------------------------------------------------------------
    def _update(self, cut: str, expression: str, condition: str) -> bool:
        values = {
            ":pending": {"S": PENDING},
            ":committed": {"S": COMMITTED},
            ":aborted": {"S": ABORTED},
            ":me": {"S": self.owner},
            ":now": {"N": repr(self.clock())},
            ":lease": {"N": self._lease()},
        }
        names = {"#s": "state", "#o": "owner"}
        used = expression + " " + condition
        return self._call(
            "update_item",
            TableName=self.table,
            Key={"pk": {"S": f"c#{cut}"}},
            UpdateExpression=expression,
            ConditionExpression=condition,
            ExpressionAttributeNames={k: v for k, v in names.items() if k in used},
            ExpressionAttributeValues={k: v for k, v in values.items() if k in used},
        )

    def _call(self, operation: str, **kwargs: Any) -> bool:
        """A conditional write; False when its condition did not hold."""
        try:
            getattr(self.client, operation)(**kwargs)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def _claim_key(self, message_id: str) -> str:
        return f"m#{self.queue}#{message_id}"

    def _lease(self) -> str:
        return repr(self.clock() + self.lease_s)

    def _exp(self) -> str:
        return str(int(self.clock() + self.keep_s))
