"""The SQS source's open cut in the ledger: claim what it reads, fence its writes, commit,
publish (consumer/sources/sqs/ledger.py; docs/decisions.md, "SQS into the lake exactly
once").

One cut is open at a time. Messages are claimed for it when they are read, before their
records are buffered; its lease is renewed while it stays open and checked again right
before the sinks write (the fence), and the sinks stage what they write under its id.
After every sink confirmed, the claims of messages that did not ride the cut (retried,
put back, never taken) are dropped, the cut is committed, its staged objects are
published, and only then are the messages deleted from the queue.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import partial

from consumer.aws.clients import AwsClients
from consumer.delivery.retry import RetryConfig, call_with_retry
from consumer.sinks.base import Sink
from consumer.sources.sqs import queues
from consumer.sources.sqs.config import SqsSourceConfig
from consumer.sources.sqs.ledger import Claim, SqsLedger, create_table
from consumer.testing.faults import crash_point, hold_point

log = logging.getLogger(__name__)


class LedgerCuts:
    def __init__(
        self,
        ledger: SqsLedger,
        publish: Callable[[str], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ledger = ledger
        self.publish = publish
        self.clock = clock
        self.cut: str | None = None
        self.claimed: set[str] = set()
        """Messages claimed for the open cut (taken or not)."""
        self._renew_at = 0.0

    def admit(self, message_ids: Sequence[str]) -> dict[str, tuple[Claim, str]]:
        """Claim the messages for the open cut (opened now if there is none): each one's
        fate and the cut that holds it."""
        if not message_ids:
            return {}
        if self.cut is None:
            self.cut = self.ledger.open_cut()
            self._renewed()
        found = self.ledger.claim(self.cut, message_ids)
        self.claimed.update(mid for mid, (fate, _) in found.items() if fate is Claim.MINE)
        return found

    def renew_if_due(self) -> bool:
        """Keep the open cut's lease; False when it was lost (the cut was aborted)."""
        if self.cut is None or self.clock() < self._renew_at:
            return True
        return self._renew()

    def stage(self) -> str | None:
        """Right before the sinks write: the open cut's id if this consumer still owns it
        (its lease renewed now), None when another consumer aborted it."""
        if self.cut is None or not self._renew():
            return None
        return self.cut

    def release(self, message_ids: Iterable[str]) -> None:
        """These claimed messages will not ride the open cut."""
        ids = [mid for mid in message_ids if mid in self.claimed]
        if self.cut is not None and ids:
            self.ledger.release(self.cut, ids)
            self.claimed.difference_update(ids)

    def commit(self, members: Iterable[str]) -> bool:
        """Every sink confirmed the open cut holding `members`: drop the other claims,
        commit, publish. False when the cut was aborted meanwhile (nothing is published:
        another consumer writes these messages)."""
        assert self.cut is not None, "no open cut to commit"
        cut = self.cut
        self.release(self.claimed - set(members))
        hold_point("before_commit")
        if not self.ledger.commit(cut):
            self.forget()
            return False
        crash_point("sqs_after_commit")
        self.publish(cut)
        crash_point("sqs_after_publish")
        self.forget()
        return True

    def forget(self) -> None:
        """The open cut is over (committed, or lost to another consumer)."""
        self.cut, self.claimed = None, set()

    def close(self) -> None:
        """A clean stop: abort the open cut so its messages are free at once."""
        if self.cut is not None:
            self.ledger.abort(self.cut, mine=True)
            self.forget()
        self.ledger.close()

    def _renew(self) -> bool:
        assert self.cut is not None
        if self.ledger.renew(self.cut):
            self._renewed()
            return True
        log.warning("open cut lost: another consumer aborted it", extra={"cut": self.cut})
        return False

    def _renewed(self) -> None:
        self._renew_at = self.clock() + self.ledger.lease_s / 3


def ledger_cuts(
    config: SqsSourceConfig,
    aws: AwsClients,
    sinks: Mapping[str, Sink],
    retry: RetryConfig,
) -> LedgerCuts | None:
    """The ledger side of an SQS source, or None with `exactly_once = false`. Ledger items
    are kept for the queue's retention and a day: SQS redelivers nothing older."""
    if not config.exactly_once:
        return None
    dynamodb, sqs = aws.client("dynamodb"), aws.client("sqs")
    if config.create_ledger_table:
        create_table(dynamodb, config.ledger_table)
    url = queues.queue_url(sqs, config.queue)
    keep_s = config.ledger_keep_s or queues.retention_s(sqs, url) + 86_400
    name = url.rstrip("/").rsplit("/", 1)[-1]
    ledger = SqsLedger(dynamodb, config.ledger_table, name, keep_s, config.visibility_timeout_s)

    def publish(stage: str) -> None:
        for sink in sinks.values():
            call_with_retry(
                f"publish {stage} to {sink.name}",
                partial(sink.publish, stage),
                sink.is_retriable,
                retry,
            )

    return LedgerCuts(ledger, publish)
