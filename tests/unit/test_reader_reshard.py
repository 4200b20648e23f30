"""The polling reader over an in-memory Kinesis that reshards like the real one."""

from __future__ import annotations

import orjson
from pydantic import BaseModel

from consumer.delivery.buffer import BufferConfig, PartitionBatcher
from consumer.delivery.engine import Engine
from consumer.delivery.flush import Flusher
from consumer.delivery.retry import RetryConfig
from consumer.flow import RouteKeys
from consumer.pipeline.decode import DecodeConfig, Decoder
from consumer.pipeline.process import Pipeline
from consumer.pipeline.quarantine import QUARANTINE_ROUTE
from consumer.pipeline.route import Route, RouteConfig
from consumer.pipeline.router import Router
from consumer.sinks.memory import ListSink
from consumer.sources.kinesis.checkpoints import MemoryCheckpointStore
from consumer.sources.kinesis.config import KinesisSourceConfig
from consumer.sources.kinesis.reader import KinesisSource
from consumer.testing.fake_kinesis import FakeKinesis


class Tick(BaseModel):
    key: str
    seq: int


def _reader(
    kinesis: FakeKinesis, lake: ListSink, checkpoints: MemoryCheckpointStore, max_records: int = 7
) -> tuple[Engine, KinesisSource]:
    spec = {
        "name": "ticks",
        "schema": "tests.unit.test_reader_reshard:Tick",
        "sinks": ["lake"],
        "key": ["key", "seq"],
    }
    route = Route(RouteConfig.model_validate(spec), 0)
    pipeline = Pipeline(Decoder(DecodeConfig()), [route], Router([route], None))
    flusher = Flusher(
        {"ticks": [lake], QUARANTINE_ROUTE: [ListSink("quarantine")]}, RetryConfig(max_attempts=1)
    )
    limits = BufferConfig(max_records=max_records, max_age_s=60)

    def new_batcher(origin: str, shard: str) -> PartitionBatcher:
        keys = {"ticks": RouteKeys(("key", "seq"))}
        return PartitionBatcher(origin, shard, default_limits=limits, route_keys=keys)

    # Small reads interleave the shards, so reading a child early would show up as disorder.
    config = KinesisSourceConfig(
        stream=kinesis.stream,
        idle_poll_interval_s=0.2,
        max_records_per_call=5,
        shard_sync_interval_s=0.1,
    )
    source = KinesisSource(config, kinesis, checkpoints)
    return Engine(source, pipeline, flusher, new_batcher), source


def _put(kinesis: FakeKinesis, seqs: range, keys: int = 8) -> None:
    for seq in seqs:
        for k in range(keys):
            kinesis.put(f"k{k}", orjson.dumps({"key": f"k{k}", "seq": seq}))


def test_split_then_merge_keeps_per_key_order_and_loses_nothing() -> None:
    # GIVEN a stream that is split, then merged back, with records before and after each
    kinesis = FakeKinesis("ticks", shard_count=1)
    _put(kinesis, range(0, 10))
    left, right = kinesis.split("shardId-000000000000")
    _put(kinesis, range(10, 20))
    merged = kinesis.merge(left, right)
    _put(kinesis, range(20, 30))
    lake, checkpoints = ListSink("lake"), MemoryCheckpointStore()

    # WHEN the reader runs until drained
    engine, reader = _reader(kinesis, lake, checkpoints)
    engine.run(until_idle=True, max_runtime_s=30)

    # THEN every record arrives once and each key's sequence only grows, in write order
    seen: dict[str, list[int]] = {}
    for row in lake.rows:
        seen.setdefault(str(row["key"]), []).append(int(str(row["seq"])))
    assert sorted(seen) == [f"k{k}" for k in range(8)]
    assert all(seqs == list(range(30)) for seqs in seen.values()), seen
    # AND parents are ended, the merged child is still open and checkpointed
    assert {"shardId-000000000000", left, right} <= reader.finished
    assert checkpoints.load(left).ended and not checkpoints.load(merged).ended
    assert checkpoints.load(merged).position is not None


def test_restart_after_reshard_reads_only_new_records() -> None:
    # GIVEN a drained stream that was split
    kinesis = FakeKinesis("ticks", shard_count=2)
    _put(kinesis, range(0, 5))
    kinesis.split("shardId-000000000001")
    _put(kinesis, range(5, 10))
    lake, checkpoints = ListSink("lake"), MemoryCheckpointStore()
    _reader(kinesis, lake, checkpoints)[0].run(until_idle=True, max_runtime_s=30)
    assert len(lake.rows) == 80

    # WHEN more records arrive and a new reader starts from the checkpoints
    _put(kinesis, range(10, 12))
    again = ListSink("lake")
    _reader(kinesis, again, checkpoints)[0].run(until_idle=True, max_runtime_s=30)

    # THEN it reads just those
    assert sorted(int(str(r["seq"])) for r in again.rows) == sorted(list(range(10, 12)) * 8)
