"""The SQS source: concurrent long-poll receivers, each message a unit of the delivery engine.

Delivery: at-least-once in, exactly once into the lake and the databases. A message is
deleted only when the engine acks the cut that holds it, after every sink confirmed it;
a message and its lines are never split across cuts. With `exactly_once` (the default)
each message is claimed in the ledger for the open cut when read, the S3 sinks stage the
cut, and the ack commits it in the ledger before its objects are published and its
messages deleted: a message redelivered after its cut committed is deleted, never written
again (consumer/sources/sqs/cuts.py, docs/decisions.md). While held, its visibility is
extended by a heartbeat; when the consumer stops, what it still holds is made visible
again at once. A failure at one of
`retry_stages` leaves the message for redelivery with backoff by attempt and, on its
last allowed attempt, sluice moves it to the DLQ itself with the failure reason; any
other failure is quarantined and deleted with its flush. In a FIFO queue a retried
message blocks the later messages of its group in the same receive; other groups go on.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from consumer.flow import Cut
from consumer.sources.base import SourceBase, Unit
from consumer.sources.objects import ObjectReader
from consumer.sources.sqs import queues
from consumer.sources.sqs.config import SqsSourceConfig
from consumer.sources.sqs.cuts import LedgerCuts
from consumer.sources.sqs.inflight import Heartbeat, InFlight, change_visibility
from consumer.sources.sqs.ledger import Claim
from consumer.sources.sqs.messages import Message, message_unit
from consumer.sources.sqs.receivers import Receivers
from consumer.testing.faults import crash_point

log = logging.getLogger(__name__)


class SqsSource(SourceBase):
    kind = "sqs"
    stable_positions = False
    """Positions are message ids, not an order: exactly once comes from the ledger."""

    def __init__(
        self,
        config: SqsSourceConfig,
        client: Any,
        objects: ObjectReader,
        stop: threading.Event | None = None,
        clock: Callable[[], float] = time.monotonic,
        cuts: LedgerCuts | None = None,
    ) -> None:
        self.config = config
        self.cuts = cuts
        """The ledger's open cut (exactly_once); None: deletes ride flushes, no claims."""
        self.client = client
        self.objects = objects
        self.stop = stop or threading.Event()
        self.clock = clock
        self.origin = config.queue
        self.partition = config.queue.rstrip("/").rsplit("/", 1)[-1]
        self.name = self.partition  # the queue's own name once resolved (`open`)
        self.retry_stages = frozenset(config.retry_stages)
        self.inflight = InFlight(clock)
        self.receivers = Receivers(client, config, self.inflight, self.stop)
        self.retried = 0
        self.moved_to_dlq = 0
        self.redelivered_while_buffered = 0
        self.duplicates_deleted = 0
        """Messages the ledger knew were in the lake already (redelivered after a commit)."""
        self.held_elsewhere = 0
        self._buffered: dict[str, str] = {}  # message id -> latest receipt handle, open cut
        self._blocked: set[str] = set()  # FIFO groups held back in the current receive
        self._heartbeat: Heartbeat | None = None
        self._retries_due_at = 0.0  # until then, messages this reader put off will return
        self._last_message_at = clock()
        self._lost = False  # the open cut was aborted by another consumer

    # -- set-up and release -----------------------------------------------------------------
    def open(self) -> None:
        self.url = queues.queue_url(self.client, self.config.queue)
        self.dlq_url = queues.queue_url(self.client, self.config.dlq) if self.config.dlq else None
        self.max_receives = self.config.max_receive_count or queues.max_receive_count(
            self.client, self.url
        )
        self.name = self.url.rstrip("/").rsplit("/", 1)[-1]
        self._heartbeat = Heartbeat(
            self.client,
            self.url,
            self.inflight,
            self.config.heartbeat_s,
            self.config.visibility_timeout_s,
            self.config.max_in_flight_s,
        )
        self._heartbeat.start()
        self.receivers.start(self.url)

    def close(self) -> None:
        self.receivers.stop()
        if self.cuts is not None:
            self.cuts.close()  # the open cut aborted first: its messages are free at once
        if self._heartbeat is not None:
            self._release_unfinished()
            self._heartbeat.stop()

    # -- what the engine asks -------------------------------------------------------------
    def read(self) -> Iterator[Unit]:
        """The messages received, each a unit, waiting up to 0.2 s for some. With the
        ledger, those of one read are claimed together and cut only after the last."""
        if self.cuts is not None and not self.cuts.renew_if_due():
            self._lost = True
        if self._lost and self._buffered:
            return  # the engine's next fence drops what is buffered; then read again
        if self._lost:
            self._drop_open_cut()
        messages = self.receivers.next_messages()
        if not messages:
            return
        self._last_message_at = self.clock()
        self._blocked = set()
        fresh = [m for m in self._newest(messages) if not self._redelivered_while_buffered(m)]
        taken = self._admit(fresh) if self.cuts is not None else fresh
        for index, message in enumerate(taken):
            group = message.get("Attributes", {}).get("MessageGroupId")
            if group is not None and group in self._blocked:
                self._put_back(message)
                continue
            self._buffered[message["MessageId"]] = message["ReceiptHandle"]  # until retried
            unit = message_unit(message, self.name, self.partition, self.objects)
            unit.joined = self.cuts is not None and index < len(taken) - 1
            yield unit

    def fence(self, cut: Cut) -> bool:
        """With the ledger: the open cut is still this consumer's (its lease renewed now),
        and the sinks stage what they write under its id until the commit."""
        if self.cuts is None:
            return True
        stage = self.cuts.stage()
        if stage is None:
            self._drop_open_cut()
            return False
        for batch in cut.batches:
            batch.stage = stage
        return True

    def ack(self, cut: Cut) -> bool:
        if self.cuts is not None and not self.cuts.commit(self._buffered):
            self._drop_open_cut()
            return False
        handles, acked = list(self._buffered.values()), list(self._buffered)
        self._buffered.clear()
        failed = queues.delete(self.client, self.url, handles)
        if failed:
            log.warning("delete refused", extra={"messages": len(failed)})
        crash_point("sqs_after_delete")
        self.inflight.remove(handles)
        self.inflight.forget_messages(acked)
        return True

    def retry(self, unit: Unit, failure: Mapping[str, Any]) -> bool:
        message: Message = unit.token
        del self._buffered[message["MessageId"]]
        if self.cuts is not None:
            self.cuts.release([message["MessageId"]])
        group = message.get("Attributes", {}).get("MessageGroupId")
        if group is not None:
            self._blocked.add(group)
        attempt = int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
        return self._retry_later(message, attempt, failure)

    def caught_up(self) -> bool:
        now = self.clock()
        quiet = now - self._last_message_at >= self.config.idle_flush_s
        return quiet and now >= self._retries_due_at

    def drained(self) -> bool:
        if not (self.caught_up() and self.receivers.empty() and not self.inflight):
            return False
        # Drained means the queue is empty, in flight included: messages a crashed
        # predecessor held come back when their visibility lapses.
        if self._queue_size() > 0:
            self._last_message_at = self.clock()
            return False
        return True

    def _queue_size(self) -> int:
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        found = self.client.get_queue_attributes(QueueUrl=self.url, AttributeNames=names)
        return sum(int(found["Attributes"].get(name, 0)) for name in names)

    # -- reading ------------------------------------------------------------------------------
    def _newest(self, messages: list[Message]) -> list[Message]:
        """One copy of each message, with its newest receipt handle: a message whose
        visibility lapsed while it waited in the inbox may come twice in one read, and only
        the newest handle can delete it (the stale one is no longer extended)."""
        newest: dict[str, Message] = {}
        for message in messages:
            older = newest.get(message["MessageId"])
            if older is not None:
                self.inflight.remove([older["ReceiptHandle"]])
                self.redelivered_while_buffered += 1
            newest[message["MessageId"]] = message
        return list(newest.values())

    def _redelivered_while_buffered(self, message: Message) -> bool:
        """Its rows wait in the open cut already (its visibility lapsed and it came back):
        only the new receipt handle can delete it."""
        message_id = message["MessageId"]
        if message_id not in self._buffered:
            return False
        self.inflight.remove([self._buffered[message_id]])
        self._buffered[message_id] = message["ReceiptHandle"]
        self.redelivered_while_buffered += 1
        return True

    def _admit(self, messages: list[Message]) -> list[Message]:
        """Claim the messages for the open cut; those already in the lake are deleted now,
        those another consumer's open cut holds come back after a backoff."""
        assert self.cuts is not None
        fates = self.cuts.admit([m["MessageId"] for m in messages])
        crash_point("sqs_after_claim")
        taken: list[Message] = []
        published: set[str] = set()
        for message in messages:
            fate, holder = fates[message["MessageId"]]
            handle = message["ReceiptHandle"]
            if fate is Claim.MINE:
                taken.append(message)
            elif fate is Claim.DONE:
                if holder not in published:  # a commit whose publish may not have run
                    self.cuts.publish(holder)
                    published.add(holder)
                queues.delete(self.client, self.url, [handle])
                self.inflight.remove([handle])
                self.duplicates_deleted += 1
            else:
                change_visibility(self.client, self.url, [handle], self.config.backoff_base_s)
                self.inflight.remove([handle])
                self.held_elsewhere += 1
        return taken

    def _put_back(self, message: Message) -> None:
        """Visible again at once (a FIFO group held back): it does not ride this cut."""
        self._release([message["ReceiptHandle"]])
        if self.cuts is not None:
            self.cuts.release([message["MessageId"]])

    def _drop_open_cut(self) -> None:
        """Another consumer took the open cut over: forget its messages (that consumer
        writes and deletes them), without deleting or releasing anything."""
        self.inflight.remove(list(self._buffered.values()))
        self._buffered.clear()
        if self.cuts is not None:
            self.cuts.forget()
        self._lost = False

    # -- retries and release ---------------------------------------------------------------
    def _retry_later(self, message: Message, attempt: int, error: Mapping[str, Any]) -> bool:
        """Visible again after a backoff; on the last allowed attempt, to the DLQ with the
        reason. True when the message was left for redelivery."""
        handle = message["ReceiptHandle"]
        reason = {
            "stage": error["stage"],
            "error_type": error["error_type"],
            "message": error["message"],
            "source_queue": self.name,
            "receive_count": str(attempt),
        }
        if self.dlq_url and self.max_receives is not None and attempt >= self.max_receives:
            queues.send_to_dlq(self.client, self.dlq_url, message, reason, self.config.fifo)
            queues.delete(self.client, self.url, [handle])
            self.inflight.remove([handle])
            self.moved_to_dlq += 1
            log.warning(
                "moved to DLQ", extra={"message_id": message["MessageId"], **_log_fields(reason)}
            )
            return False
        delay = min(self.config.backoff_max_s, self.config.backoff_base_s * 2 ** (attempt - 1))
        change_visibility(self.client, self.url, [handle], delay)
        self.inflight.remove([handle])
        self._retries_due_at = max(self._retries_due_at, self.clock() + delay + 1)
        self.retried += 1
        log.info(
            "retry later",
            extra={"message_id": message["MessageId"], "delay_s": delay, **_log_fields(reason)},
        )
        return True

    def _release(self, handles: list[str]) -> None:
        if handles:
            change_visibility(self.client, self.url, handles, 0)
            self.inflight.remove(handles)

    def _release_unfinished(self) -> None:
        self.receivers.drain()
        self._release(self.inflight.handles())


def _log_fields(reason: dict[str, str]) -> dict[str, str]:
    """The failure reason as log fields (`message` is reserved by logging)."""
    return {("error" if key == "message" else key): value for key, value in reason.items()}
