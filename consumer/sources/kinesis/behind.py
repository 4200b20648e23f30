"""How many records a Kinesis consumer is behind on one shard, known without asking
CloudWatch: the shard's `MillisBehindLatest` (in every GetRecords response and every KCL
processRecords call) times the rate records arrive on it, estimated from the arrival times
of the records just read.

Records behind = seconds behind x records per second: unlike seconds behind, it adds up
over a task's shards and, divided by the tasks, falls as tasks are added, which is what
target tracking needs (docs/metrics.md, `KinesisRecordsBehind`). The rate is the one of
the records being read, the last `WINDOW_S` of their arrival times: a consumer that has
fallen behind reads the past, so after a step in the load its estimate trails the truth
until it reads records that arrived after the step (a reader at a fifth of the incoming
rate reads 5 s of arrivals in 25 s); a consumer that is caught up is 0 behind whatever
the rate.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

WINDOW_S = 5.0
"""Arrival time the rate is measured over: short, so a step in the load shows soon."""
MIN_SPAN_S = 1.0
"""Records that arrived within one second count as arriving over one second (arrival times
have millisecond resolution, and a batch put gives many the same one)."""


class ShardBehind:
    """The records-behind estimate of one shard, fed by each read."""

    def __init__(self, window_s: float = WINDOW_S) -> None:
        self.window_s = window_s
        self.millis_behind = 0
        self._reads: deque[tuple[float, float, int]] = deque()  # (first, last arrival, count)

    def observe(self, arrivals: Iterable[float], millis_behind: int | None) -> None:
        """One read: the arrival times (epoch seconds) of its records, and how far behind
        the tip of the shard it left the reader (None: not said, keep the last)."""
        if millis_behind is not None:
            self.millis_behind = max(0, int(millis_behind))
        times = list(arrivals)
        if not times:
            return
        self._reads.append((min(times), max(times), len(times)))
        newest = max(last for _, last, _ in self._reads)
        while self._reads and self._reads[0][1] < newest - self.window_s:
            self._reads.popleft()

    def rate(self) -> float:
        """Records per second of arrival time over the window (0 before any record)."""
        if not self._reads:
            return 0.0
        first = min(first for first, _, _ in self._reads)
        last = max(last for _, last, _ in self._reads)
        count = sum(count for _, _, count in self._reads)
        return count / max(last - first, MIN_SPAN_S)

    def records(self) -> float:
        """Records between the reader and the tip of the shard, estimated."""
        return self.millis_behind / 1000 * self.rate()
