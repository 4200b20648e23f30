"""A workflow file compiled to Amazon States Language: valid for the schema and the
language's rules, every workflow of examples/ and the tests; steps in order, tasks side by
side, parts as a Map with the file's concurrency, units as ECS tasks Step Functions waits
for, with the file's retries and timeout; a failed step recorded, announced and failing
the execution. (tests/integration/test_workflow_stepfunctions.py runs them.)"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from batch_jobs.workflow.config import WorkflowConfig, load_workflow
from batch_jobs.workflow.stepfunctions import (
    StepFunctionsTarget,
    render,
    template_target,
    transitions,
)
from batch_jobs.workflow.unit import find_unit, units_of, waves
from consumer.cli.main import _parser
from consumer.cli.workflow_render import definition_json
from consumer.errors import ConfigError
from tests.asl import all_state_names, language_errors, schema_errors, workflows
from tests.integration.workflow_files import fan_out_tasks, workflow

__all__ = ["workflows"]  # the fixture

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "clickstream" / "workflow.toml"
TEMPLATE = ROOT / "infra" / "terraform" / "environments" / "example" / "workflow.asl.json.tftpl"
TARGET = StepFunctionsTarget(
    cluster="arn:aws:ecs:us-east-1:123456789012:cluster/sluice",
    task_definition="arn:aws:ecs:us-east-1:123456789012:task-definition/sluice-batch:7",
    container="sluice",
    subnets=("subnet-a", "subnet-b"),
    security_groups=("sg-1",),
    workflow_file="/app/workflow.toml",
    runs_table="sluice-runs",
    notify_topic_arn="arn:aws:sns:us-east-1:123456789012:sluice-workflow-failures",
)


def _command(unit: dict[str, Any]) -> list[str]:
    """The unit's container command, its intrinsic function arguments as words: a path
    stays a path (`$.part`, `$$.Execution.Name`)."""
    override = unit["Parameters"]["Overrides"]["ContainerOverrides"][0]
    inner = re.fullmatch(r"States\.Array\((.*)\)", override["Command.$"])
    assert inner, override
    # an argument is a quoted literal (\\ escapes one character) or a path
    words = re.findall(r"'((?:[^'\\]|\\.)*)'|(\$[^,\s]*)", inner[1])
    return [re.sub(r"\\(.)", r"\1", literal) if literal else path for literal, path in words]


def test_every_workflow_renders_to_a_valid_definition(workflows: list[Path]) -> None:
    # GIVEN every workflow file of examples/ and of the tests
    for path in workflows:
        config = load_workflow(path)
        for target in (TARGET, template_target("/app/workflow.toml")):
            # WHEN it is rendered, with the deployment's values or as a Terraform template
            definition = render(config, target)
            # THEN cfn-lint's schema and the language's rules find nothing wrong
            assert schema_errors(definition) == [], path
            assert language_errors(definition) == [], path
            names = all_state_names(definition)
            assert len(names) == len(set(names)), path


def test_the_checks_catch_a_broken_definition() -> None:
    """The validators are not vacuous: a wrong type, an unknown field, a Next to nowhere
    and an unreachable state are all found."""
    definition = render(load_workflow(EXAMPLE), TARGET)
    branch = definition["States"]["load"]["Branches"][0]["States"]
    branch["load.0"]["MaxConcurrency"] = "two"
    definition["States"]["Run failed"]["Bogus"] = 1
    assert len(schema_errors(definition)) == 2
    branch["load.0 parts"]["Next"] = "nowhere"
    assert language_errors(definition) == [
        "load > load.0 parts: Next 'nowhere' is no state here",
        "load > load.0: unreachable",
    ]


def test_steps_run_in_order_and_a_steps_tasks_side_by_side() -> None:
    config = load_workflow(EXAMPLE)
    states = render(config, TARGET)["States"]
    # the run record first, the steps in the file's order, the record again at the end
    order, name = [], "Record run started"
    while "Next" in states[name]:
        order.append(name)
        name = states[name]["Next"]
    assert [*order, name] == [
        "Record run started",
        "load",
        "compact",
        "Record run succeeded",
        "Run succeeded",
    ]
    assert [states[step]["Type"] for step in ("load", "compact")] == ["Parallel", "Parallel"]
    assert [len(states[step]["Branches"]) for step in ("load", "compact")] == [2, 1]
    started = states["Record run started"]["Parameters"]
    assert started["TableName"] == "sluice-runs"
    assert started["Item"]["run_id"] == {"S.$": "$$.Execution.Name"}


def test_parts_are_a_map_of_ecs_tasks_with_the_files_concurrency_retries_and_timeout() -> None:
    # GIVEN the example: load.0 has 4 parts, 2 at a time; 2 attempts; units of up to 1 h
    config = load_workflow(EXAMPLE)
    branch = render(config, TARGET)["States"]["load"]["Branches"][0]
    # WHEN rendered, THEN a Pass lists the parts and a Map runs one iteration per part
    assert branch["StartAt"] == "load.0 parts"
    assert branch["States"]["load.0 parts"]["Result"] == ["0/4", "1/4", "2/4", "3/4"]
    fan_out = branch["States"]["load.0"]
    assert (fan_out["Type"], fan_out["ItemsPath"], fan_out["MaxConcurrency"]) == (
        "Map",
        "$.parts",
        2,
    )
    assert fan_out["ItemSelector"] == {"part.$": "$$.Map.Item.Value"}
    (unit,) = fan_out["ItemProcessor"]["States"].values()
    # AND each iteration is an ECS task Step Functions waits for, on the deployment
    assert unit["Resource"] == "arn:aws:states:::ecs:runTask.sync"
    parameters = unit["Parameters"]
    assert parameters["Cluster"] == TARGET.cluster
    assert parameters["TaskDefinition"] == TARGET.task_definition
    network = parameters["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert (network["Subnets"], network["SecurityGroups"]) == (["subnet-a", "subnet-b"], ["sg-1"])
    assert network["AssignPublicIp"] == "DISABLED"
    # AND its container runs the unit with the run id (the execution's name) and its part
    assert _command(unit) == [
        "batch",
        "workflow",
        "unit",
        "/app/workflow.toml",
        "--run-id",
        "$$.Execution.Name",
        "--unit",
        "load.0",
        "--part",
        "$.part",
    ]
    args = _parser().parse_args(
        [w.replace("$$.Execution.Name", "r1").replace("$.part", "3/4") for w in _command(unit)]
    )
    assert find_unit(config, args.unit, args.part).id == "load.0.3"
    # AND retried max_attempts - 1 times with backoff, each attempt at most unit_timeout_s
    assert unit["Retry"] == [
        {
            "ErrorEquals": ["States.ALL"],
            "MaxAttempts": 1,
            "IntervalSeconds": 30,
            "BackoffRate": 2.0,
            "JitterStrategy": "FULL",
        }
    ]
    assert unit["TimeoutSeconds"] == 3600


def test_a_task_of_one_part_is_one_ecs_task(tmp_path: Path) -> None:
    config = load_workflow(EXAMPLE)
    branch = render(config, TARGET)["States"]["load"]["Branches"][1]
    assert list(branch["States"]) == ["load.1"]
    unit = branch["States"]["load.1"]
    assert unit["Resource"] == "arn:aws:states:::ecs:runTask.sync" and unit["End"] is True
    assert _command(unit)[-4:] == ["--unit", "load.1", "--part", "0/1"]


def test_a_failed_step_is_recorded_announced_and_fails_the_execution() -> None:
    states = render(load_workflow(EXAMPLE), TARGET)["States"]
    for step in ("load", "compact"):
        (catch,) = states[step]["Catch"]
        assert catch == {
            "ErrorEquals": ["States.ALL"],
            "ResultPath": "$.failure",
            "Next": f"{step} failed",
        }
        message = states[f"{step} failed"]["Parameters"]
        assert (message["step"], message["run_id.$"], message["error.$"]) == (
            step,
            "$$.Execution.Name",
            "$.failure.Error",
        )
        assert states[f"{step} failed"]["Next"] == "Record run failed"
    recorded = states["Record run failed"]
    assert recorded["Resource"] == "arn:aws:states:::dynamodb:updateItem"
    assert recorded["Parameters"]["ExpressionAttributeValues"][":state"] == {"S": "failed"}
    # a record that cannot be written does not stop the announcement
    assert recorded["Next"] == recorded["Catch"][0]["Next"] == "Notify failure"
    notify = states["Notify failure"]
    assert notify["Resource"] == "arn:aws:states:::sns:publish"
    assert notify["Parameters"]["TopicArn"] == TARGET.notify_topic_arn
    assert notify["Parameters"]["Message.$"] == "States.JsonToString($)"
    assert notify["Next"] == notify["Catch"][0]["Next"] == "Run failed"
    assert states["Run failed"]["Type"] == "Fail"


def test_without_a_topic_a_failure_is_recorded_and_fails_the_execution() -> None:
    config = load_workflow(EXAMPLE)
    states = render(config, TARGET.__class__(**{**TARGET.__dict__, "notify_topic_arn": None}))[
        "States"
    ]
    assert "Notify failure" not in states
    assert states["Record run failed"]["Next"] == "Run failed"


def test_a_step_with_one_attempt_is_not_retried(tmp_path: Path) -> None:
    path = workflow(tmp_path, "u", "arn:aws:sns:us-east-1:1:t", extracts=fan_out_tasks("u"))
    config = load_workflow(path)
    steps = tuple(
        step.model_copy(update={"max_attempts": 1}) if step.name == "load" else step
        for step in config.steps
    )
    states = render(config.model_copy(update={"steps": steps}), TARGET)["States"]
    assert "Retry" not in states["load"]["Branches"][0]["States"]["load.0"]
    extract = states["extract"]["Branches"][0]["States"]["extract.0"]
    (unit,) = extract["ItemProcessor"]["States"].values()
    assert unit["Retry"][0]["IntervalSeconds"] == 1 and extract["MaxConcurrency"] == 2


def test_a_path_with_quotes_and_braces_stays_one_word() -> None:
    target = TARGET.__class__(**{**TARGET.__dict__, "workflow_file": "/app/it's {odd}.toml"})
    unit = render(load_workflow(EXAMPLE), target)["States"]["compact"]["Branches"][0]["States"]
    assert _command(unit["compact.0"])[3] == "/app/it's {odd}.toml"


def test_the_terraform_template_is_the_examples_rendering() -> None:
    """infra/terraform/environments/example/workflow.asl.json.tftpl is what
    `sluice batch workflow render examples/clickstream/workflow.toml --target stepfunctions
    --terraform-template` prints: regenerate it when the workflow file changes."""
    template = template_target("/app/workflow.toml")
    expected = definition_json(render(load_workflow(EXAMPLE), template))
    assert TEMPLATE.read_text() == expected
    placeholders = set(re.findall(r"\$\{(\w+)\}", expected))
    assert placeholders == {
        "cluster_arn",
        "task_definition_arn",
        "container_name",
        "subnet_ids",
        "security_group_ids",
        "runs_table",
        "notify_topic_arn",
    }
    # filled as Terraform fills it, the template is the deployment's definition
    values = {
        "cluster_arn": TARGET.cluster,
        "task_definition_arn": TARGET.task_definition,
        "container_name": TARGET.container,
        "subnet_ids": '", "'.join(TARGET.subnets),
        "security_group_ids": '", "'.join(TARGET.security_groups),
        "runs_table": TARGET.runs_table,
        "notify_topic_arn": str(TARGET.notify_topic_arn),
    }
    filled = re.sub(r"\$\{(\w+)\}", lambda m: values[m[1]], expected)
    assert orjson.loads(filled) == render(load_workflow(EXAMPLE), TARGET)


def test_a_run_of_the_example_takes_13_transitions() -> None:
    """Record, load (the parts' list, the Map, 4 parts; load.1), compact, record, end."""
    assert transitions(load_workflow(EXAMPLE)) == 13


def test_a_unit_is_named_by_its_task_and_part() -> None:
    config = load_workflow(EXAMPLE)
    assert find_unit(config, "load.0", "2/4") == find_unit(config, "load.0.2")
    with pytest.raises(ConfigError, match=r"--part 2/3: task 'load\.0' has 4 parts"):
        find_unit(config, "load.0", "2/3")
    with pytest.raises(ConfigError, match="write it as i/N"):
        find_unit(config, "load.0", "two")


def test_parts_run_in_waves_of_the_tasks_concurrency() -> None:
    config: WorkflowConfig = load_workflow(EXAMPLE)
    units = units_of(config.steps[0])
    assert [[unit.id for unit in wave] for wave in waves(units)] == [
        ["load.0.0", "load.0.1", "load.1.0"],
        ["load.0.2", "load.0.3"],
    ]
    assert waves([]) == []


def _render_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SLUICE_ECS_")}
    command = [sys.executable, "-m", "consumer", "batch", "workflow", "render", str(EXAMPLE)]
    return subprocess.run(
        [*command, "--target", "stepfunctions", *args],
        env={**clean, "PYTHONPATH": str(ROOT), **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_render_prints_the_definition_with_the_deployments_values() -> None:
    # GIVEN the ECS settings as flags and one in the environment, as for --launch ecs
    done = _render_cli(
        "--ecs-cluster", TARGET.cluster, "--ecs-task-definition", TARGET.task_definition,
        "--ecs-subnets", "subnet-a,subnet-b",
        env={"SLUICE_ECS_SECURITY_GROUPS": "sg-1"},
    )  # fmt: skip
    # THEN stdout is the definition, on that deployment, of the example's file in the image
    assert done.returncode == 0, done.stderr
    definition = orjson.loads(done.stdout)
    config = load_workflow(EXAMPLE)
    expected = TARGET.__class__(
        **{
            **TARGET.__dict__,
            "runs_table": config.runs_table,
            "notify_topic_arn": config.notify_topic_arn,
        }
    )
    assert definition == render(config, expected)
    fan_out = definition["States"]["load"]["Branches"][0]["States"]["load.0"]
    assert fan_out["Type"] == "Map"


def test_render_without_ecs_settings_prints_the_template_and_says_so() -> None:
    done = _render_cli()
    assert done.returncode == 0, done.stderr
    assert done.stdout == (TEMPLATE.read_text())
    assert "Terraform placeholders" in done.stderr
    quiet = _render_cli("--terraform-template")
    assert quiet.stdout == done.stdout and "placeholders" not in quiet.stderr


def test_render_with_part_of_the_ecs_settings_names_what_is_missing() -> None:
    done = _render_cli("--ecs-cluster", "c")
    assert done.returncode != 0
    assert "--ecs-task-definition" in done.stderr
    done = _render_cli("--ecs-cluster", "c", "--ecs-task-definition", "td")
    assert done.returncode != 0 and "--ecs-subnets and --ecs-security-groups" in done.stderr
