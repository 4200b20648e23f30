"""The KCL child as the daemon runs it: a process speaking the protocol on stdin/stdout.

A small driver plays the MultiLangDaemon: it sends one message, answers checkpoints, and
waits for the status, reading every line the child writes on stdout as protocol JSON.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from consumer.sources.kcl.child import CHILD_MODULE
from tests.conftest import require

SHARD = "shardId-000000000000"
SEQ = "49590338271490256608559692538361571095921575989136588801"

TRANSFORMS = """
import os
import sys

from pydantic import BaseModel


class Reading(BaseModel):
    type: str
    id: int


def row(reading: Reading) -> dict[str, int]:
    print(f"print from the transform {reading.id}")
    sys.stdout.write("sys.stdout from the transform\\n")
    os.write(1, b"raw write to fd 1\\n")
    return {"id": reading.id}
"""


@pytest.fixture(autouse=True)
def _kclpy() -> None:
    if importlib.util.find_spec("amazon_kclpy") is None:
        require(False, "amazon_kclpy is not installed (see the KCL notes in the Makefile)")


def write_config(folder: Path, lake: str, **extra: str) -> Path:
    (folder / "kcl_child_transforms.py").write_text(TRANSFORMS)
    config = folder / "pipeline.toml"
    config.write_text(
        "\n".join(
            [
                'name = "kcl-child"',
                'source = { type = "kinesis", stream = "events" }',
                "buffer = { max_records = 2, max_age_s = 60 }",
                "retry = { max_attempts = 1, base_delay_s = 0.01, max_delay_s = 0.01 }",
                "[[routes]]",
                'name = "readings"',
                'record_type = "reading"',
                'schema = "kcl_child_transforms:Reading"',
                'transform = "kcl_child_transforms:row"',
                'sinks = ["lake"]',
                'key = "id"',
                "[sinks]",
                f"lake = {lake}",
                "[quarantine]",
                'type = "memory"',
                *(f"{key} = {value}" for key, value in extra.items()),
                "",
            ]
        )
    )
    return config


def record(sub: int, data: bytes) -> dict[str, Any]:
    return {
        "data": base64.b64encode(data).decode(),
        "partitionKey": "k",
        "sequenceNumber": SEQ,
        "approximateArrivalTimestamp": 1_795_000_000_000,
        "subSequenceNumber": sub,
        "action": "record",
    }


def reading(n: int) -> bytes:
    return json.dumps({"type": "reading", "id": n}).encode()


class Daemon:
    def __init__(self, config: Path, folder: Path, env: dict[str, str] | None = None) -> None:
        self.stderr_path = folder / "child.stderr"
        self.stdout_lines: list[str] = []
        self.received: list[dict[str, Any]] = []
        with self.stderr_path.open("w") as stderr:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", CHILD_MODULE, "--config", str(config)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                cwd=folder,
                env={**os.environ, **(env or {})},
            )

    def send(self, message: dict[str, Any]) -> bool:
        """Send `message`; answer checkpoints; True once its status came back."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(message) + "\n")
        self.proc.stdin.flush()
        while True:
            line = self.proc.stdout.readline()
            if not line:
                return False
            if not line.strip():
                continue
            self.stdout_lines.append(line)
            answer = json.loads(line)  # anything but protocol JSON fails here
            self.received.append(answer)
            if answer["action"] == "checkpoint":
                reply = {**answer, "action": "checkpoint"}
                self.proc.stdin.write(json.dumps(reply) + "\n")
                self.proc.stdin.flush()
            elif answer["action"] == "status":
                assert answer["responseFor"] == message["action"]
                return True
            else:
                pytest.fail(f"unexpected message from the child: {line!r}")

    def close(self) -> int:
        assert self.proc.stdin is not None
        if not self.proc.stdin.closed:
            self.proc.stdin.close()
        return self.proc.wait(timeout=30)

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text()

    @property
    def checkpoints(self) -> list[tuple[str | None, int | None]]:
        return [
            (m["sequenceNumber"], m["subSequenceNumber"])
            for m in self.received
            if m["action"] == "checkpoint"
        ]


def test_the_child_keeps_stdout_for_the_protocol_and_writes_the_batch(tmp_path: Path) -> None:
    # GIVEN a transform that prints, writes to sys.stdout and to fd 1, and metrics left
    # at their default sink (stdout)
    config = write_config(tmp_path, '{ type = "sqlite", path = "lake.db" }')
    daemon = Daemon(config, tmp_path)
    # WHEN the daemon drives it through a cut of two user records and a shutdown request
    try:
        assert daemon.send(
            {"action": "initialize", "shardId": SHARD, "sequenceNumber": "TRIM_HORIZON",
             "subSequenceNumber": 0}
        )  # fmt: skip
        assert daemon.send(
            {
                "action": "processRecords",
                "records": [record(0, reading(1)), record(1, reading(2))],
                "millisBehindLatest": 0,
            }
        )
        assert daemon.send({"action": "shutdownRequested"})
    finally:
        code = daemon.close()
    # THEN stdout held protocol lines only, everything else went to stderr
    assert code == 0
    assert daemon.checkpoints == [(SEQ, 1)]
    assert [m["responseFor"] for m in daemon.received if m["action"] == "status"] == [
        "initialize",
        "processRecords",
        "shutdownRequested",
    ]
    stderr = daemon.stderr
    for stray in ("print from the transform 1", "sys.stdout from the transform", "raw write"):
        assert stray in stderr
        assert not any(stray in line for line in daemon.stdout_lines)
    assert '"_aws"' in stderr  # the EMF record of the flush, moved off stdout
    with sqlite3.connect(tmp_path / "lake.db") as db:
        assert sorted(row[0] for row in db.execute("SELECT id FROM readings")) == [1, 2]


def test_a_failing_sink_makes_the_child_exit_non_zero_without_checkpointing(
    tmp_path: Path,
) -> None:
    # GIVEN an S3 lake behind an endpoint that refuses connections
    config = write_config(tmp_path, '{ type = "s3", bucket = "lake-bucket" }')
    env = {
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    daemon = Daemon(config, tmp_path, env)
    try:
        assert daemon.send(
            {"action": "initialize", "shardId": SHARD, "sequenceNumber": "TRIM_HORIZON",
             "subSequenceNumber": 0}
        )  # fmt: skip
        # WHEN a full cut is flushed
        answered = daemon.send(
            {
                "action": "processRecords",
                "records": [record(0, reading(1)), record(1, reading(2))],
                "millisBehindLatest": 0,
            }
        )
    finally:
        code = daemon.close()
    # THEN the child exits 1 before answering: no status, no checkpoint
    assert not answered
    assert code == 1
    assert daemon.checkpoints == []
    assert "flush failed; exiting" in daemon.stderr


def test_under_sluice_kcl_run_logs_and_metrics_go_through_the_channel(tmp_path: Path) -> None:
    # GIVEN the wrapper's channel, named to the child as `sluice kcl run` names it
    from consumer.runtime.health import HealthConfig
    from consumer.sources.kcl.channel import CHANNEL_ENV
    from consumer.sources.kcl.relay import Output, Relay
    from consumer.sources.kcl.watch import Watch

    config = write_config(tmp_path, '{ type = "sqlite", path = "lake.db" }')

    class RecordingWatch(Watch):
        def report(self, key: int, report: Mapping[str, Any]) -> None:
            reports.append(dict(report))
            super().report(key, report)

    reports: list[dict[str, Any]] = []
    watch = RecordingWatch(HealthConfig(), lambda: True)
    out_path, err_path = tmp_path / "wrapper.out", tmp_path / "wrapper.err"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        relay = Relay(str(tmp_path / "channel.sock"), Output(out, err), watch)
        relay.start()
        daemon = Daemon(config, tmp_path, {CHANNEL_ENV: relay.path})
        # WHEN the daemon drives it through a cut and a shutdown request
        try:
            assert daemon.send(
                {"action": "initialize", "shardId": SHARD, "sequenceNumber": "TRIM_HORIZON",
                 "subSequenceNumber": 0}
            )  # fmt: skip
            assert daemon.send(
                {
                    "action": "processRecords",
                    "records": [record(0, reading(1)), record(1, reading(2))],
                    "millisBehindLatest": 0,
                }
            )
            assert daemon.send({"action": "shutdownRequested"})
        finally:
            code = daemon.close()
            relay.stop()
    # THEN the child's JSON logs are on the wrapper's stderr, its EMF record on the
    # wrapper's stdout, one JSON object a line; the child's stderr keeps only the strays
    assert code == 0
    emf = [json.loads(line) for line in out_path.read_text().splitlines()]
    assert all("_aws" in entry for entry in emf)
    assert sum(entry.get("RecordsIn", 0) for entry in emf) == 2
    logs = [json.loads(line) for line in err_path.read_text().splitlines()]
    assert [entry["msg"] for entry in logs] == ["shard started", "shutdown requested"]
    assert {entry["level"] for entry in logs} == {"info"}
    stderr = daemon.stderr
    assert '"_aws"' not in stderr and '"logger"' not in stderr
    assert "print from the transform 1" in stderr
    # AND it reported its progress: started, every processRecords call, the flush, stopped
    events = [entry["event"] for entry in reports]
    assert events[:2] == ["hello", "started"] and events[-1] == "stopped"
    assert {"poll", "busy", "flushed", "idle"} <= set(events)
    assert all(entry.get("shard") == SHARD for entry in reports[1:])


def test_with_its_channel_gone_the_child_writes_to_stderr(tmp_path: Path) -> None:
    # GIVEN a channel address nobody listens on (the wrapper died)
    from consumer.sources.kcl.channel import CHANNEL_ENV

    config = write_config(tmp_path, '{ type = "sqlite", path = "lake.db" }')
    daemon = Daemon(config, tmp_path, {CHANNEL_ENV: str(tmp_path / "gone.sock")})
    # WHEN it flushes a cut
    try:
        assert daemon.send(
            {"action": "initialize", "shardId": SHARD, "sequenceNumber": "TRIM_HORIZON",
             "subSequenceNumber": 0}
        )  # fmt: skip
        assert daemon.send(
            {
                "action": "processRecords",
                "records": [record(0, reading(1)), record(1, reading(2))],
                "millisBehindLatest": 0,
            }
        )
    finally:
        code = daemon.close()
    # THEN its logs and metrics are on stderr, as without `sluice kcl run`
    assert code == 0 and daemon.checkpoints == [(SEQ, 1)]
    assert '"_aws"' in daemon.stderr and '"shard started"' in daemon.stderr
