"""Cross-cutting features as hooks around the pipeline: metrics, scale-in protection,
health. Readers call them at fixed moments; every hook method is a no-op by default, and
a hook that raises is logged and ignored, never fatal to the data path."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from consumer.flow import Cut

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FlushInfo:
    source_type: str  # "kinesis" or "sqs"
    source: str  # stream or queue name
    cut: Cut
    latency_s: float  # from the start of the sink writes to the ack
    finished_at: float  # epoch seconds
    retried_rows: int
    iterator_age_ms: int | None = None  # Kinesis MillisBehindLatest, worst shard


class Hook:
    def on_buffering(self, source: str) -> None:
        """Records are buffered that no sink has confirmed yet."""

    def on_idle(self, source: str) -> None:
        """Nothing is buffered: every record read so far is acked."""

    def on_flushed(self, info: FlushInfo) -> None:
        """A cut was written by every sink and acked."""

    def on_flush_failed(self, source: str, error: BaseException) -> None:
        """A cut could not be written; nothing of it was acked."""

    def on_poll(self, source: str) -> None:
        """The source asked for records (whether or not any came)."""

    def on_turn(self, source: str) -> None:
        """The reader's loop went round once (a wedged loop stops calling this)."""

    def on_flush_started(self, source: str) -> None:
        """A cut is being written; `on_flushed` or `on_flush_failed` follows."""

    def on_retried(self, source: str, records: int) -> None:
        """Records were left for redelivery (SQS) after a retryable failure."""


class Hooks(Hook):
    """Calls every hook in turn; one that raises is logged and the others still run."""

    def __init__(self, hooks: Sequence[Hook] = ()) -> None:
        self.hooks = list(hooks)

    def _each(self, method: str, *args: object) -> None:
        for hook in self.hooks:
            try:
                getattr(hook, method)(*args)
            except Exception:
                log.exception("hook failed", extra={"hook": type(hook).__name__, "event": method})

    def on_buffering(self, source: str) -> None:
        self._each("on_buffering", source)

    def on_idle(self, source: str) -> None:
        self._each("on_idle", source)

    def on_flushed(self, info: FlushInfo) -> None:
        self._each("on_flushed", info)

    def on_flush_failed(self, source: str, error: BaseException) -> None:
        self._each("on_flush_failed", source, error)

    def on_poll(self, source: str) -> None:
        self._each("on_poll", source)

    def on_turn(self, source: str) -> None:
        self._each("on_turn", source)

    def on_flush_started(self, source: str) -> None:
        self._each("on_flush_started", source)

    def on_retried(self, source: str, records: int) -> None:
        self._each("on_retried", source, records)
