"""`sluice kcl run`'s /healthz and /readyz: children report through the real channel and
relay, the endpoints answer over real HTTP; the wrapper's clock is a fake one.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest

from consumer.delivery.hooks import FlushInfo
from consumer.flow import Cut, Position
from consumer.runtime.health import HealthConfig, HealthServer, probe
from consumer.runtime.records_behind import RecordsBehindEmitter
from consumer.sources.kcl.channel import CHANNEL_ENV, ChannelClient
from consumer.sources.kcl.outputs import OutputEmfWriter, ProgressReport
from consumer.sources.kcl.relay import Output, Relay
from consumer.sources.kcl.watch import Watch


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def wait_until(what: str, check: Callable[[], bool], timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.01)


class CountingClient(ChannelClient):
    """Counts the messages the relay must have handled before a probe means anything."""

    sent = 0

    def progress(self, event: str, *, wait: bool = False, **fields: Any) -> bool:
        delivered = super().progress(event, wait=wait, **fields)
        self.sent += delivered
        return delivered

    def _connect(self) -> bool:
        connected = super()._connect()
        self.sent += connected  # its hello
        return connected


@dataclass
class Wrapper:
    relay: Relay
    clock: Clock
    url: str
    daemon: list[bool]
    clients: list[CountingClient] = field(default_factory=list)

    def child(self) -> tuple[ProgressReport, ChannelClient]:
        client = CountingClient(self.relay.path)
        self.clients.append(client)
        return ProgressReport(client), client

    def settle(self) -> None:
        """Wait until the relay has handled every report sent so far: the wrapper times a
        report when it handles it, so the fake clock may move only after that."""
        sent = sum(client.sent for client in self.clients)
        wait_until("the reports", lambda: self.relay.counts["progress"] >= sent)

    def advance(self, seconds: float) -> None:
        self.settle()
        self.clock.now += seconds

    def get(self, path: str) -> tuple[bool, dict[str, object]]:
        self.settle()
        ok, body = probe(self.url + path)
        return ok, orjson.loads(body)


@pytest.fixture()
def wrapper(tmp_path: Path) -> Iterator[Wrapper]:
    clock, daemon = Clock(), [True]
    config = HealthConfig(port=0, max_poll_gap_s=10, max_flush_age_s=30)
    watch = Watch(config, lambda: daemon[0], clock)
    with (tmp_path / "out").open("wb") as out, (tmp_path / "err").open("wb") as err:
        relay = Relay(str(tmp_path / "channel.sock"), Output(out, err), watch)
        relay.start()
        server = HealthServer(watch, config)
        server.start()
        yield Wrapper(relay, clock, f"http://127.0.0.1:{server.port}", daemon)
        server.stop()
        relay.stop(0.1)


def flushed() -> FlushInfo:
    cut = Cut("shardId-000000000000", Position(1), Position(2), [], 2, 0)
    return FlushInfo("kinesis", "s", cut, 0.01, time.time(), 0)


def test_a_child_whose_heartbeats_stop_turns_the_task_unhealthy(wrapper: Wrapper) -> None:
    # GIVEN a child that started its shard and answers the daemon
    report, _ = wrapper.child()
    report.started("shardId-000000000001")
    report.on_poll("s")
    assert wrapper.get("/healthz")[0]
    # WHEN it stops answering for longer than max_poll_gap_s (10 s)
    wrapper.advance(10)
    assert wrapper.get("/healthz")[0]
    wrapper.advance(1)
    # THEN /healthz fails, naming the stalled shard
    ok, body = wrapper.get("/healthz")
    assert not ok
    assert body["stalled"] == ["shardId-000000000001"] and body["seconds_since_poll"] == 11


def test_an_idle_child_that_keeps_answering_stays_healthy_and_ready(wrapper: Wrapper) -> None:
    # GIVEN a child with no records: the daemon calls it with an empty list every time
    report, _ = wrapper.child()
    report.started("shardId-000000000000")
    for _ in range(10):
        # WHEN a minute and a half goes by in heartbeats 9 s apart
        wrapper.advance(9)
        report.on_poll("s")
        # THEN the task stays live and ready
        assert wrapper.get("/healthz")[0]
        ok, body = wrapper.get("/readyz")
        assert ok, body


def test_a_child_that_stopped_or_exited_is_forgotten(wrapper: Wrapper) -> None:
    # GIVEN two children, one losing its lease, one exiting, neither heard of again
    lost, _ = wrapper.child()
    lost.started("shardId-000000000000")
    gone, gone_client = wrapper.child()
    gone.started("shardId-000000000001")
    lost.on_poll("s")
    lost.stopped("lease lost")
    gone_client.close()
    wait_until("the exit seen", lambda: wrapper.relay.counts["disconnections"] == 1)
    # WHEN far more than max_poll_gap_s passes
    wrapper.advance(100)
    # THEN the task is live (its daemon runs) but not ready (no child works here)
    ok, body = wrapper.get("/healthz")
    assert ok and body["children"] == 0
    assert not wrapper.get("/readyz")[0]
    # AND with the daemon gone it is not live either
    wrapper.daemon[0] = False
    ok, body = wrapper.get("/healthz")
    assert not ok and body["daemon_alive"] is False


def test_readiness_follows_the_children_flushes(wrapper: Wrapper) -> None:
    # GIVEN a child that has not polled yet: not ready
    report, _ = wrapper.child()
    report.started("shardId-000000000000")
    assert not wrapper.get("/readyz")[0]
    report.on_poll("s")
    assert wrapper.get("/readyz")[0]
    # WHEN its flush fails, THEN it is not ready, with the error, until a flush succeeds
    report.on_buffering("s")
    report.on_flush_failed("s", RuntimeError("bucket gone"))
    ok, body = wrapper.get("/readyz")
    assert not ok and "bucket gone" in str(body["errors"])
    report.on_flushed(flushed())
    report.on_idle("s")
    assert wrapper.get("/readyz")[0]
    # AND records waiting longer than max_flush_age_s make it not ready either
    report.on_buffering("s")
    for _ in range(4):
        wrapper.advance(9)
        report.on_poll("s")
    ok, body = wrapper.get("/readyz")
    assert not ok and body["seconds_waiting_for_flush"] == 36
    assert wrapper.get("/healthz")[0]  # still live: it answers the daemon


HEARTBEATS = """
import time
from consumer.sources.kcl.channel import ChannelClient
from consumer.sources.kcl.outputs import ProgressReport
report = ProgressReport(ChannelClient.from_env())
report.started("shardId-000000000007")
while True:
    report.on_poll("s")
    time.sleep(0.05)
"""


def test_a_frozen_child_process_turns_the_task_unhealthy_and_back(tmp_path: Path) -> None:
    # GIVEN a child process heartbeating every 50 ms, and a wrapper on the real clock
    # allowing a gap of 0.5 s
    config = HealthConfig(port=0, max_poll_gap_s=0.5)
    watch = Watch(config, lambda: True)
    with (tmp_path / "out").open("wb") as out, (tmp_path / "err").open("wb") as err:
        relay = Relay(str(tmp_path / "channel.sock"), Output(out, err), watch)
        relay.start()
        server = HealthServer(watch, config)
        server.start()
        url = f"http://127.0.0.1:{server.port}/healthz"
        env = {**os.environ, CHANNEL_ENV: relay.path, "PYTHONPATH": str(Path.cwd())}
        child = subprocess.Popen([sys.executable, "-c", HEARTBEATS], env=env)
        try:
            wait_until("the child's first heartbeat", lambda: relay.counts["progress"] >= 3)
            assert probe(url)[0]
            # WHEN it is frozen (SIGSTOP), THEN the task turns unhealthy
            os.kill(child.pid, signal.SIGSTOP)
            wait_until("/healthz to fail", lambda: not probe(url)[0])
            # AND when it thaws, healthy again
            os.kill(child.pid, signal.SIGCONT)
            wait_until("/healthz to pass", lambda: probe(url)[0])
        finally:
            child.kill()
            child.wait()
            server.stop()
            relay.stop(0.5)


def test_the_task_emits_the_records_its_children_are_behind(
    wrapper: Wrapper, tmp_path: Path
) -> None:
    # GIVEN two children behind 1,200 and 300 records on their shards, and a third that
    # stopped (its lease lost) while 5,000 behind
    counts = {"a": 1200.0, "b": 300.0, "c": 5000.0}
    reports = {}
    for name, behind in counts.items():
        report, _ = wrapper.child()
        report.measure = lambda behind=behind: behind
        report.started(f"shard-{name}")
        report.on_poll("s")
        reports[name] = report
    reports["c"].stopped("lease lost")
    wrapper.settle()
    # WHEN the wrapper's emitter runs once, printing through the task's output
    with (tmp_path / "emf").open("wb") as stdout:
        output = Output(stdout, stdout)
        writer = OutputEmfWriter(output, "stdout")
        emitter = RecordsBehindEmitter(
            wrapper.relay.watch.records_behind, writer, "sluice", "app", interval_s=10
        )
        assert emitter.emit_once() == 1500.0
    # THEN one EMF line holds the sum of the children alive, at high resolution
    [line] = (tmp_path / "emf").read_bytes().splitlines()
    record = orjson.loads(line)
    [directive] = record["_aws"]["CloudWatchMetrics"]
    assert directive["Dimensions"] == [["service"]] and record["service"] == "app"
    assert directive["Metrics"] == [
        {"Name": "KinesisRecordsBehind", "Unit": "Count", "StorageResolution": 1}
    ]
    assert record["KinesisRecordsBehind"] == 1500.0
