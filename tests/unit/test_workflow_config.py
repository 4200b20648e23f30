"""Workflow files and ECS launch settings: validated at start, the field named."""

from __future__ import annotations

from pathlib import Path

import pytest

from batch_jobs.workflow.config import expand, load_workflow
from batch_jobs.workflow.runner import unit_command
from batch_jobs.workflow.unit import find_unit, run_values, units_of
from consumer.aws.ecs import EcsLaunchConfig
from consumer.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "clickstream" / "workflow.toml"


def test_the_example_workflow_expands_into_its_units() -> None:
    workflow = load_workflow(EXAMPLE)
    units = [unit.id for step in workflow.steps for unit in units_of(step)]
    assert units == ["load.0.0", "load.0.1", "load.0.2", "load.0.3", "load.1.0", "compact.0.0"]
    assert find_unit(workflow, "load.0.2").part == (2, 4)
    with pytest.raises(ConfigError, match=r"no unit 'load\.9\.0'"):
        find_unit(workflow, "load.9.0")


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ('name = "w"\nbucket = "bkt"\nruns_table = "runs"\nsteps = []\n', "steps"),
        ('name = "w"\nbucket = "bkt"\nruns_table = "runs"\nlauch = "ecs"\n', "lauch"),
        (
            'name = "w"\nbucket = "bkt"\nruns_table = "runs"\n'
            '[[steps]]\nname = "a"\n[[steps.tasks]]\njob = "backfill"\nconfig = "p.toml"\n'
            '[[steps]]\nname = "a"\n[[steps.tasks]]\njob = "backfill"\nconfig = "p.toml"\n',
            "step names must be unique",
        ),
        (
            'name = "w"\nbucket = "bkt"\nruns_table = "runs"\n'
            '[[steps]]\nname = "a"\n[[steps.tasks]]\njob = "backfill"\nconfig = "p.toml"\n'
            "parts = 0\n",
            "steps.0.tasks.0.parts",
        ),
        ("not toml [", "not valid TOML"),
    ],
)
def test_a_bad_workflow_file_fails_with_the_field_named(
    tmp_path: Path, text: str, named: str
) -> None:
    path = tmp_path / "w.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=named):
        load_workflow(path)


def test_the_environment_names_the_deployments_table_topic_and_bucket() -> None:
    env = {
        "SLUICE_WORKFLOW__RUNS_TABLE": "prod-runs",
        "SLUICE_WORKFLOW__NOTIFY_TOPIC_ARN": "arn:aws:sns:us-east-1:1:prod-workflow-failures",
        "SLUICE_WORKFLOW__BUCKET": "prod-lake",
        "SLUICE__SINKS__LAKE__BUCKET": "not-for-workflows",
    }
    workflow = load_workflow(EXAMPLE, env=env)
    assert (workflow.runs_table, workflow.bucket) == ("prod-runs", "prod-lake")
    assert workflow.notify_topic_arn == env["SLUICE_WORKFLOW__NOTIFY_TOPIC_ARN"]
    with pytest.raises(ConfigError, match="max_attempts"):
        load_workflow(EXAMPLE, env={"SLUICE_WORKFLOW__MAX_ATTEMPTS": "0"})


def test_templates_expand_run_values_and_leave_other_braces() -> None:
    workflow = load_workflow(EXAMPLE)
    values = run_values(workflow, "r1")
    assert expand("{run_prefix}/x/{other}", values) == "runs/clickstream-nightly/r1/x/{other}"
    assert expand("{bucket}", values) == "sluice-demo-lake"


def test_a_unit_command_is_the_arguments_after_the_images_entrypoint() -> None:
    assert unit_command("/app/w.toml", "r1", "load.0.1", 2) == [
        "batch", "workflow", "unit", "/app/w.toml",
        "--run-id", "r1", "--unit", "load.0.1", "--attempt", "2",
    ]  # fmt: skip


def test_ecs_settings_come_from_the_environment_and_flags_win() -> None:
    env = {
        "SLUICE_ECS_CLUSTER": "batch",
        "SLUICE_ECS_TASK_DEFINITION": "sluice-batch:3",
        "SLUICE_ECS_SUBNETS": "subnet-a, subnet-b",
        "SLUICE_ECS_ASSIGN_PUBLIC_IP": "true",
    }
    config = EcsLaunchConfig.from_env(env, cluster="other", container=None)
    assert (config.cluster, config.task_definition) == ("other", "sluice-batch:3")
    assert config.subnets == ("subnet-a", "subnet-b") and config.assign_public_ip
    assert config.container == "sluice" and config.launch_type == "FARGATE"


def test_missing_ecs_settings_are_named() -> None:
    with pytest.raises(ValueError, match="task_definition"):
        EcsLaunchConfig.from_env({"SLUICE_ECS_CLUSTER": "batch"})
