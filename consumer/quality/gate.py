"""The quality gate of one route: checks, corrections, score and decision for a batch.

Row checks judge every row as it arrived; a failing row is offered to the corrections in
order, and one that then passes every row check is kept, marked with the route's
`corrected_field` and counted; one that still fails is quarantined (stage ``quality``).
Batch checks (completeness, uniqueness) judge the rows as they arrived. The score is the
weighted mean of each check's share passed (a row check: the share of rows that passed; a
batch check: 1 or 0), so it measures what arrived, before any repair.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from consumer.errors import ConfigError
from consumer.loading import load_object
from consumer.quality.checks import BATCH_KINDS, Row, RowTest, batch_passes, row_test
from consumer.quality.config import CheckConfig, QualityConfig

_ENCODE = orjson.OPT_APPEND_NEWLINE | orjson.OPT_NON_STR_KEYS
Correction = Callable[[Row], Row | None]


@dataclass(slots=True)
class QualityResult:
    """What the gate found in one batch; written to its metadata and metrics."""

    route: str
    output_partition: str
    score: float
    threshold: float
    decision: str  # "pass", or the route's policy when the score is below the threshold
    rows: int
    corrected: int
    quarantined: int
    failing: dict[str, int] = field(default_factory=dict)
    """Check name -> rows (row checks) or 1 (batch checks) that failed it."""

    @property
    def passed(self) -> bool:
        return self.decision == "pass"

    def as_dict(self) -> dict[str, Any]:
        return {
            "route": self.route,
            "output_partition": self.output_partition,
            "score": round(self.score, 6),
            "threshold": self.threshold,
            "decision": self.decision,
            "rows": self.rows,
            "corrected": self.corrected,
            "quarantined": self.quarantined,
            "failing": dict(self.failing),
        }


@dataclass(slots=True)
class Outcome:
    result: QualityResult
    rows: list[Row]
    lines: list[bytes]
    rejected: list[tuple[Row, str, str]]
    """Rows to quarantine with error type and reason; all rows when the batch is quarantined."""


class RouteQuality:
    def __init__(
        self, route: str, config: QualityConfig, where: str, clock: Callable[[], float] = time.time
    ) -> None:
        self.route = route
        self.config = config
        self.row_checks: list[tuple[CheckConfig, RowTest]] = [
            (check, row_test(check, f"{where}.checks.{i}", clock))
            for i, check in enumerate(config.checks)
            if check.kind not in BATCH_KINDS
        ]
        self.batch_checks = [c for c in config.checks if c.kind in BATCH_KINDS]
        self.corrections: list[Correction] = []
        for i, path in enumerate(config.corrections):
            fn = load_object(path, f"{where}.corrections.{i}")
            if not callable(fn):
                raise ConfigError(f"{where}.corrections.{i}: {path!r} is not callable")
            self.corrections.append(fn)

    def _failures(self, row: Row) -> list[str]:
        failed = []
        for check, test in self.row_checks:
            try:
                ok = test(row)
            except Exception:  # a user predicate that raises fails its check, never the flush
                ok = False
            if not ok:
                failed.append(check.name)
        return failed

    def _repair(self, row: Row) -> Row | None:
        candidate: Row | None = dict(row)
        for correct in self.corrections:
            try:
                candidate = correct(dict(candidate or row))
            except Exception:
                candidate = None
            if candidate is not None and not self._failures(candidate):
                candidate[self.config.corrected_field] = True
                return candidate
        return None

    def evaluate(
        self, output_partition: str, rows: Sequence[Row], lines: Sequence[bytes]
    ) -> Outcome:
        failing: dict[str, int] = {}
        kept_rows: list[Row] = []
        kept_lines: list[bytes] = []
        rejected: list[tuple[Row, str, str]] = []
        corrected = 0
        for row, line in zip(rows, lines, strict=True):
            failed = self._failures(row)
            for name in failed:
                failing[name] = failing.get(name, 0) + 1
            if not failed:
                kept_rows.append(row)
                kept_lines.append(line)
                continue
            reason = "failed checks: " + ", ".join(failed)
            repaired = self._repair(row) if self.corrections else None
            if repaired is None:
                rejected.append((row, "CheckFailed", reason))
                continue
            try:
                repaired_line = orjson.dumps(repaired, option=_ENCODE)
            except TypeError as exc:
                rejected.append(
                    (row, "CheckFailed", f"{reason}; the repair cannot be encoded: {exc}")
                )
                continue
            corrected += 1
            kept_rows.append(repaired)
            kept_lines.append(repaired_line)
        score = self._score(rows, failing)
        decision = "pass" if score >= self.config.threshold else self.config.policy
        result = QualityResult(
            self.route,
            output_partition,
            score,
            self.config.threshold,
            decision,
            len(rows),
            corrected,
            len(rejected),
            failing,
        )
        if decision == "quarantine_batch":
            reason = f"batch quality {score:.4f} below threshold {self.config.threshold}"
            rejected += [(row, "BatchBelowThreshold", reason) for row in kept_rows]
            result.quarantined = len(rejected)
            kept_rows, kept_lines = [], []
        return Outcome(result, kept_rows, kept_lines, rejected)

    def _score(self, rows: Sequence[Row], failing: dict[str, int]) -> float:
        total = weighted = 0.0
        for check, _ in self.row_checks:
            share = 1 - failing.get(check.name, 0) / len(rows) if rows else 1.0
            weighted += check.weight * share
            total += check.weight
        for check in self.batch_checks:
            ok, _ = batch_passes(check, rows)
            if not ok:
                failing[check.name] = 1
            weighted += check.weight * ok
            total += check.weight
        return weighted / total if total else 1.0
