"""Counters of what the consumer has done, for logs, the demo report and (later) metrics."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field

from consumer.flow import Cut
from consumer.pipeline.quarantine import QUARANTINE_ROUTE


@dataclass
class Stats:
    records_in: int = 0
    records_quarantined: int = 0
    rows_written: int = 0
    flushes: int = 0
    rows_by_route: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add_cut(self, cut: Cut) -> None:
        with self._lock:
            self.records_in += cut.records
            self.records_quarantined += cut.quarantined
            self.flushes += 1
            for batch in cut.batches:
                if batch.route != QUARANTINE_ROUTE:
                    self.rows_written += len(batch.rows)
                    self.rows_by_route[batch.route] += len(batch.rows)

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return {
                "records_in": self.records_in,
                "records_quarantined": self.records_quarantined,
                "rows_written": self.rows_written,
                "flushes": self.flushes,
            }
