"""`sluice batch run backfill` as separate processes: a part killed midway and the run
repeated, and the same job run twice. Inputs mix JSON Lines, gzip and Parquet."""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from batch_jobs.ledger import finished_parts, marker_key
from batch_jobs.parts import select
from batch_jobs.registry import run_job
from consumer.aws.clients import AwsClients
from tests.configfile import write_toml
from tests.e2e.chaos import sluice_env
from tests.integration.batch_inputs import outputs, parquet_bytes, put_inputs, readings
from tests.integration.harness import Harness

pytestmark = pytest.mark.e2e
RECORDS, PER_OBJECT = 960, 60  # 16 objects; with 25-record buffers, 3 flushes each


def _bucket(harness: Harness) -> str:
    return f"lake-{harness.config.name.removeprefix('it-')}"


def _setup(aws: AwsClients, unique: str, tmp_path: Path) -> tuple[Harness, Path, list[str]]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    harness = Harness.create(aws, unique, tmp_path, max_records=25)
    keys = put_inputs(
        aws.client("s3"), _bucket(harness), RECORDS, PER_OBJECT, ("jsonl", "gzip", "parquet")
    )
    config = write_toml(harness.config, tmp_path / "pipeline.toml", metrics={"sink": "off"})
    return harness, config, keys


def _batch(
    config: Path, env: dict[str, str], bucket: str, part: str
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any] | None]:
    """One part as its own process; its stdout summary when it got that far."""
    done = subprocess.run(
        [
            *(sys.executable, "-m", "consumer", "batch", "run", "backfill"),
            *("--config", str(config), "--param", f"bucket={bucket}"),
            *("--param", "prefix=in/", "--part", part),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    lines = done.stdout.strip().splitlines()
    return done, (orjson.loads(lines[-1]) if lines else None)


def _marker(s3: Any, bucket: str, part: tuple[int, int]) -> bytes:
    key = marker_key("backfill", "nov-backfill", part)
    body: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return body


def test_a_part_killed_midway_is_redone_and_the_finished_ones_skipped(
    aws: AwsClients, emulator_endpoint: str, unique: str, tmp_path: Path
) -> None:
    # GIVEN 960 readings in 16 objects (and a copy for a clean run), and the part with the
    # most objects set to die after its 5th flush (the middle of its second object), after
    # the sinks confirmed it
    harness, config, keys = _setup(aws, unique, tmp_path)
    clean, _, _ = _setup(aws, unique + "c", tmp_path / "clean")
    s3, bucket = aws.client("s3"), _bucket(harness)
    owned = {i: list(select(keys, i, 4)) for i in range(4)}
    victim = max(owned, key=lambda i: len(owned[i]))
    assert len(owned[victim]) >= 2 and all(owned.values())
    env = sluice_env(emulator_endpoint, SLUICE_RUN_ID="nov-backfill", SLUICE_LOG_LEVEL="INFO")
    crashing = {**env, "SLUICE_CRASH_AT": "after_write_before_ack:5"}

    # WHEN the 4 parts run, the victim dies; then all 4 run again
    first = [_batch(config, crashing if i == victim else env, bucket, f"{i}/4") for i in range(4)]
    markers = {
        part: _marker(s3, bucket, part)
        for part in finished_parts(s3, bucket, "backfill", "nov-backfill")
    }
    partial = sum(harness.lake_ids().values())
    second = [_batch(config, env, bucket, f"{i}/4") for i in range(4)]

    # THEN the victim was killed with 5 flushes written (its first object, 50 rows of its
    # second) and left no marker
    assert first[victim][0].returncode == 137, first[victim][0].stderr[-2000:]
    assert "injected crash" in first[victim][0].stderr
    assert all(first[i][0].returncode == 0 for i in range(4) if i != victim)
    assert set(markers) == {(i, 4) for i in range(4) if i != victim}
    assert partial == RECORDS - len(owned[victim]) * PER_OBJECT + PER_OBJECT + 2 * 25
    # AND on the rerun the finished parts were skipped (markers untouched), the victim
    # redone from its start
    for i, (done, summary) in enumerate(second):
        assert done.returncode == 0, done.stderr[-2000:]
        assert summary is not None
        if i == victim:
            assert (summary["inputs"], summary["records"]) == (
                len(owned[i]),
                len(owned[i]) * PER_OBJECT,
            )
        else:
            assert summary["inputs"] == 0 and "part already finished" in done.stderr
    assert all(_marker(s3, bucket, part) == body for part, body in markers.items())
    assert set(finished_parts(s3, bucket, "backfill", "nov-backfill")) == {(i, 4) for i in range(4)}
    # AND the lake and the database hold every record exactly once, and the lake's objects
    # are byte for byte those of a clean single-part run
    expected = {f"r{i}": 1 for i in range(RECORDS)}
    assert harness.lake_ids() == expected and harness.db_ids() == expected
    assert harness.quarantine_rows() == []
    assert run_job(
        "backfill",
        {"bucket": _bucket(clean), "prefix": "in/"},
        clean.config,
        aws,
        (0, 1),
        clean.base_dir,
    ).ok
    assert outputs(s3, bucket) == outputs(s3, _bucket(clean))


def test_the_same_job_twice_writes_identical_objects_and_fails_on_corrupt_inputs(
    aws: AwsClients, emulator_endpoint: str, unique: str, tmp_path: Path
) -> None:
    # GIVEN 16 objects in three formats, plus an invalid Parquet object and a truncated gzip
    harness, config, _ = _setup(aws, unique, tmp_path)
    s3, bucket = aws.client("s3"), _bucket(harness)
    s3.put_object(Bucket=bucket, Key="in/bad.parquet", Body=parquet_bytes(readings(0, 30))[:200])
    s3.put_object(Bucket=bucket, Key="in/bad.jsonl.gz", Body=b"\x1f\x8b\x08\x00broken")
    env = sluice_env(emulator_endpoint)

    # WHEN the whole job runs twice, as one process each time
    first, summary = _batch(config, env, bucket, "0/1")
    written = outputs(s3, bucket)
    second, again = _batch(config, env, bucket, "0/1")

    # THEN both fail at the end, having written every good record and quarantined each
    # bad object whole; every lake object of the second run is identical to the first's,
    # and so is every quarantine envelope but its `quarantined_at` time
    assert first.returncode == 1 and second.returncode == 1, first.stderr[-2000:]
    assert summary is not None and again is not None
    assert (summary["inputs"], summary["written"], summary["quarantined"]) == (18, RECORDS, 2)
    assert sorted(f.split(":", 2)[1].split("/")[-1] for f in summary["failed_inputs"]) == [
        "bad.jsonl.gz",
        "bad.parquet",
    ]
    assert harness.lake_ids() == {f"r{i}": 1 for i in range(RECORDS)}
    types = sorted(row["error_type"] for row in harness.quarantine_rows())
    assert types == ["InvalidGzip", "InvalidParquet"]
    rewritten = outputs(s3, bucket)
    assert set(rewritten) == set(written) and len(written) == 16 * 3 + 2
    lake = [key for key in written if key.startswith("lake/")]
    assert len(lake) == 16 * 3 and all(rewritten[key] == written[key] for key in lake)
    assert _envelopes(rewritten) == _envelopes(written)


def _envelopes(objects: dict[str, bytes]) -> list[dict[str, Any]]:
    """The quarantine's envelopes without their wall-clock `quarantined_at`."""
    rows = [
        orjson.loads(line)
        for key, body in sorted(objects.items())
        if key.startswith("quarantine/")
        for line in gzip.decompress(body).splitlines()
    ]
    return [{k: v for k, v in row.items() if k != "quarantined_at"} for row in rows]
