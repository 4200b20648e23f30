"""Consume job messages from SQS and run them once each (see `consumer.jobs`)."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from consumer.jobs import REGISTRY, JobFunction, JobLedger, JobRejected, parse
from consumer.sources.sqs import queues
from consumer.sources.sqs.inflight import Heartbeat, InFlight, change_visibility

log = logging.getLogger(__name__)


@dataclass
class JobCounts:
    ran: int = 0
    skipped_done: int = 0
    left_busy: int = 0
    failed: int = 0
    rejected: int = 0


@dataclass
class JobRunner:
    client: Any
    queue: str
    dlq: str | None
    ledger: JobLedger
    registry: dict[str, JobFunction] = field(default_factory=lambda: REGISTRY)
    visibility_timeout_s: int = 60
    backoff_base_s: int = 10
    backoff_max_s: int = 900
    wait_time_s: int = 20
    stop: threading.Event = field(default_factory=threading.Event)
    counts: JobCounts = field(default_factory=JobCounts)

    def run(self, until_idle: bool = False, max_messages: int | None = None) -> JobCounts:
        url = queues.queue_url(self.client, self.queue)
        dlq_url = queues.queue_url(self.client, self.dlq) if self.dlq else None
        max_receives = queues.max_receive_count(self.client, url)
        inflight = InFlight()
        heartbeat = Heartbeat(
            self.client,
            url,
            inflight,
            self.visibility_timeout_s / 3,
            self.visibility_timeout_s,
            43_200,
        )
        heartbeat.start()
        seen = 0
        try:
            while not self.stop.is_set() and (max_messages is None or seen < max_messages):
                messages = self.client.receive_message(
                    QueueUrl=url,
                    MaxNumberOfMessages=1,
                    WaitTimeSeconds=self.wait_time_s,
                    VisibilityTimeout=self.visibility_timeout_s,
                    MessageSystemAttributeNames=["All"],
                    MessageAttributeNames=["All"],
                ).get("Messages", [])
                if not messages:
                    if until_idle:
                        break
                    continue
                message = messages[0]
                seen += 1
                inflight.add(message["ReceiptHandle"], message["MessageId"])
                try:
                    self._one(url, dlq_url, max_receives, message)
                finally:
                    inflight.remove([message["ReceiptHandle"]])
        finally:
            heartbeat.stop()
        return self.counts

    def _one(
        self, url: str, dlq_url: str | None, max_receives: int | None, message: dict[str, Any]
    ) -> None:
        handle = message["ReceiptHandle"]
        attempt = int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
        try:
            spec = parse(message["Body"], self.registry)
        except JobRejected as exc:
            self.counts.rejected += 1
            self._to_dlq(url, dlq_url, message, "validate", "JobRejected", str(exc), attempt)
            return
        outcome = self.ledger.claim(spec.idempotency_key, spec.job)
        if outcome == "done":
            self.counts.skipped_done += 1
            queues.delete(self.client, url, [handle])
            return
        if outcome == "busy":
            self.counts.left_busy += 1
            change_visibility(self.client, url, [handle], self.backoff_base_s)
            return
        try:
            self.registry[spec.job](spec.params)
        except Exception as exc:
            self.counts.failed += 1
            self.ledger.release(spec.idempotency_key)
            log.warning(
                "job failed", extra={"job": spec.job, "error": repr(exc), "attempt": attempt}
            )
            if dlq_url and max_receives is not None and attempt >= max_receives:
                self._to_dlq(url, dlq_url, message, "job", type(exc).__name__, str(exc), attempt)
            else:
                delay = min(self.backoff_max_s, self.backoff_base_s * 2 ** (attempt - 1))
                change_visibility(self.client, url, [handle], delay)
            return
        self.ledger.complete(spec.idempotency_key)
        queues.delete(self.client, url, [handle])
        self.counts.ran += 1

    def _to_dlq(
        self,
        url: str,
        dlq_url: str | None,
        message: dict[str, Any],
        stage: str,
        error_type: str,
        text: str,
        attempt: int,
    ) -> None:
        if dlq_url is None:
            log.error(
                "job message rejected and no DLQ configured; left on the queue",
                extra={"error": text},
            )
            return
        reason = {
            "stage": stage,
            "error_type": error_type,
            "message": text,
            "source_queue": url.rsplit("/", 1)[-1],
            "receive_count": str(attempt),
        }
        queues.send_to_dlq(self.client, dlq_url, message, reason, url.endswith(".fifo"))
        queues.delete(self.client, url, [message["ReceiptHandle"]])
