"""Peak memory of `sluice run` draining a backlog, beside the same process at start-up.

A two-shard stream on the embedded emulator (in this process) holds RECORDS reference
events (about 1.2 KB each) before the consumer starts; `sluice run --until-idle` then reads
them with the default buffers and reader settings into an S3 lake with gzip JSON Lines.
The baseline is `sluice validate` on the same file: the interpreter, sluice and its
dependencies loaded, the pipeline built, nothing read. Both figures are the child's peak
resident set size (VmHWM, sampled every 50 ms until it exits; a process living less than
one sample reads 0), so the difference is what the backlog costs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from consumer.aws.clients import AwsClients
from consumer.local.emulator import embedded_emulator, provision
from consumer.local.producer import put_all
from load_tests.reference import events, order_route
from tests.configfile import write_toml

RECORDS = int(os.environ.get("SLUICE_BENCH_RSS_RECORDS", "100000"))
REPO = Path(__file__).resolve().parents[1]


def _config(unique: str) -> dict[str, object]:
    return {
        "name": f"rss-{unique}",
        "source": {
            "type": "kinesis",
            "stream": f"rss-{unique}",
            "checkpoint_table": f"rss-ckpt-{unique}",
        },
        "router": {"type_field": "type"},
        "routes": [order_route()],
        "sinks": {"lake": {"type": "s3", "bucket": f"rss-{unique}", "prefix": "lake"}},
        "quarantine": {"type": "s3", "bucket": f"rss-{unique}", "prefix": "quarantine"},
        "metrics": {"sink": "off"},
        "emulator": {"shard_count": 2},
    }


def _hwm_mb(pid: int) -> float:
    """The process's peak resident set (VmHWM), which exec resets: unlike `ru_maxrss`, it
    does not count the pages of the parent the child was forked from."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _peak_rss_mb(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(peak RSS in MB, seconds) of one child process running `sluice ARGS`."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "consumer.cli.main", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    peak = 0.0
    while proc.poll() is None:
        peak = max(peak, _hwm_mb(proc.pid))
        time.sleep(0.05)
    if proc.returncode != 0:
        raise RuntimeError(f"sluice {args[0]} exited {proc.returncode}")
    return peak, time.perf_counter() - started


def run() -> list[tuple[str, float]]:
    from consumer.config import parse_config

    unique = str(os.getpid())
    with embedded_emulator() as endpoint, tempfile.TemporaryDirectory() as folder:
        aws = AwsClients(region="us-east-1", endpoint_url=endpoint)
        config = parse_config(_config(unique), "bench")
        provision(config, aws)
        path = write_toml(config, Path(folder) / "pipeline.toml")
        data = events(RECORDS)
        put_all(
            aws.client("kinesis"), f"rss-{unique}", [(f"c{i % 97}", d) for i, d in enumerate(data)]
        )
        del data
        env = {
            **os.environ,
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_REGION": "us-east-1",
            "PYTHONPATH": str(REPO),
            "SLUICE_LOG_LEVEL": "WARNING",
        }
        start_mb, _ = _peak_rss_mb(["validate", "--config", str(path)], env)
        peak_mb, seconds = _peak_rss_mb(["run", "--config", str(path), "--until-idle"], env)
    print(f"  ({RECORDS:,} records drained in {seconds:.1f} s)")
    return [
        ("sluice validate: loaded, nothing read (baseline)", start_mb),
        (f"sluice run --until-idle: {RECORDS:,} records backlog", peak_mb),
    ]
