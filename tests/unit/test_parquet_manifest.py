"""Parquet rows as JSON, manifest lines, input formats and the run options, without AWS."""

from __future__ import annotations

import datetime
import math
from decimal import Decimal
from typing import Any

import orjson
import pyarrow as pa
import pytest

from batch_jobs.jobs.inputs import input_format, locate, parse_manifest
from batch_jobs.jobs.parquet import _micro, row_json
from batch_jobs.ledger import check_run_id, marker_key
from batch_jobs.options import split_options
from consumer.errors import ConfigError

UTC = datetime.UTC


def _rows(table: pa.Table) -> list[dict[str, Any]]:
    """What ParquetObject.lines makes of a table: its rows, units made microseconds."""
    target = pa.schema([field.with_type(_micro(field.type)) for field in table.schema])
    cast = table.cast(target, safe=False)
    return [orjson.loads(row_json(row)) for row in cast.to_pylist(maps_as_pydicts="lossy")]


def test_every_parquet_type_becomes_plain_json() -> None:
    # GIVEN a row with timestamps (naive, zoned, nanoseconds), a date, a time, a decimal,
    # bytes, a duration, a map, a list of structs, a null and a NaN
    table = pa.table(
        {
            "naive": pa.array([datetime.datetime(2026, 11, 20, 8, 30, 1, 250000)]),
            "zoned": pa.array(
                [datetime.datetime(2026, 11, 20, 8, 30, tzinfo=UTC)], pa.timestamp("us", "UTC")
            ),
            "nanos": pa.array([1_763_627_401_123_456_789], pa.timestamp("ns")),
            "day": pa.array([datetime.date(2026, 11, 20)]),
            "at": pa.array([datetime.time(8, 30)]),
            "price": pa.array([Decimal("1234567890.12345")], pa.decimal128(20, 5)),
            "blob": pa.array([b"\x00\xffok"]),
            "took": pa.array([datetime.timedelta(seconds=1.5)], pa.duration("ns")),
            "tags": pa.array([[("a", 1), ("b", 2)]], pa.map_(pa.string(), pa.int64())),
            "items": pa.array(
                [[{"n": 1, "when": 1_000_000_000}]],
                pa.list_(pa.struct([("n", pa.int32()), ("when", pa.timestamp("ns"))])),
            ),
            "missing": pa.array([None], pa.string()),
            "ratio": pa.array([math.nan]),
        }
    )

    # WHEN converted
    [row] = _rows(table)

    # THEN each value is the JSON a reader expects; decimals keep every digit
    assert row == {
        "naive": "2026-11-20T08:30:01.250000",
        "zoned": "2026-11-20T08:30:00+00:00",
        "nanos": "2025-11-20T08:30:01.123456",
        "day": "2026-11-20",
        "at": "08:30:00",
        "price": 1234567890.12345,
        "blob": "AP9vaw==",
        "took": 1.5,
        "tags": {"a": 1, "b": 2},
        "items": [{"n": 1, "when": "1970-01-01T00:00:01"}],
        "missing": None,
        "ratio": None,
    }
    assert b'"price":1234567890.12345' in row_json({"price": Decimal("1234567890.12345")})
    assert row_json({"p": Decimal("NaN")}) == b'{"p":null}'


def test_manifest_lines_name_keys_urls_and_json_entries() -> None:
    # GIVEN a manifest mixing every accepted line form, a duplicate, a comment, blanks
    body = b"\n".join(
        [
            b"# header",
            b"in/a.jsonl",
            b"  s3://other/x/b.parquet  ",
            b'"in/c.jsonl.gz"',
            b'{"key": "in/d.parquet"}',
            b'{"key": "y/e.jsonl", "bucket": "third"}',
            b'{"url": "s3://other/x/f.jsonl"}',
            b"",
            b"in/a.jsonl",
        ]
    )

    # WHEN parsed for the job's bucket "lake"
    named = parse_manifest(body, "lake")

    # THEN each is (bucket, key), first occurrence kept, in manifest order
    assert named == [
        ("lake", "in/a.jsonl"),
        ("other", "x/b.parquet"),
        ("lake", "in/c.jsonl.gz"),
        ("lake", "in/d.parquet"),
        ("third", "y/e.jsonl"),
        ("other", "x/f.jsonl"),
    ]
    with pytest.raises(ConfigError, match="manifest line 2"):
        parse_manifest(b"ok\n{not json", "lake")
    with pytest.raises(ConfigError, match="manifest line 1"):
        parse_manifest(b"s3://only-a-bucket", "lake")
    assert locate("s3://b/k/x", "lake") == ("b", "k/x")


def test_formats_by_suffix_unless_declared() -> None:
    assert input_format("in/a.parquet", "auto") == "parquet"
    assert input_format("in/A.PARQUET", "auto") == "parquet"
    assert input_format("in/a.jsonl.gz", "auto") == "jsonl"
    assert input_format("in/a.dat", "parquet") == "parquet"
    assert input_format("in/a.parquet", "jsonl") == "jsonl"


def test_run_options_are_split_from_the_job_parameters(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN raw parameters with the reserved ones, and a run id in the environment
    monkeypatch.setenv("SLUICE_RUN_ID", "from-env")
    raw = {"bucket": "b", "prefix": "in/", "progress_interval_s": "2.5", "ledger_bucket": "l"}

    # WHEN split, with and without a run id argument
    own, options = split_options(raw)
    _, argued = split_options({**raw, "run_id": "param"}, run_id="argument")
    _, param = split_options({**raw, "run_id": "param"})

    # THEN the job sees only its own; arguments beat parameters, parameters the environment
    assert own == {"bucket": "b", "prefix": "in/"}
    assert (options.run_id, options.ledger_bucket, options.progress_interval_s) == (
        "from-env",
        "l",
        2.5,
    )
    assert argued.run_id == "argument" and param.run_id == "param"
    with pytest.raises(ConfigError, match="progress_interval_s"):
        split_options({"progress_interval_s": "soon"})
    with pytest.raises(ConfigError, match="run_id"):
        check_run_id("../x")
    assert marker_key("backfill", "r1", (2, 4)) == "_sluice/runs/backfill/r1/parts/2-of-4.json"
