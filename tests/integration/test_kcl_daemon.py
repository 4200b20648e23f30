"""The real MultiLangDaemon (Java, KCL jars from amazon-kclpy) running sluice's children
against the emulator: `python -m consumer.sources.kcl.cli run`, as `sluice kcl run`
(tests/integration/kcl_harness.py serves the emulator to it and runs it)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import time
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest

from consumer.aws.clients import AwsClients
from consumer.runtime.metrics import MetricsConfig
from tests.integration.harness import Harness
from tests.integration.kcl_harness import (
    Kcl,
    assert_exactly_once,
    done,
    last_positions,
    lease_checkpoints,
    lease_owners,
    produce,
    wait_for,
)

pytestmark = [pytest.mark.integration, pytest.mark.kcl_daemon]


def test_the_daemon_consumes_every_shard_once_and_stops_cleanly(
    h2_endpoint: str, unique: str, tmp_path: Path
) -> None:
    # GIVEN two shards with 3,000 readings (half in KPL aggregates) and bad records
    aws = AwsClients(region="us-east-1", endpoint_url=h2_endpoint)
    harness = Harness.create(aws, unique, tmp_path)
    ids, bad = produce(harness, 3000)
    kcl = Kcl(harness, h2_endpoint, tmp_path)
    expected = last_positions(aws, harness.stream)
    # WHEN the daemon runs until everything is written and checkpointed, then gets SIGTERM
    kcl.start()
    try:
        wait_for("every record", done(harness, ids, bad), kcl)
        wait_for(
            "the last checkpoints",
            lambda: lease_checkpoints(aws, harness.config.name) == expected,
            kcl,
        )
    finally:
        code = kcl.stop()
    # THEN every record landed once, the lease table holds each shard's last record, and
    # nothing of the run is left behind
    assert code == 0, kcl.log()[-5000:]
    assert_exactly_once(harness, ids, bad)
    assert kcl.strays() == []


def test_a_sigkilled_daemon_restarts_from_its_checkpoints_without_loss_or_duplicate(
    h2_endpoint: str, unique: str, tmp_path: Path
) -> None:
    aws = AwsClients(region="us-east-1", endpoint_url=h2_endpoint)
    harness = Harness.create(aws, unique, tmp_path, max_records=20)
    source = harness.config.source.model_copy(update={"max_records_per_call": 25})
    harness.config = harness.config.model_copy(update={"source": source})
    ids, bad = produce(harness, 2000)
    kcl = Kcl(harness, h2_endpoint, tmp_path)
    # GIVEN a daemon in the middle of the stream (25 records a read, 5 reads a second)
    kcl.start()
    try:
        wait_for("a first flush", lambda: len(harness.lake_ids()) > 0, kcl)
        # WHEN its JVM is SIGKILLed
        written_before = len(harness.lake_ids())
        os.kill(kcl.java_pid(), signal.SIGKILL)
        first = kcl.proc.wait(timeout=60) if kcl.proc is not None else None
        # AND it is started again (its old leases expire after failoverTimeMillis)
        kcl.start()
        wait_for("every record", done(harness, ids, bad), kcl, timeout_s=240)
    finally:
        code = kcl.stop()
    # THEN nothing is lost and nothing is duplicated
    assert first == 128 + signal.SIGKILL
    assert written_before < len(ids), "the kill came too late to test anything"
    assert code == 0
    assert_exactly_once(harness, ids, bad)
    assert kcl.strays() == []


def test_a_sink_down_for_a_while_skips_nothing(
    h2_endpoint: str, unique: str, tmp_path: Path
) -> None:
    # GIVEN the lake bucket is missing when the daemon starts
    aws = AwsClients(region="us-east-1", endpoint_url=h2_endpoint)
    harness = Harness.create(aws, unique, tmp_path)
    ids, bad = produce(harness, 300)
    bucket = f"lake-{unique}"
    aws.client("s3").delete_bucket(Bucket=bucket)
    kcl = Kcl(harness, h2_endpoint, tmp_path)
    # WHEN a child cannot flush: it exits, and the daemon with it, having checkpointed nothing
    kcl.start()
    try:
        first = kcl.proc.wait(timeout=180) if kcl.proc is not None else None
        checkpoints = lease_checkpoints(aws, harness.config.name)
        # AND the bucket comes back and the daemon is started again
        aws.client("s3").create_bucket(Bucket=bucket)
        kcl.start()
        wait_for("every record", done(harness, ids, bad), kcl, timeout_s=240)
    finally:
        code = kcl.stop()
    # THEN no record was skipped, and every failed attempt (the child retries a cut 3 times
    # before it exits) shows in the metrics
    assert first == 1, kcl.log()[-5000:]
    assert all(not position[0].isdigit() for position in checkpoints.values()), checkpoints
    assert code == 0
    assert_exactly_once(harness, ids, bad)
    failures = [
        line for line in (tmp_path / "metrics.jsonl").read_text().splitlines()
        if '"FlushFailures"' in line
    ]  # fmt: skip
    assert len(failures) >= 3, failures
    assert "flush failed; retrying the cut" in kcl.log()
    assert "flush failed; exiting" in kcl.log()


def shard_events(log: str) -> list[tuple[str, str, str]]:
    """(time, "shard started" or "shard ended", shard) from the children's JSON log lines."""
    events = []
    for line in log.splitlines():
        start = line.find("{")
        if start < 0 or '"shard ' not in line:
            continue
        with contextlib.suppress(orjson.JSONDecodeError):
            entry = orjson.loads(line[start:])
            if entry.get("msg") in ("shard started", "shard ended"):
                events.append((entry["ts"], entry["msg"], entry["shard"]))
    return sorted(events)


def test_a_split_mid_run_ends_the_parent_before_its_children_start(
    h2_endpoint: str, unique: str, tmp_path: Path
) -> None:
    # GIVEN a daemon consuming two shards
    aws = AwsClients(region="us-east-1", endpoint_url=h2_endpoint)
    harness = Harness.create(aws, unique, tmp_path)
    ids, bad = produce(harness, 600)
    kcl = Kcl(harness, h2_endpoint, tmp_path, log_level="INFO")
    kinesis = aws.client("kinesis")
    parent = kinesis.list_shards(StreamName=harness.stream)["Shards"][0]
    kcl.start()
    try:
        wait_for("a first flush", lambda: len(harness.lake_ids()) > 0, kcl)
        # WHEN shard 0 is split mid-run and more records arrive, now in its children
        end = int(parent["HashKeyRange"]["EndingHashKey"])
        kinesis.split_shard(
            StreamName=harness.stream,
            ShardToSplit=parent["ShardId"],
            NewStartingHashKey=str(end // 2),
        )
        more, _ = produce(harness, 600, first=600, with_bad=False)
        ids |= more
        expected = last_positions(aws, harness.stream)
        children = {
            shard["ShardId"]
            for shard in kinesis.list_shards(StreamName=harness.stream)["Shards"]
            if shard.get("ParentShardId") == parent["ShardId"]
        }
        wait_for("every record", done(harness, ids, bad), kcl, timeout_s=240)
        wait_for(
            "the parent's SHARD_END and the children's last checkpoints",
            lambda: (
                lease_checkpoints(aws, harness.config.name).get(parent["ShardId"])
                == ("SHARD_END", 0)
                and all(
                    lease_checkpoints(aws, harness.config.name).get(child) == expected[child]
                    for child in children
                )
            ),
            kcl,
        )
    finally:
        code = kcl.stop()
    # THEN every record landed once, and the parent ended before either child started
    assert code == 0, kcl.log()[-5000:]
    assert_exactly_once(harness, ids, bad)
    events = shard_events(kcl.log())
    ended = [ts for ts, msg, shard in events if msg == "shard ended" and shard == parent["ShardId"]]
    started = [ts for ts, msg, shard in events if msg == "shard started" and shard in children]
    assert len(ended) == 1 and len(started) >= 2, events
    assert ended[0] <= min(started), events
    assert kcl.strays() == []


def _order(checkpoint: tuple[str, int]) -> tuple[int, int]:
    sequence, sub = checkpoint
    if sequence == "SHARD_END":
        return (10**60, 0)
    return (int(sequence), sub) if sequence.isdigit() else (-1, 0)


def test_a_zombie_worker_writes_and_checkpoints_nothing_after_its_lease_is_taken(
    h2_endpoint: str, unique: str, tmp_path: Path
) -> None:
    # GIVEN worker A has consumed and checkpointed two shards
    aws = AwsClients(region="us-east-1", endpoint_url=h2_endpoint)
    harness = Harness.create(aws, unique, tmp_path)
    ids, bad = produce(harness, 400)
    table = harness.config.name
    hold = tmp_path / "hold"
    a = Kcl(
        harness,
        h2_endpoint,
        tmp_path / "a",
        log_level="INFO",
        env={"SLUICE_KCL_WORKER_ID": "worker-a", "SLUICE_HOLD_FILE": str(hold)},
    )
    b = Kcl(harness, h2_endpoint, tmp_path / "b", env={"SLUICE_KCL_WORKER_ID": "worker-b"})
    a.start()
    group = 0
    try:
        wait_for("A's first records", done(harness, ids, bad), a)
        group = a.java_pid()
        expected = last_positions(aws, harness.stream)
        wait_for("A's checkpoints", lambda: lease_checkpoints(aws, table) == expected, a)
        # WHEN A's child holds a cut of new records unwritten and A freezes (SIGSTOP)
        hold.touch()
        more, _ = produce(harness, 400, first=400, with_bad=False)
        ids |= more
        wait_for("A to hold a cut", (tmp_path / "hold.held").exists, a)
        os.killpg(group, signal.SIGSTOP)
        # AND worker B takes the expired leases and writes every record
        b.start()
        wait_for(
            "B to own every lease and write every record",
            lambda: (
                set(lease_owners(aws, table).values()) == {"worker-b"} and done(harness, ids, bad)()
            ),
            b,
        )
        checkpoints = lease_checkpoints(aws, table)
        # AND A wakes up with its cut in hand
        os.killpg(group, signal.SIGCONT)
        hold.unlink()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            now = lease_checkpoints(aws, table)
            for shard, checkpoint in now.items():
                assert _order(checkpoint) >= _order(checkpoints[shard]), (shard, checkpoint)
            checkpoints = now
            time.sleep(0.5)
    finally:
        hold.unlink(missing_ok=True)
        if group:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGCONT)
        a.stop()
        b.stop()
    # THEN A's child, holding a cut when B owned the lease, checked the lease and dropped
    # the cut instead of writing it; no checkpoint went backwards; every record is in the
    # lake exactly once. (A may take a lease back afterwards, legitimately: KCL then
    # replays from B's checkpoint, which rewrites objects idempotently.)
    assert "lease taken by another worker; cut dropped, nothing written" in a.log()
    assert_exactly_once(harness, ids, bad)
    assert a.strays() == [] and b.strays() == []


# -- what CloudWatch Logs makes of the task's output -------------------------------------------
def awslogs_events(*outputs: str) -> list[str]:
    """The log events the awslogs driver makes of a container's output: one per line."""
    return [line for output in outputs for line in output.splitlines() if line.strip()]


def as_object(event: str) -> dict[str, Any] | None:
    """The event as one JSON object, or None when it is anything else (text, a JSON object
    with something around it). CloudWatch extracts EMF only from such an event."""
    try:
        value = orjson.loads(event)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def metric_sum(emf: list[dict[str, Any]], name: str) -> float:
    total = 0.0
    for entry in emf:
        value = entry.get(name, 0)
        total += sum(value) if isinstance(value, list) else value
    return total


def http_status(url: str) -> int | None:
    """The status `url` answers with, or None when nothing answers (not started yet)."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_child_logs_and_metrics_reach_the_output_once_and_the_wrapper_serves_health(
    h2_endpoint: str, unique: str, tmp_path: Path
) -> None:
    # GIVEN 3,000 readings and bad records on two shards, metrics to stdout (the default),
    # logs at INFO (the default), and the health port set as a task definition would
    aws = AwsClients(region="us-east-1", endpoint_url=h2_endpoint)
    harness = Harness.create(aws, unique, tmp_path)
    harness.config = harness.config.model_copy(update={"metrics": MetricsConfig()})
    ids, bad = produce(harness, 3000)
    port = free_port()
    kcl = Kcl(
        harness,
        h2_endpoint,
        tmp_path,
        log_level="INFO",
        env={"SLUICE__HEALTH__PORT": str(port)},
    )
    expected = last_positions(aws, harness.stream)
    healthz: list[int | None] = []

    def finished() -> bool:
        healthz.append(http_status(f"http://127.0.0.1:{port}/healthz"))
        return done(harness, ids, bad)()

    # WHEN `sluice kcl run` consumes everything, /healthz asked every second meanwhile
    kcl.start()
    try:
        wait_for("every record", finished, kcl)
        wait_for(
            "the last checkpoints",
            lambda: lease_checkpoints(aws, harness.config.name) == expected,
            kcl,
        )
        readyz = http_status(f"http://127.0.0.1:{port}/readyz")
    finally:
        code = kcl.stop()
    # THEN read as awslogs reads it, each flush's metrics are one EMF event each, and
    # nothing else holds an EMF record
    events = awslogs_events(kcl.stdout(), kcl.stderr())
    objects = [entry for entry in map(as_object, events) if entry is not None]
    emf = [entry for entry in objects if "_aws" in entry]
    child_logs = [entry for entry in objects if "logger" in entry and "_aws" not in entry]
    relabelled = [e for e in events if "DrainChildSTDERRTask" in e or "Received error line" in e]
    print(
        f"\nwrapper output: {len(events)} events, {len(emf)} EMF events, "
        f"{len(child_logs)} JSON log lines, {len(relabelled)} re-labelled ERROR by the "
        f"daemon, {sum('_aws' in e for e in events)} events holding an EMF record; "
        f"RecordsIn {metric_sum(emf, 'RecordsIn'):.0f}; /healthz {Counter(healthz)}"
    )
    assert code == 0, kcl.log()[-5000:]
    assert_exactly_once(harness, ids, bad)
    assert metric_sum(emf, "RecordsIn") == len(ids) + len(bad)
    assert sum('"_aws"' in event for event in events) == len(emf)
    # AND each child log line is one JSON event at its own level, none re-logged as ERROR
    assert relabelled == []
    started = [entry for entry in child_logs if entry["msg"] == "shard started"]
    assert len(started) == 2 and {entry["level"] for entry in started} == {"info"}
    assert sum('"shard started"' in event for event in events) == 2
    # AND the wrapper's health endpoint answered 200 throughout the run
    answered = [status for status in healthz if status is not None]
    assert answered and set(answered) == {200}, Counter(healthz)
    assert readyz == 200
    assert kcl.strays() == []
