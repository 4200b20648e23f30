"""The local dev loop on the emulator, as processes: `sluice emulator start` keeps one up
and provisions the pipeline (an SQS source with its ledger table here), `sluice put` sends
a file's lines to the queue, `sluice run --emulator` uses the emulator at
AWS_ENDPOINT_URL instead of a private one, `sluice lake` and `sluice quarantine` read back.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import boto3
import orjson
import pytest

from tests.conftest import require
from tests.e2e.cli_faults import emulator_process, free_port, sluice_env

SCHEMA = """
from pydantic import BaseModel

class Reading(BaseModel):
    type: str
    reading_id: str
    device_id: str
    value: float
"""
PIPELINE = """
name = "loop"
[source]
type = "sqs"
queue = "loop-readings.fifo"
dlq = "loop-readings-dlq.fifo"
wait_time_s = 0
receivers = 1
idle_flush_s = 1.0
[[routes]]
name = "readings"
record_type = "reading"
schema = "loop_schema:Reading"
key = "reading_id"
sinks = ["lake"]
[sinks.lake]
type = "s3"
bucket = "loop-lake"
prefix = "lake"
[quarantine]
type = "s3"
bucket = "loop-lake"
prefix = "quarantine"
[buffer]
max_age_s = 0.5
[metrics]
sink = "off"
"""


def sluice(
    folder: Path, endpoint: str, *args: str, stdin: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "consumer", *args],
        cwd=folder,
        env=sluice_env(AWS_ENDPOINT_URL=endpoint),
        input=stdin,
        capture_output=True,
        timeout=180,
        check=False,
    )


def test_emulator_start_put_run_and_read_back_on_an_sqs_pipeline(tmp_path: Path) -> None:
    try:
        import moto.server  # noqa: F401
    except ImportError:
        require(False, "moto[server] is not installed (pip install -e '.[dev]')")
    (tmp_path / "loop_schema.py").write_text(SCHEMA)
    (tmp_path / "pipeline.toml").write_text(PIPELINE)
    good = [
        {"type": "reading", "reading_id": f"r-{i}", "device_id": f"d-{i % 2}", "value": i}
        for i in range(5)
    ]
    lines = b"".join(orjson.dumps(row) + b"\n" for row in good)
    lines += b'{"type": "reading", "reading_id": "bad", "device_id": "d-0"}\n'  # no value
    lines += b'{"type": "reading", "reading_id": "\xff"}\n'  # not UTF-8: SQS cannot carry it

    # GIVEN the emulator started for the pipeline, in a process of its own
    with emulator_process(
        "--port", str(free_port()), "--config", str(tmp_path / "pipeline.toml")
    ) as emulator:
        # THEN it created the queue with its DLQ, the ledger table and the bucket
        banner = "\n".join(emulator.banner)
        assert "created queue loop-readings.fifo (DLQ loop-readings-dlq.fifo)" in banner
        assert "created table sluice-sqs-ledger (the SQS ledger)" in banner
        assert "created bucket loop-lake" in banner

        # WHEN the file is put, grouped by device
        put = sluice(
            tmp_path,
            emulator.endpoint,
            "put",
            "--config",
            "pipeline.toml",
            "--key-field",
            "device_id",
            "-",
            stdin=lines,
        )
        # THEN the text lines are sent and the other is reported, not dropped silently
        assert put.returncode == 0, put.stderr[-2000:]
        summary = orjson.loads(put.stdout)
        assert summary["sent"] == 6 and summary["not_sent"] == [
            "line 7: not UTF-8 (SQS bodies are text)"
        ]
        assert b"sluice put: not sent: line 7" in put.stderr
        sqs = boto3.client(
            "sqs",
            endpoint_url=emulator.endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        url = sqs.get_queue_url(QueueName="loop-readings.fifo")["QueueUrl"]
        count = sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]["ApproximateNumberOfMessages"]
        assert count == "6"

        # WHEN the consumer runs with --emulator and AWS_ENDPOINT_URL set
        run = sluice(
            tmp_path,
            emulator.endpoint,
            "run",
            "--config",
            "pipeline.toml",
            "--emulator",
            "--until-idle",
        )
        # THEN it used that emulator (no private one: the messages put there were read)
        assert run.returncode == 0, run.stderr[-3000:]
        assert b"started a private emulator" not in run.stderr

        # and what it wrote reads back: five rows in the lake, one record in quarantine
        cat = sluice(tmp_path, emulator.endpoint, "lake", "cat", "--config", "pipeline.toml")
        rows = [orjson.loads(line) for line in cat.stdout.splitlines()]
        assert sorted(r["reading_id"] for r in rows) == [f"r-{i}" for i in range(5)]
        listed = sluice(
            tmp_path, emulator.endpoint, "quarantine", "ls", "--config", "pipeline.toml"
        ).stdout.decode()
        assert "validate/SchemaViolation" in listed and "value: Field required" in listed
        assert listed.splitlines()[-1] == "1 quarantined record(s)"
        shown = orjson.loads(
            sluice(
                tmp_path,
                emulator.endpoint,
                "quarantine",
                "show",
                "--config",
                "pipeline.toml",
                "1",
            ).stdout
        )
        assert '"reading_id": "bad"' in shown["data"] and shown["source"] == "loop-readings.fifo"


def test_run_emulator_without_an_endpoint_says_its_emulator_is_private(tmp_path: Path) -> None:
    # GIVEN no AWS_ENDPOINT_URL
    (tmp_path / "loop_schema.py").write_text(SCHEMA)
    (tmp_path / "pipeline.toml").write_text(PIPELINE)
    env = sluice_env()
    # WHEN run --emulator starts
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "consumer",
            "run",
            "--config",
            "pipeline.toml",
            "--emulator",
            "--until-idle",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    # THEN it says the emulator is private, empty and gone at the end, and what to use
    assert done.returncode == 0, done.stderr[-2000:]
    assert "started a private emulator, empty, gone when this run ends" in done.stderr
    assert "sluice emulator start keeps one up" in done.stderr


@pytest.mark.parametrize("key", ["device_id", None])
def test_put_partition_keys_come_from_the_field_or_the_line(key: str | None) -> None:
    from consumer.local.put import partition_key

    line = b'{"device_id": "boiler-1"}'
    found = partition_key(line, key)
    assert (found == "boiler-1") if key else (len(found) == 32 and found != "boiler-1")
    # no field: a digest, the same for the same line (a rerun lands on the same shards)
    assert partition_key(b"not json", "device_id") == partition_key(b"not json", None)
    assert partition_key(b"not json", None) != partition_key(b"not json!", None)
