"""Parents are read to their end before their children start."""

from __future__ import annotations

from consumer.sources.kinesis.shards import ShardInfo, ready

PARENT = ShardInfo("shardId-0", (), 100)
LEFT = ShardInfo("shardId-1", ("shardId-0",), None)
MERGED = ShardInfo("shardId-3", ("shardId-1", "shardId-2"), None)


def test_a_shard_without_parents_is_ready() -> None:
    assert ready(PARENT, ["shardId-0"], set())


def test_a_child_waits_for_its_listed_parent() -> None:
    listed = ["shardId-0", "shardId-1"]
    assert not ready(LEFT, listed, set())
    assert ready(LEFT, listed, {"shardId-0"})


def test_a_merged_child_waits_for_both_parents() -> None:
    listed = ["shardId-1", "shardId-2", "shardId-3"]
    assert not ready(MERGED, listed, {"shardId-1"})
    assert ready(MERGED, listed, {"shardId-1", "shardId-2"})


def test_a_parent_past_retention_does_not_hold_its_child() -> None:
    assert ready(LEFT, ["shardId-1"], set())
    assert PARENT.closed and not LEFT.closed
