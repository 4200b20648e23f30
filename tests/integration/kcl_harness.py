"""What the real-daemon tests share: the emulator served over HTTP/2 for the KCL, `sluice
kcl run` as a restartable subprocess, records to produce and what to check in the lake and
the lease table (tests/integration/test_kcl_daemon.py, test_kcl_workers.py).

The KCL's Kinesis client speaks HTTP/2 cleartext, which moto's own server does not, so
moto's WSGI app is served by hypercorn here (HTTP/1.1 and h2c), one request at a time
(moto's backends are not thread-safe). The JVM gets `-Daws.cborEnabled=false` from
`sluice kcl run` because an endpoint override is set; KCL metrics are off (NONE).
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from consumer.aws.clients import AwsClients
from consumer.sources.kinesis import kpl
from consumer.sources.kinesis.records import to_records
from tests.configfile import write_toml
from tests.conftest import ON_LOCALSTACK, require
from tests.integration.harness import Harness, reading

REPO = Path(__file__).resolve().parents[2]
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
}
BAD = [("bad-json", b'{"type": "reading", "id": '), ("no-route", b'{"type": "unknown"}')]


class _Serialized:
    """One request at a time into moto, and never an empty body: hypercorn's WSGI adapter
    sends the response start with the first chunk, so a body-less answer (204) never
    started and came back as a 500."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        with self.lock:
            return list(self.app(environ, start_response)) or [b""]


@pytest.fixture(scope="module")
def h2_endpoint(request: pytest.FixtureRequest) -> Iterator[str]:
    for module, why in [
        ("amazon_kclpy", "amazon_kclpy with its KCL jars (the hash-pinned test wheel)"),
        ("hypercorn", "hypercorn, to serve moto over HTTP/2 for the KCL"),
        ("moto", "moto[server]"),
    ]:
        require(importlib.util.find_spec(module) is not None, f"{why} is not installed")
    require(shutil.which("java") is not None, "java is not installed")
    if ON_LOCALSTACK:  # LocalStack's gateway speaks HTTP/2 itself (make test-localstack)
        yield request.getfixturevalue("emulator_endpoint")
        return
    from hypercorn.asyncio import serve
    from hypercorn.config import Config
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    from consumer.local import emulator_reshard
    from consumer.sources.kcl.cli import find_jars

    find_jars(None)  # real jars, not placeholders
    for key, value in CREDENTIALS.items():
        os.environ.setdefault(key, value)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.loglevel = "WARNING"
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    emulator_reshard.install()  # reshards as Kinesis does them, ChildShards included
    app = _Serialized(DomainDispatcherApplication(create_backend_app))

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(serve(app, config, shutdown_trigger=stop.wait, mode="wsgi"))

    thread = threading.Thread(target=run, name="h2-moto", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as conn:
            if conn.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    # connections the JVMs left open are cancelled on the way out: not worth a log line
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)
    loop.call_soon_threadsafe(stop.set)
    thread.join(timeout=10)


class Kcl:
    """`sluice kcl run` for a harness' pipeline, restartable, with its log kept."""

    def __init__(
        self,
        harness: Harness,
        endpoint: str,
        work: Path,
        log_level: str = "WARNING",
        sets: Iterable[str] = (),
        env: dict[str, str] | None = None,
    ) -> None:
        self.harness = harness
        work.mkdir(parents=True, exist_ok=True)
        self.work = work
        self.sets = [item for pair in sets for item in ("--set", pair)]
        self.config = write_toml(harness.config, work / "pipeline.toml")
        self.env = {
            **os.environ,
            **CREDENTIALS,
            "AWS_ENDPOINT_URL": endpoint,
            "PYTHONPATH": str(REPO),
            "SLUICE_LOG_LEVEL": log_level,
            **(env or {}),
        }
        self.runs = 0
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> subprocess.Popen[bytes]:
        self.runs += 1
        out, err = self.work / f"daemon-{self.runs}.out", self.work / f"daemon-{self.runs}.err"
        with out.open("wb") as stdout, err.open("wb") as stderr:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "consumer.sources.kcl.cli",
                    "run",
                    "--config",
                    str(self.config),
                    "--stop-timeout-s",
                    "15",
                    "--properties-out",
                    str(self.work / "sluice.properties"),
                    "--set",
                    "failoverTimeMillis=3000",
                    "--set",
                    "parentShardPollIntervalMillis=1000",
                    *self.sets,
                ],
                cwd=REPO,
                env=self.env,
                stdout=stdout,
                stderr=stderr,
            )
        return self.proc

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = 60) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(timeout=timeout_s)

    def stdout(self) -> str:
        return self._read("out")

    def stderr(self) -> str:
        return self._read("err")

    def log(self) -> str:
        """Both outputs of every run (stderr after stdout: read it for content, not order)."""
        return self.stdout() + "\n" + self.stderr()

    def _read(self, suffix: str) -> str:
        return "\n".join(
            (self.work / f"daemon-{n}.{suffix}").read_text(errors="replace")
            for n in range(1, self.runs + 1)
        )

    def java_pid(self) -> int:
        assert self.proc is not None
        for pid in _pids():
            if _ppid(pid) == self.proc.pid and "MultiLangDaemon" in _cmdline(pid):
                return pid
        raise AssertionError("no daemon process")

    def strays(self) -> list[int]:
        """Live processes still naming this run's config or properties."""
        marks = (str(self.config), str(self.work / "sluice.properties"))
        return [
            pid
            for pid in _pids()
            if any(mark in _cmdline(pid) for mark in marks) and _state(pid) != "Z"
        ]


def _pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _stat(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()
    except (OSError, IndexError):
        return []


def _state(pid: int) -> str:
    fields = _stat(pid)
    return fields[0] if fields else "Z"


def _ppid(pid: int) -> int:
    fields = _stat(pid)
    return int(fields[1]) if fields else -1


def wait_for(what: str, check: Callable[[], bool], kcl: Kcl, timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        if kcl.proc is not None and kcl.proc.poll() is not None:
            pytest.fail(f"daemon exited {kcl.proc.returncode} waiting for {what}:\n{kcl.log()}")
        time.sleep(1)
    pytest.fail(f"timed out waiting for {what}:\n{kcl.log()[-20000:]}")


def last_positions(aws: AwsClients, stream: str) -> dict[str, tuple[str, int]]:
    """Each shard's last user record: what its final checkpoint must be."""
    client = aws.client("kinesis")
    last: dict[str, tuple[str, int]] = {}
    for shard in client.list_shards(StreamName=stream)["Shards"]:
        shard_id = shard["ShardId"]
        iterator = client.get_shard_iterator(
            StreamName=stream, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            response = client.get_records(ShardIterator=iterator, Limit=10_000)
            for record, _ in to_records(stream, shard_id, response["Records"]):
                last[shard_id] = (str(record.position.sequence), record.position.sub)
            if not response["Records"]:
                break
            iterator = response.get("NextShardIterator")
    return last


def lease_checkpoints(aws: AwsClients, table: str) -> dict[str, tuple[str, int]]:
    try:
        items = aws.client("dynamodb").scan(TableName=table)["Items"]
    except aws.client("dynamodb").exceptions.ResourceNotFoundException:
        return {}
    return {
        item["leaseKey"]["S"]: (
            item["checkpoint"]["S"],
            int(item.get("checkpointSubSequenceNumber", {"N": "0"})["N"]),
        )
        for item in items
    }


def produce(
    harness: Harness, count: int, first: int = 0, with_bad: bool = True
) -> tuple[set[str], set[str]]:
    """`count` readings, half of them packed into KPL aggregates, and the bad ones;
    returns the expected lake ids and quarantine partition keys.

    Like the KPL, an aggregate only holds user records of one partition key: the KCL drops
    a whole aggregate when a user record's hash key lies outside the shard it was read from.
    """
    good = [reading(index) for index in range(first, first + count)]
    records = [*good[: count // 2], *(BAD if with_bad else [])]
    by_key: dict[str, list[tuple[str, bytes]]] = {}
    for key, data in good[count // 2 :]:
        by_key.setdefault(key, []).append((key, data))
    for group in by_key.values():
        for start in range(0, len(group), 5):
            records.append((group[start][0], kpl.aggregate(group[start : start + 5])))
    harness.put(records)
    return {f"r{index}" for index in range(first, first + count)}, {key for key, _ in BAD}


def done(harness: Harness, ids: set[str], bad: set[str]) -> Callable[[], bool]:
    def check() -> bool:
        return set(harness.lake_ids()) == ids and set(harness.quarantine_keys()) == bad

    return check


def assert_exactly_once(harness: Harness, ids: set[str], bad: set[str]) -> None:
    lake = harness.lake_ids()
    assert set(lake) == ids and max(lake.values()) == 1
    assert harness.db_ids() == Counter(dict.fromkeys(ids, 1))
    assert harness.quarantine_keys() == Counter(dict.fromkeys(bad, 1))


def lease_owners(aws: AwsClients, table: str) -> dict[str, str]:
    items = aws.client("dynamodb").scan(TableName=table)["Items"]
    return {item["leaseKey"]["S"]: item.get("leaseOwner", {}).get("S", "") for item in items}
