"""The SQS source's long-poll receivers: threads that receive into an inbox the engine's
loop drains, so a slow receive never stalls the pipeline and a slow flush never stalls
the receives for longer than the inbox holds.

Every message received is tracked in flight (its visibility extended by the heartbeat)
until it is deleted, retried or released. When the receivers stop, what they received but
no one took is made visible again by the source (`drain`, then its release).
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Any

from consumer.sources.sqs.config import SqsSourceConfig
from consumer.sources.sqs.inflight import InFlight, change_visibility
from consumer.sources.sqs.messages import Message

log = logging.getLogger(__name__)


class Receivers:
    def __init__(
        self,
        client: Any,
        config: SqsSourceConfig,
        inflight: InFlight,
        stop: threading.Event,
    ) -> None:
        self.client = client
        self.config = config
        self.inflight = inflight
        self.stop_all = stop
        self.inbox: queue.Queue[list[Message]] = queue.Queue(maxsize=2 * config.receivers)
        self._done = threading.Event()
        self._threads: list[threading.Thread] = []
        self.url = ""

    def start(self, url: str) -> None:
        self.url = url
        self._threads = [
            threading.Thread(target=self._loop, name=f"sqs-receiver-{i}", daemon=True)
            for i in range(self.config.receivers)
        ]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._done.set()
        for thread in self._threads:
            thread.join(timeout=self.config.wait_time_s + 5)

    def next_messages(self, most: int = 100) -> list[Message]:
        """What the receivers have: up to 0.2 s for the first receive, then what else is
        waiting, up to `most` messages (the ledger claims them in one go)."""
        try:
            messages = list(self.inbox.get(timeout=0.2))
        except queue.Empty:
            return []
        while len(messages) < most:
            try:
                messages += self.inbox.get_nowait()
            except queue.Empty:
                break
        return messages

    def empty(self) -> bool:
        return self.inbox.empty()

    def drain(self) -> None:
        """Forget what is waiting in the inbox (it stays in flight, for its release)."""
        while not self.inbox.empty():
            self.inbox.get_nowait()

    def _stopping(self) -> bool:
        return self.stop_all.is_set() or self._done.is_set()

    def _loop(self) -> None:
        while not self._stopping():
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
                self._done.wait(1.0)
                continue
            if not messages:
                if self.config.wait_time_s == 0:  # short polling: do not spin on an empty queue
                    self._done.wait(self.config.empty_poll_pause_s)
                continue
            for message in messages:
                self.inflight.add(message["ReceiptHandle"], message["MessageId"])
            if self._stopping():
                handles = [m["ReceiptHandle"] for m in messages]
                change_visibility(self.client, self.url, handles, 0)
                self.inflight.remove(handles)
                return
            self.inbox.put(messages)
