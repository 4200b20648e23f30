"""Data quality end to end (issue 12): a real run over the emulator gates each batch,
marks and counts corrected rows, tags the S3 objects, writes manifests, emits the quality
metrics, and `sluice quality report` summarises them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from batch_jobs.registry import run_job
from consumer.aws.clients import AwsClients
from consumer.cli.main import main
from consumer.config import parse_config
from consumer.local.emulator import provision
from consumer.runtime.metrics import CONTRACT
from tests.configfile import write_toml
from tests.integration.harness import Harness, make_config, reading

pytestmark = pytest.mark.integration


def clamp(row: dict[str, Any]) -> dict[str, Any]:
    """A correction: a negative reading is a sensor glitch, stored as 0."""
    row["value"] = max(0.0, row["value"])
    return row


def _harness(aws: AwsClients, unique: str, tmp_path: Path) -> Harness:
    raw = make_config(unique, tmp_path / "it.db").model_dump(mode="json", by_alias=True)
    raw["routes"][0]["quality"] = {
        "checks": [
            {"name": "value_range", "kind": "range", "field": "value", "min": 0},
            {"name": "seq_ok", "kind": "consistency", "expr": "seq >= 0 and key != ''"},
            {"name": "unique_id", "kind": "uniqueness", "fields": ["id"]},
        ],
        "corrections": ["tests.integration.test_quality:clamp"],
        "threshold": 0.99,
        "policy": "write_and_alert",
    }
    config = parse_config(raw, "quality test")
    provision(config, aws)
    return Harness(config, aws, tmp_path)


def test_a_run_gates_tags_counts_and_reports(
    aws: AwsClients,
    unique: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # GIVEN 100 readings, 10 of them negative
    harness = _harness(aws, unique, tmp_path)
    records = [reading(i) for i in range(100)]
    for i in range(0, 100, 10):
        body = orjson.loads(records[i][1])
        records[i] = (records[i][0], orjson.dumps({**body, "value": -1.0}))
    harness.put(records)

    # WHEN consumed
    harness.run()

    # THEN every reading is in the lake, the 10 negative ones clamped and marked corrected
    rows = harness.lake_rows()
    assert sorted(row["id"] for row in rows) == sorted(f"r{i}" for i in range(100))
    corrected = {row["id"] for row in rows if row.get("_corrected")}
    assert corrected == {f"r{i}" for i in range(0, 100, 10)}
    assert all(row["value"] == 0.0 for row in rows if row["id"] in corrected)

    # AND every lake object carries its score and decision as tags, beside a manifest
    s3 = aws.client("s3")
    bucket = f"lake-{unique}"
    objects = [
        o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="lake/readings/")["Contents"]
    ]
    manifests = s3.list_objects_v2(Bucket=bucket, Prefix="lake/_quality/")["Contents"]
    assert objects and len(manifests) == len(objects)
    for key in objects:
        tags = {
            t["Key"]: t["Value"] for t in s3.get_object_tagging(Bucket=bucket, Key=key)["TagSet"]
        }
        assert set(tags) == {"sluice-quality-score", "sluice-quality-decision"}
        assert 0 <= float(tags["sluice-quality-score"]) <= 1

    # AND the quality metrics are emitted per route, with QualityAlerts for failing batches
    lines = [orjson.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    for line in lines:  # every record, the quality ones included, keeps to the contract
        [directive] = line["_aws"]["CloudWatchMetrics"]
        [dimensions] = directive["Dimensions"]
        for metric in directive["Metrics"]:
            unit, dimension_sets = CONTRACT[metric["Name"]]
            assert metric["Unit"] == unit and tuple(dimensions) in dimension_sets, metric
    scored = [x for x in lines if "QualityScore" in x]
    assert len(scored) == len(objects) and {x["route"] for x in scored} == {"readings"}
    assert sum(x["RowsCorrected"] for x in scored) == 10
    failed = sum(x["QualityBatchesFailed"] for x in scored)
    assert failed >= 1
    per_source = [x for x in lines if "QualityAlerts" in x and "route" not in x]
    assert sum(x["QualityAlerts"] for x in per_source) == failed

    # AND the report summarises the period from the manifests
    config_path = write_toml(harness.config, tmp_path / "pipeline.toml")
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws.endpoint_url or "")
    assert main(["quality", "report", "--config", str(config_path), "--json"]) == 0
    report = orjson.loads(capsys.readouterr().out)["readings"]
    assert report["rows"] == 100 and report["corrected"] == 10 and report["quarantined"] == 0
    assert report["batches"] == len(objects) and report["failed_batches"] == failed
    assert report["failing_checks"] == {"value_range": 10}
    assert report["decisions"].get("write_and_alert") == failed

    # AND a period with nothing in it reports nothing rather than failing
    assert main(["quality", "report", "--config", str(config_path), "--since", "bad"]) == 2


def test_replay_quarantine_leaves_quality_rejections_alone(
    aws: AwsClients, unique: str, tmp_path: Path
) -> None:
    # GIVEN a run whose quality check rejected every reading with a value from 5 up
    raw = make_config(unique, tmp_path / "it.db").model_dump(mode="json", by_alias=True)
    raw["routes"][0]["quality"] = {
        "checks": [{"name": "small", "kind": "range", "field": "value", "max": 4.95}],
        "threshold": 0.0,
    }
    config = parse_config(raw, "quality replay test")
    provision(config, aws)
    harness = Harness(config, aws, tmp_path)
    harness.put([reading(i) for i in range(100)])
    harness.run()
    assert len(harness.lake_ids()) == 50

    # WHEN the quarantine is replayed
    result = run_job(
        "replay-quarantine", {"bucket": f"lake-{unique}"}, config, aws, (0, 1), tmp_path
    )

    # THEN the quality rejections (output rows, not records) stay as they were
    assert result.ok and result.written == 0
    rows = harness.quarantine_rows()
    assert len(rows) == 50
    assert {(row["stage"], row["error_type"]) for row in rows} == {("quality", "CheckFailed")}
    assert len(harness.lake_ids()) == 50
