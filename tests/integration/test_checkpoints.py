"""DynamoDB checkpoints against the emulator: round trip, ordering, no moving backwards."""

from __future__ import annotations

import pytest

from consumer.aws.clients import AwsClients
from consumer.flow import Position
from consumer.sources.kinesis.checkpoints import (
    DynamoCheckpointStore,
    create_table,
    decode_position,
    encode_position,
)

pytestmark = pytest.mark.integration

BIG = 49_650_123_456_789_012_345_678_901_234_567_890_123_456_789_012_345


def test_positions_encode_to_strings_that_sort_like_positions() -> None:
    positions = [Position(9), Position(10), Position(10, 2), Position(BIG), Position(BIG, 11)]
    encoded = [encode_position(p) for p in positions]
    assert sorted(encoded) == encoded
    assert [decode_position(e) for e in encoded] == positions


def test_checkpoint_round_trip_and_no_backwards_move(aws: AwsClients, unique: str) -> None:
    # GIVEN a fresh checkpoint table
    client = aws.client("dynamodb")
    create_table(client, f"ckpt-{unique}")
    store = DynamoCheckpointStore(client, f"ckpt-{unique}", "app", "stream")
    assert store.load("shardId-0").position is None

    # WHEN a checkpoint is committed, then moved forward
    store.commit("shardId-0", Position(BIG, 1))
    store.commit("shardId-0", Position(BIG, 4))

    # THEN it reads back exactly, other shards are untouched, and it cannot move back
    assert store.load("shardId-0").position == Position(BIG, 4)
    assert store.load("shardId-1").position is None
    with pytest.raises(ValueError, match="backwards"):
        store.commit("shardId-0", Position(BIG, 3))
    store.end_shard("shardId-0")
    loaded = store.load("shardId-0")
    assert loaded.ended and loaded.position == Position(BIG, 4)


def test_applications_do_not_share_checkpoints(aws: AwsClients, unique: str) -> None:
    client = aws.client("dynamodb")
    create_table(client, f"ckpt-{unique}")
    one = DynamoCheckpointStore(client, f"ckpt-{unique}", "one", "stream")
    two = DynamoCheckpointStore(client, f"ckpt-{unique}", "two", "stream")
    one.commit("shardId-0", Position(5))
    assert two.load("shardId-0").position is None
