"""Processes killed at the worst moments and at random ones: nothing lost, nothing twice."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from consumer.aws.clients import AwsClients
from tests.configfile import write_toml
from tests.e2e.chaos import chaos_loop, check, run_sluice, sluice_env
from tests.integration.harness import Harness, reading

pytestmark = pytest.mark.e2e
KILLS = int(os.environ.get("SLUICE_CHAOS_KILLS", "12"))


def _kinesis(aws: AwsClients, unique: str, tmp_path: Path, count: int) -> tuple[Harness, Path]:
    harness = Harness.create(aws, unique, tmp_path, max_records=40, max_age_s=0.3)
    harness.put([reading(i) for i in range(count)])
    config = write_toml(harness.config, tmp_path / "pipeline.toml", metrics={"sink": "off"})
    return harness, config


def test_crash_after_write_before_checkpoint_then_restart(
    aws: AwsClients, emulator_endpoint: str, unique: str, tmp_path: Path
) -> None:
    # GIVEN 800 records and a consumer that dies after the 3rd flush's writes, before its
    # checkpoint
    harness, config = _kinesis(aws, unique, tmp_path, 800)
    crashing = sluice_env(emulator_endpoint, SLUICE_CRASH_AT="after_write_before_ack:3")

    # WHEN it crashes, then a healthy one runs to the end
    first = run_sluice(config, crashing, "--until-idle")
    second = run_sluice(config, sluice_env(emulator_endpoint), "--until-idle")

    # THEN the crash happened, and the outputs hold every record exactly once, in order
    assert first.returncode == 137, first.stderr[-2000:]
    assert second.returncode == 0, second.stderr[-2000:]
    verdict = check(harness, [f"r{i}" for i in range(800)])
    assert verdict.perfect, verdict


@pytest.mark.parametrize(
    "point",
    [
        # the database has (or is about to have) the cut, the lake not yet
        "after_sink_write_db:3",
        "before_sink_write_lake:3",
        # the reverse: the lake has it, the database not yet
        "after_sink_write_lake:3",
        "before_sink_write_db:3",
    ],
)
def test_crash_between_one_sinks_write_and_anothers_then_restart(
    aws: AwsClients, emulator_endpoint: str, unique: str, tmp_path: Path, point: str
) -> None:
    # GIVEN 500 records and a consumer that dies at the 3rd write of one sink, while the
    # other sink of the same cut writes in parallel
    harness, config = _kinesis(aws, unique, tmp_path, 500)
    crashing = sluice_env(emulator_endpoint, SLUICE_CRASH_AT=point)

    # WHEN it crashes, then a healthy one runs to the end
    first = run_sluice(config, crashing, "--until-idle")
    second = run_sluice(config, sluice_env(emulator_endpoint), "--until-idle")

    # THEN the crash happened where asked, and both sinks hold every record exactly once
    assert first.returncode == 137, first.stderr[-2000:]
    assert "injected crash" in first.stderr
    assert second.returncode == 0, second.stderr[-2000:]
    verdict = check(harness, [f"r{i}" for i in range(500)])
    assert verdict.perfect, verdict


def test_chaos_loop_of_sigkills_loses_and_duplicates_nothing(
    aws: AwsClients, emulator_endpoint: str, unique: str, tmp_path: Path
) -> None:
    # GIVEN 3000 records on a two-shard stream
    harness, config = _kinesis(aws, unique, tmp_path, 3000)
    env = sluice_env(emulator_endpoint)

    # WHEN sluice is SIGKILLed at random moments KILLS times, then runs to the end
    landed = chaos_loop(config, env, kills=KILLS)
    final = run_sluice(config, env, "--until-idle")

    # THEN the kills landed, and every record is in the lake and the database exactly once,
    # each key in order
    assert landed == KILLS
    assert final.returncode == 0, final.stderr[-2000:]
    verdict = check(harness, [f"r{i}" for i in range(3000)])
    assert verdict.perfect, verdict
