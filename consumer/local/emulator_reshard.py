"""Kinesis reshards in the embedded emulator as Kinesis does them (moto 5 does not).

moto's SplitShard empties the parent and puts its records again through its own routing,
which still picks the closed parent (it never checks `is_open`), so after a split every
record, old and new, lives in the parent and the children stay empty; MergeShards copies
the parents' records into the new shard, so they exist twice; and GetRecords never ends a
closed shard (the next iterator is always there, `ChildShards` never is). A consumer
tested against that cannot show that it reads a parent to its end before its children,
and the KCL never learns that a shard ended.

`install()` patches moto's Kinesis models in this process, idempotently:
- new records go to the open shard whose hash key range holds their hash key;
- SplitShard and MergeShards close the parents and keep their records where they are;
- GetRecords on a closed shard, once its last record has been read, returns no
  `NextShardIterator` and the `ChildShards` (ids, parents, hash key ranges), as AWS does.

It changes nothing for a stream that is never resharded. Only the embedded emulator and
the tests' HTTP/2 emulator install it; LocalStack and AWS need nothing.
"""

from __future__ import annotations

from functools import cache
from operator import attrgetter
from typing import Any


@cache
def install() -> None:
    """Patch moto's Kinesis in this process (once)."""
    from moto.kinesis import models, responses

    models.Stream.get_shard_for_key = _get_shard_for_key  # type: ignore[method-assign]
    models.Stream.split_shard = _split_shard  # type: ignore[method-assign]
    models.Stream.merge_shards = _merge_shards  # type: ignore[method-assign]
    original_get_records = responses.KinesisResponse.get_records

    def get_records(self: Any) -> Any:
        result = original_get_records(self)
        _end_closed_shard(self, result.result)
        return result

    responses.KinesisResponse.get_records = get_records  # type: ignore[method-assign]


def _get_shard_for_key(self: Any, partition_key: str, explicit_hash_key: str) -> Any:
    from moto.kinesis.exceptions import InvalidArgumentError
    from moto.utilities.utils import md5_hash

    if not isinstance(partition_key, str) or len(partition_key) > 256:
        raise InvalidArgumentError("partition_key")
    if explicit_hash_key:
        hash_key = int(explicit_hash_key)
        if hash_key >= 2**128:
            raise InvalidArgumentError("explicit_hash_key")
    else:
        hash_key = int(md5_hash(partition_key.encode("utf-8")).hexdigest(), 16)
    for shard in self.shards.values():
        if shard.is_open and shard.starting_hash <= hash_key <= shard.ending_hash:
            return shard
    return None


def _next_id(self: Any) -> int:
    return int(max(self.shards.values(), key=attrgetter("_shard_id"))._shard_id) + 1


def _split_shard(self: Any, shard_to_split: str, new_starting_hash_key: str) -> None:
    from moto.kinesis.exceptions import InvalidArgumentError
    from moto.kinesis.models import Shard

    shard = self.shards[shard_to_split]
    split_at = int(new_starting_hash_key)
    if not shard.starting_hash < split_at <= shard.ending_hash:
        raise InvalidArgumentError(f"NewStartingHashKey {split_at} is outside {shard_to_split}")
    if not shard.is_open:
        raise InvalidArgumentError(f"Shard {shard_to_split} has already been merged or split")
    first = _next_id(self)
    for offset, (start, end) in enumerate(
        [(shard.starting_hash, split_at - 1), (split_at, shard.ending_hash)]
    ):
        child = Shard(first + offset, starting_hash=start, ending_hash=end, parent=shard.shard_id)
        self.shards[child.shard_id] = child
    shard.is_open = False


def _merge_shards(self: Any, shard_to_merge: str, adjacent_shard_to_merge: str) -> None:
    from moto.kinesis.exceptions import InvalidArgumentError
    from moto.kinesis.models import Shard

    low, high = sorted(
        (self.shards[shard_to_merge], self.shards[adjacent_shard_to_merge]),
        key=attrgetter("starting_hash"),
    )
    if low.ending_hash + 1 != high.starting_hash:
        raise InvalidArgumentError(adjacent_shard_to_merge)
    if not (low.is_open and high.is_open):
        raise InvalidArgumentError("a shard to merge has already been merged or split")
    merged = Shard(
        _next_id(self),
        starting_hash=low.starting_hash,
        ending_hash=high.ending_hash,
        parent=shard_to_merge,
        adjacent_parent=adjacent_shard_to_merge,
    )
    self.shards[merged.shard_id] = merged
    low.is_open = False
    high.is_open = False


def _end_closed_shard(response: Any, body: Any) -> None:
    """Drop the next iterator and name the children when a closed shard was read out."""
    from moto.kinesis.utils import decompose_shard_iterator

    if not isinstance(body, dict) or body.get("Records") or not body.get("NextShardIterator"):
        return
    stream_name, shard_id, last = decompose_shard_iterator(body["NextShardIterator"])
    stream = response.kinesis_backend.describe_stream(
        stream_arn=response._get_param("StreamARN"), stream_name=stream_name
    )
    shard = stream.get_shard(shard_id)
    if shard.is_open or int(last) < shard.get_max_sequence_number():
        return
    del body["NextShardIterator"]
    body["ChildShards"] = [
        {
            "ShardId": child.shard_id,
            "ParentShards": [p for p in (child.parent, child.adjacent_parent) if p],
            "HashKeyRange": {
                "StartingHashKey": str(child.starting_hash),
                "EndingHashKey": str(child.ending_hash),
            },
        }
        for child in sorted(stream.shards.values(), key=attrgetter("_shard_id"))
        if shard_id in (child.parent, child.adjacent_parent)
    ]
