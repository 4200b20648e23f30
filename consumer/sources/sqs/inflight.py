"""Messages received and not yet deleted, and the heartbeat that keeps them hidden.

While a message is buffered or being processed its visibility is extended ahead of
expiry (ChangeMessageVisibilityBatch, 10 at a time), so a slow flush never lets SQS hand
it to another consumer. A message held longer than `max_in_flight_s` is no longer
extended. `release` makes messages visible again at once, for a prompt redelivery when
the consumer stops.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)
CHUNK = 10


@dataclass(frozen=True, slots=True)
class Held:
    receipt_handle: str
    message_id: str
    received_at: float


class InFlight:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._held: dict[str, Held] = {}
        self._lock = threading.Lock()

    def add(self, receipt_handle: str, message_id: str) -> None:
        with self._lock:
            self._held[receipt_handle] = Held(receipt_handle, message_id, self.clock())

    def remove(self, receipt_handles: Iterable[str]) -> None:
        with self._lock:
            for handle in receipt_handles:
                self._held.pop(handle, None)

    def forget_messages(self, message_ids: Iterable[str]) -> None:
        """Every handle of these messages, stale copies included: they are done."""
        done = set(message_ids)
        with self._lock:
            for handle in [h for h, held in self._held.items() if held.message_id in done]:
                del self._held[handle]

    def handles(self, younger_than_s: float | None = None) -> list[str]:
        now = self.clock()
        with self._lock:
            return [
                h.receipt_handle
                for h in self._held.values()
                if younger_than_s is None or now - h.received_at < younger_than_s
            ]

    def __len__(self) -> int:
        with self._lock:
            return len(self._held)


def change_visibility(client: Any, queue_url: str, handles: list[str], seconds: int) -> int:
    """Set the visibility of `handles`; returns how many SQS refused (already deleted...)."""
    failed = 0
    for start in range(0, len(handles), CHUNK):
        entries = [
            {"Id": str(i), "ReceiptHandle": h, "VisibilityTimeout": seconds}
            for i, h in enumerate(handles[start : start + CHUNK])
        ]
        response = client.change_message_visibility_batch(QueueUrl=queue_url, Entries=entries)
        failed += len(response.get("Failed", []))
    return failed


class Heartbeat:
    """A daemon thread extending the visibility of every held message every `interval_s`."""

    def __init__(
        self,
        client: Any,
        queue_url: str,
        inflight: InFlight,
        interval_s: float,
        visibility_s: int,
        max_in_flight_s: float,
    ) -> None:
        self.client = client
        self.queue_url = queue_url
        self.inflight = inflight
        self.interval_s = interval_s
        self.visibility_s = visibility_s
        self.max_in_flight_s = max_in_flight_s
        self.beats = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sqs-heartbeat", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            handles = self.inflight.handles(younger_than_s=self.max_in_flight_s)
            if not handles:
                continue
            try:
                change_visibility(self.client, self.queue_url, handles, self.visibility_s)
                self.beats += 1
            except Exception:  # a failing hook is logged, never fatal
                log.exception("visibility heartbeat failed", extra={"messages": len(handles)})
