"""Worker processes (consumer/runtime/workers.py): how many, who reads which shard, and the
parent's part: health, scale-in protection, the task's metrics, stops and failures."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import orjson
import pytest

from consumer.config import parse_config
from consumer.errors import ConfigError
from consumer.runtime.health import HealthConfig
from consumer.runtime.workers import (
    Assignment,
    WorkerPool,
    resolve_workers,
    shard_owner,
    task_vcpus,
)
from consumer.sinks.memory import ListSink
from consumer.sources.kinesis.checkpoints import MemoryCheckpointStore
from consumer.testing.fake_kinesis import FakeKinesis
from tests.unit.test_reader_reshard import _put, _reader

# A stand-in worker: reports on the status pipe as `sluice run --worker` does.
FAKE_WORKER = """
import json, os, signal, sys, time
fd, mode = int(os.environ["SLUICE_WORKER_STATUS_FD"]), sys.argv[1]
stopping = []
signal.signal(signal.SIGTERM, lambda *a: stopping.append(1))
def send(**kw):
    report = {"live": True, "ready": True, "behind": 5.0, "stats": {"records_in": 10}}
    os.write(fd, (json.dumps({"busy": False, **report, **kw}) + "\\n").encode())
send(busy=mode == "busy")
if mode == "fail":
    time.sleep(0.2); sys.exit(3)
if mode == "busy":
    time.sleep(0.3); send(busy=False)
while not stopping:
    if mode != "mute":
        send()
    time.sleep(0.05)
sys.exit(0)
"""


def _pool(modes: list[str], **kwargs: object) -> WorkerPool:
    def command(index: int, count: int) -> list[str]:
        return [sys.executable, "-c", FAKE_WORKER, modes[index]]

    return WorkerPool(len(modes), command, shutdown_timeout_s=5, **kwargs)  # type: ignore[arg-type]


def _wait(condition: object, timeout_s: float = 5.0) -> None:
    end = time.monotonic() + timeout_s
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < end, "timed out"
        time.sleep(0.02)


# -- how many --------------------------------------------------------------------------------
def test_workers_auto_is_the_ecs_task_cpu_limit_else_the_cgroup_quota(tmp_path: Path) -> None:
    env = {"ECS_CONTAINER_METADATA_URI_V4": "http://agent/v4"}
    asked: list[str] = []

    def fetch(url: str) -> bytes:
        asked.append(url)
        return orjson.dumps({"Limits": {"CPU": 1.0, "Memory": 2048}})

    assert task_vcpus(env, tmp_path, fetch) == 1
    assert asked == ["http://agent/v4/task"]
    cgroup = tmp_path / "sys/fs/cgroup"
    cgroup.mkdir(parents=True)
    (cgroup / "cpu.max").write_text("100000 100000\n")
    assert task_vcpus({}, tmp_path) == 1
    (cgroup / "cpu.max").write_text("max 100000\n")  # no quota: the CPUs we may run on
    assert task_vcpus({}, tmp_path) >= 1


def test_a_bad_workers_value_fails_at_start_with_the_field_named() -> None:
    from tests.contract.parts import config

    raw = config({"type": "sqs", "queue": "q"}).model_dump(mode="json", by_alias=True)
    for bad in (0, 65, "many"):
        with pytest.raises(ConfigError, match="workers"):
            parse_config({**raw, "workers": bad}, "test")
    assert parse_config({**raw, "workers": 2}, "test").workers == 2
    assert resolve_workers(3) == 3
    with pytest.raises(ConfigError, match="--worker"):
        Assignment.parse("2/2")


# -- who reads what ------------------------------------------------------------------------
def test_shards_spread_evenly_and_stably_over_workers() -> None:
    shards = [f"shardId-{n:012d}" for n in range(8)]
    assert [shard_owner(s, 2) for s in shards] == [0, 1] * 4
    assert [shard_owner(s, 3) for s in shards] == [0, 1, 2, 0, 1, 2, 0, 1]
    assert shard_owner("not-a-kinesis-id", 2) == shard_owner("not-a-kinesis-id", 2)


def test_two_workers_split_the_shards_and_follow_a_reshard_losing_and_doubling_nothing() -> None:
    # GIVEN a stream split and merged back, records before and after each: the children of
    # shard 0 (worker 0) are shard 1 (worker 1) and 2 (worker 0), their merge shard 3 (1)
    kinesis = FakeKinesis("ticks", shard_count=1)
    _put(kinesis, range(0, 10))
    left, right = kinesis.split("shardId-000000000000")
    _put(kinesis, range(10, 20))
    merged = kinesis.merge(left, right)
    _put(kinesis, range(20, 30))
    lake, checkpoints = ListSink("lake"), MemoryCheckpointStore()

    # WHEN two workers, each its own reader and engine, run side by side until drained
    readers = []
    threads = []
    for index in range(2):
        engine, reader = _reader(kinesis, lake, checkpoints)
        reader.owns = Assignment(index, 2).owns
        readers.append(reader)
        run = threading.Thread(target=engine.run, kwargs={"until_idle": True, "max_runtime_s": 30})
        threads.append(run)
        run.start()
    for thread in threads:
        thread.join(timeout=40)

    # THEN each shard was read by its owner only, every record arrived once, and each key's
    # sequence only grows although its shards were read by different workers
    assert {p for r in readers for p in r.finished if r.owns and r.owns(p)} == {
        "shardId-000000000000",
        left,
        right,
    }
    assert {b.partition for b in lake.batches} == {"shardId-000000000000", left, right, merged}
    for batch in lake.batches:
        assert shard_owner(batch.partition, 2) == (
            0 if batch.partition in ("shardId-000000000000", right) else 1
        )
    seen: dict[str, list[int]] = {}
    for row in lake.rows:
        seen.setdefault(str(row["key"]), []).append(int(str(row["seq"])))
    assert all(seqs == list(range(30)) for seqs in seen.values()), seen
    # AND the checkpoints are those one process leaves: parents ended, the child open
    assert checkpoints.load(left).ended and checkpoints.load(right).ended
    assert not checkpoints.load(merged).ended and checkpoints.load(merged).position is not None


# -- the parent ---------------------------------------------------------------------------------
def test_the_task_is_live_only_while_every_worker_reports_and_sums_their_figures() -> None:
    pool = _pool(["serve", "mute"], health=HealthConfig(max_poll_gap_s=5), stale_s=0.3)
    pool.start()
    try:
        _wait(lambda: all(w.reported_at for w in pool.workers))
        assert pool.records_behind() == 10.0
        assert pool.stats() == {"records_in": 20}
        # the mute worker stops reporting (wedged): the task is no longer live
        _wait(lambda: not pool.live()[0])
        _, detail = pool.live()
        assert [w["ok"] for w in detail["workers"]] == [True, False]
    finally:
        pool.stop.set()
        assert pool.run() == 0


def test_a_worker_that_dies_takes_the_task_down_and_the_others_drain() -> None:
    pool = _pool(["serve", "fail"])
    pool.start()
    code = pool.run(max_wait_s=10)
    assert code == 3
    assert [w.exit_code for w in pool.workers] == [0, 3]  # the healthy one stopped cleanly


def test_sigterm_fans_out_to_every_worker() -> None:
    pool = _pool(["serve", "serve"])
    pool.start()
    _wait(lambda: all(w.reported_at for w in pool.workers))
    pool.stop.set()
    assert pool.run() == 0
    assert [w.exit_code for w in pool.workers] == [0, 0]


def test_protection_is_held_while_any_worker_has_buffered_work() -> None:
    from consumer.runtime.protection import ProtectionConfig, ScaleInProtection
    from consumer.testing.ecs_agent import FakeEcsAgent

    with FakeEcsAgent() as agent:
        config = ProtectionConfig(stream=True, idle_release_s=0)
        protection = ScaleInProtection(config, agent.uri)

        def on_busy(busy: bool) -> None:
            if busy:
                protection.on_buffering("workers")
            else:
                protection.on_idle("workers")
                protection.tick()

        pool = _pool(["busy", "serve"], on_busy=on_busy)
        pool.start()
        _wait(lambda: len(agent.calls) >= 2)
        pool.stop.set()
        pool.run()
    assert [call.enabled for call in agent.calls[:2]] == [True, False]
