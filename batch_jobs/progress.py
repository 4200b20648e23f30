"""How far a batch job is: a progress bar on a terminal, structured logs elsewhere.

On a TTY (a person at `sluice batch run`) stderr shows one redrawn line: inputs done of
total, records, records per second, elapsed time; at the end a one-line summary. Not on
a TTY (an ECS task, CI) a JSON log line `job progress` goes out every `interval_s`
(default 10 s) and the job's `job finished` log is the final summary.

Jobs report per input and the pipeline per flush, never per record, so the cost is one
clock read per input or flush whatever the number of records.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from typing import Literal, TextIO

log = logging.getLogger(__name__)
Mode = Literal["bar", "log", "off"]
_REDRAW_S = 0.2
_WIDTH = 24


class Progress:
    def __init__(
        self,
        job: str,
        part: tuple[int, int] = (0, 1),
        mode: Mode = "off",
        interval_s: float = 10.0,
        stream: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.job = job
        self.part = f"{part[0]}/{part[1]}"
        self.label = job if part[1] == 1 else f"{job} {self.part}"
        self.mode: Mode = mode
        self.interval_s = interval_s if mode == "log" else _REDRAW_S
        self.stream = stream or sys.stderr
        self.clock = clock
        self.total: int | None = None
        self.inputs = 0
        self.records = 0
        self.started = clock()
        self._next = self.started + self.interval_s

    @classmethod
    def for_stream(
        cls, job: str, part: tuple[int, int], interval_s: float, stream: TextIO | None = None
    ) -> Progress:
        """A bar when the stream is a terminal, logs otherwise."""
        stream = stream or sys.stderr
        tty = getattr(stream, "isatty", lambda: False)()
        return cls(job, part, "bar" if tty else "log", interval_s, stream)

    def begin(self, total: int | None) -> None:
        """The number of inputs this part will read, once known."""
        self.total = total
        if self.mode == "log":
            log.info("job started", extra={**self._names(), "inputs_total": total})
        elif self.mode == "bar":
            self._draw(self.clock())

    def add(self, inputs: int = 0, records: int = 0) -> None:
        """Count finished inputs and records (per input or per flush, not per record)."""
        self.inputs += inputs
        self.records += records
        if self.mode == "off":
            return
        now = self.clock()
        if now >= self._next:
            self._next = now + self.interval_s
            self._emit(now)

    def finish(self, summary: str) -> None:
        """Close the bar with the job's summary line (the log mode has `job finished`)."""
        if self.mode == "bar":
            self._draw(self.clock())
            self.stream.write(f"\n{summary}\n")
            self.stream.flush()

    def figures(self, now: float) -> dict[str, float | int | None]:
        elapsed = max(now - self.started, 1e-9)
        return {
            "inputs_done": self.inputs,
            "inputs_total": self.total,
            "records": self.records,
            "records_per_s": round(self.records / elapsed, 1),
            "elapsed_s": round(elapsed, 1),
        }

    def _names(self) -> dict[str, str]:
        return {"job": self.job, "part": self.part}

    def _emit(self, now: float) -> None:
        if self.mode == "log":
            log.info("job progress", extra={**self._names(), **self.figures(now)})
        else:
            self._draw(now)

    def _draw(self, now: float) -> None:
        self.stream.write("\r" + self.line(now) + "\x1b[K")
        self.stream.flush()

    def line(self, now: float) -> str:
        """`backfill 0/4 [#########---------------]  15/40 inputs  12,000 records  ...`"""
        figures = self.figures(now)
        elapsed = int(now - self.started)
        clock = f"{elapsed // 60}:{elapsed % 60:02d}"
        counts = f"{self.records:,} records  {figures['records_per_s']:,.0f} rec/s  {clock}"
        if not self.total:
            return f"{self.label}  {self.inputs} inputs  {counts}"
        filled = min(_WIDTH, _WIDTH * self.inputs // self.total)
        bar = "#" * filled + "-" * (_WIDTH - filled)
        return f"{self.label} [{bar}] {self.inputs}/{self.total} inputs  {counts}"
