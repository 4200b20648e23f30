"""A short steady load against `sluice run` on the emulator: latency within the batch max
age plus a stated margin, nothing lost, nothing twice."""

from __future__ import annotations

from pathlib import Path

import pytest

from consumer.aws.clients import AwsClients
from consumer.capacity.load_profiles import LoadProfile
from load_tests.scenario import run_scenario, scenario_config
from tests.e2e.chaos import sluice_env

pytestmark = pytest.mark.e2e

MAX_AGE_S = 1.0
# The margin: the watcher's poll interval (0.25 s) + a Kinesis read poll (0.2 s idle) +
# the put and listing on the emulator + sluice start-up for the first records.
MARGIN_S = 1.5


def test_steady_load_latency_within_max_age_and_nothing_lost(
    aws: AwsClients, emulator_endpoint: str, unique: str, tmp_path: Path
) -> None:
    # GIVEN sluice running on a two-shard stream with a 1 s batch max age
    raw = scenario_config(unique, "kinesis", max_age_s=MAX_AGE_S)
    profile = LoadProfile(shape="steady", rate=100, duration_s=15)

    # WHEN 100 records/s are produced for 15 s
    result = run_scenario(raw, profile, aws, sluice_env(emulator_endpoint), tmp_path)

    # THEN every record is written once, and p50 and p99 stay within max age + margin
    assert result.sent.records >= 1400, result.sent.summary()
    assert result.checks["lost"] == 0 and result.checks["duplicates"] == 0, result.checks
    assert result.checks["unexpected"] == 0, result.checks
    assert len(result.latencies) == result.sent.records
    assert result.latency(50) <= MAX_AGE_S + MARGIN_S, result.latency(50)
    assert result.latency(99) <= MAX_AGE_S + MARGIN_S, result.latency(99)
    assert result.sluice_exit == 0

    # AND its report is a page with the latency plot and the measured percentiles
    pytest.importorskip("matplotlib", reason="matplotlib is not installed (the load extra)")
    from load_tests.report import scenario_report

    written = scenario_report(result, tmp_path / "report")
    page = written.html.read_text()
    assert page.count("data:image/png;base64,") == 3
    assert f"{result.latency(99):,.3f}" in page
