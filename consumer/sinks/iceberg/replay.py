"""Which rows of a cut a table lacks: those after the last position it committed for the
cut's source partition (docs/lake.md, "Exactly once"). Each row carries its position
(`Batch.positions`), so a replay that cuts at other places than the crashed run keeps
exactly the rows after it."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pyarrow as pa

from consumer.flow import Batch, Position


def rows_after(
    batches: Sequence[Batch], committed: Position | None, table_of: Callable[[Batch], pa.Table]
) -> tuple[pa.Table, Position]:
    """The cut's rows after `committed` as one table (`table_of` converts a batch), and the
    position of the first row kept (`Position(0)` when none is)."""
    tables: list[pa.Table] = []
    first: Position | None = None
    for batch in batches:
        data = table_of(batch)
        keep = kept(batch, committed)
        if keep is not None:
            data = data.take(pa.array(keep, type=pa.int64()))
        if data.num_rows:
            tables.append(data)
            start = _first_kept(batch, keep)
            first = start if first is None or start < first else first
    if not tables:
        return table_of(batches[0]).slice(0, 0), Position(0)
    assert first is not None
    return pa.concat_tables(tables), first


def kept(batch: Batch, committed: Position | None) -> list[int] | None:
    """Indexes of the batch's rows after `committed`; None for all of them."""
    if committed is None or batch.first_position > committed:
        return None
    if batch.last_position <= committed:
        return []
    if batch.positions is None:
        raise ValueError(
            f"batch {batch.route}/{batch.first_position} straddles the committed position "
            f"{committed} and carries no row positions"
        )
    return [i for i, position in enumerate(batch.positions) if position > committed]


def _first_kept(batch: Batch, keep: list[int] | None) -> Position:
    if keep is None or batch.positions is None:
        return batch.first_position
    return batch.positions[keep[0]]
