"""extract-db: a PostgreSQL table into the pipeline, incrementally by a watermark column.

Pages are read by keyset pagination on (watermark, key), the key breaking ties among
rows sharing a watermark value:

    SELECT ... FROM t WHERE wm IS NOT NULL AND key IS NOT NULL AND (wm, key) > (%s, %s)
    ORDER BY wm, key LIMIT page_rows

Each row becomes one JSON record (orjson; Decimal as a string, bytes as base64) carrying
`record_type` in the router's type field when given, and is routed, validated and written
like any other record; a row that fails validation goes to the quarantine. Row `n` of the
extract (counted from the first row this state ever read) sits at `Position(n)` in
partition `state_name`. The state holds the last confirmed row's watermark and key and
the running offset, committed after each cut the sinks confirmed (extract_common), so the
watermark is stored only after the load succeeded and a rerun after a crash rebuilds the
same batches and S3 keys. Values are stored typed (`{"type": "datetime", "value": ...}`)
so the next query compares exactly what the column holds.

What keyset extraction assumes: `key_column` is unique; the watermark of a row only grows
when the row changes (an updated row is extracted again, a database sink upserts it); a
row committed later with a watermark below the stored one is not seen (use a watermark
set at commit, or leave a margin); rows whose watermark or key is NULL are never read.
An index on (watermark, key) makes each page one index range scan. Only part 0 of
`--part i/N` works (extract_common.takes_part).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import orjson
import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from batch_jobs.jobs.extract_common import Checkpoint, read_secret, takes_part
from batch_jobs.runner import BatchPipeline, JobResult
from batch_jobs.state import DEFAULT_PREFIX, NAME_PATTERN, StateError, StateStore
from consumer.errors import ConfigError
from consumer.flow import Position, Record
from consumer.sinks.postgres import safe_target

# Watermark and key values as the state stores them; checked in order (datetime is a date).
_CODECS: tuple[tuple[str, type, Callable[[Any], str], Callable[[str], Any]], ...] = (
    ("datetime", datetime, datetime.isoformat, datetime.fromisoformat),
    ("date", date, date.isoformat, date.fromisoformat),
    ("int", int, str, int),
    ("decimal", Decimal, str, Decimal),
    ("float", float, repr, float),
    ("str", str, str, str),
    ("uuid", UUID, str, UUID),
)


class ExtractDbParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dsn: SecretStr | None = Field(None, description="postgresql://user:password@host/db")
    dsn_secret_id: str | None = Field(None, description="secret: a URL, or RDS-style JSON")
    table: str = Field(pattern=r"^[^.]+(\.[^.]+)?$", description="table or schema.table")
    watermark_column: str = Field(min_length=1)
    key_column: str = Field(min_length=1, description="unique; breaks watermark ties")
    columns: list[str] | None = Field(None, description="columns records carry; all if unset")
    page_rows: int = Field(1000, ge=1, le=1_000_000)
    max_pages: int | None = Field(None, ge=1, description="pages read by this run")
    record_type: str | None = Field(None, description="set in the router's type field")
    connect_timeout_s: int = Field(10, ge=1)
    statement_timeout_s: float = Field(60.0, gt=0)
    state_bucket: str = Field(min_length=3)
    state_prefix: str = DEFAULT_PREFIX
    state_name: str = Field(pattern=NAME_PATTERN)
    source: str = Field("extract-db", description="the source name records carry")

    @field_validator("columns", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        """`--param columns=a,b,c` arrives as one string."""
        if isinstance(value, str):
            return [name.strip() for name in value.split(",") if name.strip()]
        return value

    @model_validator(mode="after")
    def _one_dsn(self) -> ExtractDbParams:
        if (self.dsn is None) == (self.dsn_secret_id is None):
            raise ValueError("give exactly one of dsn and dsn_secret_id")
        return self


def encode_value(value: Any) -> dict[str, str]:
    for name, kind, to_text, _ in _CODECS:
        if isinstance(value, kind) and not isinstance(value, bool):
            return {"type": name, "value": to_text(value)}
    raise StateError(
        f"a {type(value).__name__} watermark or key cannot be stored: "
        "use a timestamp, date, number, text or uuid column"
    )


def decode_value(doc: Any) -> Any:
    for name, _, _, from_text in _CODECS:
        if isinstance(doc, dict) and doc.get("type") == name:
            return from_text(str(doc["value"]))
    raise StateError(f"unreadable watermark or key in the state: {doc!r}")


def json_default(value: Any) -> Any:
    """orjson writes datetime, date, time and UUID itself; the rest of what psycopg
    returns is written exactly where JSON can (Decimal as text), else as text."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes | memoryview):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, timedelta):
        return value.total_seconds()
    return str(value)


def resolve_dsn(job: BatchPipeline, params: ExtractDbParams) -> str:
    """The DSN, given or from the secret: a URL or conninfo, or RDS-style JSON
    (`host`, `port`, `username`, `password`, `dbname`)."""
    if params.dsn is not None:
        return params.dsn.get_secret_value()
    assert params.dsn_secret_id is not None
    text = read_secret(job.aws, params.dsn_secret_id).strip()
    try:
        doc = orjson.loads(text)
    except orjson.JSONDecodeError:
        return text
    if isinstance(doc, str):
        return doc
    if not isinstance(doc, dict) or "host" not in doc:
        raise ConfigError(f"secret {params.dsn_secret_id!r}: neither a URL nor JSON with host")
    names = {"host": "host", "port": "port", "username": "user", "password": "password"}
    fields = {kw: str(doc[k]) for k, kw in names.items() if doc.get(k) is not None}
    return make_conninfo(dbname=str(doc.get("dbname") or doc.get("database") or ""), **fields)


def page_query(params: ExtractDbParams, select: Sequence[str] | None, after: bool) -> sql.Composed:
    """The keyset page query; identifiers quoted by psycopg.sql, values bound."""
    schema, _, name = params.table.rpartition(".")
    table = sql.Identifier(schema, name) if schema else sql.Identifier(name)
    wm, key = sql.Identifier(params.watermark_column), sql.Identifier(params.key_column)
    listed = sql.SQL(", ").join(map(sql.Identifier, select)) if select else sql.SQL("*")
    query = sql.SQL("SELECT {} FROM {} WHERE {} IS NOT NULL AND {} IS NOT NULL").format(
        listed, table, wm, key
    )
    if after:
        query += sql.SQL(" AND ({}, {}) > (%s, %s)").format(wm, key)
    return query + sql.SQL(" ORDER BY {}, {} LIMIT %s").format(wm, key)


def extract_db(
    job: BatchPipeline, s3: Any, params: ExtractDbParams, part: tuple[int, int], result: JobResult
) -> None:
    if not takes_part("extract-db", part):
        return
    if params.record_type is not None and job.pipeline.router.type_field is None:
        raise ConfigError("record_type: the pipeline's router has no type_field")
    dsn = resolve_dsn(job, params)
    identity = {
        "table": params.table,
        "watermark_column": params.watermark_column,
        "key_column": params.key_column,
    }
    fresh = {"watermark": None, "key": None, "offset": 0}
    store = StateStore(s3, params.state_bucket, params.state_prefix)
    checkpoint = Checkpoint(store, params.state_name, "extract-db", identity, fresh)
    try:
        conn = psycopg.connect(dsn, autocommit=True, connect_timeout=params.connect_timeout_s)
    except psycopg.Error as exc:
        result.failed_inputs.append(f"{safe_target(dsn)}: cannot connect: {exc}")
        return
    job.progress.begin(None)  # pages: unknown until a short one
    with conn:
        timeout_ms = str(int(params.statement_timeout_s * 1000))
        conn.execute("SELECT set_config('statement_timeout', %s, false)", [timeout_ms])
        conn.execute("SELECT set_config('default_transaction_read_only', 'on', false)")
        while params.max_pages is None or result.inputs < params.max_pages:
            try:
                names, rows = _page(conn, params, checkpoint.fields)
            except psycopg.Error as exc:
                result.failed_inputs.append(f"{params.table} after {checkpoint.fields}: {exc}")
                return
            if not rows:
                return
            result.inputs += 1
            _feed(job, params, checkpoint, names, rows)
            job.progress.add(inputs=1)
            if len(rows) < params.page_rows:
                return


def _select(params: ExtractDbParams) -> list[str] | None:
    if params.columns is None:
        return None
    extra = [params.watermark_column, params.key_column]
    return list(dict.fromkeys([*params.columns, *extra]))


def _page(
    conn: psycopg.Connection[Any], params: ExtractDbParams, at: dict[str, Any]
) -> tuple[list[str], list[tuple[Any, ...]]]:
    after = at["watermark"] is not None
    bound = [decode_value(at["watermark"]), decode_value(at["key"])] if after else []
    cur = conn.execute(page_query(params, _select(params), after), [*bound, params.page_rows])
    names = [column.name for column in cur.description or ()]
    return names, cur.fetchall()


def _feed(
    job: BatchPipeline,
    params: ExtractDbParams,
    checkpoint: Checkpoint,
    names: list[str],
    rows: list[tuple[Any, ...]],
) -> None:
    """Feed one page; commit the watermark after each cut every sink confirmed."""
    offset = int(checkpoint.fields["offset"])
    wm, key = names.index(params.watermark_column), names.index(params.key_column)
    carried = [(n, names.index(n)) for n in (params.columns or names)]
    type_field = job.pipeline.router.type_field
    encode_value(rows[0][wm])  # a type the state cannot hold fails before anything is loaded
    encode_value(rows[0][key])

    def on_flush(position: Position) -> None:
        row = rows[position.sequence - offset]
        checkpoint.commit(
            {
                "watermark": encode_value(row[wm]),
                "key": encode_value(row[key]),
                "offset": position.sequence + 1,
            }
        )

    def records() -> Iterator[Record]:
        """Built lazily: each takes the arrival time of the latest commit."""
        for index, row in enumerate(rows):
            doc = {name: row[i] for name, i in carried}
            if params.record_type is not None and type_field is not None:
                doc[type_field] = params.record_type
            data = orjson.dumps(doc, default=json_default)
            position = Position(offset + index)
            arrival = checkpoint.arrival_time
            yield Record(params.source, params.state_name, position, str(row[key]), arrival, data)

    job.feed(params.source, params.state_name, records(), on_flush, chunk=1)
