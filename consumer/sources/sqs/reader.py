"""The SQS source: concurrent long-poll receivers feeding the shared pipeline.

Delivery: at-least-once in, and a message is deleted only after every sink confirmed the
flush that holds it. While held, its visibility is extended by a heartbeat; when the
consumer stops, what it still holds is made visible again at once. A failure at one of
`retry_stages` leaves the message for redelivery with backoff by attempt and, on its
last allowed attempt, sluice moves it to the DLQ itself with the failure reason; any
other failure is quarantined and deleted with its flush. In a FIFO queue a retried
message blocks the later messages of its group in the same receive; other groups go on.
"""

from __future__ import annotations

import hashlib
import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from consumer.batcher import PartitionBatcher
from consumer.errors import RecordError
from consumer.faults import crash_point
from consumer.flush import Flusher
from consumer.hooks import FlushInfo, Hooks
from consumer.pipeline import Item, Pipeline
from consumer.record import Position, Record
from consumer.sources.sqs import queues
from consumer.sources.sqs.config import SqsSourceConfig
from consumer.sources.sqs.inflight import Heartbeat, InFlight, change_visibility
from consumer.sources.sqs.messages import ObjectReader, payloads
from consumer.stats import Stats

log = logging.getLogger(__name__)
Message = dict[str, Any]


def message_position(message_id: str) -> int:
    """A stable number for a message id (UUIDs as their 128-bit value)."""
    try:
        return uuid.UUID(message_id).int
    except ValueError:
        return int.from_bytes(hashlib.sha1(message_id.encode(), usedforsecurity=False).digest())


class SqsReader:
    def __init__(
        self,
        config: SqsSourceConfig,
        client: Any,
        objects: ObjectReader,
        pipeline: Pipeline,
        flusher: Flusher,
        batcher: PartitionBatcher,
        stats: Stats,
        stop: threading.Event | None = None,
        clock: Callable[[], float] = time.monotonic,
        hooks: Hooks | None = None,
    ) -> None:
        self.config = config
        self.client = client
        self.objects = objects
        self.pipeline = pipeline
        self.flusher = flusher
        self.batcher = batcher
        self.stats = stats
        self.stop = stop or threading.Event()
        self.hooks = hooks or Hooks()
        self.clock = clock
        self.inflight = InFlight(clock)
        self.inbox: queue.Queue[list[Message]] = queue.Queue(maxsize=2 * config.receivers)
        self.retried = 0
        self.moved_to_dlq = 0
        self.redelivered_while_buffered = 0
        self._buffered: dict[str, str] = {}  # message id -> latest receipt handle, open cut
        self._receivers_done = threading.Event()
        self._retries_due_at = 0.0  # until then, messages this reader put off will return
        self._last_message_at = clock()

    # -- set-up -------------------------------------------------------------------------
    def _resolve(self) -> None:
        self.url = queues.queue_url(self.client, self.config.queue)
        self.dlq_url = queues.queue_url(self.client, self.config.dlq) if self.config.dlq else None
        self.max_receives = self.config.max_receive_count or queues.max_receive_count(
            self.client, self.url
        )
        self.name = self.url.rstrip("/").rsplit("/", 1)[-1]

    # -- the loop -------------------------------------------------------------------------
    def run(self, until_idle: bool = False, max_runtime_s: float | None = None) -> None:
        self._resolve()
        deadline = None if max_runtime_s is None else self.clock() + max_runtime_s
        heartbeat = Heartbeat(
            self.client,
            self.url,
            self.inflight,
            self.config.heartbeat_s,
            self.config.visibility_timeout_s,
            self.config.max_in_flight_s,
        )
        receivers = [
            threading.Thread(target=self._receive_loop, name=f"sqs-receiver-{i}", daemon=True)
            for i in range(self.config.receivers)
        ]
        heartbeat.start()
        for thread in receivers:
            thread.start()
        try:
            while not self.stop.is_set():
                self.hooks.on_turn(self.name)
                if deadline is not None and self.clock() >= deadline:
                    break
                self._drain_inbox(timeout_s=0.2)
                if self.batcher.due():
                    self._flush()
                if until_idle and self._idle():
                    break
            if self.batcher.pending:
                self._flush()
        finally:
            self._receivers_done.set()
            for thread in receivers:
                thread.join(timeout=self.config.wait_time_s + 5)
            self._release_unfinished()
            heartbeat.stop()

    def _idle(self) -> bool:
        now = self.clock()
        quiet = now - self._last_message_at >= self.config.idle_flush_s
        quiet = quiet and now >= self._retries_due_at
        if quiet and self.batcher.pending:
            self._flush()
        if not (quiet and not self.batcher.pending and self.inbox.empty() and not self.inflight):
            return False
        # Drained means the queue is empty, in flight included: messages a crashed
        # predecessor held come back when their visibility lapses.
        if self._queue_size() > 0:
            self._last_message_at = now
            return False
        return True

    def _queue_size(self) -> int:
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        found = self.client.get_queue_attributes(QueueUrl=self.url, AttributeNames=names)
        return sum(int(found["Attributes"].get(name, 0)) for name in names)

    def _receive_loop(self) -> None:
        while not (self.stop.is_set() or self._receivers_done.is_set()):
            self.hooks.on_poll(self.name)
            try:
                messages = self.client.receive_message(
                    QueueUrl=self.url,
                    MaxNumberOfMessages=self.config.max_messages,
                    WaitTimeSeconds=self.config.wait_time_s,
                    VisibilityTimeout=self.config.visibility_timeout_s,
                    MessageSystemAttributeNames=["All"],
                    MessageAttributeNames=["All"],
                ).get("Messages", [])
            except Exception:
                log.exception("receive failed")
                self._receivers_done.wait(1.0)
                continue
            if not messages:
                if self.config.wait_time_s == 0:  # short polling: do not spin on an empty queue
                    self._receivers_done.wait(self.config.empty_poll_pause_s)
                continue
            for message in messages:
                self.inflight.add(message["ReceiptHandle"], message["MessageId"])
            if self.stop.is_set() or self._receivers_done.is_set():
                self._release([m["ReceiptHandle"] for m in messages])
                return
            self.inbox.put(messages)

    def _drain_inbox(self, timeout_s: float) -> None:
        try:
            messages = self.inbox.get(timeout=timeout_s)
        except queue.Empty:
            return
        self._last_message_at = self.clock()
        blocked: set[str] = set()
        for message in messages:
            group = message.get("Attributes", {}).get("MessageGroupId")
            if group is not None and group in blocked:
                self._release([message["ReceiptHandle"]])
                continue
            if not self._handle(message) and group is not None:
                blocked.add(group)
            if self.batcher.due():
                self._flush()

    # -- one message -------------------------------------------------------------------------
    def _handle(self, message: Message) -> bool:
        """Process one message; False when it was left for a retry."""
        message_id = message["MessageId"]
        if message_id in self._buffered:
            # Redelivered while its rows wait in the open cut (its visibility lapsed): the
            # rows are there already; only the new receipt handle can delete it.
            self.inflight.remove([self._buffered[message_id]])
            self._buffered[message_id] = message["ReceiptHandle"]
            self.redelivered_while_buffered += 1
            return True
        attempt = int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
        results = self._process(message, attempt)
        for items, quarantined in results:
            if quarantined and items[0].row["stage"] in self.config.retry_stages:
                self._retry_later(message, attempt, items[0].row)
                return False
        base = message_position(message_id)
        sent = int(message.get("Attributes", {}).get("SentTimestamp", "0")) / 1000 or None
        if not self.batcher.pending:
            self.hooks.on_buffering(self.name)
        for line, (items, quarantined) in enumerate(results):
            self.batcher.add(Position(base, line), items, quarantined, sent)
        self._buffered[message_id] = message["ReceiptHandle"]
        return True

    def _process(self, message: Message, attempt: int) -> list[tuple[list[Item], bool]]:
        """(items, quarantined) per payload. A message without payloads gives one empty
        result, so that its delete still rides on a flush."""
        base = message_position(message["MessageId"])
        sent = int(message.get("Attributes", {}).get("SentTimestamp", "0")) / 1000
        body = message["Body"].encode()

        attributes = {
            name: value["StringValue"]
            for name, value in message.get("MessageAttributes", {}).items()
            if "StringValue" in value
        }

        def record(line: int, data: bytes) -> Record:
            position = Position(base, line)
            return Record(
                self.name,
                self.name,
                position,
                message["MessageId"],
                sent,
                data,
                attributes,
                attempt=attempt,
            )

        try:
            found = list(payloads(body, self.objects))
        except RecordError as error:
            return [([self.pipeline.quarantine_item(record(0, body), error, None)], True)]
        results = self.pipeline.process_many(
            [record(line, data) for line, data in enumerate(found)]
        )
        return results or [([], False)]

    def _retry_later(self, message: Message, attempt: int, error: dict[str, Any]) -> None:
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
            return
        delay = min(self.config.backoff_max_s, self.config.backoff_base_s * 2 ** (attempt - 1))
        change_visibility(self.client, self.url, [handle], delay)
        self.inflight.remove([handle])
        self._retries_due_at = max(self._retries_due_at, self.clock() + delay + 1)
        self.retried += 1
        self.hooks.on_retried(self.name, 1)
        log.info(
            "retry later",
            extra={"message_id": message["MessageId"], "delay_s": delay, **_log_fields(reason)},
        )

    # -- flush, delete, release --------------------------------------------------------------
    def _flush(self) -> None:
        cut = self.batcher.cut()
        started = time.perf_counter()
        self.hooks.on_flush_started(self.name)
        try:
            retried = self.flusher.write(cut)
        except BaseException as exc:
            self.hooks.on_flush_failed(self.name, exc)
            raise
        crash_point("after_write_before_ack")
        handles = list(self._buffered.values())
        self._buffered.clear()
        failed = queues.delete(self.client, self.url, handles)
        if failed:
            log.warning("delete refused", extra={"messages": len(failed)})
        self.inflight.remove(handles)
        self.stats.add_cut(cut)
        self.hooks.on_flushed(
            FlushInfo("sqs", self.name, cut, time.perf_counter() - started, time.time(), retried)
        )
        self.hooks.on_idle(self.name)

    def _release(self, handles: list[str]) -> None:
        if handles:
            change_visibility(self.client, self.url, handles, 0)
            self.inflight.remove(handles)

    def _release_unfinished(self) -> None:
        while not self.inbox.empty():
            self.inbox.get_nowait()
        self._release(self.inflight.handles())


def _log_fields(reason: dict[str, str]) -> dict[str, str]:
    """The failure reason as log fields (`message` is reserved by logging)."""
    return {("error" if key == "message" else key): value for key, value in reason.items()}
