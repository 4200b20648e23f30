"""Records behind a Kinesis shard, from MillisBehindLatest and the arrival times of the
records read (consumer/sources/kinesis/behind.py), and the KCL processor feeding it."""

from __future__ import annotations

import pytest

from consumer.sources.kinesis.behind import WINDOW_S, ShardBehind


def arrivals(start: float, seconds: float, per_s: float) -> list[float]:
    """Arrival times of records coming in at `per_s` from `start` for `seconds`."""
    return [start + i / per_s for i in range(int(seconds * per_s))]


def test_a_reader_behind_a_steady_shard_knows_how_many_records_are_ahead() -> None:
    # GIVEN a shard taking 200 records/s, read in calls of 100 records
    behind = ShardBehind()
    times = arrivals(1000.0, 4.0, 200)
    # WHEN the reader has read 4 s of it and is 30 s behind the tip
    for start in range(0, len(times), 100):
        behind.observe(times[start : start + 100], 30_000)
    # THEN it is 6,000 records behind (30 s x 200 records/s)
    assert behind.rate() == pytest.approx(200, rel=0.01)
    assert behind.records() == pytest.approx(6000, rel=0.01)


def test_a_caught_up_reader_is_zero_behind_whatever_the_rate() -> None:
    behind = ShardBehind()
    behind.observe(arrivals(0.0, 2.0, 500), 0)
    assert behind.rate() > 0 and behind.records() == 0


def test_a_call_without_records_keeps_the_rate_and_takes_the_new_lag() -> None:
    behind = ShardBehind()
    behind.observe(arrivals(0.0, 2.0, 100), 1_000)
    behind.observe([], 10_000)  # an empty read (or a KCL call with no records)
    assert behind.records() == pytest.approx(1000, rel=0.01)
    behind.observe([], None)  # the daemon did not say: the last lag stands
    assert behind.millis_behind == 10_000


def test_the_rate_follows_a_step_once_the_reader_reads_past_it() -> None:
    # GIVEN a shard at 100 records/s stepping to 1,000 records/s at 1,010 s
    behind = ShardBehind()
    behind.observe(arrivals(1000.0, 10.0, 100), 5_000)
    assert behind.rate() == pytest.approx(100, rel=0.01)
    # WHEN the reader has read the first 2 s after the step: a blend of both rates
    behind.observe(arrivals(1010.0, 2.0, 1000), 5_000)
    assert 100 < behind.rate() < 1000
    # THEN once it has read a window past the step, the old rate is forgotten
    behind.observe(arrivals(1012.0, WINDOW_S, 1000), 5_000)
    assert behind.rate() == pytest.approx(1000, rel=0.01)


def test_records_arriving_in_the_same_millisecond_count_over_one_second() -> None:
    behind = ShardBehind()
    behind.observe([5.0] * 300, 2_000)  # one batch put
    assert behind.rate() == 300 and behind.records() == 600
