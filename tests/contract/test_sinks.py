"""The contract every sink keeps, run over every sink (tests/contract/sinks.py lists them),
each through the delivery engine as a route's `lake`: what was acked can be read back
whole, a replayed or re-written cut has one effect, an empty batch is harmless, and an
unreachable store stops the cut with nothing acked and a retriable error.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from consumer.aws.clients import AwsClients
from consumer.errors import SinkError
from consumer.flow import Batch, Position
from tests.contract.parts import Crashed, bodies, build, config
from tests.contract.sinks import SINKS, SinkHarness
from tests.contract.sources import BoundedHarness

pytestmark = pytest.mark.integration
SOURCE = {"type": "kinesis", "stream": "contract"}  # unused: a bounded input drives the engine


@pytest.fixture(params=sorted(SINKS))
def store(
    request: pytest.FixtureRequest, aws: AwsClients, unique: str, tmp_path: Path
) -> SinkHarness:
    return SINKS[request.param](aws, unique, tmp_path)


def _once(store: SinkHarness, rows: list[dict[str, object]], count: int) -> None:
    ids = Counter(str(row["id"]) for row in rows)
    assert ids == {f"i{i}": 1 for i in range(count)}, f"{store.name}: {ids}"
    assert {int(str(row["n"])) for row in rows} == set(range(count))


def test_what_was_acked_reads_back_whole(
    store: SinkHarness, aws: AwsClients, tmp_path: Path
) -> None:
    source = BoundedHarness()
    source.put(bodies(12))
    parts = build(config(SOURCE, lake=store.config()), aws, tmp_path)
    source.consume(parts)
    assert source.acked() == 12
    _once(store, store.rows(parts), 12)


def test_a_crash_between_write_and_ack_then_a_replay_leaves_one_effect(
    store: SinkHarness, aws: AwsClients, tmp_path: Path
) -> None:
    source = BoundedHarness()
    source.put(bodies(12))
    parts = build(config(SOURCE, lake=store.config()), aws, tmp_path)
    with pytest.raises(Crashed):
        source.consume(parts, crash=True)
    assert source.acked() == 0 and store.rows(parts)
    source.consume(parts)
    _once(store, store.rows(parts), 12)


def test_a_replayed_cut_has_one_effect(store: SinkHarness, aws: AwsClients, tmp_path: Path) -> None:
    source = BoundedHarness()
    source.put(bodies(12))
    parts = build(config(SOURCE, lake=store.config()), aws, tmp_path)
    source.consume(parts)
    source.rewind()
    source.consume(parts)
    _once(store, store.rows(parts), 12)


def test_an_empty_batch_is_harmless(store: SinkHarness, aws: AwsClients, tmp_path: Path) -> None:
    source = BoundedHarness()
    source.put(bodies(3))
    parts = build(config(SOURCE, lake=store.config()), aws, tmp_path)
    source.consume(parts)  # the store exists (tables created on first write)
    empty = Batch(
        "items", "job", "input", "dt=2026-12-04", Position(99), Position(99), [], [], ("id",)
    )
    parts.sinks["lake"].write(empty)
    _once(store, store.rows(parts), 3)


def test_an_unreachable_store_stops_the_cut_with_nothing_acked(
    store: SinkHarness, aws: AwsClients, tmp_path: Path
) -> None:
    # GIVEN a sink whose store has been written to, then becomes unreachable
    source = BoundedHarness()
    source.put(bodies(3))
    parts = build(config(SOURCE, lake=store.config()), aws, tmp_path)
    source.consume(parts)
    down = store.down(parts)
    if down is None:
        pytest.skip(f"{store.name}: an unreachable store is tested elsewhere (see its harness)")
    source.put(bodies(6, start=3))
    with down:
        # WHEN more records come, THEN the cut stops with a retriable error, nothing acked
        with pytest.raises(SinkError) as stopped:
            source.consume(parts)
        cause: BaseException | None = stopped.value
        while isinstance(cause, SinkError):
            cause = cause.__cause__
        assert cause is not None and parts.sinks["lake"].is_retriable(cause), repr(cause)
        assert source.acked() == 3
    # WHEN the store is back, THEN the rest is delivered once
    source.consume(parts)
    _once(store, store.rows(parts), 9)
