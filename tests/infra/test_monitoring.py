"""infra/monitoring: the alarms and the dashboard use only the metrics contract, and every
placeholder they hold is one the Terraform fills in."""

from __future__ import annotations

import json
import re
from typing import Any

from tests.infra.tf import INFRA, MODULES, load_dir

# The metrics contract (issue 6): names, and the units the alarms rely on.
CONTRACT = {
    "RecordsIn": "Count",
    "RecordsWritten": "Count",
    "RecordsQuarantined": "Count",
    "RecordsRetried": "Count",
    "RecordsDropped": "Count",
    "BatchSize": "Count",
    "FlushLatency": "Milliseconds",
    "EndToEndLag": "Milliseconds",
    "IteratorAge": "Milliseconds",
    "SqsOldestMessageAge": "Seconds",
    "BacklogPerTask": "Count",
    "KinesisRecordsBehind": "Count",
    "FlushFailures": "Count",
    "QualityAlerts": "Count",
    "QualityScore": "None",
    "QualityBatchesFailed": "Count",
    "RowsCorrected": "Count",
}
DIMENSIONS = {"service", "route", "source", "sink", "error_type", "stage"}
MONITORING = INFRA / "monitoring"


def _alarms() -> list[dict[str, Any]]:
    alarms: list[dict[str, Any]] = json.loads(
        (MONITORING / "alarms.json").read_text(encoding="utf-8")
    )["alarms"]
    return alarms


def _placeholders(text: str) -> set[str]:
    return set(re.findall(r"\$\{([a-z_]+)\}", text))


def test_alarm_metrics_are_in_the_contract() -> None:
    for alarm in _alarms():
        for query in alarm["queries"]:
            metric = query.get("metric")
            if metric is None or metric["namespace"] != "sluice":
                continue
            assert metric["name"] in CONTRACT, metric["name"]
            assert set(metric["dimensions"]) <= DIMENSIONS
            if "unit" in metric:
                assert metric["unit"] == CONTRACT[metric["name"]], metric["name"]


def test_the_promised_alarms_exist_and_are_well_formed() -> None:
    alarms = {alarm["id"]: alarm for alarm in _alarms()}
    assert len(alarms) == len(_alarms()), "alarm ids must be unique"
    assert {
        "iterator-age",
        "dlq-depth",
        "quarantine-rate",
        "flush-failures",
        "no-successful-flush-kinesis",
        "no-successful-flush-sqs",
        "quality-alerts",
        "cpu-high",
        "memory-high",
    } <= set(alarms)
    for alarm in alarms.values():
        assert alarm["description"]
        assert set(alarm["sources"]) <= {"kinesis", "sqs"}
        returned = [query for query in alarm["queries"] if query["return_data"]]
        assert len(returned) == 1, alarm["id"]
        ids = {query["id"] for query in alarm["queries"]}
        assert all(re.fullmatch(r"[a-z][a-zA-Z0-9_]*", query_id) for query_id in ids)


def test_dashboard_uses_contract_metrics() -> None:
    dashboard = json.loads((MONITORING / "dashboard.json").read_text(encoding="utf-8"))
    names: set[str] = set()
    for widget in dashboard["widgets"]:
        for row in widget["properties"].get("metrics", []):
            if isinstance(row[0], str) and row[0] == "sluice":
                names.add(row[1])
            elif isinstance(row[0], dict) and "{sluice," in row[0].get("expression", ""):
                names.update(re.findall(r'MetricName="([A-Za-z]+)"', row[0]["expression"]))
    assert names <= set(CONTRACT)
    assert {
        "RecordsIn",
        "IteratorAge",
        "BacklogPerTask",
        "KinesisRecordsBehind",
        "FlushFailures",
        "QualityScore",
    } <= names


def test_every_placeholder_is_filled_by_terraform() -> None:
    provided = load_dir(MODULES / "monitoring").locals["template_values"]
    for name in ("alarms.json", "dashboard.json"):
        used = _placeholders((MONITORING / name).read_text(encoding="utf-8"))
        assert used <= set(provided), f"{name}: {sorted(used - set(provided))}"
