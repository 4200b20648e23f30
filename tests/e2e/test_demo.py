"""The demo as a user runs it: a separate process, the embedded emulator, a final JSON line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e


def test_demo_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    # GIVEN the demo with 1500 events on Kinesis and 200 through SQS, 5 percent of them bad
    # in every supported way
    out = tmp_path / "out"
    config = str(REPO / "examples/clickstream/pipeline.toml")
    cmd = [
        sys.executable,
        "-m",
        "consumer",
        "demo",
        "--records",
        "1500",
        "--sqs-records",
        "200",
        "--out",
        str(out),
        "--config",
        config,
    ]
    env = {k: v for k, v in os.environ.items() if k != "AWS_ENDPOINT_URL"}

    # WHEN it runs to completion
    done = subprocess.run(
        cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False
    )

    # THEN it exits 0 and its last line is the report, computed from the read-back outputs
    assert done.returncode == 0, done.stderr[-3000:]
    report = orjson.loads(done.stdout.strip().splitlines()[-1])
    sqs = report["sqs_records_sent"]
    assert report["kinesis_records"] == 1500 and 150 < sqs <= 200
    assert report["records_produced"] == 1500 + sqs
    assert report["lost"] == 0 and report["duplicates"] == 0 and report["unexpected"] == 0
    assert report["records_written"] + report["records_quarantined"] == 1500 + sqs
    assert report["records_quarantined"] >= 75
    assert (report["jobs_run"], report["job_duplicates_skipped"]) == (1, 1)
    assert report["db_rows"] == report["records_written"]
    # the page views were also committed to an Iceberg table and the purchases written as
    # Parquet: read back, each record once
    assert report["iceberg_lost"] == report["iceberg_duplicates"] == 0
    assert report["parquet_lost"] == report["parquet_duplicates"] == 0
    assert report["iceberg_unexpected"] == report["parquet_unexpected"] == 0
    assert report["iceberg_rows"] > 0 and report["parquet_rows"] > 0
    assert report["iceberg_rows"] + report["parquet_rows"] == report["records_written"]
    assert (out / "catalog.db").exists() and any((out / "warehouse").rglob("*.metadata.json"))
    assert report["s3_objects"] > 0 and report["seconds"] > 0
    assert (out / "sluice.db").exists() and (out / "report.json").exists()
    assert any((out / "quarantine").rglob("*.jsonl"))
    assert "[demo]" in done.stderr


def test_invalid_config_fails_at_start_naming_the_field(tmp_path: Path) -> None:
    # GIVEN the demo config with a misspelt buffer field
    config = (REPO / "examples/clickstream/pipeline.toml").read_text()
    bad = tmp_path / "bad.toml"
    bad.write_text(config.replace("max_age_s = 1.0", "max_age_seconds = 1.0"))

    # WHEN validated by the CLI
    done = subprocess.run(
        [sys.executable, "-m", "consumer", "validate", "--config", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    # THEN it exits 2 and names the field
    assert done.returncode == 2
    assert "buffer.max_age_seconds" in done.stderr
    assert "Extra inputs are not permitted" in done.stderr
