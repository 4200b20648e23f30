"""Checks of the tables a pipeline writes, before anything runs.

A config can validate field by field and still block a shard forever: two routes writing
one table with different keys or columns (the first flush fails on a NOT NULL column the
other route does not write, and so does every restart), a database sink on a route without
a key, a table name that is not a plain identifier (`sensor readings"; DROP TABLE x; --`
is created quoted, exactly so: harmless, but nobody can query it unquoted). `check_tables`
finds these from the config and the routes' models, so `sluice validate` and every start
refuse them with the field named. `quoted_identifiers = true` on a sink accepts exotic
names on purpose.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from consumer.config import PipelineConfig, SinkConfig
from consumer.errors import ConfigError
from consumer.pipeline.route import Route
from consumer.sinks.dynamodb import DynamoDbSinkConfig
from consumer.sinks.postgres import PostgresSinkConfig
from consumer.sinks.sqlite import SqliteSinkConfig

_PLAIN = {  # table and schema names
    "postgres": re.compile(r"^[a-z_][a-z0-9_$]{0,62}$"),  # what unquoted names fold to
    "sqlite": re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$"),
}
_COLUMN = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")
_DYNAMODB_TABLE = re.compile(r"^[A-Za-z0-9_.\-]{3,255}$")


@dataclass(frozen=True)
class TableUse:
    """One route writing one table of one database sink."""

    sink: str
    kind: str  # postgres, sqlite, dynamodb
    target: tuple[str, ...]  # what identifies the table across sinks
    table: str
    table_field: str  # the config field the table name comes from
    route: Route
    index: int
    columns: frozenset[str] | None  # None: a transform without output_model
    shape: tuple[str, ...]  # equal shapes write the same columns

    @property
    def label(self) -> str:
        return ".".join(part for part in self.target[2:] if part)


def table_uses(config: PipelineConfig, routes: Sequence[Route]) -> list[TableUse]:
    uses = []
    for index, route in enumerate(routes):
        for name in route.config.sinks:
            sink = config.sinks[name]
            if not isinstance(sink, PostgresSinkConfig | SqliteSinkConfig | DynamoDbSinkConfig):
                continue
            table, field = _table_of(route, index, name, sink)
            columns = _columns(route)
            shape = (
                tuple(sorted(columns))
                if columns is not None
                else ("unknown", route.config.schema_path, str(route.config.transform))
            )
            uses.append(
                TableUse(
                    name,
                    sink.type,
                    _target(sink, table),
                    table,
                    field,
                    route,
                    index,
                    columns,
                    shape,
                )
            )
    return uses


def _table_of(route: Route, index: int, name: str, sink: SinkConfig) -> tuple[str, str]:
    if route.config.table:
        return route.config.table, f"routes.{index}.table"
    table = getattr(sink, "table", None)
    if table:
        return table, f"sinks.{name}.table"
    return route.name, f"routes.{index}.name"


def _target(sink: SinkConfig, table: str) -> tuple[str, ...]:
    if isinstance(sink, PostgresSinkConfig):
        return ("postgres", sink.conninfo(), sink.db_schema or "", table)
    if isinstance(sink, SqliteSinkConfig):
        return ("sqlite", sink.path, "", table)
    return ("dynamodb", "", "", table)


def _columns(route: Route) -> frozenset[str] | None:
    """The columns a route writes, when its config says: the output model's fields, or
    the schema's for a route without a transform (it writes the validated model)."""
    if route.column_types is not None:
        return frozenset(route.column_types)
    if route.config.transform is None:
        return frozenset(route.model.model_fields)
    return None


def check_tables(config: PipelineConfig, routes: Sequence[Route]) -> None:
    """Raise `ConfigError` naming every problem found (one a line)."""
    uses = table_uses(config, routes)
    problems = [p for use in uses for p in _use_problems(config, use)]
    with_tables = {use.index for use in uses}
    problems += [
        f"routes.{index}.table: route {route.name!r} writes to no database sink"
        for index, route in enumerate(routes)
        if route.config.table and index not in with_tables
    ]
    problems += _sharing_problems(uses)
    if problems:
        raise ConfigError("\n".join(dict.fromkeys(problems)))


def _use_problems(config: PipelineConfig, use: TableUse) -> list[str]:
    route, where = use.route.config, f"routes.{use.index}"
    problems = []
    if not route.key and use.kind != "dynamodb":
        problems.append(
            f"{where}.key: route {route.name!r} writes to database sink {use.sink!r}, which "
            "upserts on a key: declare the row field(s) that identify a row"
        )
    for field in (*route.key, *([route.version_field] if route.version_field else [])):
        if use.columns is not None and field not in use.columns:
            problems.append(
                f"{where}: {field!r} (key or version_field) is not a column of route "
                f"{route.name!r}'s rows ({', '.join(sorted(use.columns))})"
            )
    sink = config.sinks[use.sink]
    if isinstance(sink, DynamoDbSinkConfig):
        if not _DYNAMODB_TABLE.match(use.table):
            problems.append(
                f"{use.table_field}: {use.table!r} is not a DynamoDB table name "
                "(3 to 255 of A-Z a-z 0-9 _ . -)"
            )
        return problems
    assert isinstance(sink, PostgresSinkConfig | SqliteSinkConfig)
    if sink.quoted_identifiers:
        return problems
    names = [(use.table_field, use.table)]
    if isinstance(sink, PostgresSinkConfig) and sink.db_schema:
        names.append((f"sinks.{use.sink}.db_schema", sink.db_schema))
    problems += [
        _identifier_problem(field, name, use.kind, use.sink)
        for field, name in names
        if not _PLAIN[use.kind].match(name)
    ]
    columns = [(f"{where}.key", k) for k in route.key]
    columns += [(f"{where} (a column of its rows)", c) for c in sorted(use.columns or ())]
    problems += [
        _identifier_problem(field, name, "column", use.sink)
        for field, name in columns
        if not _COLUMN.match(name)
    ]
    return problems


def _identifier_problem(field: str, name: str, kind: str, sink: str) -> str:
    hint = ""
    if "." in name and field.endswith(".table"):
        schema, _, table = name.rpartition(".")
        hint = f" (a schema and a table? write db_schema = {schema!r}, table = {table!r})"
    rule = {
        "postgres": "[a-z_][a-z0-9_$]*, at most 63 characters",
        "sqlite": "[A-Za-z_][A-Za-z0-9_]*",
        "column": "[A-Za-z_][A-Za-z0-9_$]*",
    }[kind]
    return (
        f"{field}: {name!r} is not a plain {kind} name ({rule}){hint}: sluice would "
        f"create it quoted, exactly as written; rename it, or set "
        f"sinks.{sink}.quoted_identifiers = true to keep it"
    )


def _sharing_problems(uses: Sequence[TableUse]) -> list[str]:
    by_target: dict[tuple[str, ...], list[TableUse]] = {}
    for use in uses:
        by_target.setdefault(use.target, []).append(use)
    problems = []
    for shared in by_target.values():
        first = shared[0]
        for other in shared[1:]:
            if other.route.name == first.route.name:
                continue
            both = (
                f"routes.{first.index} ({first.route.name}) and routes.{other.index} "
                f"({other.route.name}) both write table {first.label!r}"
            )
            fix = "give one its own table (routes[].table)"
            if first.route.config.key != other.route.config.key:
                problems.append(
                    f"{both} with different keys ({', '.join(first.route.config.key) or 'none'}"
                    f" vs {', '.join(other.route.config.key) or 'none'}): {fix}"
                )
            elif first.shape != other.shape:
                if first.columns is None or other.columns is None:
                    detail = "columns that may differ (a transform without output_model)"
                else:
                    differ = sorted(first.columns ^ other.columns)
                    detail = f"different columns ({', '.join(differ)})"
                problems.append(f"{both} with {detail}: {fix}, or declare one output_model")
    return problems
