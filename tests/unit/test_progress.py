"""The batch progress reporter: a bar on a terminal, JSON logs at an interval elsewhere."""

from __future__ import annotations

import io
import logging

import pytest

from batch_jobs.progress import Progress


class Terminal(io.StringIO):
    """A text stream that says it is a terminal, as stderr does at a shell."""

    def isatty(self) -> bool:
        return True


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_on_a_terminal_a_bar_is_redrawn_and_closed_with_the_summary() -> None:
    # GIVEN a terminal and a part of 4 inputs
    stream, clock = Terminal(), Clock()
    progress = Progress.for_stream("backfill", (1, 4), 10.0, stream)
    progress.clock, progress.started = clock, clock.now
    progress.begin(4)

    # WHEN two inputs of 1,500 records finish in 3 seconds, then the job ends
    clock.now += 3.0
    progress.add(records=1000)
    progress.add(inputs=2, records=500)
    progress.finish("backfill 1/4: 4 inputs")

    # THEN the bar shows the inputs done of total, records and the rate, redrawn in place
    frames = stream.getvalue().split("\r")
    assert progress.mode == "bar"
    assert frames[-1].startswith("backfill 1/4 [############------------] 2/4 inputs")
    assert "1,500 records  500 rec/s  0:03" in frames[-1]
    assert frames[-1].endswith("\x1b[K\nbackfill 1/4: 4 inputs\n")


def test_elsewhere_progress_is_a_json_log_line_per_interval(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # GIVEN a stream that is not a terminal (an ECS task's stderr) and a 10 s interval
    clock = Clock()
    progress = Progress.for_stream("backfill", (0, 1), 10.0, io.StringIO())
    progress.clock, progress.started, progress._next = clock, clock.now, clock.now + 10
    caplog.set_level(logging.INFO, logger="batch_jobs.progress")

    # WHEN 50 inputs of 100 records finish over 25 seconds, one every half second
    progress.begin(50)
    for _ in range(50):
        clock.now += 0.5
        progress.add(inputs=1, records=100)

    # THEN one start line and one line per 10 s went out, with the figures as fields
    assert progress.mode == "log"
    records = [r for r in caplog.records if r.name == "batch_jobs.progress"]
    assert [r.getMessage() for r in records] == ["job started", "job progress", "job progress"]
    last = records[-1].__dict__
    assert (last["job"], last["part"], last["inputs_total"]) == ("backfill", "0/1", 50)
    assert (last["inputs_done"], last["records"], last["elapsed_s"]) == (40, 4000, 20.0)
    assert last["records_per_s"] == 200.0


def test_without_a_total_the_line_counts_inputs_only() -> None:
    progress = Progress("extract", mode="bar", stream=Terminal())
    progress.add(inputs=3, records=42)
    assert progress.line(progress.started + 1).startswith("extract  3 inputs  42 records")
