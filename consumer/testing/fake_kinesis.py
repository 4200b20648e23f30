"""An in-memory Kinesis with the reshard semantics of the real service, for unit tests.

After a split or merge the parent is closed: new records go to the open shards whose
hash range holds the partition key's MD5, and reading a closed shard to its end returns
no `NextShardIterator`. (moto, the embedded emulator, keeps writing to closed parents.)
Only the calls the polling reader makes are implemented.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

_MAX_HASH = 2**128 - 1


@dataclass
class _Shard:
    shard_id: str
    start: int
    end: int
    parents: tuple[str, ...] = ()
    records: list[dict[str, Any]] = field(default_factory=list)
    closed: bool = False


class FakeKinesis:
    def __init__(self, stream: str, shard_count: int = 1) -> None:
        self.stream = stream
        self.shards: list[_Shard] = []
        self._sequence = 0
        width = (_MAX_HASH + 1) // shard_count
        for i in range(shard_count):
            end = _MAX_HASH if i == shard_count - 1 else (i + 1) * width - 1
            self._add(i * width, end)

    def _add(self, start: int, end: int, parents: tuple[str, ...] = ()) -> _Shard:
        shard = _Shard(f"shardId-{len(self.shards):012d}", start, end, parents)
        self.shards.append(shard)
        return shard

    def _find(self, shard_id: str) -> _Shard:
        return next(s for s in self.shards if s.shard_id == shard_id)

    # -- writes -------------------------------------------------------------------
    def put(self, key: str, data: bytes) -> str:
        point = int.from_bytes(hashlib.md5(key.encode(), usedforsecurity=False).digest())
        shard = next(s for s in self.shards if not s.closed and s.start <= point <= s.end)
        self._sequence += 1
        shard.records.append(
            {
                "SequenceNumber": str(self._sequence),
                "ApproximateArrivalTimestamp": datetime.now(UTC),
                "Data": data,
                "PartitionKey": key,
            }
        )
        return shard.shard_id

    def split(self, shard_id: str) -> tuple[str, str]:
        parent = self._find(shard_id)
        parent.closed = True
        middle = (parent.start + parent.end) // 2
        left = self._add(parent.start, middle, (shard_id,))
        right = self._add(middle + 1, parent.end, (shard_id,))
        return left.shard_id, right.shard_id

    def merge(self, first: str, second: str) -> str:
        a, b = self._find(first), self._find(second)
        a.closed = b.closed = True
        return self._add(min(a.start, b.start), max(a.end, b.end), (first, second)).shard_id

    # -- the API the reader calls ----------------------------------------------------
    def list_shards(self, **_: Any) -> dict[str, Any]:
        return {"Shards": [self._describe(s) for s in self.shards]}

    def _describe(self, shard: _Shard) -> dict[str, Any]:
        seq_range: dict[str, str] = {"StartingSequenceNumber": "0"}
        if shard.closed:
            seq_range["EndingSequenceNumber"] = (
                shard.records[-1]["SequenceNumber"] if shard.records else "0"
            )
        described: dict[str, Any] = {"ShardId": shard.shard_id, "SequenceNumberRange": seq_range}
        for name, parent in zip(
            ("ParentShardId", "AdjacentParentShardId"), shard.parents, strict=False
        ):
            described[name] = parent
        return described

    def get_shard_iterator(self, **kwargs: Any) -> dict[str, str]:
        shard = self._find(kwargs["ShardId"])
        kind = kwargs["ShardIteratorType"]
        if kind == "TRIM_HORIZON":
            index = 0
        elif kind == "LATEST":
            index = len(shard.records)
        else:
            wanted = int(kwargs["StartingSequenceNumber"])
            offset = 1 if kind == "AFTER_SEQUENCE_NUMBER" else 0
            index = next(
                (
                    i
                    for i, r in enumerate(shard.records)
                    if int(r["SequenceNumber"]) >= wanted + offset
                ),
                len(shard.records),
            )
        return {"ShardIterator": f"{shard.shard_id}:{index}"}

    def get_records(self, ShardIterator: str, Limit: int = 10_000) -> dict[str, Any]:
        shard_id, _, index_text = ShardIterator.partition(":")
        shard = self._find(shard_id)
        index = int(index_text)
        batch = shard.records[index : index + Limit]
        new_index = index + len(batch)
        behind = len(shard.records) - new_index
        response: dict[str, Any] = {"Records": batch, "MillisBehindLatest": 1000 if behind else 0}
        if not (shard.closed and new_index >= len(shard.records)):
            response["NextShardIterator"] = f"{shard_id}:{new_index}"
        return response
