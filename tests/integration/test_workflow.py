"""Workflows: three steps with a two-part parallel extract, inline and as emulated ECS
tasks (RunTask over HTTP, commands run by the local ECS agent), retries, failure, SNS."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from batch_jobs.workflow.config import load_workflow
from batch_jobs.workflow.runner import WorkflowRunner
from batch_jobs.workflow.runrecord import RunRecords, create_runs_table
from consumer.aws.clients import AwsClients
from consumer.aws.ecs import EcsLauncher
from consumer.cli.workflow import render_status
from consumer.local.emulator_ecs import LocalEcsAgent
from tests.integration.ecs_harness import ecs_cluster, topic_with_queue
from tests.integration.harness import REPO, reading
from tests.integration.http_api import Api, serve
from tests.integration.workflow_files import (
    drop_table,
    extract_tasks,
    final_outputs,
    put_sources,
    source_table,
    workflow,
)

pytestmark = pytest.mark.integration


@pytest.fixture()
def sources(aws: AwsClients, unique: str, pg_url: str) -> Iterator[tuple[Api, str, set[str]]]:
    """200 readings behind a paginated HTTP API and 200 in a PostgreSQL table."""
    aws.client("s3").create_bucket(Bucket=f"lake-{unique}")
    items = [orjson.loads(reading(n)[1]) for n in range(200)]
    table = f"src_{unique}"
    ids = source_table(pg_url, table, 200, 200) | {item["id"] for item in items}
    aws.client("secretsmanager").create_secret(Name=f"api-{unique}", SecretString="Bearer t0k")
    try:
        with serve(Api(items, per_page=25, header="Authorization", credential="Bearer t0k")) as api:
            yield api, table, ids
    finally:
        drop_table(pg_url, table)


def test_three_steps_inline_and_on_ecs_give_the_same_result(
    aws: AwsClients,
    unique: str,
    tmp_path: Path,
    agent: LocalEcsAgent,
    pg_url: str,
    sources: tuple[Api, str, set[str]],
) -> None:
    # GIVEN 400 readings in two sources (an HTTP API, a PostgreSQL table), and the same
    # three-step workflow with a two-part parallel extract in two folders
    api, table, ids = sources
    topic, _ = topic_with_queue(aws, unique)
    launch = ecs_cluster(aws, unique)
    extracts = extract_tasks(unique, api.url, pg_url, table)
    results = {}
    for mode in ("inline", "ecs"):
        folder = tmp_path / mode
        folder.mkdir()
        path = workflow(folder, unique, topic, final_prefix="final/{run_id}", extracts=extracts)
        config = load_workflow(path).model_copy(update={"launch": mode})
        create_runs_table(aws.client("dynamodb"), config.runs_table)
        launcher = EcsLauncher(aws.client("ecs"), launch) if mode == "ecs" else None
        # WHEN it runs inline, then with every unit as an ECS task
        ok = WorkflowRunner(config, str(path), aws, launcher).run(f"run-{mode}")
        assert ok, render_status(
            f"run-{mode}", RunRecords(aws.client("dynamodb"), config.runs_table).read(f"run-{mode}")
        )
        results[mode] = final_outputs(aws, unique, folder, f"final/run-{mode}")
        units = RunRecords(aws.client("dynamodb"), config.runs_table).units(f"run-{mode}")
        assert sorted(units) == ["extract.0.0", "extract.1.0", "load.0.0", "transform.0.0"]
        assert {u["state"] for u in units.values()} == {"succeeded"}
        assert all(("task_arn" in u) == (mode == "ecs") for u in units.values())

    # THEN both runs loaded every reading once, enriched, with identical rows
    lake, db = results["inline"]
    assert results["ecs"] == results["inline"]
    assert {row[0] for row in db} == ids and len(db) == len(ids)
    assert sorted(row["id"] for row in lake) == sorted(ids)
    assert all(row[4] == row[3] * 2 for row in db)
    # AND each run read every page of the API once, and the ECS units really were RunTask
    # calls with the unit command, run by the agent
    assert api.pages_fetched() == list(range(8)) * 2
    assert len(agent.ran) == 4 and {r.exit_code for r in agent.ran} == {0}
    assert {tuple(r.command[:3]) for r in agent.ran} == {("batch", "workflow", "unit")}


def test_a_failing_step_is_retried_then_the_run_fails_and_is_announced(
    aws: AwsClients, unique: str, tmp_path: Path
) -> None:
    # GIVEN a workflow whose transform step reads a corrupt object (every attempt fails)
    put_sources(aws, unique, 100)
    aws.client("s3").put_object(Bucket=f"lake-{unique}", Key="bad/x.jsonl.gz", Body=b"\x1f\x8b")
    topic, queue = topic_with_queue(aws, unique)
    path = workflow(tmp_path, unique, topic, transform_prefix="bad/")
    config = load_workflow(path)
    create_runs_table(aws.client("dynamodb"), config.runs_table)

    # WHEN it runs
    ok = WorkflowRunner(config, str(path), aws).run("run-1")

    # THEN the transform unit was tried twice, the run failed, load never ran
    records = RunRecords(aws.client("dynamodb"), config.runs_table)
    items = records.read("run-1")
    assert not ok and items["run"]["state"] == "failed"
    transform = items["unit#transform.0.0"]
    assert (transform["state"], transform["attempts"]) == ("failed", 2)
    assert "InvalidGzip" in transform["error"] or "bad/x.jsonl.gz" in transform["error"]
    assert "unit#load.0.0" not in items
    assert "transform.0.0" in render_status("run-1", items)
    # AND the topic was told, with the run, the step and the unit's error
    messages = aws.client("sqs").receive_message(QueueUrl=queue, WaitTimeSeconds=1)["Messages"]
    notice = orjson.loads(messages[0]["Body"])
    assert (notice["run_id"], notice["step"], notice["state"]) == ("run-1", "transform", "failed")
    assert "transform.0.0" in notice["units"]


def test_a_resumed_run_skips_what_succeeded_and_redoes_the_rest(
    aws: AwsClients, unique: str, tmp_path: Path
) -> None:
    # GIVEN a run that failed at its transform step (its input was missing: corrupt)
    ids = put_sources(aws, unique, 100)
    s3 = aws.client("s3")
    topic, _ = topic_with_queue(aws, unique)
    broken = workflow(tmp_path, unique, topic, transform_prefix="bad/")
    s3.put_object(Bucket=f"lake-{unique}", Key="bad/x.jsonl.gz", Body=b"\x1f\x8b")
    config = load_workflow(broken)
    create_runs_table(aws.client("dynamodb"), config.runs_table)
    assert not WorkflowRunner(config, str(broken), aws).run("run-r")
    records = RunRecords(aws.client("dynamodb"), config.runs_table)
    extract_attempts = {k: v["attempts"] for k, v in records.units("run-r").items()}

    # WHEN the workflow is fixed and the same run resumed
    fixed = workflow(tmp_path, unique, topic)
    assert WorkflowRunner(load_workflow(fixed), str(fixed), aws).run("run-r")

    # THEN the extract units were not run again, and every reading was loaded once
    units = records.units("run-r")
    assert units["extract.0.0"]["attempts"] == extract_attempts["extract.0.0"] == 1
    assert units["transform.0.0"]["attempts"] == 3
    _, db = final_outputs(aws, unique, tmp_path)
    assert {row[0] for row in db} == ids and len(db) == len(ids)
    assert os.path.exists(tmp_path / "wf.db")


def test_an_ecs_unit_that_dies_is_failed_by_the_orchestrator_and_retried(
    aws: AwsClients, unique: str, tmp_path: Path, agent_env: dict[str, str]
) -> None:
    # GIVEN ECS units that die (SIGKILL-like exit) at their first write to the lake
    put_sources(aws, unique, 100)
    topic, _ = topic_with_queue(aws, unique)
    path = workflow(tmp_path, unique, topic)
    config = load_workflow(path).model_copy(update={"launch": "ecs"})
    create_runs_table(aws.client("dynamodb"), config.runs_table)
    launcher = EcsLauncher(aws.client("ecs"), ecs_cluster(aws, unique))
    dying = {**agent_env, "SLUICE_CRASH_AT": "before_sink_write_lake:1"}

    # WHEN the workflow runs
    with LocalEcsAgent(aws.client("ecs"), f"batch-{unique}", dying, REPO) as agent:
        ok = WorkflowRunner(config, str(path), aws, launcher).run("run-k")

    # THEN each extract unit's task died without finishing, was failed by the orchestrator
    # with the task's stop reason, tried again, and the run failed at the first step
    units = RunRecords(aws.client("dynamodb"), config.runs_table).units("run-k")
    assert not ok and sorted(units) == ["extract.0.0", "extract.1.0"]
    for unit in units.values():
        assert (unit["state"], unit["attempts"]) == ("failed", 2)
        assert "task stopped before finishing" in unit["error"] and "137" in unit["error"]
    assert len(agent.ran) == 4 and {r.exit_code for r in agent.ran} == {137}
