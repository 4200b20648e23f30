"""AWS Batch on the emulator: `sluice batch submit JOB --launch batch --parts N` submits an
array job (one plain job for one part), the emulator's jobs run as real `sluice` processes
(consumer/local/emulator_batch.py) with the array index AWS Batch sets, and
`sluice batch status JOB_ID --aws-batch` reads the job and its parts back."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from consumer.aws.clients import AwsClients
from consumer.local.emulator_batch import LocalBatchRunner
from tests.configfile import write_toml
from tests.integration.ecs_harness import IMAGE, ecs_cluster
from tests.integration.harness import REPO, Harness, reading

pytestmark = pytest.mark.integration


def _queue(aws: AwsClients, unique: str, retry_attempts: int = 1) -> tuple[str, str]:
    """A Fargate compute environment, its queue and a job definition of the image."""
    iam, batch = aws.client("iam"), aws.client("batch")
    trust = orjson.dumps({"Version": "2012-10-17", "Statement": []}).decode()
    role = iam.create_role(RoleName=f"batch-{unique}", AssumeRolePolicyDocument=trust)["Role"]
    network = ecs_cluster(aws, unique)
    environment = batch.create_compute_environment(
        computeEnvironmentName=f"fargate-{unique}",
        type="MANAGED",
        state="ENABLED",
        computeResources={
            "type": "FARGATE",
            "maxvCpus": 16,
            "subnets": list(network.subnets),
            "securityGroupIds": list(network.security_groups),
        },
        serviceRole=role["Arn"],
    )
    batch.create_job_queue(
        jobQueueName=f"sluice-{unique}",
        state="ENABLED",
        priority=1,
        computeEnvironmentOrder=[
            {"order": 1, "computeEnvironment": environment["computeEnvironmentArn"]}
        ],
    )
    batch.register_job_definition(
        jobDefinitionName=f"sluice-{unique}",
        type="container",
        platformCapabilities=["FARGATE"],
        containerProperties={
            "image": IMAGE,
            "command": ["run", "--config", "/app/pipeline.toml", "--until-idle"],
            "jobRoleArn": role["Arn"],
            "executionRoleArn": role["Arn"],
            "resourceRequirements": [
                {"type": "VCPU", "value": "1"},
                {"type": "MEMORY", "value": "2048"},
            ],
        },
        retryStrategy={"attempts": retry_attempts},
    )
    return f"sluice-{unique}", f"sluice-{unique}"


def _sluice(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "consumer", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _until_done(env: dict[str, str], job_id: str, limit_s: float = 180) -> dict[str, Any]:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        done = _sluice(env, "batch", "status", job_id, "--aws-batch", "--json")
        status: dict[str, Any] = orjson.loads(done.stdout)
        if status["status"] in ("SUCCEEDED", "FAILED"):
            return status
        time.sleep(0.5)
    raise AssertionError(f"AWS Batch job {job_id} still running after {limit_s} s")


@pytest.fixture()
def runner(agent_env: dict[str, str]) -> Iterator[LocalBatchRunner]:
    with LocalBatchRunner(agent_env, REPO) as running:
        yield running


@pytest.fixture()
def shell(agent_env: dict[str, str]) -> dict[str, str]:
    return {**agent_env, "PATH": "/usr/bin:/bin"}


def _inputs(harness: Harness, bucket: str, objects: int, per_object: int) -> set[str]:
    ids = set()
    for number in range(objects):
        first = number * per_object
        lines = [reading(n)[1] for n in range(first, first + per_object)]
        key = f"in/part-{number}.jsonl"
        harness.aws.client("s3").put_object(Bucket=bucket, Key=key, Body=b"\n".join(lines))
        ids |= {f"r{n}" for n in range(first, first + per_object)}
    return ids


def test_an_array_job_takes_one_part_per_child_and_status_reads_it_back(
    aws: AwsClients, unique: str, tmp_path: Path, runner: LocalBatchRunner, shell: dict[str, str]
) -> None:
    # GIVEN 12 objects of readings, a pipeline, and an AWS Batch queue on the emulator
    harness = Harness.create(aws, unique, tmp_path)
    config = write_toml(harness.config, tmp_path / "pipeline.toml")
    bucket = f"lake-{unique}"
    ids = _inputs(harness, bucket, objects=12, per_object=10)
    queue, definition = _queue(aws, unique)
    env = {**shell, "SLUICE_BATCH_JOB_QUEUE": queue, "SLUICE_BATCH_JOB_DEFINITION": definition}

    # WHEN a backfill is submitted as 3 parts
    done = _sluice(
        env, "batch", "submit", "backfill", "--config", str(config),
        "--param", f"bucket={bucket}", "--param", "prefix=in/", "--launch", "batch", "--parts", "3",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    submitted = orjson.loads(done.stdout)
    status = _until_done(env, submitted["job_id"])

    # THEN it was one array job of 3 children, each running the job for its index
    assert (status["status"], status["size"]) == ("SUCCEEDED", 3)
    assert status["summary"] == {"SUCCEEDED": 3}
    assert [c["index"] for c in status["children"]] == [0, 1, 2]
    assert sorted(r.environment["AWS_BATCH_JOB_ARRAY_INDEX"] for r in runner.ran) == ["0", "1", "2"]
    assert {r.environment["SLUICE_PARTS"] for r in runner.ran} == {"3"}
    assert all("--part" not in r.command for r in runner.ran)
    # AND together the children loaded every reading exactly once
    lake = harness.lake_ids()
    assert set(lake) == ids and set(lake.values()) == {1}
    # AND status as text names each part; it exits 0 for a succeeded job
    text = _sluice(env, "batch", "status", submitted["job_id"], "--aws-batch")
    assert text.returncode == 0, text.stderr
    assert "SUCCEEDED" in text.stdout and "part 2/3" in text.stdout


def test_one_part_is_one_job_and_a_failing_job_is_retried_then_failed(
    aws: AwsClients, unique: str, tmp_path: Path, runner: LocalBatchRunner, shell: dict[str, str]
) -> None:
    # GIVEN a job definition that retries twice, and an input that cannot be read
    harness = Harness.create(aws, unique, tmp_path)
    config = write_toml(harness.config, tmp_path / "pipeline.toml")
    bucket = f"lake-{unique}"
    aws.client("s3").put_object(Bucket=bucket, Key="bad/x.jsonl.gz", Body=b"\x1f\x8b")
    queue, definition = _queue(aws, unique, retry_attempts=2)
    env = {**shell, "SLUICE_BATCH_JOB_QUEUE": queue, "SLUICE_BATCH_JOB_DEFINITION": definition}

    # WHEN it is submitted as one part
    done = _sluice(
        env, "batch", "submit", "backfill", "--config", str(config),
        "--param", f"bucket={bucket}", "--param", "prefix=bad/", "--launch", "batch",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    status = _until_done(env, orjson.loads(done.stdout)["job_id"])

    # THEN it was a plain job (no array, no index), tried twice, and failed with exit 1
    assert (status["status"], status["size"], status["children"]) == ("FAILED", 1, [])
    assert [r.environment["AWS_BATCH_JOB_ATTEMPT"] for r in runner.ran] == ["1", "2"]
    assert all("AWS_BATCH_JOB_ARRAY_INDEX" not in r.environment for r in runner.ran)
    assert {r.exit_code for r in runner.ran} == {1}
    assert _sluice(env, "batch", "status", status["job_id"], "--aws-batch").returncode == 3


def test_submit_refuses_parts_without_batch_and_names_missing_settings(
    shell: dict[str, str],
) -> None:
    argv = ["batch", "submit", "backfill", "--config", "p.toml"]
    done = _sluice(shell, *argv, "--launch", "ecs", "--parts", "3")
    assert done.returncode != 0 and "--parts N is an AWS Batch array job" in done.stderr
    done = _sluice(shell, *argv, "--launch", "batch", "--parts", "3")
    assert done.returncode != 0
    assert "--batch-job-definition, --batch-job-queue" in done.stderr
