"""The demo against LocalStack, pointed at it the way a user does: `sluice --localstack`
with LOCALSTACK_HOST, no endpoint and no credentials in the environment
(localstack-client resolves both)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import orjson
import pytest

pytestmark = [pytest.mark.localstack, pytest.mark.e2e]
REPO = Path(__file__).resolve().parents[2]
_STRIPPED = ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")


def test_the_demo_on_localstack_loses_and_duplicates_nothing(
    emulator_endpoint: str, tmp_path: Path
) -> None:
    # GIVEN only LOCALSTACK_HOST naming where LocalStack listens
    env = {key: value for key, value in os.environ.items() if key not in _STRIPPED}
    env |= {
        "LOCALSTACK_HOST": urlsplit(emulator_endpoint).netloc,
        "PYTHONPATH": str(REPO),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
    }

    # WHEN the demo runs with --localstack
    result = subprocess.run(
        [sys.executable, "-m", "consumer", "--localstack", "demo", "--out", str(tmp_path)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )

    # THEN it used LocalStack, and every record ended where its label says, once
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"AWS endpoint: {emulator_endpoint} (given)" in result.stderr
    report = orjson.loads(result.stdout.strip().splitlines()[-1])
    print(orjson.dumps(report).decode())
    assert report["records_produced"] == report["kinesis_records"] + report["sqs_records_sent"]
    assert report["records_produced"] > 5000 and report["records_quarantined"] > 0
    assert report["lost"] == 0 and report["duplicates"] == 0 and report["unexpected"] == 0
    assert report["missing_in_db"] == 0
    assert report["jobs_run"] == 1 and report["job_duplicates_skipped"] == 1
