"""A flush writes every batch to every sink of its route; one sink down holds the ack only."""

from __future__ import annotations

import pytest

from consumer.delivery.flush import Flusher
from consumer.delivery.retry import RetryConfig
from consumer.errors import SinkError
from consumer.flow import Batch, Cut, Position
from consumer.sinks.memory import ListSink


def _cut() -> Cut:
    batch = Batch(
        route="r",
        source="s",
        partition="p",
        output_partition="",
        rows=[{"id": 1}],
        first_position=Position(1),
        last_position=Position(1),
        lines=[b"{}\n"],
    )
    return Cut("p", Position(1), Position(1), [batch], records=1, quarantined=0)


def test_every_sink_of_the_route_gets_the_batch() -> None:
    lake, db = ListSink("lake"), ListSink("db")
    Flusher({"r": [lake, db]}, RetryConfig(max_attempts=1)).write(_cut())
    assert len(lake.batches) == 1 and len(db.batches) == 1


def test_a_sink_that_is_down_fails_the_flush_but_not_the_other_sinks_writes() -> None:
    # GIVEN a healthy sink and one that fails every attempt
    lake, db = ListSink("lake"), ListSink("db")
    db.fail_next = 10
    flusher = Flusher({"r": [lake, db]}, RetryConfig(max_attempts=3, base_delay_s=0.001))
    # WHEN flushed
    with pytest.raises(SinkError, match="sink 'db'"):
        flusher.write(_cut())
    # THEN the healthy sink wrote (idempotent, rewritten on replay) and the flush failed
    assert len(lake.batches) == 1 and db.batches == [] and db.fail_next == 7


def test_a_retriable_failure_within_budget_succeeds() -> None:
    db = ListSink("db")
    db.fail_next = 2
    Flusher({"r": [db]}, RetryConfig(max_attempts=3, base_delay_s=0.001)).write(_cut())
    assert len(db.batches) == 1
