"""SQS into the lake exactly once (docs/decisions.md): `sluice run` killed at every step of
the ledger's protocol, a zombie that finishes its write after another consumer took its
cut over, and a SIGKILL chaos loop; each time the lake and the database are read back."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from consumer.aws.clients import AwsClients
from tests.configfile import write_toml
from tests.e2e.chaos import Verdict, chaos_loop, check, run_sluice, sluice_env
from tests.integration.sqs_harness import SqsHarness, body

pytestmark = pytest.mark.e2e
KILLS = int(os.environ.get("SLUICE_CHAOS_KILLS", "12"))
VISIBILITY_S = 5


def _queue(aws: AwsClients, unique: str, tmp_path: Path, count: int) -> tuple[SqsHarness, Path]:
    # kills make redeliveries: a receive limit high enough that none reaches the DLQ
    harness = SqsHarness.create_sqs(
        aws, unique, tmp_path, max_receives=100, wait_time_s=0, receivers=2
    )
    harness.send([body(i) for i in range(count)])
    config = write_toml(
        harness.config,
        tmp_path / "pipeline.toml",
        metrics={"sink": "off"},
        source={"visibility_timeout_s": VISIBILITY_S, "backoff_base_s": 1},
        buffer={"max_records": 25, "max_age_s": 0.3},
    )
    return harness, config


def _exactly_once(verdict: Verdict) -> bool:
    """SQS gives no order across keys' objects: everything but the order check."""
    return not (
        verdict.lost or verdict.duplicates_lake or verdict.duplicates_db or verdict.unexpected
    )


@pytest.mark.parametrize(
    "point",
    [
        "sqs_after_claim:2",  # claimed for the open cut, nothing written
        "after_sink_write_db:2",  # the database wrote, the lake's staging not yet
        "after_sink_write_lake:2",  # staged, not committed
        "after_write_before_ack:2",  # every sink confirmed, the cut not committed
        "sqs_after_commit:2",  # committed, not published
        "sqs_after_publish:2",  # published, not deleted
        "sqs_after_delete:2",  # deleted, the next cut not opened
    ],
)
def test_a_crash_at_every_step_of_the_ledger_then_a_restart(
    aws: AwsClients, emulator_endpoint: str, unique: str, tmp_path: Path, point: str
) -> None:
    # GIVEN 150 messages and a consumer that dies at one step of its 2nd cut
    harness, config = _queue(aws, unique, tmp_path, 150)
    first = run_sluice(config, sluice_env(emulator_endpoint, SLUICE_CRASH_AT=point), "--until-idle")

    # WHEN a healthy consumer runs once what the dead one held is visible again
    second = run_sluice(
        config, sluice_env(emulator_endpoint), "--until-idle", "--max-runtime-s", "90"
    )

    # THEN the crash happened there, and every message is in the lake and the database once
    assert first.returncode == 137 and "injected crash" in first.stderr, first.stderr[-2000:]
    assert second.returncode == 0, second.stderr[-2000:]
    verdict = check(harness, [f"r{i}" for i in range(150)])
    assert _exactly_once(verdict), verdict
    assert harness.count(harness.source.queue) == 0


def test_a_zombie_that_finishes_its_write_late_publishes_nothing(
    aws: AwsClients, emulator_endpoint: str, unique: str, tmp_path: Path
) -> None:
    # GIVEN a consumer held after staging its first cut, before committing it
    harness, config = _queue(aws, unique, tmp_path, 60)
    hold = tmp_path / "hold"
    hold.touch()
    env = sluice_env(
        emulator_endpoint,
        SLUICE_HOLD_FILE=str(hold),
        SLUICE_HOLD_AT="before_commit",
        SLUICE_LOG_LEVEL="INFO",
    )
    zombie = subprocess.Popen(
        [sys.executable, "-m", "consumer", "run", "--config", str(config)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # the task is a process group: parent and its workers
    )
    try:
        deadline = time.monotonic() + 60
        while not Path(f"{hold}.held").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert Path(f"{hold}.held").exists(), "the consumer never reached its commit"
        # WHEN it freezes (its heartbeats too) past the visibility timeout and its lease,
        # and another consumer takes its messages over and drains the queue
        os.killpg(zombie.pid, signal.SIGSTOP)  # every process of the task
        time.sleep(VISIBILITY_S + 2)
        rescuer = run_sluice(config, sluice_env(emulator_endpoint), "--until-idle")
        assert rescuer.returncode == 0, rescuer.stderr[-2000:]
        # ... and then the zombie goes on with its commit
        hold.unlink()
        os.killpg(zombie.pid, signal.SIGCONT)
        time.sleep(3)
    finally:
        os.killpg(zombie.pid, signal.SIGCONT)
        zombie.terminate()
        _, stderr = zombie.communicate(timeout=60)

    # THEN its commit was refused, nothing it staged was published, every message once
    assert "refused the cut at its commit" in stderr, stderr[-3000:]
    verdict = check(harness, [f"r{i}" for i in range(60)])
    assert _exactly_once(verdict), verdict
    assert harness.count(harness.source.queue) == 0


def test_sqs_chaos_loop_of_sigkills_loses_and_duplicates_nothing(
    aws: AwsClients, emulator_endpoint: str, unique: str, tmp_path: Path
) -> None:
    # GIVEN 800 messages
    harness, config = _queue(aws, unique, tmp_path, 800)
    env = sluice_env(emulator_endpoint)

    # WHEN sluice is SIGKILLed at random moments KILLS times, then runs to the end
    landed = chaos_loop(config, env, kills=KILLS, seed=7)
    final = run_sluice(config, env, "--until-idle", "--max-runtime-s", "150", timeout_s=240)

    # THEN every kill landed, and each message is in the lake and the database once
    assert landed == KILLS
    assert final.returncode == 0, final.stderr[-2000:]
    verdict = check(harness, [f"r{i}" for i in range(800)])
    print(f"sqs chaos: {KILLS} kills, {verdict}")
    assert _exactly_once(verdict), verdict
    assert harness.count(harness.source.queue) == 0
