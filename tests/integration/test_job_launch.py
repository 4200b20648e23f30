"""Triggers: a job message runs a batch job in the service or starts it as an ECS task
(RunTask on the emulator, run by the local ECS agent); `sluice batch submit` from a shell."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from batch_jobs.messages.dispatch import BatchDispatch
from batch_jobs.messages.runner import JobRunner
from batch_jobs.messages.spec import JobLedger, create_ledger_table
from batch_jobs.registry import jobs_with
from consumer.aws.clients import AwsClients
from consumer.aws.ecs import EcsLauncher
from consumer.local.emulator_ecs import LocalEcsAgent
from consumer.sources.sqs import dlq
from tests.configfile import write_toml
from tests.integration.ecs_harness import IMAGE, ecs_cluster
from tests.integration.harness import REPO, Harness, reading
from tests.integration.test_jobs_and_dlq import _queues, _send

pytestmark = pytest.mark.integration


def _inputs(harness: Harness, bucket: str, count: int) -> None:
    lines = b"\n".join(reading(i)[1] for i in range(count))
    harness.aws.client("s3").put_object(Bucket=bucket, Key="in/part-0.jsonl", Body=lines)


def _runner(
    aws: AwsClients, unique: str, tmp_path: Path, launcher: EcsLauncher | None
) -> JobRunner:
    queue, dead = _queues(aws, unique)
    create_ledger_table(aws.client("dynamodb"), f"ledger-{unique}")
    return JobRunner(
        aws.client("sqs"),
        queue,
        dead,
        JobLedger(aws.client("dynamodb"), f"ledger-{unique}"),
        jobs=jobs_with({"user-job": lambda params: None}),
        wait_time_s=0,
        backoff_base_s=0,
        dispatch=BatchDispatch(aws, tmp_path, None),
        launcher=launcher,
    )


def _task(aws: AwsClients, cluster: str, arn: str) -> dict[str, object]:
    [task] = aws.client("ecs").describe_tasks(cluster=cluster, tasks=[arn])["tasks"]
    return dict(task)


def test_a_launch_ecs_message_starts_one_task_with_the_job_command(
    aws: AwsClients, unique: str, tmp_path: Path, agent: LocalEcsAgent
) -> None:
    # GIVEN a pipeline, 120 readings to backfill, and a runner with ECS settings
    harness = Harness.create(aws, unique, tmp_path)
    config = write_toml(harness.config, tmp_path / "pipeline.toml")
    bucket = f"lake-{unique}"
    _inputs(harness, bucket, 120)
    launch = ecs_cluster(aws, unique)
    runner = _runner(aws, unique, tmp_path, EcsLauncher(aws.client("ecs"), launch))
    spec = {
        "job": "backfill",
        "params": {"bucket": bucket, "prefix": "in/"},
        "config": str(config),
        "launch": "ecs",
        "idempotency_key": "bf-1",
    }

    # WHEN the same message arrives twice
    _send(aws, runner.queue, spec, spec)
    counts = runner.run(until_idle=True)

    # THEN one RunTask started the task definition's image with the job as its command
    assert (counts.launched, counts.skipped_done) == (1, 1)
    arns = aws.client("ecs").list_tasks(cluster=launch.cluster)["taskArns"]
    assert len(arns) == 1
    task = _task(aws, launch.cluster, arns[0])
    definition = aws.client("ecs").describe_task_definition(
        taskDefinition=str(task["taskDefinitionArn"])
    )["taskDefinition"]
    assert definition["containerDefinitions"][0]["image"] == IMAGE
    [override] = task["overrides"]["containerOverrides"]  # type: ignore[index]
    assert override["name"] == "sluice"
    assert override["command"] == [
        "batch", "run", "backfill", "--config", str(config),
        "--param", f"bucket={bucket}", "--param", "prefix=in/",
    ]  # fmt: skip
    assert task["launchType"] == "FARGATE" and task["startedBy"] == "sluice-backfill"
    # AND the ledger keeps the task's ARN
    item = aws.client("dynamodb").get_item(
        TableName=f"ledger-{unique}", Key={"idempotency_key": {"S": "bf-1"}}
    )["Item"]
    assert (item["status"]["S"], item["task_arn"]["S"]) == ("done", arns[0])
    # AND the task, run by the agent, did the backfill
    deadline = time.monotonic() + 60
    while not agent.ran and time.monotonic() < deadline:
        time.sleep(0.2)
    assert [r.exit_code for r in agent.ran] == [0]
    assert len(harness.lake_ids()) == 120


def test_an_inline_batch_message_runs_here_and_bad_ones_are_dead_lettered(
    aws: AwsClients, unique: str, tmp_path: Path
) -> None:
    # GIVEN a runner without ECS settings
    harness = Harness.create(aws, unique, tmp_path)
    config = write_toml(harness.config, tmp_path / "pipeline.toml")
    bucket = f"lake-{unique}"
    _inputs(harness, bucket, 50)
    runner = _runner(aws, unique, tmp_path, None)
    inline = {
        "job": "backfill",
        "params": {"bucket": bucket, "prefix": "in/"},
        "config": str(config),
        "idempotency_key": "bf-inline",
    }
    ecs = {**inline, "launch": "ecs", "idempotency_key": "bf-ecs"}
    user_on_ecs = {"job": "user-job", "launch": "ecs", "idempotency_key": "u-1"}
    no_config = {"job": "backfill", "params": {}, "idempotency_key": "bf-none"}

    # WHEN they arrive
    _send(aws, runner.queue, inline, ecs, user_on_ecs, no_config)
    counts = runner.run(until_idle=True)

    # THEN the inline one ran here; the others can never run and went to the DLQ, each
    # with its reason
    assert (counts.ran, counts.launched, counts.rejected) == (1, 0, 3)
    assert len(harness.lake_ids()) == 50
    reasons = sorted(
        letter.reason["message"] for letter in dlq.inspect(aws.client("sqs"), runner.dlq or "")
    )
    assert any("has no ECS settings" in reason for reason in reasons)
    assert any("is for batch jobs" in reason for reason in reasons)
    assert any("needs 'config'" in reason for reason in reasons)


def test_sluice_batch_submit_starts_the_task_from_a_shell(
    aws: AwsClients, emulator_endpoint: str, unique: str, tmp_path: Path
) -> None:
    # GIVEN ECS settings in the environment, as the service's task definition sets them
    launch = ecs_cluster(aws, unique)
    env = {
        "AWS_ENDPOINT_URL": emulator_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "PYTHONPATH": str(REPO),
        "PATH": "/usr/bin:/bin",
        "SLUICE_ECS_CLUSTER": launch.cluster,
        "SLUICE_ECS_TASK_DEFINITION": launch.task_definition,
        "SLUICE_ECS_SUBNETS": ",".join(launch.subnets),
    }
    # WHEN a job is submitted for part 2 of 4
    argv = [sys.executable, "-m", "consumer", "batch", "submit", "compact", "--config", "p.toml"]
    done = subprocess.run(
        [*argv, "--param", "bucket=b", "--part", "2/4"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip

    # THEN it printed the task's ARN, and the task runs that job's command
    assert done.returncode == 0, done.stderr
    out = orjson.loads(done.stdout)
    task = _task(aws, launch.cluster, out["task_arn"])
    [override] = task["overrides"]["containerOverrides"]  # type: ignore[index]
    assert override["command"] == [
        "batch", "run", "compact", "--config", "p.toml",
        "--param", "bucket=b", "--part", "2/4",
    ]  # fmt: skip


def test_sluice_batch_submit_to_a_queue_is_a_job_message_the_runner_runs(
    aws: AwsClients, emulator_endpoint: str, unique: str, tmp_path: Path
) -> None:
    # GIVEN a pipeline, 30 readings to backfill, and a job queue with its runner
    harness = Harness.create(aws, unique, tmp_path)
    config = write_toml(harness.config, tmp_path / "pipeline.toml")
    bucket = f"lake-{unique}"
    _inputs(harness, bucket, 30)
    runner = _runner(aws, unique, tmp_path, None)
    env = {
        "AWS_ENDPOINT_URL": emulator_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "PYTHONPATH": str(REPO),
        "PATH": "/usr/bin:/bin",
    }
    # WHEN the job is submitted to the queue from a shell, for inline runs
    argv = [sys.executable, "-m", "consumer", "batch", "submit", "backfill"]
    done = subprocess.run(
        [*argv, "--config", str(config), "--param", f"bucket={bucket}", "--param", "prefix=in/",
         "--launch", "inline", "--queue", runner.queue, "--idempotency-key", "sub-1"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    counts = runner.run(until_idle=True)

    # THEN the message was a valid job spec, and the runner ran it here once
    assert done.returncode == 0, done.stderr
    assert orjson.loads(done.stdout)["idempotency_key"] == "sub-1"
    assert (counts.ran, counts.rejected) == (1, 0)
    assert len(harness.lake_ids()) == 30
