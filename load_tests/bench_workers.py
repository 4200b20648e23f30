"""Worker processes: records per second of `sluice run`'s polling reader with 1 worker and
with 2, interleaved, against an in-process fake Kinesis (no emulator, no network), so the
figure is the task's CPU and not the emulator's.

Each round starts a `WorkerPool` (consumer/runtime/workers.py: the parent `sluice run`
is, its processes, status pipes and output relay) of 1, then of 2 workers. Every worker
is `python -m load_tests.bench_workers --worker i/N`: the real polling reader
(`KinesisSource` with its shard ownership and checkpoints in memory) and the delivery
engine, the reference pipeline (load_tests/reference.py: decode, validate, hourly
partitions, gzip JSON Lines level 1, 500-record cuts), over `SHARDS` endless shards.
The workers start together at a wall-clock moment after their imports, run `SECONDS`,
and report the records their acked cuts held; the rate is their sum over `SECONDS`.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from typing import Any

from load_tests.timing import ROUNDS

SHARDS, SECONDS, WARM_UP_S, BATCH = 4, 3.0, 2.0, 500

# The machine's own ceiling in the same rounds: a pure-Python loop in 1 process and in 2,
# counted over the same window. On a shared host two vCPUs do not always give two cores'
# worth; this row says what they gave while sluice was measured.
_LOOP = """
import sys, time
start_at, seconds = float(sys.argv[1]), float(sys.argv[2])
time.sleep(max(0.0, start_at - time.time()))
end, count = start_at + seconds, 0
while time.time() < end:
    sum(range(1000))
    count += 1
print(count)
"""


class EndlessKinesis:
    """The calls the polling reader makes, answered from memory: every shard holds an
    endless run of reference events, `BATCH` per GetRecords, never caught up."""

    def __init__(self, shards: int, payloads: list[bytes]) -> None:
        self.shards = [f"shardId-{n:012d}" for n in range(shards)]
        self.payloads = payloads
        self.arrival = datetime.now(UTC)

    def list_shards(self, **_: Any) -> dict[str, Any]:
        described = [
            {"ShardId": s, "SequenceNumberRange": {"StartingSequenceNumber": "0"}}
            for s in self.shards
        ]
        return {"Shards": described}

    def get_shard_iterator(self, ShardId: str, **_: Any) -> dict[str, Any]:
        return {"ShardIterator": f"{ShardId}|0"}

    def get_records(self, ShardIterator: str, Limit: int) -> dict[str, Any]:
        shard, at = ShardIterator.rsplit("|", 1)
        start, payloads, count = int(at), self.payloads, len(self.payloads)
        entries = [
            {
                "SequenceNumber": str(start + i + 1),
                "ApproximateArrivalTimestamp": self.arrival,
                "Data": payloads[(start + i) % count],
                "PartitionKey": "customer",
            }
            for i in range(min(Limit, BATCH))
        ]
        following = f"{shard}|{start + len(entries)}"
        return {"Records": entries, "NextShardIterator": following, "MillisBehindLatest": 1000}


def worker_main(worker: str, start_at: float, seconds: float) -> int:
    """One worker: its shards of the fake stream through the engine, from `start_at`
    for `seconds`; its counters go to the parent on the status pipe."""
    from consumer.delivery.buffer import BufferConfig, PartitionBatcher
    from consumer.delivery.engine import Engine
    from consumer.delivery.hooks import Hooks
    from consumer.delivery.stats import Stats
    from consumer.pipeline.decode import DecodeConfig, Decoder
    from consumer.pipeline.process import Pipeline
    from consumer.pipeline.route import Route, RouteConfig
    from consumer.pipeline.router import Router
    from consumer.runtime.workers import Assignment, StatusReporter, die_with_parent
    from consumer.sources.kinesis.checkpoints import MemoryCheckpointStore
    from consumer.sources.kinesis.config import KinesisSourceConfig
    from consumer.sources.kinesis.reader import KinesisSource
    from load_tests.reader_loop import CutWriter, gzip_writer
    from load_tests.reference import events, order_route

    die_with_parent()
    assignment = Assignment.parse(worker)
    route = Route(RouteConfig.model_validate(order_route()), 0)
    pipeline = Pipeline(Decoder(DecodeConfig()), [route], Router([route], "type"), None, {"orders"})
    limits = BufferConfig(max_records=BATCH, max_bytes=50_000_000, max_age_s=60)

    def new_batcher(origin: str, partition: str) -> PartitionBatcher:
        return PartitionBatcher(origin, partition, default_limits=limits)

    stop = threading.Event()
    config = KinesisSourceConfig(stream="bench", max_records_per_call=BATCH)
    fake = EndlessKinesis(SHARDS, events(2_000))
    source = KinesisSource(config, fake, MemoryCheckpointStore(), stop, owns=assignment.owns)
    stats = Stats()
    reporter = StatusReporter.from_env(lambda: {"live": True, "stats": stats.snapshot()})
    hooks = Hooks([reporter] if reporter is not None else [])
    engine = Engine(
        source,
        pipeline,
        CutWriter(gzip_writer(1)),
        new_batcher,
        hooks=hooks,
        stats=stats,
        stop=stop,
    )
    late = time.time() - start_at
    time.sleep(max(0.0, start_at - time.time()))
    threading.Timer(seconds, stop.set).start()
    engine.run()
    if reporter is not None:
        reporter.send(final=True)
    if late > 0:
        print(f"worker {worker} started {late:.2f} s late", file=sys.stderr)
    return 0


def _rate(workers: int) -> float:
    """Records per second of one pool of `workers` over `SECONDS`."""
    from consumer.runtime.workers import WorkerPool

    start_at = time.time() + WARM_UP_S

    def command(index: int, count: int) -> list[str]:
        return [
            sys.executable,
            "-m",
            "load_tests.bench_workers",
            "--worker",
            f"{index}/{count}",
            "--start-at",
            repr(start_at),
            "--seconds",
            repr(SECONDS),
        ]

    pool = WorkerPool(workers, command)
    pool.start()
    code = pool.run(max_wait_s=WARM_UP_S + SECONDS + 60)
    if code != 0:
        raise RuntimeError(f"a bench worker failed ({code})")
    return pool.stats().get("records_in", 0) / SECONDS


def _loop_rate(processes: int) -> float:
    """Iterations per second of `processes` CPU loops side by side (the ceiling)."""
    start_at = time.time() + 0.5
    argv = [sys.executable, "-c", _LOOP, repr(start_at), repr(SECONDS)]
    running = [subprocess.Popen(argv, stdout=subprocess.PIPE) for _ in range(processes)]
    return sum(int(p.communicate()[0]) for p in running) / SECONDS


def run(rounds: int = ROUNDS) -> list[tuple[str, float]]:
    """(name, records/s): 1 worker (the baseline) and 2 workers, interleaved, read as
    load_tests/timing.py reads: the 2-worker figure is the 1-worker median times the median
    of the same-round ratios. A round runs 1, 2, the machine's ceiling, 2, 1 workers, so a
    drift of the host's speed within the round falls on both alike."""
    one: list[float] = []
    two: list[float] = []
    ceiling: list[float] = []
    for _ in range(rounds):
        first = _rate(1)
        second = _rate(2)
        ceiling.append(_loop_rate(2) / _loop_rate(1))
        two.append((second + _rate(2)) / 2)
        one.append((first + _rate(1)) / 2)
    ratios = [b / a for a, b in zip(one, two, strict=True)]
    print(
        f"workers: 2/1 per round {', '.join(f'{r:.2f}' for r in ratios)}; 1 worker "
        f"{min(one):,.0f}-{max(one):,.0f} rec/s, 2 workers {min(two):,.0f}-{max(two):,.0f}; "
        f"the machine's own 2/1 (CPU loops) per round {', '.join(f'{c:.2f}' for c in ceiling)}"
    )
    base = statistics.median(one)
    return [
        (f"sluice run, 1 worker, fake Kinesis ({SHARDS} shards) (baseline)", base),
        (
            f"sluice run, 2 workers, fake Kinesis ({SHARDS} shards)",
            base * statistics.median(ratios),
        ),
        (
            "machine ceiling: 2 CPU-loop processes beside 1, times the baseline",
            base * statistics.median(ceiling),
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m load_tests.bench_workers")
    parser.add_argument("--worker", required=True)
    parser.add_argument("--start-at", type=float, required=True)
    parser.add_argument("--seconds", type=float, default=SECONDS)
    args = parser.parse_args(argv)
    return worker_main(args.worker, args.start_at, args.seconds)


if __name__ == "__main__":
    sys.exit(main())
