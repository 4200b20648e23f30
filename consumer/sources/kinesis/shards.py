"""Shard listing and the parent-before-child rule of resharding."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ShardInfo:
    shard_id: str
    parents: tuple[str, ...]
    ending_sequence: int | None

    @property
    def closed(self) -> bool:
        return self.ending_sequence is not None


def list_shards(client: Any, stream: str) -> list[ShardInfo]:
    shards: list[ShardInfo] = []
    kwargs: dict[str, Any] = {"StreamName": stream}
    while True:
        page = client.list_shards(**kwargs)
        shards.extend(_info(raw) for raw in page["Shards"])
        token = page.get("NextToken")
        if not token:
            return shards
        kwargs = {"NextToken": token}


def _info(raw: dict[str, Any]) -> ShardInfo:
    parents = tuple(p for p in (raw.get("ParentShardId"), raw.get("AdjacentParentShardId")) if p)
    ending = raw.get("SequenceNumberRange", {}).get("EndingSequenceNumber")
    return ShardInfo(raw["ShardId"], parents, int(ending) if ending is not None else None)


def ready(shard: ShardInfo, listed: Iterable[str], finished: set[str]) -> bool:
    """A shard may be read once each parent still in the stream has been read to its end.

    Parents past the retention period are no longer listed; their records are gone, so
    they do not hold their children back.
    """
    present = set(listed)
    return all(parent in finished or parent not in present for parent in shard.parents)
