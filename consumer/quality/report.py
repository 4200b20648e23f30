"""`sluice quality report`: scores and failing checks over a period, from the manifests the
S3 sinks write under `<prefix>/_quality/` (one JSON object per gated batch)."""

from __future__ import annotations

import argparse
import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from consumer.config import PipelineConfig
from consumer.sinks.s3 import MANIFEST_DIR, S3SinkConfig

_PERIOD = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def configure_parser(quality: argparse.ArgumentParser) -> None:
    commands = quality.add_subparsers(dest="quality_command", required=True)
    report = commands.add_parser(
        "report", help="summarise quality scores and failing checks from the S3 manifests"
    )
    report.add_argument("--config", required=True, help="the pipeline file")
    report.add_argument(
        "--since", default="24h", help="period to cover: 30m, 24h, 7d (default 24h)"
    )
    report.add_argument("--json", action="store_true", help="print JSON, not text")


def parse_period(text: str) -> float:
    """Seconds in '90s', '30m', '24h', '7d'."""
    match = _PERIOD.match(text.strip())
    if match is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a period such as 30m, 24h or 7d")
    return float(match.group(1)) * _UNIT_S[match.group(2)]


def manifest_locations(config: PipelineConfig) -> list[tuple[str, str]]:
    """(bucket, prefix) of every S3 sink and of an S3 quarantine, without duplicates."""
    configs: list[Any] = [*config.sinks.values(), config.quarantine]
    found = {(c.bucket, c.prefix.strip("/")) for c in configs if isinstance(c, S3SinkConfig)}
    return sorted(found)


def read_manifests(
    s3: Any, locations: Iterable[tuple[str, str]], since: float
) -> Iterator[dict[str, Any]]:
    for bucket, prefix in locations:
        root = f"{prefix}/{MANIFEST_DIR}/" if prefix else f"{MANIFEST_DIR}/"
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=root):
            for entry in page.get("Contents", []):
                if entry["LastModified"].timestamp() < since:
                    continue
                body = s3.get_object(Bucket=bucket, Key=entry["Key"])["Body"].read()
                manifest: dict[str, Any] = orjson.loads(body)
                if manifest.get("written_at", since) >= since:
                    yield manifest


@dataclass
class RouteSummary:
    batches: int = 0
    failed: int = 0
    rows: int = 0
    corrected: int = 0
    quarantined: int = 0
    scores: list[float] = field(default_factory=list)
    decisions: dict[str, int] = field(default_factory=dict)
    failing_checks: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "batches": self.batches,
            "failed_batches": self.failed,
            "mean_score": round(sum(self.scores) / len(self.scores), 4) if self.scores else None,
            "min_score": round(min(self.scores), 4) if self.scores else None,
            "rows": self.rows,
            "corrected": self.corrected,
            "quarantined": self.quarantined,
            "decisions": dict(sorted(self.decisions.items())),
            "failing_checks": dict(sorted(self.failing_checks.items(), key=lambda kv: -kv[1])),
        }


def summarise(manifests: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per route; a batch written to several S3 sinks counts once (route, partition, object
    name without the sink's prefix)."""
    seen: set[tuple[str, str, str]] = set()
    routes: dict[str, RouteSummary] = {}
    for manifest in manifests:
        name = str(manifest.get("object", "")).rsplit("/", 1)[-1]
        identity = (manifest["route"], manifest["output_partition"], name)
        if identity in seen:
            continue
        seen.add(identity)
        summary = routes.setdefault(manifest["route"], RouteSummary())
        summary.batches += 1
        summary.failed += manifest["decision"] != "pass"
        summary.rows += manifest["rows"]
        summary.corrected += manifest["corrected"]
        summary.quarantined += manifest["quarantined"]
        summary.scores.append(manifest["score"])
        summary.decisions[manifest["decision"]] = summary.decisions.get(manifest["decision"], 0) + 1
        for check, count in manifest["failing"].items():
            summary.failing_checks[check] = summary.failing_checks.get(check, 0) + count
    return {route: routes[route].as_dict() for route in sorted(routes)}


def render(report: dict[str, dict[str, Any]], period: str) -> str:
    if not report:
        return f"no quality manifests in the last {period}"
    lines = [f"quality over the last {period}"]
    for route, s in report.items():
        lines.append(
            f"{route}: {s['batches']} batches, {s['failed_batches']} below threshold, "
            f"score mean {s['mean_score']} min {s['min_score']}, {s['rows']} rows, "
            f"{s['corrected']} corrected, {s['quarantined']} quarantined"
        )
        for check, count in s["failing_checks"].items():
            lines.append(f"  {check}: {count} failure(s)")
    return "\n".join(lines)


def report(s3: Any, config: PipelineConfig, period_s: float) -> dict[str, dict[str, Any]]:
    return summarise(read_manifests(s3, manifest_locations(config), time.time() - period_s))
