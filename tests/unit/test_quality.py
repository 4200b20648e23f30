"""Data quality (issue 12): a batch with known defects, its score and decision under each
policy, corrections counted and marked, the safe expression language and config errors."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import orjson
import pytest
from pydantic import ValidationError

from consumer.delivery.flush import Flusher
from consumer.delivery.retry import RetryConfig
from consumer.errors import ConfigError
from consumer.flow import Batch, Cut, Position
from consumer.pipeline.quarantine import QUARANTINE_ROUTE
from consumer.quality.config import QualityConfig
from consumer.quality.expr import SafeExpression
from consumer.quality.gate import RouteQuality
from consumer.sinks.memory import ListSink

NOW = 1_800_000_000.0


def repair(row: dict[str, Any]) -> dict[str, Any] | None:
    """A user correction: a negative amount is a sign slip, a currency may be lower case."""
    row["amount"] = abs(row["amount"])
    row["currency"] = str(row["currency"]).upper()
    return row


def give_up(row: dict[str, Any]) -> None:
    return None


def _rows() -> list[dict[str, Any]]:
    rows = [
        {"id": i, "amount": 10 * i, "currency": "EUR", "start": 1, "end": 2, "email": f"u{i}@x"}
        for i in range(10)
    ]
    rows[0]["amount"] = -5  # range: repaired (abs)
    rows[1]["currency"] = "eur"  # allowed: repaired (upper)
    rows[2]["end"] = 0  # consistency: cannot be repaired -> quarantined
    rows[3]["email"] = None  # completeness: 9/10 present, meets min_ratio 0.9
    rows[4]["id"] = 5  # uniqueness: duplicate of row 5 -> the batch check fails
    return rows


def _config(policy: str, threshold: float = 0.8, **extra: Any) -> QualityConfig:
    return QualityConfig.model_validate(
        {
            "checks": [
                {
                    "name": "amount",
                    "kind": "range",
                    "field": "amount",
                    "min": 0,
                    "max": 1000,
                    "weight": 2,
                },
                {
                    "name": "currency",
                    "kind": "allowed",
                    "field": "currency",
                    "values": ["EUR", "USD"],
                },
                {"name": "ordered", "kind": "consistency", "expr": "end >= start"},
                {"name": "email", "kind": "completeness", "field": "email", "min_ratio": 0.9},
                {"name": "unique_id", "kind": "uniqueness", "fields": ["id"]},
            ],
            "corrections": ["tests.unit.test_quality:repair"],
            "threshold": threshold,
            "policy": policy,
            **extra,
        }
    )


def _cut(rows: list[dict[str, Any]]) -> Cut:
    batch = Batch(
        route="orders",
        source="s",
        partition="p",
        output_partition="dt=2027",
        first_position=Position(7),
        last_position=Position(16),
        rows=rows,
        lines=[orjson.dumps(row) + b"\n" for row in rows],
    )
    return Cut("p", Position(7), Position(16), [batch], records=10, quarantined=0)


def _flush(config: QualityConfig) -> tuple[Cut, ListSink, ListSink]:
    lake, quarantine = ListSink("lake"), ListSink("quarantine")
    gate = RouteQuality("orders", config, "routes.0.quality", clock=lambda: NOW)
    flusher = Flusher(
        {"orders": [lake], QUARANTINE_ROUTE: [quarantine]},
        RetryConfig(max_attempts=1),
        quality={"orders": gate},
    )
    cut = _cut(_rows())
    flusher.write(cut)
    flusher.close()
    return cut, lake, quarantine


# range 0.9 x 2 + allowed 0.9 + consistency 0.9 + completeness 1 + uniqueness 0, over 6
EXPECTED_SCORE = (1.8 + 0.9 + 0.9 + 1 + 0) / 6


@pytest.mark.parametrize("policy", ["write", "write_and_alert"])
def test_a_failing_batch_is_written_under_write_policies(policy: str) -> None:
    cut, lake, quarantine = _flush(_config(policy))
    [result] = cut.quality
    assert result.score == pytest.approx(EXPECTED_SCORE)
    assert result.decision == policy and not result.passed
    assert result.failing == {"amount": 1, "currency": 1, "ordered": 1, "unique_id": 1}
    assert (result.rows, result.corrected, result.quarantined) == (10, 2, 1)
    [written] = lake.batches
    assert [row["id"] for row in written.rows] == [0, 1, 3, 5, 5, 6, 7, 8, 9]
    corrected = [row for row in written.rows if row.get("_corrected")]
    assert [(r["id"], r["amount"], r["currency"]) for r in corrected] == [
        (0, 5, "EUR"),
        (1, 10, "EUR"),
    ]
    assert orjson.loads(written.lines[0])["_corrected"] is True  # the line is the repaired row
    assert written.quality is not None and written.quality["decision"] == policy
    [rejected] = quarantine.batches
    [envelope] = rejected.rows
    assert (envelope["stage"], envelope["error_type"], envelope["route"]) == (
        "quality",
        "CheckFailed",
        "orders",
    )
    assert "ordered" in envelope["message"]
    assert orjson.loads(base64.b64decode(envelope["data_base64"]))["id"] == 2
    assert rejected.output_partition == "quality/orders/dt=2027"


def test_a_failing_batch_is_quarantined_whole_under_quarantine_batch() -> None:
    cut, lake, quarantine = _flush(_config("quarantine_batch"))
    [result] = cut.quality
    assert result.score == pytest.approx(EXPECTED_SCORE)
    assert result.decision == "quarantine_batch"
    assert (result.corrected, result.quarantined) == (2, 10)
    assert lake.batches == []
    [rejected] = quarantine.batches
    kinds = sorted(row["error_type"] for row in rejected.rows)
    assert kinds == ["BatchBelowThreshold"] * 9 + ["CheckFailed"]
    assert rejected.quality is not None and rejected.quality["decision"] == "quarantine_batch"


@pytest.mark.parametrize("policy", ["write", "write_and_alert", "quarantine_batch"])
def test_a_batch_above_the_threshold_passes_under_every_policy(policy: str) -> None:
    cut, lake, quarantine = _flush(_config(policy, threshold=0.7))
    [result] = cut.quality
    assert result.decision == "pass"
    assert len(lake.batches[0].rows) == 9 and len(quarantine.batches[0].rows) == 1


def test_without_a_correction_failing_rows_are_quarantined() -> None:
    config = _config("write").model_copy(update={"corrections": ()})
    cut, lake, quarantine = _flush(config)
    assert cut.quality[0].corrected == 0
    assert len(lake.batches[0].rows) == 7 and len(quarantine.batches[0].rows) == 3


def test_a_correction_that_gives_up_leaves_the_row_quarantined() -> None:
    config = _config("write").model_copy(
        update={"corrections": ("tests.unit.test_quality:give_up",)}
    )
    cut, _, quarantine = _flush(config)
    assert cut.quality[0].corrected == 0 and len(quarantine.batches[0].rows) == 3


def test_freshness_against_the_clock() -> None:
    config = QualityConfig.model_validate(
        {"checks": [{"name": "fresh", "kind": "freshness", "field": "t", "max_age_s": 60}]}
    )
    gate = RouteQuality("r", config, "q", clock=lambda: NOW)
    rows: list[dict[str, Any]] = [
        {"t": NOW - 10},
        {"t": (NOW - 10) * 1000},
        {"t": "2027-01-15T07:00:00Z"},
        {"t": None},
    ]
    outcome = gate.evaluate("", rows, [b"{}\n"] * 4)
    assert outcome.result.failing == {"fresh": 2} and outcome.result.score == 0.5


def test_safe_expressions_compare_fields() -> None:
    assert SafeExpression("end >= start and status in ('a', 'b')")(
        {"end": 2, "start": 1, "status": "a"}
    )
    assert not SafeExpression("end >= start")({"end": 0, "start": 1})
    assert not SafeExpression("end >= start")({"start": 1})  # None >= 1 is simply false
    assert SafeExpression("not (x == -1) or y is None")({"x": 2})
    assert SafeExpression("0 <= x < 10")({"x": 3}) and not SafeExpression("0 <= x < 10")({"x": 10})


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('true')",
        "row.__class__",
        "x[0] > 1",
        "x + 1 > 2",
        "(lambda: 1)()",
        "[y for y in x]",
    ],
)
def test_expressions_that_could_run_code_are_refused(text: str) -> None:
    with pytest.raises(ConfigError, match="is not allowed"):
        SafeExpression(text, "routes.0.quality.checks.0.expr")


def test_a_check_missing_what_its_kind_needs_fails_naming_it() -> None:
    with pytest.raises(ValidationError, match="needs 'field'"):
        QualityConfig.model_validate({"checks": [{"name": "c", "kind": "range", "min": 1}]})
    with pytest.raises(ValidationError, match="extra_forbidden"):
        QualityConfig.model_validate(
            {"checks": [{"name": "c", "kind": "range", "field": "x", "min": 1, "mni": 2}]}
        )
    listed = {"checks": [{"name": "c", "kind": "allowed", "field": "x", "values": [[1]]}]}
    with pytest.raises(ConfigError, match=r"q\.checks\.0\.values"):
        RouteQuality("r", QualityConfig.model_validate(listed), "q")
    with pytest.raises(ConfigError, match=r"routes\.0\.quality\.corrections\.0"):
        RouteQuality("r", _config("write", corrections=("nowhere:fix",)), "routes.0.quality")


def bad_repair(row: dict[str, Any]) -> dict[str, Any]:
    """A correction that passes the checks but puts a value JSON cannot carry in the row."""
    row["amount"] = abs(row["amount"])
    row["currency"] = str(row["currency"]).upper()
    row["blob"] = object()
    return row


def test_a_repair_that_cannot_be_encoded_is_quarantined_not_a_failed_flush() -> None:
    config = _config("write", corrections=("tests.unit.test_quality:bad_repair",))
    cut, lake, quarantine = _flush(config)
    assert cut.quality[0].corrected == 0
    assert len(lake.batches[0].rows) == 7
    reasons = sorted(row["message"] for row in quarantine.batches[0].rows)
    assert sum("cannot be encoded" in reason for reason in reasons) == 2


def test_the_clickstream_example_corrects_and_quarantines_purchases() -> None:
    from datetime import UTC, datetime

    from consumer.config import load_config

    path = Path(__file__).resolve().parents[2] / "examples/clickstream/pipeline-quality.toml"
    route = load_config(path).routes[0]
    assert route.quality is not None
    gate = RouteQuality(route.name, route.quality, "routes.0.quality", clock=lambda: NOW)
    base = {
        "event_id": "e",
        "order_id": "ORD-00000001",
        "user_id": "u1",
        "event_time": datetime.fromtimestamp(NOW - 60, UTC),
        "currency": "EUR",
        "item_count": 2,
        "skus": ["ABC-0001"],
        "total": "3.00",
    }
    rows = [
        {**base, "event_id": "e1"},
        {**base, "event_id": "e2", "currency": " usd", "user_id": " u2 "},  # repaired
        {**base, "event_id": "e3", "skus": ["ABC-0001", "ABC-0002", "ABC-0003"]},  # quarantined
        {**base, "event_id": "e4"},
    ]
    outcome = gate.evaluate("dt=x", rows, [b"{}\n"] * 4)
    assert [r["event_id"] for r in outcome.rows] == ["e1", "e2", "e4"]
    assert outcome.rows[1]["_corrected"] is True and outcome.rows[1]["currency"] == "USD"
    assert [(r["event_id"], kind) for r, kind, _ in outcome.rejected] == [("e3", "CheckFailed")]
    # currency and skus fail 1 of 4 rows each (" u2 " is not empty); the rest pass
    assert outcome.result.failing == {"currency": 1, "skus": 1}
    assert outcome.result.score == pytest.approx((0.75 + 1 + 0.75 + 1 + 2 + 1 + 1) / 8)
    assert outcome.result.decision == "write_and_alert"
