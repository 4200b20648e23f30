"""PartitionBatcher: buffers per route and output partition, cut whole on the first limit."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from consumer.delivery.buffer import BufferConfig, PartitionBatcher
from consumer.flow import Item, Position, RouteKeys


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


MakeBatcher = Callable[..., PartitionBatcher]


@pytest.fixture()
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture()
def make_batcher(clock: FakeClock) -> MakeBatcher:
    def make(
        max_records: int = 100,
        max_bytes: int = 1_000_000,
        max_age_s: float = 60.0,
        route_limits: dict[str, BufferConfig] | None = None,
        route_keys: dict[str, RouteKeys] | None = None,
    ) -> PartitionBatcher:
        limits = BufferConfig(max_records=max_records, max_bytes=max_bytes, max_age_s=max_age_s)
        return PartitionBatcher("events", "shard-1", limits, route_limits, route_keys, clock)

    return make


def item(route: str = "orders", partition: str = "dt=2026-11-22", n: int = 0) -> Item:
    line = b'{"n":%d}\n' % n
    return Item(route, partition, {"n": n}, line)


def test_nothing_buffered_is_not_pending_nor_due(make_batcher: MakeBatcher) -> None:
    batcher = make_batcher(max_age_s=0.001)
    assert not batcher.pending and not batcher.due()


def test_cut_on_max_records(make_batcher: MakeBatcher) -> None:
    batcher = make_batcher(max_records=3)
    for seq in (1, 2):
        batcher.add(Position(seq), [item(n=seq)])
    assert not batcher.due()
    batcher.add(Position(3), [item(n=3)])
    assert batcher.due()


def test_cut_on_max_bytes(make_batcher: MakeBatcher) -> None:
    # GIVEN lines of 8 bytes and a 20-byte limit
    batcher = make_batcher(max_bytes=20)
    assert len(item(n=1).line) == 8
    batcher.add(Position(1), [item(n=1), item(n=2)])
    assert not batcher.due()
    # WHEN the third line brings the buffer to 24 bytes THEN it is due
    batcher.add(Position(2), [item(n=3)])
    assert batcher.due()


def test_cut_on_max_age(make_batcher: MakeBatcher, clock: FakeClock) -> None:
    # GIVEN a buffer opened at t=1000 with a 5 s age limit
    batcher = make_batcher(max_age_s=5)
    batcher.add(Position(1), [item()])
    clock.now += 3
    batcher.add(Position(2), [item()])
    # THEN the age counts from the first record, not the last
    clock.now = 1004.999
    assert not batcher.due()
    clock.now = 1005.0
    assert batcher.due()


def test_per_route_limits_override_the_default(make_batcher: MakeBatcher) -> None:
    # GIVEN a default of 100 records and a "clicks" limit of 2
    batcher = make_batcher(route_limits={"clicks": BufferConfig(max_records=2)})
    batcher.add(Position(1), [item("orders"), item("orders")])
    assert not batcher.due()
    batcher.add(Position(2), [item("clicks"), item("clicks")])
    assert batcher.due()


def test_the_shortest_age_of_the_buffered_routes_applies(
    make_batcher: MakeBatcher, clock: FakeClock
) -> None:
    batcher = make_batcher(max_age_s=60, route_limits={"clicks": BufferConfig(max_age_s=2)})
    batcher.add(Position(1), [item("orders")])
    clock.now += 2
    assert not batcher.due()
    batcher.add(Position(2), [item("clicks")])
    assert batcher.due()


def test_cut_gives_one_batch_per_route_and_output_partition(make_batcher: MakeBatcher) -> None:
    # GIVEN records spread over two routes and two output partitions, one quarantined
    batcher = make_batcher()
    batcher.add(Position(10), [item("orders", "dt=a", 0), item("clicks", "dt=a", 1)])
    batcher.add(Position(11, 2), [item("orders", "dt=b", 2)])
    batcher.add(Position(12), [item("", "dt=q", 3)], quarantined=True)
    batcher.add(Position(13), [])
    batcher.add(Position(14), [item("orders", "dt=a", 4)])
    # WHEN cut
    cut = batcher.cut()
    # THEN each buffer is a batch holding its own first and last positions
    assert (cut.partition, cut.first, cut.last) == ("shard-1", Position(10), Position(14))
    assert (cut.records, cut.quarantined) == (5, 1)
    summary = {
        (b.route, b.output_partition): (b.first_position, b.last_position, [r["n"] for r in b.rows])
        for b in cut.batches
    }
    assert summary == {
        ("orders", "dt=a"): (Position(10), Position(14), [0, 4]),
        ("clicks", "dt=a"): (Position(10), Position(10), [1]),
        ("orders", "dt=b"): (Position(11, 2), Position(11, 2), [2]),
        ("", "dt=q"): (Position(12), Position(12), [3]),
    }
    orders_a = next(b for b in cut.batches if b.route == "orders" and b.output_partition == "dt=a")
    assert orders_a.lines == [b'{"n":0}\n', b'{"n":4}\n']
    assert orders_a.nbytes == 16
    assert all((b.source, b.partition) == ("events", "shard-1") for b in cut.batches)


def test_cut_resets_the_state(make_batcher: MakeBatcher, clock: FakeClock) -> None:
    # GIVEN a batcher that was full and was cut
    batcher = make_batcher(max_records=1)
    batcher.add(Position(1), [item()], quarantined=True)
    assert batcher.due()
    batcher.cut()
    # THEN it is empty and a new buffer opens with the next record and clock
    assert not batcher.pending and not batcher.due() and batcher.buffers == {}
    assert (batcher.records, batcher.quarantined, batcher.first) == (0, 0, None)
    with pytest.raises(AssertionError, match="nothing to cut"):
        batcher.cut()
    clock.now += 100
    batcher.add(Position(2), [])
    assert batcher.opened_at == clock.now and batcher.first == Position(2)


def test_route_keys_are_propagated_to_batches(make_batcher: MakeBatcher) -> None:
    keys = {"orders": RouteKeys(key_fields=("id", "region"), version_field="updated")}
    batcher = make_batcher(route_keys=keys)
    batcher.add(Position(1), [item("orders"), item("clicks")])
    batches = {b.route: b for b in batcher.cut().batches}
    assert (batches["orders"].key_fields, batches["orders"].version_field) == (
        ("id", "region"),
        "updated",
    )
    assert (batches["clicks"].key_fields, batches["clicks"].version_field) == ((), None)
