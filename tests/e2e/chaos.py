"""The reliability checker and the SIGKILL chaos loop, shared by tests and `make chaos`.

Records carry a unique `id`, a `key` and a per-key `seq`. After the runs, every output is
read back and each produced record is counted: lost (nowhere), duplicated (more than once
in the lake or the database), out of order (a key's seq not increasing through the lake
objects in position order), unexpected (an id nobody produced).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from tests.integration.harness import Harness

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Verdict:
    produced: int
    lost: int
    duplicates_lake: int
    duplicates_db: int
    out_of_order: int
    unexpected: int

    @property
    def perfect(self) -> bool:
        return not (
            self.lost
            or self.duplicates_lake
            or self.duplicates_db
            or self.out_of_order
            or self.unexpected
        )


def check(harness: Harness, produced: list[str]) -> Verdict:
    lake, db = harness.lake_ids(), harness.db_ids()
    quarantined = harness.quarantine_keys()
    ids = set(produced)
    last: dict[str, int] = {}
    out_of_order = 0
    for row in harness.lake_rows():
        if row["seq"] <= last.get(row["key"], -1):
            out_of_order += 1
        last[row["key"]] = row["seq"]
    found = Counter(lake) + Counter({k: v for k, v in quarantined.items() if k in ids})
    return Verdict(
        produced=len(produced),
        lost=sum(1 for i in produced if not found[i]),
        duplicates_lake=sum(n - 1 for n in lake.values() if n > 1),
        duplicates_db=sum(n - 1 for n in db.values() if n > 1),
        out_of_order=out_of_order,
        unexpected=len((set(lake) | set(db)) - ids),
    )


def sluice_env(endpoint: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "AWS_ENDPOINT_URL": endpoint,
        "PYTHONPATH": str(REPO),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "SLUICE_LOG_LEVEL": "WARNING",
        **extra,
    }


def run_sluice(
    config: Path, env: dict[str, str], *args: str, timeout_s: float = 180
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "consumer", "run", "--config", str(config), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


def chaos_loop(
    config: Path,
    env: dict[str, str],
    kills: int,
    seed: int = 1,
    min_s: float = 0.5,
    max_s: float = 2.5,
) -> int:
    """Start `sluice run`, SIGKILL it at a random moment, `kills` times. Returns how many
    kills landed on a live process."""
    rng = random.Random(seed)
    landed = 0
    for _ in range(kills):
        process = subprocess.Popen(
            [sys.executable, "-m", "consumer", "run", "--config", str(config)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(min_s, max_s))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            landed += 1
        process.wait(timeout=30)
    return landed
