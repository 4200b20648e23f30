"""S3 object keys: deterministic, and no key can leave its prefix."""

from __future__ import annotations

from consumer.flow import Batch, Position
from consumer.sinks.s3 import object_key


def _batch(route: str = "views", partition: str = "shardId-000000000001") -> Batch:
    return Batch(
        route=route,
        source="events",
        partition=partition,
        output_partition="dt=2026-11-22/hr=13",
        first_position=Position(49650000000000000000000000001, 3),
        last_position=Position(49650000000000000000000000009, 0),
        rows=[{"a": 1}],
        lines=[b'{"a":1}\n'],
    )


def test_key_is_derived_from_partition_and_first_position() -> None:
    key = object_key("lake", _batch())
    assert key == (
        "lake/views/dt=2026-11-22/hr=13/"
        "events.shardId-000000000001.49650000000000000000000000001-3.jsonl.gz"
    )
    assert object_key("lake", _batch()) == key


def test_quarantine_batches_sit_right_under_the_prefix() -> None:
    key = object_key("quarantine/", _batch(route=""))
    assert key.startswith("quarantine/dt=2026-11-22/hr=13/events.")


def test_hostile_partition_and_route_names_cannot_escape_the_prefix() -> None:
    key = object_key("lake", _batch(route="..", partition="../../etc/passwd"))
    segments = key.split("/")
    assert segments[0] == "lake"
    assert ".." not in segments and "." not in segments
    assert len(segments) == 5


def test_very_long_partition_values_keep_the_key_under_1024_bytes() -> None:
    # GIVEN a route partitioned by a field whose value is 10,000 characters of look-alikes
    from consumer.pipeline.partitioning import PartitionConfig, Partitioner

    partitioner = Partitioner(PartitionConfig(fields=("tenant",)))
    cyrillic_a = "\u0430"  # looks like a Latin "a"
    long_a = partitioner.partition({"tenant": cyrillic_a * 5_000 + "x"}, 0.0)
    long_b = partitioner.partition({"tenant": cyrillic_a * 5_000 + "y"}, 0.0)
    batch = _batch()
    batch.output_partition = long_a

    # WHEN it becomes a key
    key = object_key("lake", batch)

    # THEN the key fits S3's limit, stays under its prefix, and distinct values stay apart
    assert len(key.encode()) < 1024
    assert key.startswith("lake/views/dt=1970-01-01/hr=00/tenant=")
    assert long_a != long_b
