"""Run a load profile against a running sluice and measure it.

`run_scenario` provisions the pipeline on the emulator (or AWS: whatever AWS_ENDPOINT_URL
and the credentials in the environment point at) and starts `sluice run` as a
subprocess. It waits until a first warm-up record is written (sluice is up; that record
is checked but left out of the latencies), produces the profile onto the source, watches
the lake (load_tests/watch.py) until every record is written or `drain_timeout_s`
passes, stops sluice with SIGTERM, then reads every output back with the reliability
checker (consumer/local/readback.py): lost, duplicates, unexpected.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from consumer.aws.clients import AwsClients
from consumer.capacity.load_profiles import LoadProfile
from consumer.config import PipelineConfig, parse_config
from consumer.local.emulator import provision
from consumer.local.readback import Found, read_lake, read_quarantine, verdict
from load_tests.producers import Events, Sent, kinesis_sender, pace, sqs_sender
from load_tests.watch import LakeWatcher, WatchSample, percentile

REPO = Path(__file__).resolve().parents[1]


def scenario_config(name: str, source: str = "kinesis", max_age_s: float = 1.0) -> dict[str, Any]:
    """A one-route pipeline of load events into an S3 lake (raw dict, for parse_config)."""
    sources: dict[str, dict[str, Any]] = {
        "kinesis": {
            "type": "kinesis",
            "stream": f"load-{name}",
            "checkpoint_table": f"load-ckpt-{name}",
            "idle_poll_interval_s": 0.2,
            "shard_sync_interval_s": 5.0,
        },
        "sqs": {
            "type": "sqs",
            "queue": f"load-{name}",
            "dlq": f"load-dlq-{name}",
            "wait_time_s": 1,
            "receivers": 2,
            "idle_flush_s": max_age_s,
        },
    }
    return {
        "name": f"load-{name}",
        "source": sources[source],
        "routes": [
            {
                "name": "loads",
                "record_type": "load",
                "schema": "load_tests.events:LoadEvent",
                "transform": "load_tests.events:load_row",
                "sinks": ["lake"],
                "key": "id",
            }
        ],
        "sinks": {"lake": {"type": "s3", "bucket": f"load-{name}", "prefix": "lake"}},
        "quarantine": {"type": "s3", "bucket": f"load-{name}", "prefix": "quarantine"},
        "buffer": {"max_records": 5000, "max_age_s": max_age_s},
        "metrics": {"sink": "off"},
        "emulator": {"shard_count": 2},
    }


@dataclass
class Expect:
    key: str
    expect: str = "route:loads"


@dataclass
class ScenarioResult:
    profile: LoadProfile
    max_age_s: float
    sent: Sent
    samples: list[WatchSample]
    latencies: list[float]
    checks: dict[str, int] = field(default_factory=dict)
    sluice_exit: int | None = None

    def latency(self, q: float) -> float:
        return percentile(self.latencies, q) if self.latencies else float("nan")


def _start_sluice(config_path: Path, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as stderr:
        return subprocess.Popen(
            [sys.executable, "-m", "consumer", "run", "--config", str(config_path)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )


def _sender(config: PipelineConfig, aws: AwsClients) -> Any:
    source: Any = config.source
    if source.type == "kinesis":
        return kinesis_sender(aws.client("kinesis"), source.stream)
    client = aws.client("sqs")
    return sqs_sender(client, client.get_queue_url(QueueName=source.queue)["QueueUrl"])


def _warm_up(send: Any, events: Events, watcher: LakeWatcher, timeout_s: float) -> str:
    """Send one record and wait until it is written: sluice is up and reading."""
    event_id, key, body, _ = events.next()
    send([(key, body)])
    deadline = time.monotonic() + timeout_s
    while event_id not in watcher.latencies:
        if time.monotonic() > deadline:
            raise TimeoutError(f"sluice wrote nothing within {timeout_s:g} s of starting")
        time.sleep(0.1)
    return event_id


def run_scenario(
    raw: dict[str, Any],
    profile: LoadProfile,
    aws: AwsClients,
    env: dict[str, str],
    workdir: Path,
    drain_timeout_s: float = 30.0,
    watch_interval_s: float = 0.25,
    startup_timeout_s: float = 60.0,
) -> ScenarioResult:
    from tests.configfile import write_toml  # one TOML writer for the repo's subprocesses

    config = parse_config(raw, "load scenario")
    provision(config, aws)
    config_path = write_toml(config, workdir / "pipeline.toml")
    bucket = raw["sinks"]["lake"]["bucket"]
    sent = Sent(config.source.type, profile.shape)
    watcher = LakeWatcher(aws.client("s3"), bucket, "lake", sent, watch_interval_s)
    process = _start_sluice(config_path, {**os.environ, **env}, workdir / "sluice.log")
    send, events = _sender(config, aws), Events()
    try:
        watcher.start()
        warmup = _warm_up(send, events, watcher, startup_timeout_s)
        pace(profile, send, sent, events)
        deadline = time.monotonic() + drain_timeout_s
        while len(watcher.latencies) < sent.records and time.monotonic() < deadline:
            time.sleep(watch_interval_s)
    finally:
        watcher.stop()
        process.send_signal(signal.SIGTERM)
        exit_code = process.wait(timeout=60)
    found = Found()
    s3 = aws.client("s3")
    read_lake(found, s3, bucket, "lake", "id", None)
    read_quarantine(found, s3, bucket, "quarantine", None)
    checks = verdict([Expect(i) for i in [warmup, *sent.ids]], found)
    for no_database in ("missing_in_db", "db_rows"):  # the scenario writes the lake only
        checks.pop(no_database)
    return ScenarioResult(
        profile,
        float(raw["buffer"]["max_age_s"]),
        sent,
        watcher.samples,
        [value for key, value in watcher.latencies.items() if key != warmup],
        checks,
        exit_code,
    )
