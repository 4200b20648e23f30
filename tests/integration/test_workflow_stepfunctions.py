"""Workflows rendered to Amazon States Language and run by the emulator's Step Functions
engine (moto's ASL interpreter, completed by consumer/local/emulator_sfn.py): every
workflow of examples/ and the tests is accepted as a state machine; an execution fans a
task out over its parts (a Map of ECS tasks that the local agent runs as real `sluice`
processes), retries a unit whose task died, and loads every reading once; a step that keeps
failing is caught, recorded, published to SNS, and fails the execution."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from botocore.exceptions import ClientError

from batch_jobs.parts import belongs
from batch_jobs.workflow.config import load_workflow
from batch_jobs.workflow.runrecord import RunRecords, create_runs_table
from batch_jobs.workflow.stepfunctions import StepFunctionsTarget, render, transitions
from consumer.aws.clients import AwsClients
from consumer.cli.workflow import render_status
from consumer.local.emulator_ecs import LocalEcsAgent
from tests.asl import workflow_files
from tests.integration.ecs_harness import ecs_cluster, topic_with_queue
from tests.integration.harness import REPO
from tests.integration.workflow_files import fan_out_tasks, final_outputs, put_sources, workflow

pytestmark = pytest.mark.integration
ROLE = "arn:aws:iam::123456789012:role/sluice-workflow"


def _target(aws: AwsClients, unique: str, path: Path, topic: str | None) -> StepFunctionsTarget:
    launch = ecs_cluster(aws, unique)
    config = load_workflow(path)
    return StepFunctionsTarget(
        cluster=launch.cluster,
        task_definition=launch.task_definition,
        container=launch.container,
        subnets=launch.subnets,
        security_groups=launch.security_groups,
        workflow_file=str(path),
        runs_table=config.runs_table,
        notify_topic_arn=topic,
    )


def _machine(aws: AwsClients, name: str, definition: dict[str, Any]) -> str:
    sfn = aws.client("stepfunctions")
    created = sfn.create_state_machine(
        name=name, definition=orjson.dumps(definition).decode(), roleArn=ROLE
    )
    arn: str = created["stateMachineArn"]
    return arn


def _finished(aws: AwsClients, execution: str, limit_s: float = 300) -> dict[str, Any]:
    sfn = aws.client("stepfunctions")
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        described: dict[str, Any] = sfn.describe_execution(executionArn=execution)
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.5)
    raise AssertionError(f"execution still running after {limit_s} s")


def _history(aws: AwsClients, execution: str) -> list[dict[str, Any]]:
    sfn = aws.client("stepfunctions")
    events: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"executionArn": execution, "maxResults": 1000}
    while True:
        page = sfn.get_execution_history(**kwargs)
        events += page["events"]
        if not page.get("nextToken"):
            return events
        kwargs["nextToken"] = page["nextToken"]


@pytest.fixture()
def agent_factory(aws: AwsClients, unique: str, agent_env: dict[str, str]) -> Iterator[Any]:
    agents: list[LocalEcsAgent] = []

    def start(**kwargs: Any) -> LocalEcsAgent:
        agent = LocalEcsAgent(aws.client("ecs"), f"batch-{unique}", agent_env, REPO, **kwargs)
        agents.append(agent.__enter__())
        return agent

    yield start
    for agent in agents:
        agent.__exit__(None, None, None)


def test_every_workflow_is_accepted_by_step_functions(
    aws: AwsClients, unique: str, tmp_path: Path
) -> None:
    # GIVEN every workflow of examples/ and the tests, rendered for a deployment
    paths = workflow_files(tmp_path)
    target = _target(aws, unique, paths[0], "arn:aws:sns:us-east-1:123456789012:t")
    for number, path in enumerate(paths):
        definition = render(load_workflow(path), target)
        # WHEN each is created as a state machine, THEN the emulator's parser accepts it
        arn = _machine(aws, f"wf-{unique}-{number}", definition)
        described = aws.client("stepfunctions").describe_state_machine(stateMachineArn=arn)
        assert orjson.loads(described["definition"]) == definition
    # AND it refuses a broken one, so acceptance means something (AWS answers
    # InvalidDefinition; moto a ClientError without a code, naming its parser)
    broken = render(load_workflow(paths[0]), target)
    broken["States"]["load"]["Type"] = "Parallels"
    with pytest.raises(ClientError, match="ASLParserException"):
        _machine(aws, f"wf-{unique}-broken", broken)


def test_an_execution_fans_out_retries_a_dead_unit_and_loads_everything_once(
    aws: AwsClients, unique: str, tmp_path: Path, agent_factory: Any
) -> None:
    # GIVEN readings under src/a/ (extracted in 3 parts, 2 at a time) and src/b/, the
    # three-step workflow as a state machine, and the task of one part of src/a/ that dies
    # (exit 137) at its first write to the lake, the first time only
    ids = put_sources(aws, unique, 100)
    topic, _ = topic_with_queue(aws, unique)
    path = workflow(tmp_path, unique, topic, extracts=fan_out_tasks(unique))
    config = load_workflow(path)
    create_runs_table(aws.client("dynamodb"), config.runs_table)
    keys = [f"src/a/part-{chunk}.jsonl" for chunk in range(2)]
    flaky = min(i for i in range(3) if any(belongs(key, i, 3) for key in keys))
    died: list[str] = []

    def task_env(command: Any) -> dict[str, str]:
        if f"{flaky}/3" in command and not died:
            died.append(" ".join(command))
            return {"SLUICE_CRASH_AT": "before_sink_write_lake:1"}
        return {}

    agent = agent_factory(task_env=task_env)
    machine = _machine(aws, f"wf-{unique}", render(config, _target(aws, unique, path, topic)))

    # WHEN the run is started as an execution named by its run id
    sfn = aws.client("stepfunctions")
    execution = sfn.start_execution(stateMachineArn=machine, name="run-s", input="{}")
    described = _finished(aws, execution["executionArn"])

    # THEN it succeeded and every reading was loaded once, enriched
    records = RunRecords(aws.client("dynamodb"), config.runs_table)
    assert described["status"] == "SUCCEEDED", render_status("run-s", records.read("run-s"))
    lake, db = final_outputs(aws, unique, tmp_path)
    assert {row[0] for row in db} == ids and len(db) == len(ids)
    assert sorted(row["id"] for row in lake) == sorted(ids)
    # AND the extract fanned out: one Map iteration and one ECS task per part
    events = _history(aws, execution["executionArn"])
    assert sum(e["type"] == "MapIterationStarted" for e in events) == 3
    # (the states entered are the transitions the cost model counts, docs/cost.md)
    assert sum(e["type"].endswith("StateEntered") for e in events) == transitions(config) == 14
    commands = [r.command for r in agent.ran]
    parts = sorted(c[-1] for c in commands if c[c.index("--unit") + 1] == "extract.0")
    assert parts == sorted(["0/3", "1/3", "2/3", f"{flaky}/3"])
    assert all(c[:3] == ["batch", "workflow", "unit"] and "run-s" in c for c in commands)
    # AND the unit whose task died was retried by Step Functions and then succeeded
    failed = [e for e in events if e["type"] == "TaskFailed"]
    assert [e["taskFailedEventDetails"]["error"] for e in failed] == ["States.TaskFailed"]
    assert sorted(r.exit_code for r in agent.ran) == [0] * (len(agent.ran) - 1) + [137]
    units = records.units("run-s")
    assert (units[f"extract.0.{flaky}"]["attempts"], units[f"extract.0.{flaky}"]["state"]) == (
        2,
        "succeeded",
    )
    assert {u["state"] for u in units.values()} == {"succeeded"}
    # AND the run record says so, as for a run of any other engine
    run = records.read("run-s")["run"]
    assert (run["state"], run["launch"]) == ("succeeded", "stepfunctions")
    # AND the run id cannot be started twice
    with pytest.raises(sfn.exceptions.ExecutionAlreadyExists):
        sfn.start_execution(stateMachineArn=machine, name="run-s", input='{"again": true}')


def test_a_step_that_keeps_failing_is_caught_announced_and_fails_the_execution(
    aws: AwsClients, unique: str, tmp_path: Path, agent_factory: Any
) -> None:
    # GIVEN a workflow whose transform step reads a corrupt object (every attempt fails)
    put_sources(aws, unique, 100)
    aws.client("s3").put_object(Bucket=f"lake-{unique}", Key="bad/x.jsonl.gz", Body=b"\x1f\x8b")
    topic, queue = topic_with_queue(aws, unique)
    path = workflow(tmp_path, unique, topic, transform_prefix="bad/")
    config = load_workflow(path)
    create_runs_table(aws.client("dynamodb"), config.runs_table)
    agent = agent_factory()
    machine = _machine(aws, f"wf-{unique}", render(config, _target(aws, unique, path, topic)))

    # WHEN it runs
    sfn = aws.client("stepfunctions")
    execution = sfn.start_execution(stateMachineArn=machine, name="run-f", input="{}")
    described = _finished(aws, execution["executionArn"])

    # THEN the execution failed at the transform step, after its two attempts
    assert described["status"] == "FAILED"
    assert described["error"] == "sluice.StepFailed"
    assert described["cause"] == "step transform failed: States.TaskFailed"
    units = [r.command[r.command.index("--unit") + 1] for r in agent.ran]
    assert sorted(units) == ["extract.0", "extract.1", "transform.0", "transform.0"]
    records = RunRecords(aws.client("dynamodb"), config.runs_table)
    items = records.read("run-f")
    assert (items["unit#transform.0.0"]["state"], items["unit#transform.0.0"]["attempts"]) == (
        "failed",
        2,
    )
    assert "unit#load.0.0" not in items
    # AND the run record is failed with the step named
    assert items["run"]["state"] == "failed"
    assert items["run"]["error"] == "step transform failed: States.TaskFailed"
    # AND the topic was told: workflow, run, step, the error and the stopped task as cause
    messages = aws.client("sqs").receive_message(QueueUrl=queue, WaitTimeSeconds=2)["Messages"]
    notice = orjson.loads(messages[0]["Body"])
    assert (notice["workflow"], notice["run_id"], notice["state"], notice["step"]) == (
        "readings",
        "run-f",
        "failed",
        "transform",
    )
    assert notice["error"] == "States.TaskFailed"
    assert '"ExitCode":1' in notice["cause"].replace(" ", "")
