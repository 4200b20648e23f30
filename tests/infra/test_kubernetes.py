"""infra/kubernetes: every manifest parses, the workloads are hardened, the KEDA scalers
and batch jobs carry the fields the docs promise, and their args parse with the CLI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from batch_jobs.parts import parse_part, select
from consumer.cli.main import _parser
from consumer.config import load_config
from tests.infra.tf import INFRA, ROOT

KUBERNETES = INFRA / "kubernetes"


def _load(path: Path) -> list[dict[str, Any]]:
    yaml = pytest.importorskip("yaml", reason="PyYAML is not installed: manifest checks skipped")
    docs: list[dict[str, Any]] = [
        doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc
    ]
    return docs


def _all() -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (doc["kind"], doc.get("metadata", {}).get("name", path.name)): doc
        for path in sorted(KUBERNETES.glob("*.yaml"))
        for doc in _load(path)
    }


def _pod(workload: dict[str, Any]) -> dict[str, Any]:
    spec = workload["spec"]
    if workload["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    pod: dict[str, Any] = spec["template"]["spec"]
    return pod


WORKLOADS = [
    ("Deployment", "sluice-kinesis"),
    ("Deployment", "sluice-sqs"),
    ("Job", "sluice-batch"),
    ("CronJob", "sluice-batch-nightly"),
]


@pytest.mark.parametrize("path", sorted(KUBERNETES.glob("*.yaml")), ids=lambda p: p.name)
def test_every_manifest_parses(path: Path) -> None:
    docs = _load(path)
    assert docs
    for doc in docs:
        assert doc["apiVersion"] and doc["kind"]


@pytest.mark.parametrize("key", WORKLOADS, ids=lambda key: key[1])
def test_workloads_are_hardened(key: tuple[str, str]) -> None:
    pod = _pod(_all()[key])
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001
    assert pod["automountServiceAccountToken"] is False
    (container,) = pod["containers"]
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    assert "@sha256:" in container["image"]
    assert {"cpu", "memory"} <= set(container["resources"]["requests"])
    assert "memory" in container["resources"]["limits"]
    assert {"mountPath": "/tmp", "name": "scratch"} in container["volumeMounts"]
    _parser().parse_args(container["args"])


@pytest.mark.parametrize("name", ["sluice-kinesis", "sluice-sqs"])
def test_consumers_probe_the_health_endpoint(name: str) -> None:
    (container,) = _pod(_all()[("Deployment", name)])["containers"]
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "health"}
    (port,) = container["ports"]
    env = {item["name"]: item["value"] for item in container["env"]}
    assert env["SLUICE__HEALTH__PORT"] == str(port["containerPort"])
    assert env["SLUICE__HEALTH__HOST"] == "0.0.0.0"
    pipeline = container["args"][container["args"].index("--config") + 1]
    config = load_config(ROOT / "examples/clickstream" / Path(pipeline).name, env=env)
    assert config.health.port == port["containerPort"]


def test_polling_reader_runs_one_replica_recreated() -> None:
    deployment = _all()[("Deployment", "sluice-kinesis")]
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"]["type"] == "Recreate"


def test_keda_scales_sqs_on_queue_length_and_kinesis_on_shards() -> None:
    manifests = _all()
    sqs = manifests[("ScaledObject", "sluice-sqs")]["spec"]
    assert sqs["scaleTargetRef"]["name"] == "sluice-sqs"
    (trigger,) = sqs["triggers"]
    assert trigger["type"] == "aws-sqs-queue"
    assert {"queueURL", "queueLength", "awsRegion"} <= set(trigger["metadata"])
    kinesis = manifests[("ScaledObject", "sluice-kinesis")]["spec"]
    (trigger,) = kinesis["triggers"]
    assert trigger["type"] == "aws-kinesis-stream"
    assert trigger["metadata"]["shardCount"] == "1"
    assert ("TriggerAuthentication", "sluice-aws") in manifests


def test_batch_job_and_cronjob() -> None:
    manifests = _all()
    job = manifests[("Job", "sluice-batch")]
    assert _pod(job)["restartPolicy"] == "Never"
    cron = manifests[("CronJob", "sluice-batch-nightly")]
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    assert cron["spec"]["schedule"]


def test_the_batch_job_is_indexed_one_pod_per_part() -> None:
    """completions = SLUICE_PARTS: pod i takes part i of N from JOB_COMPLETION_INDEX (the
    args leave --part unset), and the N pods together take every input exactly once."""
    job = _all()[("Job", "sluice-batch")]
    spec = job["spec"]
    (container,) = _pod(job)["containers"]
    env = {item["name"]: item["value"] for item in container["env"]}
    parts = int(env["SLUICE_PARTS"])
    assert spec["completionMode"] == "Indexed"
    assert spec["completions"] == parts > 1
    assert 1 <= spec["parallelism"] <= parts
    assert spec["backoffLimitPerIndex"] >= 1 and spec["maxFailedIndexes"] == 0
    args = _parser().parse_args(container["args"])
    assert (args.batch_command, args.job, args.part) == ("run", "backfill", None)
    taken = [
        parse_part(args.part, {**env, "JOB_COMPLETION_INDEX": str(index)})
        for index in range(spec["completions"])
    ]
    assert taken == [(index, parts) for index in range(parts)]
    names = [f"exports/web/{n}.jsonl" for n in range(200)]
    chosen = [name for index, size in taken for name in select(names, index, size)]
    assert sorted(chosen) == sorted(names)


def test_kustomization_lists_existing_files_but_not_the_kcl_scaler() -> None:
    (kustomization,) = _load(KUBERNETES / "kustomization.yaml")
    resources = kustomization["resources"]
    assert all((KUBERNETES / name).is_file() for name in resources)
    assert "keda-kinesis.yaml" not in resources
