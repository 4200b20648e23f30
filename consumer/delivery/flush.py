"""Write a cut to every sink of every batch in it, in parallel, with retries.

`write` returns only when every sink confirmed every batch. If any write spends its retry
budget, `SinkError` is raised after the other writes settled, and the caller must not ack:
the writes that did land are idempotent and will simply be redone on replay. A sink that
`writes_cuts` (a table that commits once a cut) gets all its batches of a cut in one call.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial

from consumer.delivery.retry import RetryConfig, call_with_retry
from consumer.errors import ConfigError, SinkError
from consumer.flow import Batch, Cut
from consumer.quality.cut import apply_quality
from consumer.quality.gate import RouteQuality
from consumer.sinks.base import Sink
from consumer.testing.faults import crash_point


class Flusher:
    def __init__(
        self,
        sinks_by_route: Mapping[str, Sequence[Sink]],
        retry: RetryConfig,
        max_workers: int = 8,
        quality: Mapping[str, RouteQuality] | None = None,
    ) -> None:
        self.sinks_by_route = sinks_by_route
        self.quality = dict(quality or {})
        self.retry = retry
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="flush")

    def write(self, cut: Cut) -> int:
        """Write the cut; returns how many rows had to be sent again after a retriable error.
        Routes with quality checks are gated first, once per cut (consumer/quality)."""
        if self.quality and not cut.quality:
            apply_quality(cut, self.quality)
        retried: list[int] = []  # list.append is atomic across the writer threads
        futures: list[Future[None]] = []
        whole: dict[str, tuple[Sink, list[Batch]]] = {}  # sinks that take a cut at once
        for batch in cut.batches:
            for sink in self.sinks_by_route[batch.route]:
                if sink.writes_cuts:
                    whole.setdefault(sink.name, (sink, []))[1].append(batch)
                    continue
                what = f"sink {sink.name!r} route {batch.route or 'quarantine'!r}"
                futures.append(
                    self._submit(what, partial(_write, sink, batch), sink, len(batch.rows), retried)
                )
        for sink, batches in whole.values():
            what = f"sink {sink.name!r}, {len(batches)} batches"
            rows = sum(len(batch.lines) for batch in batches)
            futures.append(
                self._submit(what, partial(_write_cut, sink, batches), sink, rows, retried)
            )
        errors = [exc for exc in (f.exception() for f in futures) if exc is not None]
        diagnosed = [exc for exc in errors if isinstance(exc, ConfigError)]
        if diagnosed:  # the config causes it: say so, not "flush failed"
            raise diagnosed[0]
        if errors:
            raise SinkError(
                f"flush of {cut.partition} up to {cut.last} failed: {errors[0]}"
            ) from errors[0]
        return sum(retried)

    def _submit(
        self, what: str, call: Callable[[], None], sink: Sink, rows: int, retried: list[int]
    ) -> Future[None]:
        def count(exc: BaseException) -> None:
            retried.append(rows)

        return self._pool.submit(
            call_with_retry, what, call, sink.is_retriable, self.retry, on_retry=count
        )

    def close(self) -> None:
        self._pool.shutdown(wait=True)


def _write(sink: Sink, batch: Batch) -> None:
    crash_point("before_sink_write_" + sink.name)
    sink.write(batch)
    crash_point("after_sink_write_" + sink.name)


def _write_cut(sink: Sink, batches: list[Batch]) -> None:
    crash_point("before_sink_write_" + sink.name)
    sink.write_cut(batches)
    crash_point("after_sink_write_" + sink.name)
