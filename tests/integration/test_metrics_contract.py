"""The EMF lines of a real run against the written contract."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from consumer.aws.clients import AwsClients
from consumer.runtime.metrics import CONTRACT
from tests.integration.harness import Harness, reading

pytestmark = pytest.mark.integration
DOC = Path(__file__).resolve().parents[2] / "docs" / "metrics.md"


def _metrics(line: dict[str, Any]) -> list[tuple[str, str, tuple[str, ...]]]:
    [directive] = line["_aws"]["CloudWatchMetrics"]
    [dimensions] = directive["Dimensions"]
    assert directive["Namespace"] == "sluice"
    return [(m["Name"], m["Unit"], tuple(dimensions)) for m in directive["Metrics"]]


def test_a_run_emits_the_contract_and_the_counts_add_up(
    aws: AwsClients, unique: str, tmp_path: Path
) -> None:
    # GIVEN 120 readings, 6 of them bad
    harness = Harness.create(aws, unique, tmp_path)
    records = [reading(i) for i in range(120)]
    for i in range(0, 120, 20):
        records[i] = (f"bad-{i}", b'{"type": "reading", "id": ')
    harness.put(records)

    # WHEN consumed
    harness.run()

    # THEN every EMF line uses contract names, units and dimension sets
    lines = [orjson.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    seen = set()
    for line in lines:
        assert line["service"] == harness.config.name
        assert line.get("source", harness.stream) == harness.stream  # none: KinesisRecordsBehind
        for name, unit, dimensions in _metrics(line):
            expected_unit, dimension_sets = CONTRACT[name]
            assert unit == expected_unit and dimensions in dimension_sets, (name, dimensions)
            seen.add(name)
    per_flush = {
        "RecordsIn",
        "RecordsWritten",
        "RecordsQuarantined",
        "RecordsFiltered",
        "RecordsDropped",
        "RecordsRetried",
        "BatchSize",
        "FlushLatency",
        "EndToEndLag",
        "IteratorAge",
        "RowsWritten",
    }
    assert per_flush <= seen

    # AND the counts add up over the run
    summary = [x for x in lines if "RecordsIn" in x]
    total = {
        k: sum(x[k] for x in summary)
        for k in (
            "RecordsIn",
            "RecordsWritten",
            "RecordsQuarantined",
            "RecordsFiltered",
            "RecordsDropped",
        )
    }
    assert total == {
        "RecordsIn": 120,
        "RecordsWritten": 114,
        "RecordsQuarantined": 6,
        "RecordsFiltered": 0,
        "RecordsDropped": 0,
    }
    by_error = [x for x in lines if "error_type" in x]
    assert sum(x["RecordsQuarantined"] for x in by_error) == 6
    assert {(x["stage"], x["error_type"]) for x in by_error} == {("decode", "InvalidJson")}


def test_the_contract_is_documented() -> None:
    text = DOC.read_text()
    for name, (unit, _) in CONTRACT.items():
        assert f"| `{name}` | {unit} |" in text, name
