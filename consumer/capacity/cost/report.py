"""The estimate as text: a table of its lines, then its assumptions and warnings."""

from __future__ import annotations

from collections.abc import Iterable

from consumer.capacity.cost.result import CostEstimate, CostLine

Row = tuple[str, str, str, str]


def table(lines: Iterable[CostLine], total_usd: float) -> list[str]:
    """Lines as aligned columns (service, item, quantity, USD/month) and their total."""
    rows: list[Row] = [("service", "item", "quantity", "USD/month")]
    rows += [
        (line.service, line.item, line.quantity, f"{line.usd_per_month:,.2f}") for line in lines
    ]
    rows.append(("total", "", "", f"{total_usd:,.2f}"))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    rule = "  ".join("-" * width for width in widths)

    def fmt(row: Row) -> str:
        cells = [cell.ljust(width) for cell, width in zip(row[:3], widths[:3], strict=True)]
        return "  ".join([*cells, row[3].rjust(widths[3])]).rstrip()

    return [fmt(rows[0]), rule, *map(fmt, rows[1:-1]), rule, fmt(rows[-1])]


def render(result: CostEstimate) -> str:
    """The estimate as a plain-text table, then its assumptions and warnings."""
    shape = result.shape
    sizing = f"{result.tasks} task(s)"
    if shape.source == "kinesis":
        sizing += f", {result.shards} shard(s), {shape.kinesis_driver} reader"
    else:
        sizing += ", exactly-once ledger" if shape.sqs_ledger else ", no ledger"
    header = (
        f"sluice cost estimate: {result.records_per_s:,.0f} records/s x "
        f"{result.record_bytes:,} bytes from {shape.source}: {sizing}, "
        f"network {shape.network}"
    )
    out = [header, "", *table(result.lines, result.total_usd_per_month), ""]
    out += ["assumptions:", *(f"  - {text}" for text in result.assumptions)]
    if result.warnings:
        out += ["warnings:", *(f"  ! {text}" for text in result.warnings)]
    return "\n".join(out)
