"""Backfill of Parquet objects and of manifests, and the finished-parts ledger, against the
emulator."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import orjson
import pytest

from batch_jobs.ledger import finished_parts, marker_key, missing_parts
from batch_jobs.registry import run_job
from batch_jobs.runner import JobResult
from consumer.aws.clients import AwsClients
from consumer.errors import ConfigError
from tests.integration.batch_inputs import body, outputs, parquet_bytes, put_inputs, readings
from tests.integration.harness import Harness

pytestmark = pytest.mark.integration


def _bucket(harness: Harness) -> str:
    return f"lake-{harness.config.name.removeprefix('it-')}"


def _run(harness: Harness, part: tuple[int, int] = (0, 1), **params: Any) -> JobResult:
    raw = {"bucket": _bucket(harness), **{k: str(v) for k, v in params.items()}}
    return run_job("backfill", raw, harness.config, harness.aws, part, harness.base_dir)


def test_parquet_rows_write_exactly_what_the_same_json_lines_write(
    aws: AwsClients, unique: str, tmp_path: Path
) -> None:
    # GIVEN 300 readings as 5 JSON Lines objects for one pipeline, and as 5 Parquet objects
    # of the same names for another (row groups of 20, every other one with decimal values)
    as_json = Harness.create(aws, unique + "j", tmp_path / "json")
    as_parquet = Harness.create(aws, unique + "q", tmp_path / "parquet")
    s3 = aws.client("s3")
    for number in range(5):
        rows = readings(number * 60, 60)
        key = f"in/part-{number}"
        s3.put_object(Bucket=_bucket(as_json), Key=key, Body=body("jsonl", rows))
        s3.put_object(
            Bucket=_bucket(as_parquet), Key=key, Body=body("parquet", rows, number % 2 == 1)
        )

    # WHEN both are backfilled, the Parquet one 7 rows at a time
    from_json = _run(as_json, prefix="in/", format="jsonl")
    from_parquet = _run(as_parquet, prefix="in/", format="parquet", batch_rows=7)

    # THEN every lake object is byte-identical (same keys, rows, positions), and so is the db
    assert from_parquet.ok and (from_parquet.inputs, from_parquet.written) == (5, 300)
    assert (from_json.inputs, from_json.written) == (5, 300)
    lake_json, lake_parquet = outputs(s3, _bucket(as_json)), outputs(s3, _bucket(as_parquet))
    assert lake_parquet == lake_json and len(lake_json) == 5 * 2  # 50 + 10 rows each
    assert as_parquet.db_ids() == as_json.db_ids() and len(as_json.db_ids()) == 300


@pytest.mark.parametrize(
    ("name", "data", "error_type", "reason"),
    [
        ("garbage.parquet", b"not parquet at all" * 50, "InvalidParquet", "magic bytes"),
        ("cut.parquet", parquet_bytes(readings(0, 40))[:-30], "InvalidParquet", "magic bytes"),
        ("empty.parquet", b"", "InvalidParquet", "0 bytes"),
        ("big.parquet", parquet_bytes(readings(0, 2000)), "ObjectTooLarge", "max_object_bytes"),
    ],
)
def test_a_corrupt_parquet_object_is_quarantined_whole_and_the_job_fails_at_the_end(
    aws: AwsClients,
    unique: str,
    tmp_path: Path,
    name: str,
    data: bytes,
    error_type: str,
    reason: str,
) -> None:
    # GIVEN 100 good readings in two Parquet objects and one bad object sorted between them
    harness = Harness.create(aws, unique, tmp_path)
    s3, bucket = aws.client("s3"), _bucket(harness)
    put_inputs(s3, bucket, 100, 50, ("parquet",))
    s3.put_object(Bucket=bucket, Key=f"in/part-00000-{name}", Body=data)

    # WHEN backfilled (objects over 20,000 bytes refused)
    result = _run(harness, prefix="in/", max_object_bytes=20_000)

    # THEN the good objects are written, the bad one is one envelope with its reason, and
    # the job reports failure
    assert not result.ok and result.inputs == 3 and name in result.failed_inputs[0]
    assert len(harness.lake_ids()) == 100 and len(harness.db_ids()) == 100
    [envelope] = harness.quarantine_rows()
    assert (envelope["stage"], envelope["error_type"]) == ("decode", error_type)
    assert reason in envelope["message"] and name in envelope["message"]


def test_a_manifest_names_the_inputs_in_any_bucket_and_a_missing_one_fails_the_job(
    aws: AwsClients, unique: str, tmp_path: Path
) -> None:
    # GIVEN 4 objects under in/, one more in another bucket, and a gzip manifest naming
    # two of the first, the other bucket's by URL, a duplicate, a comment and a missing key
    harness = Harness.create(aws, unique, tmp_path)
    s3, bucket, other = aws.client("s3"), _bucket(harness), f"other-{unique}"
    keys = put_inputs(s3, bucket, 200, 50, ("jsonl", "parquet"))
    s3.create_bucket(Bucket=other)
    s3.put_object(Bucket=other, Key="x/more.parquet", Body=parquet_bytes(readings(500, 30)))
    manifest = "\n".join(
        [
            "# inputs of the 2026-11 backfill",
            keys[0],
            orjson.dumps({"key": keys[3]}).decode(),
            "",
            f"s3://{other}/x/more.parquet",
            orjson.dumps(keys[0]).decode(),
            "in/missing.jsonl",
        ]
    )
    s3.put_object(Bucket=bucket, Key="manifests/m.txt.gz", Body=gzip.compress(manifest.encode()))

    # WHEN backfilled from the manifest
    result = _run(harness, manifest=f"s3://{bucket}/manifests/m.txt.gz")

    # THEN exactly the named objects were read, once each, and the missing one failed it
    assert not result.ok and result.inputs == 4
    [failed] = result.failed_inputs
    assert failed.startswith(f"s3://{bucket}/in/missing.jsonl: decode/ObjectUnreadable")
    assert "404" in failed
    expected = {f"r{i}" for i in [*range(0, 50), *range(150, 200), *range(500, 530)]}
    assert harness.lake_ids() == dict.fromkeys(expected, 1)
    [envelope] = harness.quarantine_rows()
    assert envelope["error_type"] == "ObjectUnreadable"
    with pytest.raises(ConfigError, match="exactly one of prefix and manifest"):
        _run(harness, prefix="in/", manifest="manifests/m.txt.gz")


def test_a_manifest_of_a_prefix_splits_and_writes_like_the_prefix(
    aws: AwsClients, unique: str, tmp_path: Path
) -> None:
    # GIVEN the same 12 objects in two buckets, one with a manifest naming them all
    listed = Harness.create(aws, unique + "l", tmp_path / "listed")
    named = Harness.create(aws, unique + "m", tmp_path / "named")
    s3 = aws.client("s3")
    put_inputs(s3, _bucket(listed), 360, 30, ("gzip", "parquet", "jsonl"))
    keys = put_inputs(s3, _bucket(named), 360, 30, ("gzip", "parquet", "jsonl"))
    s3.put_object(Bucket=_bucket(named), Key="m.jsonl", Body="\n".join(keys[::-1]).encode())

    # WHEN one is backfilled from its prefix in one part, the other from its manifest in 4
    _run(listed, prefix="in/")
    parts = [_run(named, (i, 4), manifest="m.jsonl") for i in range(4)]

    # THEN the outputs are byte-identical
    assert sum(p.inputs for p in parts) == 12 and all(p.ok for p in parts)
    assert outputs(s3, _bucket(named), ("in/", "m.jsonl")) == outputs(s3, _bucket(listed))


def test_a_finished_part_is_skipped_and_a_failed_one_is_redone(
    aws: AwsClients, unique: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN 8 objects, one of them a corrupt Parquet object, and a run id in the environment
    harness = Harness.create(aws, unique, tmp_path)
    s3, bucket = aws.client("s3"), _bucket(harness)
    put_inputs(s3, bucket, 210, 30, ("jsonl", "parquet"))
    s3.put_object(Bucket=bucket, Key="in/zz.parquet", Body=b"PAR1 and then nothing")
    monkeypatch.setenv("SLUICE_RUN_ID", "nov-2026")
    owner = [i for i in range(2) if _run(harness, (i, 2), prefix="in/").failed_inputs]

    # WHEN both parts run again, after the corrupt object was replaced by a good one
    before = outputs(s3, bucket)
    s3.put_object(Bucket=bucket, Key="in/zz.parquet", Body=parquet_bytes(readings(900, 10)))
    again = {i: _run(harness, (i, 2), prefix="in/") for i in range(2)}

    # THEN the part that had finished was skipped, the failed one (no marker) redone
    [failed] = owner
    done = 1 - failed
    assert again[done].skipped and again[done].inputs == 0
    assert not again[failed].skipped and again[failed].ok and again[failed].inputs > 0
    assert harness.lake_ids() == dict.fromkeys(
        [f"r{i}" for i in [*range(210), *range(900, 910)]], 1
    )
    after = outputs(s3, bucket)
    assert {k: v for k, v in after.items() if k in before and "quarantine" not in k} == {
        k: v for k, v in before.items() if "quarantine" not in k
    }
    # AND each part's marker holds its summary and parameters
    markers = finished_parts(s3, bucket, "backfill", "nov-2026")
    assert (
        set(markers) == {(0, 2), (1, 2)}
        and missing_parts(s3, bucket, "backfill", "nov-2026", 2) == []
    )
    mine = markers[failed, 2]
    assert (mine["inputs"], mine["records"], mine["written"]) == (
        again[failed].inputs,
        again[failed].records,
        again[failed].written,
    )
    assert mine["params"]["prefix"] == "in/" and mine["run_id"] == "nov-2026"
    assert marker_key("backfill", "nov-2026", (failed, 2)).endswith(f"parts/{failed}-of-2.json")


def test_a_run_id_reused_with_other_parameters_is_refused(
    aws: AwsClients, unique: str, tmp_path: Path
) -> None:
    # GIVEN a finished run
    harness = Harness.create(aws, unique, tmp_path)
    put_inputs(aws.client("s3"), _bucket(harness), 20, 10, ("jsonl",))
    assert _run(harness, prefix="in/", run_id="r1").ok

    # WHEN the same run id is given another source name, or is not one key segment
    # THEN the job refuses to run instead of skipping work it never did
    with pytest.raises(ConfigError, match="use a new run_id"):
        _run(harness, prefix="in/", run_id="r1", source="other")
    with pytest.raises(ConfigError, match="run_id 'a/b'"):
        _run(harness, prefix="in/", run_id="a/b")
    assert _run(harness, prefix="in/", run_id="r1").skipped
