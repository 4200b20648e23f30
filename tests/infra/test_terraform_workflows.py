"""The example deployment runs workflows and `launch = "ecs"` job messages: its batch and
workflow tasks carry the SLUICE_ECS_* settings consumer/aws/ecs.py reads, pointing at the
batch task definition, and a schedule starts `sluice batch workflow run`."""

from __future__ import annotations

import re
from typing import Any

from batch_jobs.workflow.config import ENV_PREFIX as WORKFLOW_PREFIX
from batch_jobs.workflow.config import WorkflowConfig
from consumer.aws.ecs import ENV_PREFIX, EcsLaunchConfig
from consumer.cli.main import _parser
from tests.infra.tf import EXAMPLE, MODULES, load_dir

# What the launcher reads from the environment (poll_interval_s is code-only).
LAUNCH_FIELDS = {name for name in EcsLaunchConfig.model_fields if name != "poll_interval_s"}


def _example() -> Any:
    return load_dir(EXAMPLE)


def _launch_environment() -> dict[str, Any]:
    environment: dict[str, Any] = _example().locals["ecs_launch_environment"]
    return environment


def test_launch_environment_sets_every_setting_the_launcher_reads() -> None:
    assert set(_launch_environment()) == {ENV_PREFIX + name.upper() for name in LAUNCH_FIELDS}


def test_launch_environment_points_at_the_batch_task_definition() -> None:
    example = _example()
    env = _launch_environment()
    batch = example.modules["batch"]
    assert env["SLUICE_ECS_CLUSTER"] == "${module.cluster.arn}" == batch["cluster_arn"]
    # The family (latest ACTIVE revision): the batch module is named by the same local.
    assert env["SLUICE_ECS_TASK_DEFINITION"] == "${local.batch_family}" == batch["name"]
    assert example.locals["batch_family"] == "${var.name}-batch"
    assert env["SLUICE_ECS_CONTAINER"] == "${local.batch_container}"
    container = load_dir(MODULES / "task_definition").locals["container_name"]
    assert example.locals["batch_container"] == container
    # The subnets given, or the network module's (local.private_subnet_ids either way).
    assert env["SLUICE_ECS_SUBNETS"] == '${join(",", local.private_subnet_ids)}'
    assert batch["subnet_ids"] == "${local.private_subnet_ids}"
    assert [env["SLUICE_ECS_SECURITY_GROUPS"]] == batch["security_group_ids"]
    assert (env["SLUICE_ECS_ASSIGN_PUBLIC_IP"], env["SLUICE_ECS_LAUNCH_TYPE"]) == (
        "false",
        "FARGATE",
    )


def test_launch_environment_is_valid_for_the_launcher() -> None:
    """With the Terraform expressions replaced by sample values, the launcher accepts it."""
    samples = {
        "SLUICE_ECS_CLUSTER": "arn:aws:ecs:us-east-1:123456789012:cluster/sluice-example",
        "SLUICE_ECS_TASK_DEFINITION": "sluice-example-batch",
        "SLUICE_ECS_CONTAINER": "sluice",
        "SLUICE_ECS_SUBNETS": "subnet-a,subnet-b",
        "SLUICE_ECS_SECURITY_GROUPS": "sg-1",
    }
    env = {
        name: samples[name] if "${" in value else value
        for name, value in _launch_environment().items()
    }
    config = EcsLaunchConfig.from_env(env)
    assert config.subnets == ("subnet-a", "subnet-b")
    assert config.security_groups == ("sg-1",)
    assert config.assign_public_ip is False
    assert config.launch_type == "FARGATE"


def test_batch_and_workflow_tasks_get_the_launch_settings_not_the_consumer() -> None:
    example = _example()
    batch_environment = example.locals["batch_environment"]
    assert "local.ecs_launch_environment" in batch_environment
    # extra_environment last: it may override any of them.
    assert batch_environment.rstrip(")}").endswith("var.extra_environment")
    for name in ("batch", "workflow"):
        assert example.modules[name]["environment"] == "${local.batch_environment}", name
    assert example.modules["consumer"]["environment"] == "${local.environment}"
    assert "ecs_launch_environment" not in example.locals["environment"]


def test_workflow_fields_of_the_deployment_reach_the_workflow_file() -> None:
    """The runs table, topic and bucket the Terraform creates override the workflow file's
    fields, under the names batch_jobs/workflow/config.py reads, and exist as fields."""
    example = _example()
    env = example.locals["workflow_environment"]
    assert env == {
        WORKFLOW_PREFIX + "RUNS_TABLE": "${module.tables.runs_table_name}",
        WORKFLOW_PREFIX + "NOTIFY_TOPIC_ARN": "${module.monitoring.workflow_topic_arn}",
        WORKFLOW_PREFIX + "BUCKET": "${module.bucket.name}",
    }
    fields = {name.removeprefix(WORKFLOW_PREFIX).lower() for name in env}
    assert fields <= set(WorkflowConfig.model_fields)
    assert "local.workflow_environment" in example.locals["batch_environment"]


def test_workflow_schedule_runs_a_workflow() -> None:
    example = _example()
    workflow = example.modules["workflow"]
    assert workflow["source"] == "../../modules/batch_job"
    assert workflow["command"] == "${var.workflow_command}"
    variable = example.variables["workflow_command"]
    assert variable["default"] == ["batch", "workflow", "run", "/app/workflow.toml"]
    args = _parser().parse_args(variable["default"])
    assert (args.command, args.batch_command, args.workflow_command) == (
        "batch",
        "workflow",
        "run",
    )
    assert args.file == "/app/workflow.toml"
    # A schedule exists by default, paused until the image's workflow file names this
    # deployment's runs table and topic; it starts this task only with workflow_engine =
    # "ecs-task" (by default the state machine is scheduled: test_terraform_orchestration).
    assert workflow["schedule_expression"] == (
        "${local.step_functions ? null : var.workflow_schedule_expression}"
    )
    assert example.locals["step_functions"] == '${var.workflow_engine == "stepfunctions"}'
    assert re.fullmatch(r"cron\(.+\)", example.variables["workflow_schedule_expression"]["default"])
    assert workflow["schedule_enabled"] == "${var.workflow_schedule_enabled}"
    assert example.variables["workflow_schedule_enabled"]["default"] is False
    # The workflow task runs as the batch task does: same cluster, network and roles.
    batch = example.modules["batch"]
    for key in ("cluster_arn", "subnet_ids", "security_group_ids", "task_role_arn"):
        assert workflow[key] == batch[key], key
    assert example.outputs["workflow_schedule_arn"]["value"] == "${module.workflow.schedule_arn}"


def test_the_schedule_starts_the_task_definition_with_its_command() -> None:
    """The schedule overrides nothing: the workflow task definition's command runs."""
    module = load_dir(MODULES / "batch_job")
    schedule = module.resources[("aws_scheduler_schedule", "this")]
    assert schedule["count"] == "${local.scheduled ? 1 : 0}"
    assert schedule["state"] == '${var.schedule_enabled ? "ENABLED" : "DISABLED"}'
    assert "overrides" not in str(schedule["target"])
    assert module.modules["task"]["command"] == "${var.command}"


def test_private_subnets_reach_the_apis_workflows_call() -> None:
    """Without a NAT gateway the tasks reach AWS through the endpoints: ECS (RunTask,
    DescribeTasks), DynamoDB (run records) and SNS (failed runs)."""
    module = load_dir(MODULES / "vpc_endpoints")
    assert "ecs" in module.variables["interface_services"]["default"]
    assert "sns" not in module.variables["interface_services"]["default"]
    gateway = module.resources[("aws_vpc_endpoint", "gateway")]
    assert "dynamodb" in gateway["for_each"]
    interface = module.resources[("aws_vpc_endpoint", "interface")]
    assert "var.extra_interface_services" in interface["for_each"]
    assert _example().modules["endpoints"]["extra_interface_services"] == ["sns"]
