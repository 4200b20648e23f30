"""KCL workers balanced for real: two, then three `sluice kcl run` (the MultiLangDaemon with
sluice's children) on one four-shard stream, as ECS runs them when the KCL service scales
out and in.

The leases settle two and two; a SIGTERMed worker's shards go to the other; a third
worker takes its share; records flow all along, and every one of them is in the lake
exactly once and in order per key. Each worker emits its KinesisRecordsBehind (every
second here), 0 once the stream is read. The hand-over times are printed (they depend on
the machine and on `failoverTimeMillis`, 3 s here), never asserted.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import orjson
import pytest

from consumer.aws.clients import AwsClients
from consumer.local.emulator import provision
from tests.integration.harness import Harness, make_config
from tests.integration.kcl_harness import Kcl, assert_exactly_once, lease_owners, produce

pytestmark = [pytest.mark.integration, pytest.mark.kcl_daemon]

SHARDS = 4


def four_shard_harness(aws: AwsClients, unique: str, tmp_path: Path) -> Harness:
    """Four shards, read 50 records a call (5 calls a second): a backlog takes a while."""
    config = make_config(unique, tmp_path / "it.db")
    emulator = config.emulator.model_copy(update={"shard_count": SHARDS})
    source = config.source.model_copy(update={"max_records_per_call": 50})
    config = config.model_copy(update={"emulator": emulator, "source": source})
    provision(config, aws)
    return Harness(config, aws, tmp_path)


class Feeder:
    """Puts `batch` readings every `every_s` seconds until stopped: records arrive while
    workers start, stop and take leases over."""

    def __init__(self, harness: Harness, first: int, batch: int = 60, every_s: float = 1.0):
        self.harness, self.next, self.batch, self.every_s = harness, first, batch, every_s
        self.ids: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="feeder", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> set[str]:
        self._stop.set()
        self._thread.join(timeout=30)
        return self.ids

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            ids, _ = produce(self.harness, self.batch, first=self.next, with_bad=False)
            self.ids |= ids
            self.next += self.batch


def owners(aws: AwsClients, table: str) -> Counter[str]:
    """Leases per worker (an empty table until a worker created it)."""
    try:
        return Counter(lease_owners(aws, table).values())
    except aws.client("dynamodb").exceptions.ResourceNotFoundException:
        return Counter()


def wait_until(
    what: str, check: Callable[[], bool], workers: Sequence[Kcl], timeout_s: float = 180
) -> float:
    """Seconds until `check` holds; fails when a worker exits or the time runs out."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if check():
            return time.monotonic() - started
        for kcl in workers:
            if kcl.proc is not None and kcl.proc.poll() is not None:
                pytest.fail(f"{kcl.work.name} exited {kcl.proc.returncode} waiting for {what}")
        time.sleep(0.5)
    logs = "\n".join(kcl.log()[-6000:] for kcl in workers)
    pytest.fail(f"timed out waiting for {what}:\n{logs}")


def assert_in_order_per_key(harness: Harness) -> None:
    """Rows of the lake in (shard, position) order: each key's `seq` only goes up."""
    last: dict[str, int] = {}
    for row in harness.lake_rows():
        key, seq = str(row["key"]), int(row["seq"])
        assert seq > last.get(key, -1), (key, seq, last.get(key))
        last[key] = seq


def test_two_workers_share_four_shards_hand_over_on_sigterm_and_rebalance_with_a_third(
    h2_endpoint: str, unique: str, tmp_path: Path
) -> None:
    # GIVEN a four-shard stream with 2,000 readings and two workers, A and B
    aws = AwsClients(region="us-east-1", endpoint_url=h2_endpoint)
    harness = four_shard_harness(aws, unique, tmp_path)
    table = harness.config.name
    ids, _ = produce(harness, 2000, with_bad=False)

    def worker(name: str) -> Kcl:
        env = {
            "SLUICE_KCL_WORKER_ID": f"worker-{name}",
            "SLUICE__METRICS__RECORDS_BEHIND_INTERVAL_S": "1",
        }
        return Kcl(harness, h2_endpoint, tmp_path / name, env=env)

    a, b, c = worker("a"), worker("b"), worker("c")
    feeder = Feeder(harness, first=2000)
    try:
        a.start()
        b.start()
        # WHEN they start together: the leases settle two and two
        settled_s = wait_until(
            "leases 2/2 between A and B",
            lambda: owners(aws, table) == Counter({"worker-a": 2, "worker-b": 2}),
            [a, b],
        )
        feeder.start()  # records keep arriving from here on
        wait_until("records from the feeder", lambda: len(harness.lake_ids()) > 2050, [a, b])
        # AND A gets SIGTERM (an ECS scale-in): B holds all four
        stopped_at = time.monotonic()
        code_a = a.stop()
        a_exit_s = time.monotonic() - stopped_at
        taken_s = wait_until(
            "B holding all four leases",
            lambda: owners(aws, table) == Counter({"worker-b": SHARDS}),
            [b],
        )
        taken_s += a_exit_s
        # AND a third worker C starts (a scale-out): the leases rebalance
        c.start()
        rebalanced_s = wait_until(
            "leases 2/2 between B and C",
            lambda: owners(aws, table) == Counter({"worker-b": 2, "worker-c": 2}),
            [b, c],
        )
        ids |= feeder.stop()
        wait_until(
            "every record in the lake",
            lambda: set(harness.lake_ids()) == ids,
            [b, c],
            timeout_s=240,
        )
        time.sleep(3)  # B and C emit their KinesisRecordsBehind once caught up
    finally:
        feeder.stop()
        codes = [kcl.stop() for kcl in (a, b, c) if kcl.proc is not None]
    print(
        f"\nleases 2/2 after {settled_s:.1f} s; A exited {a_exit_s:.1f} s after SIGTERM and B "
        f"held all four {taken_s:.1f} s after it (failoverTimeMillis 3000); C had its two "
        f"{rebalanced_s:.1f} s after it started; {len(ids)} records"
    )
    # THEN every worker stopped cleanly, and every record is in the lake (and the database)
    # exactly once and in order per key, across both hand-overs
    assert code_a == 0, a.log()[-5000:]
    assert codes == [0, 0, 0], [kcl.log()[-3000:] for kcl in (a, b, c)]
    assert_exactly_once(harness, ids, set())
    assert_in_order_per_key(harness)
    assert a.strays() == [] and b.strays() == [] and c.strays() == []
    # AND the workers emitted their records behind every second, 0 once everything is
    # read (the largest is printed: whether a 1 s emission falls while a child is behind
    # depends on the timing; tests/unit/test_kcl_processor.py and test_kcl_watch.py show
    # the figure itself)
    behind = records_behind(tmp_path / "metrics.jsonl")
    print(f"KinesisRecordsBehind: {len(behind)} records, at most {max(behind):.0f}")
    assert len(behind) >= 10 and min(behind) >= 0 and behind[-2:] == [0, 0]


def records_behind(path: Path) -> list[float]:
    """The KinesisRecordsBehind values the workers wrote to the metrics file, in order."""
    lines: list[dict[str, Any]] = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    return [float(line["KinesisRecordsBehind"]) for line in lines if "KinesisRecordsBehind" in line]
