"""Output partitions: hive-style time prefixes plus sanitized extra fields."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consumer.errors import RecordError
from consumer.pipeline.partitioning import PartitionConfig, Partitioner, sanitize

SAFE = re.compile(r"^[A-Za-z0-9_.%u\-]+$")
MakePartitioner = Callable[..., Partitioner]

# 2026-11-22T13:05:00Z as epoch seconds.
T_13_05 = datetime(2026, 11, 22, 13, 5, tzinfo=UTC).timestamp()


@pytest.fixture()
def make_partitioner() -> MakePartitioner:
    def make(**config: Any) -> Partitioner:
        return Partitioner(PartitionConfig.model_validate(config))

    return make


def _assert_safe(segment: str) -> None:
    assert SAFE.match(segment), segment
    assert "/" not in segment
    assert segment not in (".", "..")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("../../etc", "..%2F..%2Fetc"),
        ("a/b", "a%2Fb"),
        ("..", "%2E%2E"),
        (".", "%2E"),
        ("", "%"),
        ("100%", "100%25"),
        ("café", "caf%C3%A9"),
        ("日本", "%E6%97%A5%E6%9C%AC"),
        ("a b=c", "a%20b%3Dc"),
        ("ok-1_2.3", "ok-1_2.3"),
    ],
)
def test_sanitize_makes_one_safe_segment(value: str, expected: str) -> None:
    assert sanitize(value) == expected
    _assert_safe(sanitize(value))


@given(st.text())
def test_sanitize_is_always_one_safe_segment(value: str) -> None:
    _assert_safe(sanitize(value))


@given(st.text(), st.text())
def test_distinct_values_never_share_a_segment(a: str, b: str) -> None:
    assert (sanitize(a) == sanitize(b)) == (a == b)


def test_values_that_used_to_collide_stay_apart() -> None:
    assert sanitize("\U0001f600") != sanitize("\u1f60" + "0")
    assert sanitize("") != sanitize("_")


def test_hour_granularity(make_partitioner: MakePartitioner) -> None:
    partitioner = make_partitioner(time_field="ts", granularity="hour")
    assert partitioner.partition({"ts": "2026-11-22T13:05:00Z"}, 0.0) == "dt=2026-11-22/hr=13"


def test_day_granularity(make_partitioner: MakePartitioner) -> None:
    partitioner = make_partitioner(time_field="ts", granularity="day")
    assert partitioner.partition({"ts": "2026-11-22T23:59:59Z"}, 0.0) == "dt=2026-11-22"


def test_iso_string_with_an_offset_is_converted_to_utc(make_partitioner: MakePartitioner) -> None:
    # GIVEN 01:30 at +02:00, which is 23:30 UTC on the previous day
    partitioner = make_partitioner(time_field="ts")
    row = {"ts": "2026-11-22T01:30:00+02:00"}
    assert partitioner.partition(row, 0.0) == "dt=2026-11-21/hr=23"


def test_naive_datetime_is_treated_as_utc(make_partitioner: MakePartitioner) -> None:
    partitioner = make_partitioner(time_field="ts")
    assert partitioner.partition({"ts": datetime(2026, 1, 2, 3, 4)}, 0.0) == "dt=2026-01-02/hr=03"


def test_epoch_seconds(make_partitioner: MakePartitioner) -> None:
    partitioner = make_partitioner(time_field="ts")
    assert partitioner.partition({"ts": T_13_05}, 0.0) == "dt=2026-11-22/hr=13"
    assert partitioner.partition({"ts": int(T_13_05)}, 0.0) == "dt=2026-11-22/hr=13"


def test_arrival_time_when_no_time_field(make_partitioner: MakePartitioner) -> None:
    # GIVEN no time_field and a row carrying an unrelated timestamp
    partitioner = make_partitioner()
    # THEN the arrival time decides
    row = {"ts": "1999-01-01T00:00:00Z"}
    assert partitioner.partition(row, T_13_05) == "dt=2026-11-22/hr=13"


def test_extra_fields_are_appended_and_sanitized(make_partitioner: MakePartitioner) -> None:
    # GIVEN extra fields with hostile, missing and non-string values
    partitioner = make_partitioner(fields=("tenant", "region", "n"))
    row = {"tenant": "../../etc", "n": 7}
    # WHEN partitioned
    partition = partitioner.partition(row, T_13_05)
    # THEN each value is one safe segment, None becomes "null"
    assert partition == "dt=2026-11-22/hr=13/tenant=..%2F..%2Fetc/region=null/n=7"
    assert partition.split("/")[2:] == ["tenant=..%2F..%2Fetc", "region=null", "n=7"]


@pytest.mark.parametrize(
    "row",
    [{}, {"ts": None}, {"ts": "yesterday"}, {"ts": ""}, {"ts": True}, {"ts": [1]}, {"ts": 1e20}],
    ids=["missing", "none", "text", "empty", "bool", "list", "overflow"],
)
def test_missing_or_invalid_time_is_bad_partition_value(
    make_partitioner: MakePartitioner, row: dict[str, Any]
) -> None:
    with pytest.raises(RecordError) as info:
        make_partitioner(time_field="ts").partition(row, T_13_05)
    assert (info.value.stage, info.value.error_type) == ("transform", "BadPartitionValue")
    assert "'ts'" in info.value.message
