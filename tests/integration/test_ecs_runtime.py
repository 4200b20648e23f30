"""What only ECS shows, modelled: scale-in protection (a fake ECS agent) and the container
health check (`sluice health` against a real `sluice run`), on the emulator."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from batch_jobs.messages.runner import JobRunner
from batch_jobs.messages.spec import JobLedger, create_ledger_table
from batch_jobs.registry import jobs_with
from consumer.aws.clients import AwsClients
from consumer.local.emulator import provision
from consumer.runtime.health import probe
from consumer.runtime.protection import ProtectionConfig, ScaleInProtection
from consumer.testing.ecs_agent import FakeEcsAgent
from tests.configfile import write_toml
from tests.integration.sqs_harness import SqsHarness, body, make_sqs_config

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture()
def ecs_agent() -> Iterator[FakeEcsAgent]:
    with FakeEcsAgent() as agent:
        yield agent


def _sluice_run(
    path: Path, tmp_path: Path, aws: AwsClients, endpoint: str, **env: str
) -> subprocess.Popen[str]:
    environment = {
        **os.environ,
        "AWS_ENDPOINT_URL": endpoint,
        "PYTHONPATH": str(REPO),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": aws.region,
        **env,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "consumer", "run", "--config", str(path)],
        cwd=tmp_path,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


class SteadySender(threading.Thread):
    """`rate` messages a second onto the queue until stopped."""

    def __init__(self, harness: SqsHarness, rate: int) -> None:
        super().__init__(name="steady-sender", daemon=True)
        self.harness, self.rate = harness, rate
        self.sent = 0
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.is_set():
            self.harness.send([body(self.sent + i) for i in range(self.rate // 10)])
            self.sent += self.rate // 10
            self.halt.wait(0.1)


@pytest.mark.parametrize("stream_protection", [False, True], ids=["default", "legacy-stream"])
def test_a_stream_consumer_under_steady_traffic_leaves_scale_in_to_the_drain(
    aws: AwsClients,
    emulator_endpoint: str,
    ecs_agent: FakeEcsAgent,
    unique: str,
    tmp_path: Path,
    stream_protection: bool,
) -> None:
    # GIVEN `sluice run` on an SQS queue fed 20 messages a second, with an ECS agent
    config = make_sqs_config(unique, tmp_path / "it.db", wait_time_s=0)
    path = write_toml(
        config,
        tmp_path / "pipeline.toml",
        buffer={"max_age_s": 60.0, "max_records": 50},
        protection={"stream": stream_protection, "idle_release_s": 5.0, "check_interval_s": 0.2},
    )
    provision(config, aws)
    harness = SqsHarness(config, aws, tmp_path)
    sender = SteadySender(harness, rate=20)
    process = _sluice_run(path, tmp_path, aws, emulator_endpoint, ECS_AGENT_URI=ecs_agent.uri)
    logs = _drain_after(process, '"consumer starting"')
    started = ecs_agent.clock()  # the consumer is up: traffic and the window begin
    try:
        sender.start()
        # WHEN traffic flows for 8 s, then ECS stops the task (SIGTERM) mid-batch
        time.sleep(8.0)
        sender.halt.set()
        sender.join()
        time.sleep(1.0)  # what was sent is received and buffered (max_age_s is 60)
        window_end = ecs_agent.clock()
        process.send_signal(signal.SIGTERM)
        stdout, _ = process.communicate(timeout=60)
    finally:
        sender.halt.set()
        process.kill()
    stderr = "".join(logs)
    protected = ecs_agent.protected_seconds(started, window_end) / (window_end - started)
    print(f"protected {protected:.1%} of {window_end - started:.1f} s, {sender.sent} messages")

    # THEN the drain flushed, acked and exited 0: every message is in the lake once, or
    # (not yet received when SIGTERM came) still on the queue, visible again
    assert process.returncode == 0, stderr[-3000:]
    lake = harness.lake_ids()
    assert set(lake.values()) == {1} and set(lake) <= {f"r{i}" for i in range(sender.sent)}
    assert len(lake) + harness.count(harness.source.queue) == sender.sent
    assert len(lake) > sender.sent * 0.9
    assert stdout == ""
    emf = [orjson.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert sum(e.get("RecordsIn", 0) for e in emf) == len(lake)
    # ... and by default the task was never protected (issue bound: at most 20 % of the
    # time), while the legacy option holds it nearly all the time under steady traffic
    if stream_protection:
        assert protected > 0.8, ecs_agent.calls
        assert ecs_agent.states[-1] is False
    else:
        assert protected <= 0.2
        assert ecs_agent.calls == []


def test_a_job_runner_holds_protection_exactly_while_its_job_runs(
    aws: AwsClients, ecs_agent: FakeEcsAgent, unique: str
) -> None:
    # GIVEN a job queue with one job that takes a second, and an ECS agent
    sqs = aws.client("sqs")
    url = sqs.create_queue(QueueName=f"jobs-{unique}")["QueueUrl"]
    create_ledger_table(aws.client("dynamodb"), f"ledger-{unique}")
    ran: list[tuple[float, float, bool]] = []

    def slow(params: dict[str, Any]) -> None:
        start = ecs_agent.clock()
        protected_inside = ecs_agent.protected()
        time.sleep(1.0)
        ran.append((start, ecs_agent.clock(), protected_inside))

    sqs.send_message(
        QueueUrl=url,
        MessageBody=orjson.dumps({"job": "slow", "params": {}, "idempotency_key": "k1"}).decode(),
    )
    runner = JobRunner(
        sqs,
        f"jobs-{unique}",
        None,
        JobLedger(aws.client("dynamodb"), f"ledger-{unique}"),
        jobs=jobs_with({"slow": slow}),
        wait_time_s=1,
        protection=ScaleInProtection(ProtectionConfig(check_interval_s=0.1), ecs_agent.uri),
    )

    # WHEN the runner takes the message, runs the job, then finds the queue empty
    counts = runner.run(until_idle=True)

    # THEN protection was taken before the job started and released after it ended,
    # and not asked for while the runner only waited for messages
    assert counts.ran == 1 and len(ran) == 1
    start, end, protected_inside = ran[0]
    assert protected_inside
    assert ecs_agent.states == [True, False]
    taken, released = ecs_agent.calls
    assert taken.at <= start and released.at >= end
    assert not ecs_agent.protected()


def _health_config(unique: str, tmp_path: Path, **overrides: Any) -> tuple[Path, Any]:
    config = make_sqs_config(unique, tmp_path / "it.db", wait_time_s=0)
    path = write_toml(
        config,
        tmp_path / "pipeline.toml",
        health={"port": 0, "max_poll_gap_s": 2.0, "max_flush_s": 3.0, **overrides},
    )
    return path, config


def _drain_after(process: subprocess.Popen[str], marker: str) -> list[str]:
    """Wait for the log line holding `marker`, then keep reading stderr in the background
    (so the consumer never blocks on a full pipe); the lines so far and to come."""
    stderr = process.stderr
    assert stderr is not None
    lines: list[str] = []
    for line in stderr:
        lines.append(line)
        if marker in line:
            threading.Thread(target=lambda: lines.extend(stderr), daemon=True).start()
            return lines
    raise AssertionError(f"{marker} was never logged: {''.join(lines)[-3000:]}")


def _health_port(process: subprocess.Popen[str]) -> int:
    """The port `sluice run` logged for its health endpoint (port 0: a free one)."""
    lines = _drain_after(process, '"health endpoint"')
    return int(orjson.loads(lines[-1])["port"])


def _sluice_health(port: int) -> int:
    """The container health check as the task definition runs it."""
    result = subprocess.run(
        [sys.executable, "-m", "consumer", "health"],
        env={**os.environ, "SLUICE__HEALTH__PORT": str(port), "PYTHONPATH": str(REPO)},
        capture_output=True,
        timeout=30,
        check=False,
    )
    return result.returncode


def test_an_idle_consumer_stays_healthy_and_a_stopped_one_does_not(
    aws: AwsClients, emulator_endpoint: str, unique: str, tmp_path: Path
) -> None:
    # GIVEN `sluice run` on an empty queue with a 2 s liveness bound
    path, config = _health_config(unique, tmp_path)
    provision(config, aws)
    process = _sluice_run(path, tmp_path, aws, emulator_endpoint)
    try:
        port = _health_port(process)
        # WHEN it idles for three times the bound, THEN every check passes
        for _ in range(6):
            time.sleep(1.0)
            assert _sluice_health(port) == 0
        # WHEN the process is frozen (SIGSTOP: a wedged loop, a stuck runtime)
        process.send_signal(signal.SIGSTOP)
        # THEN the health check fails; it recovers when the process goes on
        assert _sluice_health(port) == 1
        process.send_signal(signal.SIGCONT)
        time.sleep(0.5)
        assert _sluice_health(port) == 0
    finally:
        process.send_signal(signal.SIGCONT)
        process.terminate()
        process.communicate(timeout=60)
    assert process.returncode == 0


def test_a_consumer_whose_sink_hangs_turns_unhealthy(
    aws: AwsClients, emulator_endpoint: str, unique: str, tmp_path: Path, pg_url: str
) -> None:
    import psycopg

    # GIVEN `sluice run` writing to a PostgreSQL table another session holds locked
    table = f"hang_{unique.replace('-', '_')}"
    config = make_sqs_config(unique, tmp_path / "it.db", wait_time_s=0)
    raw_db = {"type": "postgres", "url": pg_url, "table": table, "create_table": True}
    path = write_toml(
        config,
        tmp_path / "pipeline.toml",
        sinks={"lake": config.sinks["lake"].model_dump(), "db": raw_db},
        health={"port": 0, "max_poll_gap_s": 2.0, "max_flush_s": 3.0},
    )
    provision(config, aws)
    harness = SqsHarness(config, aws, tmp_path)
    with psycopg.connect(pg_url, autocommit=True) as setup:
        setup.execute(
            f"CREATE TABLE {table}"
            " (id text PRIMARY KEY, key text, seq bigint, value double precision)"
        )
    locker = psycopg.connect(pg_url)
    process = _sluice_run(path, tmp_path, aws, emulator_endpoint)
    try:
        port = _health_port(process)
        assert _sluice_health(port) == 0
        locker.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
        # WHEN records arrive and their flush blocks on the lock
        harness.send([body(i) for i in range(10)])
        deadline = time.monotonic() + 20
        codes = []
        while time.monotonic() < deadline:
            codes.append(_sluice_health(port))
            if codes[-1] == 1:
                break
            time.sleep(0.5)
        # THEN the health check fails within the bound (3 s) plus a check interval
        assert codes[-1] == 1, codes
        ok, detail = probe(f"http://127.0.0.1:{port}/healthz")
        assert not ok and orjson.loads(detail)["seconds_flushing"] > 3.0
        # WHEN the lock goes, the flush completes and the consumer is healthy again
        locker.rollback()
        deadline = time.monotonic() + 30
        while _sluice_health(port) != 0 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert _sluice_health(port) == 0
    finally:
        locker.close()
        process.terminate()
        process.communicate(timeout=60)
        with psycopg.connect(pg_url, autocommit=True) as cleanup:
            cleanup.execute(f"DROP TABLE IF EXISTS {table}")
    assert set(harness.lake_ids()) == {f"r{i}" for i in range(10)}
