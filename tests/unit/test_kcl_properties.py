"""`sluice kcl properties` and `sluice kcl run`: the daemon's configuration and process."""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from consumer.config import PipelineConfig
from consumer.errors import ConfigError
from consumer.sources.kcl import cli
from consumer.sources.kcl.daemon import run_daemon
from consumer.sources.kcl.properties import DAEMON_CLASS, render_properties


def config(**source: Any) -> PipelineConfig:
    return PipelineConfig.model_validate(
        {
            "name": "clicks-app",
            "source": {"type": "kinesis", "stream": "clicks", **source},
            "routes": [{"name": "r", "schema": "m:M", "sinks": ["lake"]}],
            "sinks": {"lake": {"type": "memory"}},
            "quarantine": {"type": "memory"},
        }
    )


def parse(text: str) -> dict[str, str]:
    """Enough of java.util.Properties for what render_properties writes."""
    props: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        key, _, value = line.partition(" = ")
        props[key] = value.encode("latin-1").decode("unicode_escape")
    return props


def test_polling_properties_from_the_pipeline_file(tmp_path: Path) -> None:
    cfg = config(max_records_per_call=2000, idle_poll_interval_s=0.5, shard_sync_interval_s=30)
    text = render_properties(
        cfg, tmp_path / "pipeline.toml", region="eu-west-1", env={}, python="/venv/bin/python"
    )
    props = parse(text)
    assert props == {
        "executableName": "/venv/bin/python -m consumer.sources.kcl.child --config "
        f"{(tmp_path / 'pipeline.toml').resolve()}",
        "processingLanguage": f"python/{sys.version_info.major}.{sys.version_info.minor}",
        "streamName": "clicks",
        "applicationName": "clicks-app",
        "regionName": "eu-west-1",
        "AwsCredentialsProvider": "DefaultCredentialsProvider",
        "initialPositionInStream": "TRIM_HORIZON",
        "retrievalMode": "POLLING",
        "maxRecords": "2000",
        "idleTimeBetweenReadsInMillis": "500",
        "callProcessRecordsEvenForEmptyRecordList": "true",
        "shardSyncIntervalMillis": "30000",
        "shutdownGraceMillis": "25000",
        "metricsLevel": "SUMMARY",
    }


def test_endpoint_overrides_come_from_the_environment_and_silence_kcl_metrics() -> None:
    env = {
        "AWS_ENDPOINT_URL": "http://127.0.0.1:4566",
        "AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:8000",
        "AWS_REGION": "us-west-2",
    }
    props = parse(render_properties(config(), "p.toml", env=env))
    assert props["kinesisEndpoint"] == "http://127.0.0.1:4566"
    assert props["dynamoDBEndpoint"] == "http://127.0.0.1:8000"
    assert props["metricsLevel"] == "NONE"  # no CloudWatch endpoint setting in multilang
    assert props["regionName"] == "us-west-2"
    explicit = parse(render_properties(config(), "p.toml", env=env, metrics_level="DETAILED"))
    assert explicit["metricsLevel"] == "DETAILED"


def test_at_timestamp_is_written_as_epoch_seconds() -> None:
    cfg = config(initial_position="AT_TIMESTAMP", initial_timestamp="2026-11-01T00:00:00Z")
    props = parse(render_properties(cfg, "p.toml", env={}))
    stamp = datetime(2026, 11, 1, tzinfo=UTC).timestamp()
    assert props["initialPositionInStreamExtended"] == str(int(stamp))
    assert "initialPositionInStream" not in props


def test_fan_out_leaves_the_polling_settings_out() -> None:
    props = parse(render_properties(config(), "p.toml", env={}, retrieval_mode="fanout"))
    assert props["retrievalMode"] == "FANOUT"
    assert "maxRecords" not in props and "idleTimeBetweenReadsInMillis" not in props


def test_shutdown_grace_stays_below_the_ecs_stop_timeout() -> None:
    def grace(stop_timeout_s: float) -> int:
        text = render_properties(config(), "p.toml", env={}, stop_timeout_s=stop_timeout_s)
        return int(parse(text)["shutdownGraceMillis"])

    assert grace(120) == 25_000  # shutdown.timeout_s bounds it too
    assert grace(20) == 15_000
    with pytest.raises(ConfigError, match="no shutdown grace"):
        grace(5)


def test_kcl_2_jars_take_the_sdk_v1_credentials_provider() -> None:
    props = parse(render_properties(config(), "p.toml", env={}, kcl_major=2))
    assert props["AWSCredentialsProvider"] == "DefaultAWSCredentialsProviderChain"
    assert "AwsCredentialsProvider" not in props


def test_extra_properties_override_and_values_are_escaped() -> None:
    extra = {"failoverTimeMillis": "2000", "workerId": "tâche\\1", "shardSyncIntervalMillis": "1"}
    props = parse(render_properties(config(), "p.toml", env={}, extra=extra))
    assert props["failoverTimeMillis"] == "2000"
    assert props["shardSyncIntervalMillis"] == "1"
    assert props["workerId"] == "tâche\\1"


def test_what_the_daemon_cannot_take_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="splits it on spaces"):
        render_properties(config(), tmp_path / "my pipeline.toml", env={})
    sqs = PipelineConfig.model_validate(
        {**config().model_dump(by_alias=True), "source": {"type": "sqs", "queue": "q"}}
    )
    with pytest.raises(ConfigError, match="reads Kinesis"):
        render_properties(sqs, "p.toml", env={})


def test_java_reads_the_properties_back(tmp_path: Path) -> None:
    java = shutil.which("java")
    if java is None:
        pytest.skip("SKIPPED, NOT TESTED: no java to read the properties back")
    extra = {"workerId": "tâche-1\\x", "note": " leading space"}
    path = tmp_path / "sluice.properties"
    path.write_text(render_properties(config(), "p.toml", env={}, extra=extra), "latin-1")
    source = tmp_path / "Dump.java"
    source.write_text(
        "import java.io.*; import java.util.*;\n"
        "public class Dump { public static void main(String[] a) throws Exception {\n"
        "  Properties p = new Properties(); p.load(new FileInputStream(a[0]));\n"
        '  PrintStream out = new PrintStream(System.out, true, "UTF-8");\n'
        "  for (String k : new TreeSet<>(p.stringPropertyNames()))"
        ' out.println(k + "=" + p.getProperty(k)); } }\n'
    )
    dumped = subprocess.run(
        [java, str(source), str(path)], capture_output=True, check=True, timeout=120
    ).stdout.decode()
    lines = set(dumped.splitlines())
    assert "workerId=tâche-1\\x" in lines
    assert "note= leading space" in lines
    assert "streamName=clicks" in lines
    assert "callProcessRecordsEvenForEmptyRecordList=true" in lines


# -- the command ------------------------------------------------------------------------------
def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser()
    cli.add_arguments(root)
    return root


def test_sluice_kcl_properties_writes_the_file(tmp_path: Path) -> None:
    pipeline = tmp_path / "pipeline.toml"
    pipeline.write_text(
        'name = "clicks-app"\nsource = { type = "kinesis", stream = "clicks" }\n'
        '[[routes]]\nname = "r"\nschema = "m:M"\nsinks = ["lake"]\n'
        '[sinks.lake]\ntype = "memory"\n[quarantine]\ntype = "memory"\n'
    )
    out = tmp_path / "sluice.properties"
    args = parser().parse_args(
        [
            "properties",
            "--config",
            str(pipeline),
            "--out",
            str(out),
            "--kcl-major",
            "2",
            "--stop-timeout-s",
            "60",
            "--set",
            "failoverTimeMillis=3000",
        ]
    )
    assert cli.run(args) == 0
    props = parse(out.read_text("latin-1"))
    assert props["streamName"] == "clicks" and props["failoverTimeMillis"] == "3000"
    assert "AWSCredentialsProvider" in props


def test_set_needs_key_and_value() -> None:
    assert cli.parse_sets(["a=1", " b = x=y "]) == {"a": "1", "b": "x=y"}
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        cli.parse_sets(["novalue"])


def _jar(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as jar:
        jar.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n")
    return path


def test_placeholder_jars_are_refused(tmp_path: Path) -> None:
    _jar(tmp_path / "amazon-kinesis-client-multilang-2.5.8.jar")
    (tmp_path / "netty-codec-http2-4.1.108.Final.jar").write_bytes(b"")
    with pytest.raises(ConfigError, match="not jars"):
        cli.find_jars(tmp_path)
    (tmp_path / "netty-codec-http2-4.1.108.Final.jar").unlink()
    jars = cli.find_jars(tmp_path)
    assert cli.kcl_major_of(jars) == 2
    with pytest.raises(ConfigError, match="multilang"):
        cli.find_jars(tmp_path / "empty")


def test_the_daemon_command() -> None:
    jars = [Path("/j/a.jar"), Path("/j/b.jar")]
    command = cli.daemon_command("/usr/bin/java", jars, Path("/p/s.properties"), ["-Dx=1"])
    assert command == [
        "/usr/bin/java",
        "-Dx=1",
        "-cp",
        f"/j/a.jar{os.pathsep}/j/b.jar",
        DAEMON_CLASS,
        "--properties-file",
        "/p/s.properties",
    ]


FAKE_DAEMON = """
import signal, subprocess, sys, time
stray = subprocess.Popen([sys.executable, "-c",
    "import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN);"
    "open(sys.argv[1], 'w').write('up'); time.sleep(60)", sys.argv[2]])
def stop(signum, frame):
    open(sys.argv[1], "w").write(str(stray.pid))
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
time.sleep(60)
"""


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0]
    except (FileNotFoundError, IndexError):
        return True
    return state == "Z"


def test_run_forwards_sigterm_and_leaves_no_stray_process(tmp_path: Path) -> None:
    # GIVEN a "daemon" whose child ignores SIGTERM and outlives it
    marker, ready = tmp_path / "stopped", tmp_path / "ready"
    command = [sys.executable, "-c", FAKE_DAEMON, str(marker), str(ready)]

    def terminate_when_ready() -> None:
        deadline = time.monotonic() + 30
        while not ready.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=terminate_when_ready, daemon=True).start()
    # WHEN `sluice kcl run` gets SIGTERM
    code = run_daemon(command, children_grace_s=0.5)
    # THEN the daemon got it and exited 0, and its left-over child is gone
    assert code == 0
    stray = int(marker.read_text())
    deadline = time.monotonic() + 5
    while not _gone(stray) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gone(stray)


def test_sluice_kcl_jars_fails_on_placeholders_and_lists_real_jars(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a jar folder with one placeholder (what an image built offline would hold)
    _jar(tmp_path / "amazon-kinesis-client-multilang-2.5.8.jar")
    (tmp_path / "netty-codec-http2-4.1.108.Final.jar").write_bytes(b"")
    # WHEN `sluice kcl jars` checks it, THEN it fails naming the problem
    assert cli.main(["jars", "--jars", str(tmp_path)]) == 2
    assert "not jars" in capsys.readouterr().err
    # AND with real jars only it prints the classpath and the KCL major version
    (tmp_path / "netty-codec-http2-4.1.108.Final.jar").unlink()
    assert cli.main(["jars", "--jars", str(tmp_path)]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines() == [str(tmp_path / "amazon-kinesis-client-multilang-2.5.8.jar")]
    assert "KCL 2" in err
