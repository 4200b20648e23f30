"""check_tables: configs that validate field by field but would block a shard are refused
with the field named (consumer/sinks/tables.py)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from consumer.config import PipelineConfig, parse_config
from consumer.errors import ConfigError
from consumer.pipeline.route import Route
from consumer.sinks.tables import check_tables


class Reading(BaseModel):
    type: str
    reading_id: str
    value: float


class Alert(BaseModel):
    type: str
    alert_id: str
    text: str


class ReadingRow(BaseModel):
    reading_id: str
    value: float


class OtherReadingRow(BaseModel):
    reading_id: str
    value: float
    unit: str


def to_row(reading: Reading) -> dict[str, Any]:
    return {"reading_id": reading.reading_id, "value": reading.value}


def route(name: str, schema: str, key: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "record_type": name,
        "schema": f"{__name__}:{schema}",
        "key": key,
        "sinks": ["db"],
        **extra,
    }


def config(routes: list[dict[str, Any]], **sink: Any) -> PipelineConfig:
    db = {"type": "postgres", "url": "postgresql://u@127.0.0.1:9/x", **sink}
    return parse_config(
        {
            "name": "tables",
            "source": {"type": "kinesis", "stream": "s"},
            "routes": routes,
            "sinks": {"db": db},
            "quarantine": {"type": "memory"},
        },
        "test",
    )


def check(cfg: PipelineConfig) -> None:
    check_tables(cfg, [Route(r, i) for i, r in enumerate(cfg.routes)])


def test_routes_sharing_a_table_with_different_keys_are_refused() -> None:
    # GIVEN the config: one sink table "a.b"-style shared by readings and alerts
    cfg = config(
        [route("readings", "Reading", "reading_id"), route("alerts", "Alert", "alert_id")],
        table="shared",
    )
    # WHEN it is checked THEN both routes, the table, the keys and the fix are named
    with pytest.raises(ConfigError) as caught:
        check(cfg)
    text = str(caught.value)
    assert "routes.0 (readings) and routes.1 (alerts) both write table 'shared'" in text
    assert "different keys (reading_id vs alert_id)" in text
    assert "routes[].table" in text


def test_a_route_table_of_its_own_resolves_the_sharing() -> None:
    cfg = config(
        [
            route("readings", "Reading", "reading_id"),
            route("alerts", "Alert", "alert_id", table="alerts"),
        ],
        table="shared",
    )
    check(cfg)


def test_routes_sharing_a_table_with_different_columns_are_refused() -> None:
    cfg = config(
        [
            route("a", "Reading", "reading_id", output_model=f"{__name__}:ReadingRow"),
            route("b", "Reading", "reading_id", output_model=f"{__name__}:OtherReadingRow"),
        ],
        table="readings",
    )
    with pytest.raises(ConfigError, match=r"different columns \(unit\)"):
        check(cfg)


def test_routes_sharing_a_table_with_the_same_shape_pass() -> None:
    # GIVEN two streams' routes with the same schema and transform into one table
    same = {"transform": f"{__name__}:to_row"}
    cfg = config(
        [route("a", "Reading", "reading_id", **same), route("b", "Reading", "reading_id", **same)],
        table="readings",
    )
    check(cfg)


def test_unknown_columns_on_a_shared_table_ask_for_an_output_model() -> None:
    cfg = config(
        [
            route("a", "Reading", "reading_id", transform=f"{__name__}:to_row"),
            route("b", "Reading", "reading_id"),
        ],
        table="readings",
    )
    with pytest.raises(ConfigError, match="transform without output_model"):
        check(cfg)


@pytest.mark.parametrize(
    ("table", "hint"),
    [
        ('sensor readings"; DROP TABLE x; --', "rename it"),
        ("iot.readings", "write db_schema = 'iot', table = 'readings'"),
        ("Readings", "rename it"),
    ],
)
def test_exotic_table_names_are_refused_with_the_opt_out_named(table: str, hint: str) -> None:
    cfg = config([route("readings", "Reading", "reading_id")], table=table)
    with pytest.raises(ConfigError) as caught:
        check(cfg)
    text = str(caught.value)
    assert text.startswith("sinks.db.table: ") and hint in text
    assert "sinks.db.quoted_identifiers = true" in text


def test_quoted_identifiers_accepts_exotic_names_on_purpose() -> None:
    cfg = config(
        [route("readings", "Reading", "reading_id")],
        table='sensor readings"; DROP TABLE x; --',
        quoted_identifiers=True,
    )
    check(cfg)


def test_a_route_name_used_as_a_table_is_checked_too() -> None:
    cfg = config([route("page-views", "Reading", "reading_id")])
    with pytest.raises(ConfigError, match=r"^routes\.0\.name: 'page-views' is not a plain"):
        check(cfg)


def test_a_database_route_without_a_key_is_refused() -> None:
    cfg = config([{**route("readings", "Reading", "reading_id"), "key": []}])
    with pytest.raises(ConfigError, match=r"routes\.0\.key: .* declare the row field"):
        check(cfg)


def test_a_key_that_is_not_a_column_is_refused() -> None:
    cfg = config([route("readings", "Reading", "id")])
    with pytest.raises(ConfigError, match=r"routes\.0: 'id' .* is not a column"):
        check(cfg)


def test_a_route_table_without_a_database_sink_is_refused() -> None:
    raw_route = route("readings", "Reading", "reading_id", table="t")
    cfg = parse_config(
        {
            "name": "tables",
            "source": {"type": "kinesis", "stream": "s"},
            "routes": [{**raw_route, "sinks": ["lake"]}],
            "sinks": {"lake": {"type": "s3", "bucket": "lake"}},
            "quarantine": {"type": "memory"},
        },
        "test",
    )
    with pytest.raises(ConfigError, match=r"routes\.0\.table: .* writes to no database sink"):
        check(cfg)
