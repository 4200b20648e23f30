"""Watch the lake while a scenario runs: when each record is first seen written.

Every `interval_s` the watcher lists the lake prefix, reads the objects it has not seen
and notes, for each record id, the time it first saw it. Write time is therefore known
to within one interval (plus a listing); the scenario states that as its margin. Each
sample holds produced, written, backlog (produced - written), throughput (records written
per second since the last sample), lag (age of the oldest record not yet written) and the
p50/p99 latency (first seen - event time) of the records seen in that interval.
"""

from __future__ import annotations

import statistics
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from consumer.sinks.s3 import iter_objects
from load_tests.producers import Sent


@dataclass(frozen=True, slots=True)
class WatchSample:
    t: float
    produced: int
    written: int
    backlog: int
    throughput: float
    lag_s: float
    p50_s: float | None
    p99_s: float | None


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100), nearest-rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


@dataclass
class LakeWatcher:
    s3: Any
    bucket: str
    prefix: str
    sent: Sent
    interval_s: float = 0.25
    latencies: dict[str, float] = field(default_factory=dict)  # id -> seconds
    samples: list[WatchSample] = field(default_factory=list)
    _objects: set[str] = field(default_factory=set)
    _oldest: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._start = time.time()
        self._thread = threading.Thread(target=self._run, name="lake-watch", daemon=True)

    def start(self) -> None:
        self._start = time.time()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def poll(self) -> WatchSample:
        """One look at the lake; returns (and keeps) the sample."""
        seen_at = time.time()
        fresh: list[float] = []
        for key, rows in iter_objects(self.s3, self.bucket, self.prefix, skip=self._objects):
            self._objects.add(key)
            for row in rows:
                if row["id"] not in self.latencies:
                    self.latencies[row["id"]] = seen_at - float(row["ts"])
                    fresh.append(self.latencies[row["id"]])
        produced = min(len(self.sent.ids), len(self.sent.sent_at))
        while self._oldest < produced and self.sent.ids[self._oldest] in self.latencies:
            self._oldest += 1
        lag = seen_at - self.sent.sent_at[self._oldest] if self._oldest < produced else 0.0
        last = self.samples[-1] if self.samples else None
        dt = seen_at - self._start - (last.t if last else 0.0)
        sample = WatchSample(
            t=seen_at - self._start,
            produced=produced,
            written=len(self.latencies),
            backlog=max(0, produced - len(self.latencies)),
            throughput=len(fresh) / dt if dt > 0 else 0.0,
            lag_s=lag,
            p50_s=statistics.median(fresh) if fresh else None,
            p99_s=percentile(fresh, 99) if fresh else None,
        )
        self.samples.append(sample)
        return sample

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.poll()
