"""Batch jobs on the consumer's pipeline, against the emulator."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import orjson
import pytest
from pydantic import Field

from batch_jobs.registry import run_job
from consumer.aws.clients import AwsClients
from consumer.sinks.s3 import iter_objects, iter_parquet
from tests.integration.harness import Harness, Reading, reading

pytestmark = pytest.mark.integration


class StrictReading(Reading):
    """A schema that (wrongly) refuses values from 30 up: the bug replay fixes."""

    value: float = Field(lt=30)


def _objects(harness: Harness, bucket: str, count: int, per_object: int) -> None:
    s3 = harness.aws.client("s3")
    for start in range(0, count, per_object):
        lines = b"\n".join(reading(i)[1] for i in range(start, min(count, start + per_object)))
        body = gzip.compress(lines) if (start // per_object) % 2 else lines
        s3.put_object(Bucket=bucket, Key=f"in/part-{start:05d}.jsonl", Body=body)


def _lake(harness: Harness) -> dict[str, bytes]:
    bucket = f"lake-{harness.config.name.removeprefix('it-')}"
    s3 = harness.aws.client("s3")
    return {
        key: s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        for key, _ in iter_objects(s3, bucket, "lake")
    }


def _run(harness: Harness, job: str, part: tuple[int, int] = (0, 1), **params: str) -> Any:
    bucket = f"lake-{harness.config.name.removeprefix('it-')}"
    return run_job(
        job, {"bucket": bucket, **params}, harness.config, harness.aws, part, harness.base_dir
    )


def test_backfill_writes_what_streaming_writes_and_reruns_change_nothing(
    aws: AwsClients, unique: str, tmp_path: Path
) -> None:
    # GIVEN 300 readings streamed through Kinesis by one pipeline
    streamed = Harness.create(aws, unique, tmp_path / "stream")
    streamed.put([reading(i) for i in range(300)])
    streamed.run()
    # AND the same readings as 6 JSON Lines objects (half gzip) for another
    backfilled = Harness.create(aws, unique + "b", tmp_path / "batch")
    _objects(backfilled, f"lake-{unique}b", 300, 50)

    # WHEN backfilled, then backfilled again
    first = _run(backfilled, "backfill", prefix="in/")
    objects = _lake(backfilled)
    second = _run(backfilled, "backfill", prefix="in/")

    # THEN it wrote the same rows as streaming, and the rerun left identical objects
    assert first.ok and (first.inputs, first.records, first.written) == (6, 300, 300)
    key = lambda r: r["id"]  # noqa: E731
    assert sorted(backfilled.lake_rows(), key=key) == sorted(streamed.lake_rows(), key=key)
    assert backfilled.db_ids() == streamed.db_ids()
    assert second.ok and _lake(backfilled) == objects


def test_four_parts_equal_one(aws: AwsClients, unique: str, tmp_path: Path) -> None:
    whole = Harness.create(aws, unique, tmp_path / "whole")
    parts = Harness.create(aws, unique + "p", tmp_path / "parts")
    for harness, bucket in ((whole, f"lake-{unique}"), (parts, f"lake-{unique}p")):
        _objects(harness, bucket, 400, 25)
    _run(whole, "backfill", prefix="in/")
    results = [_run(parts, "backfill", (i, 4), prefix="in/") for i in range(4)]
    assert sum(r.inputs for r in results) == 16 and all(r.inputs for r in results)
    assert {k.split("/", 1)[1]: v for k, v in _lake(parts).items()} == {
        k.split("/", 1)[1]: v for k, v in _lake(whole).items()
    }


def test_a_corrupt_object_is_quarantined_whole_and_the_job_fails_at_the_end(
    aws: AwsClients, unique: str, tmp_path: Path
) -> None:
    harness = Harness.create(aws, unique, tmp_path)
    _objects(harness, f"lake-{unique}", 100, 50)
    s3 = aws.client("s3")
    s3.put_object(
        Bucket=f"lake-{unique}",
        Key="in/zz-broken.jsonl.gz",
        Body=gzip.compress(b'{"a": 1}\n' * 100)[:-9],
    )
    result = _run(harness, "backfill", prefix="in/")
    assert not result.ok and "zz-broken" in result.failed_inputs[0]
    assert len(harness.lake_ids()) == 100
    [envelope] = harness.quarantine_rows()
    assert (envelope["stage"], envelope["error_type"]) == ("decode", "InvalidGzip")


def test_replay_quarantine_after_a_fix(aws: AwsClients, unique: str, tmp_path: Path) -> None:
    # GIVEN a run with a wrong schema that quarantined every reading with value >= 30
    harness = Harness.create(aws, unique, tmp_path)
    good = harness.config
    strict = good.routes[0].model_copy(
        update={"schema_path": "tests.integration.test_batch_jobs:StrictReading"}
    )
    harness.config = good.model_copy(update={"routes": (strict,)})
    harness.put([reading(i) for i in range(400)])
    harness.run()
    assert len(harness.quarantine_rows()) == 100 and len(harness.lake_ids()) == 300

    # WHEN the schema is fixed and the quarantine replayed, twice
    harness.config = good
    first = _run(harness, "replay-quarantine")
    second = _run(harness, "replay-quarantine")

    # THEN all 400 are in the lake and the db once, and the quarantine is empty
    assert first.ok and first.written == 100 and second.written == 0
    assert (first.records, first.quarantined, second.records) == (100, 0, 0)
    lake = harness.lake_ids()
    assert len(lake) == 400 and max(lake.values()) == 1
    assert len(harness.db_ids()) == 400
    assert harness.quarantine_rows() == []


def test_reprocess_takes_a_date_range_of_the_lake_into_a_new_prefix(
    aws: AwsClients, unique: str, tmp_path: Path
) -> None:
    # GIVEN a lake with three days of objects
    harness = Harness.create(aws, unique, tmp_path)
    s3, bucket = aws.client("s3"), f"lake-{unique}"
    for day in ("2026-11-20", "2026-11-21", "2026-11-22"):
        lines = b"\n".join(reading(i)[1] for i in range(int(day[-2:]) * 10, int(day[-2:]) * 10 + 5))
        s3.put_object(
            Bucket=bucket, Key=f"old/readings/dt={day}/hr=00/a.jsonl.gz", Body=gzip.compress(lines)
        )

    # WHEN the 21st and 22nd are reprocessed
    result = _run(
        harness, "reprocess", prefix="old/readings/", start="2026-11-21", end="2026-11-22"
    )

    # THEN exactly their records went through the route into the lake
    assert result.ok and result.inputs == 2
    assert set(harness.lake_ids()) == {f"r{i}" for i in [*range(210, 215), *range(220, 225)]}


def _folder_state(aws: AwsClients, bucket: str, folder: str) -> tuple[list[str], list[bytes]]:
    s3 = aws.client("s3")
    keys = sorted(
        o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=folder).get("Contents", [])
    )
    data = [
        gzip.decompress(s3.get_object(Bucket=bucket, Key=k)["Body"].read())
        for k in keys
        if k.endswith(".gz")
    ]
    return keys, sorted(line for blob in data for line in blob.splitlines())


def test_compact_merges_small_objects_and_a_crash_midway_is_finished_not_repeated(
    aws: AwsClients, unique: str, tmp_path: Path
) -> None:
    # GIVEN a partition of 5 small objects (50 lines)
    harness = Harness.create(aws, unique, tmp_path)
    s3, bucket, folder = aws.client("s3"), f"lake-{unique}", "lake/readings/dt=2026-11-20/hr=00"
    for n in range(5):
        lines = b"\n".join(reading(i)[1] for i in range(n * 10, n * 10 + 10)) + b"\n"
        s3.put_object(Bucket=bucket, Key=f"{folder}/s.p.{n}-0.jsonl.gz", Body=gzip.compress(lines))
    _, before = _folder_state(aws, bucket, folder)

    # WHEN compaction dies after deleting one input, then runs again, then once more
    original_delete = s3.delete_object
    calls = {"n": 0}

    def failing_delete(**kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise ConnectionError("killed mid-compaction")
        return original_delete(**kwargs)

    s3.delete_object = failing_delete
    with pytest.raises(ConnectionError):
        _run(harness, "compact", prefix="lake/", older_than_s="0")
    s3.delete_object = original_delete
    _run(harness, "compact", prefix="lake/", older_than_s="0")
    again = _run(harness, "compact", prefix="lake/", older_than_s="0")

    # THEN one compacted object holds the same 50 lines once, and the manifest names it
    keys, after = _folder_state(aws, bucket, folder)
    assert after == before and len(after) == 50
    [output] = [k for k in keys if "compacted-" in k]
    assert keys == sorted([output, f"{folder}/_sluice_manifest.json"])
    manifest = orjson.loads(
        s3.get_object(Bucket=bucket, Key=f"{folder}/_sluice_manifest.json")["Body"].read()
    )
    assert manifest == {"live": [output]} and again.inputs == 0


def test_compact_leaves_recent_partitions_alone(
    aws: AwsClients, unique: str, tmp_path: Path
) -> None:
    harness = Harness.create(aws, unique, tmp_path)
    s3, bucket = aws.client("s3"), f"lake-{unique}"
    for n in range(3):
        s3.put_object(
            Bucket=bucket,
            Key=f"lake/r/dt=2026-11-22/hr=13/{n}.jsonl.gz",
            Body=gzip.compress(reading(n)[1]),
        )
    assert _run(harness, "compact", prefix="lake/", older_than_s="3600").inputs == 0


def test_compact_merges_parquet_objects_into_one_parquet_object(
    aws: AwsClients, unique: str, tmp_path: Path
) -> None:
    import pyarrow as pa

    from consumer.sinks.columns.convert import parquet_bytes

    # GIVEN a partition of 4 small Parquet objects (40 rows), one written before the route's
    # model gained the optional field `note`
    harness = Harness.create(aws, unique, tmp_path)
    s3, bucket, folder = aws.client("s3"), f"lake-{unique}", "lake/views/dt=2026-11-20/hr=00"
    for n in range(4):
        columns: dict[str, list[Any]] = {"id": [n * 10 + i for i in range(10)]}
        columns["value"] = [float(i) / 4 for i in columns["id"]]
        if n:
            columns["note"] = [f"n{i}" if i % 3 else None for i in columns["id"]]
        body = parquet_bytes(pa.table(columns), "snappy")
        s3.put_object(Bucket=bucket, Key=f"{folder}/s.p.{n}-0.parquet", Body=body)
    before = sorted(
        (row for _, rows in iter_parquet(s3, bucket, "lake") for row in rows),
        key=lambda row: row["id"],
    )

    # WHEN it is compacted (twice: the second run finds nothing to do)
    first = _run(harness, "compact", prefix="lake/", older_than_s="0")
    again = _run(harness, "compact", prefix="lake/", older_than_s="0")

    # THEN one Parquet object holds the 40 rows once, `note` null where it was missing
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=folder + "/")["Contents"]
    keys = sorted(obj["Key"] for obj in listed)
    [output] = [k for k in keys if "compacted-" in k]
    assert output.endswith(".parquet") and keys == sorted(
        [output, f"{folder}/_sluice_manifest.json"]
    )
    [(_, rows)] = list(iter_parquet(s3, bucket, "lake"))
    assert sorted(rows, key=lambda row: row["id"]) == [
        {**row, "note": row.get("note")} for row in before
    ]
    assert len(rows) == 40 and first.written == 40 and again.inputs == 0


def test_compact_leaves_a_folder_of_mixed_formats_alone(
    aws: AwsClients, unique: str, tmp_path: Path
) -> None:
    import pyarrow as pa

    from consumer.sinks.columns.convert import parquet_bytes

    harness = Harness.create(aws, unique, tmp_path)
    s3, bucket, folder = aws.client("s3"), f"lake-{unique}", "lake/mixed/dt=2026-11-20/hr=00"
    s3.put_object(Bucket=bucket, Key=f"{folder}/a.jsonl.gz", Body=gzip.compress(reading(1)[1]))
    s3.put_object(Bucket=bucket, Key=f"{folder}/b.jsonl.gz", Body=gzip.compress(reading(2)[1]))
    s3.put_object(
        Bucket=bucket, Key=f"{folder}/c.parquet", Body=parquet_bytes(pa.table({"id": [3]}))
    )

    result = _run(harness, "compact", prefix="lake/", older_than_s="0")

    listed = s3.list_objects_v2(Bucket=bucket, Prefix=folder + "/")["Contents"]
    assert sorted(obj["Key"].rpartition("/")[2] for obj in listed) == [
        "a.jsonl.gz",
        "b.jsonl.gz",
        "c.parquet",
    ]
    assert result.inputs == 0
