"""The Iceberg sink: each cut of a source partition is one commit per table, carrying
the positions it covers; a replayed cut commits only the rows the table does not have.

Delivery: `write_cut` returns once the commit is in the catalog. Before each attempt the
table is read again and the rows at or before the partition's last committed position
are dropped (consumer/sinks/iceberg/commits.py); the commit itself requires the snapshot
it was planned on to still be current, so a concurrent writer (another task, a zombie)
makes it fail and it is planned again on the new snapshot: at most once per row, never a
rebase of a stale plan. pyiceberg's own conflict retry, which re-applies an append onto
the new snapshot without that check, is turned off for sluice's commits. An SQS ledger
cut is staged and committed at `publish` (consumer/sinks/iceberg/staging.py).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
from botocore.exceptions import BotoCoreError, ClientError
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import (
    CommitFailedException,
    CommitStateUnknownException,
    NoSuchTableError,
)
from pyiceberg.table import Table

from consumer.errors import ConfigError, EtlError
from consumer.flow import Batch, Position
from consumer.pipeline.partitioning import PartitionConfig
from consumer.sinks.base import BuildContext, RouteShape, RowCheck, SinkBase
from consumer.sinks.columns.check import route_check
from consumer.sinks.columns.convert import Columns
from consumer.sinks.columns.route import route_shape
from consumer.sinks.iceberg import staging
from consumer.sinks.iceberg.catalog import open_catalog
from consumer.sinks.iceberg.commits import (
    WRITER,
    CommitIndex,
    cut_properties,
    history,
    position_properties,
    summary_of,
    without_pyiceberg_retries,
)
from consumer.sinks.iceberg.config import IcebergSinkConfig
from consumer.sinks.iceberg.replay import rows_after
from consumer.sinks.iceberg.tables import open_table
from consumer.sinks.iceberg.upsert import upsert
from consumer.testing.faults import crash_point

log = logging.getLogger(__name__)
_NON_RETRIABLE_CODES = frozenset(
    {"AccessDeniedException", "AccessDenied", "EntityNotFoundException"}
)


class CommitConflictError(EtlError):
    """Concurrent writers kept the table busy through every commit attempt (retriable)."""


@dataclass
class _Route:
    identifier: str
    columns: Columns
    partition: PartitionConfig
    keys: tuple[str, ...]
    version: str | None


@dataclass
class _TableState:
    table: Table | None = None
    index: CommitIndex = field(default_factory=lambda: CommitIndex(""))


class IcebergSink(SinkBase):
    reads_rows = False
    """Rows are read from the JSON lines, as Arrow converts them."""
    writes_cuts = True

    def __init__(self, name: str, config: IcebergSinkConfig, ctx: BuildContext) -> None:
        self.name = name
        self.config = config
        self.writer = config.writer or name
        self._ctx = ctx
        self._catalog: Catalog | None = None
        self._routes: dict[str, _Route] = {}
        self._tables: dict[str, _TableState] = {}
        self._lock = threading.RLock()
        self._warned_unstable = False
        self.sleep = time.sleep

    # -- before any record ----------------------------------------------------------------
    def bind(self, route: RouteShape) -> RowCheck | None:
        upserts = self.config.mode == "upsert"
        if upserts and not route.key_fields:
            raise ConfigError(f"sinks.{self.name}: mode upsert needs a key on route {route.name!r}")
        shape = route_shape(route, self.name, route.key_fields if upserts else ())
        identifier = f"{self.config.namespace}.{self.config.table or route.name}"
        for other in self._routes.values():
            if other.identifier == identifier and other.columns.schema != shape.schema:
                raise ConfigError(
                    f"sinks.{self.name}: routes writing table {identifier} need one row model"
                )
        self._routes[route.name] = _Route(
            identifier,
            Columns(shape.schema),
            route.partition,
            route.key_fields if upserts else (),
            route.version_field,
        )
        self._tables.setdefault(identifier, _TableState(index=CommitIndex(self.writer)))
        return route_check(shape, route.model_rows)

    # -- writes ---------------------------------------------------------------------------
    def write(self, batch: Batch) -> None:
        self.write_cut([batch])

    def write_cut(self, batches: Sequence[Batch]) -> None:
        with self._lock:
            for identifier, group in self._by_table(batches).items():
                staged = [batch for batch in group if batch.stage is not None]
                if staged:
                    self._stage(identifier, staged)
                direct = [batch for batch in group if batch.stage is None]
                if direct:
                    self._commit_positions(identifier, direct)

    def _by_table(self, batches: Iterable[Batch]) -> dict[str, list[Batch]]:
        groups: dict[str, list[Batch]] = {}
        for batch in batches:
            if batch.lines:
                groups.setdefault(self._routes[batch.route].identifier, []).append(batch)
        return groups

    def _commit_positions(self, identifier: str, batches: list[Batch]) -> None:
        """Commit the rows of one cut the table does not have yet, with their positions."""
        if not all(batch.stable_positions for batch in batches):
            self._commit_all(identifier, batches)
            return
        source, partition = batches[0].source, batches[0].partition
        for attempt in range(self.config.commit_attempts):
            table, index = self._current(identifier)
            committed = index.committed(source, partition)
            data, first = self._rows_after(batches, committed)
            if data.num_rows == 0:
                log.info(
                    "iceberg cut already committed; skipped",
                    extra={"table": identifier, "partition": partition, "up_to": str(committed)},
                )
                return
            last = max(batch.last_position for batch in batches)
            properties = position_properties(self.writer, source, partition, first, last)
            if self._commit(identifier, table, data, properties):
                return
            self._back_off(identifier, attempt)
        raise CommitConflictError(
            f"{identifier}: {self.config.commit_attempts} commits lost to concurrent writers"
        )

    def _commit_all(self, identifier: str, batches: list[Batch]) -> None:
        """Every row of the cut, without positions: its source's positions do not identify
        rows across replays (SQS without the ledger, a quarantine replay), so a replay may
        commit rows again (at-least-once; upsert mode makes that harmless)."""
        if not self._warned_unstable:
            self._warned_unstable = True
            log.warning(
                "source positions are not stable: Iceberg commits are at-least-once",
                extra={"sink": self.name, "source": batches[0].source},
            )
        data = pa.concat_tables(
            [self._routes[batch.route].columns.table(batch.lines) for batch in batches]
        )
        for attempt in range(self.config.commit_attempts):
            table, _ = self._current(identifier)
            if self._commit(identifier, table, data, {WRITER: self.writer}):
                return
            self._back_off(identifier, attempt)
        raise CommitConflictError(
            f"{identifier}: {self.config.commit_attempts} commits lost to concurrent writers"
        )

    def _rows_after(
        self, batches: list[Batch], committed: Position | None
    ) -> tuple[pa.Table, Position]:
        return rows_after(batches, committed, self._table_of)

    def _table_of(self, batch: Batch) -> pa.Table:
        return self._routes[batch.route].columns.table(batch.lines)

    def _commit(self, identifier: str, table: Table, data: pa.Table, props: dict[str, str]) -> bool:
        """One commit attempt; False when a concurrent commit got there first."""
        crash_point("iceberg_before_commit")
        tx = without_pyiceberg_retries(table).transaction()
        route = next(r for r in self._routes.values() if r.identifier == identifier)
        if route.keys:
            if not upsert(tx, table, data, route.keys, route.version, props):
                return True  # every row was older than the table's: nothing to change
        else:
            tx.append(data, snapshot_properties=props)
        try:
            tx.commit_transaction()
        except CommitFailedException:
            self._tables[identifier].table = None  # read it again before the next attempt
            return False
        crash_point("iceberg_after_commit")
        log.debug("iceberg commit", extra={"table": identifier, "rows": data.num_rows, **props})
        return True

    def _back_off(self, identifier: str, attempt: int) -> None:
        delay = min(0.05 * 2**attempt, 2.0) * (0.5 + random.random())
        log.info(
            "iceberg commit conflict; planning again",
            extra={"table": identifier, "attempt": attempt + 1, "delay_s": round(delay, 3)},
        )
        self.sleep(delay)

    # -- SQS ledger cuts ------------------------------------------------------------------
    def _stage(self, identifier: str, batches: list[Batch]) -> None:
        table, _ = self._current(identifier)
        for batch in batches:
            assert batch.stage is not None
            directory = staging.stage_dir(table, self.writer, batch.stage)
            data = self._routes[batch.route].columns.table(batch.lines)
            staging.write_staged(table, directory, batch, data)

    def publish(self, stage: str) -> int:
        """Commit the staged rows of the ledger cut `stage` (once: a cut id already in the
        table's history is not committed again), then delete them."""
        published = 0
        with self._lock:
            for identifier in sorted(self._tables):
                published += self._publish_table(identifier, stage)
        return published

    def _publish_table(self, identifier: str, stage: str) -> int:
        for attempt in range(self.config.commit_attempts):
            table, index = self._current(identifier)
            directory = staging.stage_dir(table, self.writer, stage)
            files = staging.list_staged(table, directory)
            if not files:
                return 0
            if stage not in index.cuts:
                data = pa.concat_tables([staging.read_staged(table, f) for f in files])
                if not self._commit(identifier, table, data, cut_properties(self.writer, stage)):
                    self._back_off(identifier, attempt)
                    continue
            crash_point("iceberg_after_publish_commit")
            staging.delete_staged(table, files)
            return len(files)
        raise CommitConflictError(f"{identifier}: publishing cut {stage} lost every attempt")

    # -- tables ---------------------------------------------------------------------------
    def _current(self, identifier: str) -> tuple[Table, CommitIndex]:
        """The table as the catalog has it now, and its commit index brought up to it."""
        state = self._tables[identifier]
        if state.table is None:
            state.table = self._open(identifier)
        else:
            state.table.refresh()
        table = state.table
        metadata = table.metadata
        state.index.update((s.snapshot_id, summary_of(s)) for s in history(metadata))
        return table, state.index

    def table_names(self) -> list[str]:
        """The tables of the routes bound to this sink (`namespace.table`)."""
        return sorted(self._tables)

    def table(self, identifier: str) -> Table:
        """The table as the catalog has it now (created if the config allows)."""
        with self._lock:
            return self._current(identifier)[0]

    def _open(self, identifier: str) -> Table:
        if self._catalog is None:
            self._catalog = open_catalog(self.config, self._ctx)
        route = next(r for r in self._routes.values() if r.identifier == identifier)
        return open_table(
            self._catalog,
            identifier,
            route.columns.schema,
            route.partition,
            route.keys,
            create=self.config.create_table,
            evolve=self.config.evolve_schema,
            properties=self.config.table_properties,
        )

    def is_retriable(self, exc: BaseException) -> bool:
        if isinstance(exc, ConfigError | NoSuchTableError | ValueError | TypeError):
            return False
        if isinstance(exc, ClientError):
            return exc.response.get("Error", {}).get("Code") not in _NON_RETRIABLE_CODES
        return isinstance(
            exc,
            CommitConflictError
            | CommitStateUnknownException
            | BotoCoreError
            | OSError
            | _sqlalchemy_errors(),
        )

    def close(self) -> None:
        engine: Any = getattr(self._catalog, "engine", None)
        if engine is not None:
            engine.dispose()


def _sqlalchemy_errors() -> type[Exception]:
    from sqlalchemy.exc import OperationalError

    return OperationalError
