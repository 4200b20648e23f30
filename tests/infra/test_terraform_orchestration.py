"""The batch orchestration's Terraform (issue 23): the Step Functions module's roles allow
what the rendered definition calls and nothing else, each on the resources it names (no
"*" where a resource can be named); its schedule starts one execution per run; the AWS
Batch module runs the hardened image with the ECS tasks' roles and lets a submitter submit
only to its queue; the example wires both to its own cluster, task definition, roles,
tables and topic, behind variables. (The plans themselves: batch_orchestration.tftest.hcl,
run by test_terraform_plan.py.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from batch_jobs.workflow.config import load_workflow
from batch_jobs.workflow.stepfunctions import render, template_target
from tests.infra.tf import EXAMPLE, MODULES, ROOT, load_dir, statements

SFN = MODULES / "step_functions_workflow"
BATCH = MODULES / "aws_batch"

# What each Step Functions integration in a rendered definition needs (AWS: "IAM policies
# for integrated services"): `.sync` follows the task and stops it on a timeout, and
# learns that it stopped through a managed EventBridge rule.
INTEGRATION_ACTIONS = {
    "arn:aws:states:::ecs:runTask.sync": {
        "ecs:RunTask",
        "ecs:DescribeTasks",
        "ecs:StopTask",
        "iam:PassRole",
        "events:PutTargets",
        "events:PutRule",
        "events:DescribeRule",
    },
    "arn:aws:states:::dynamodb:putItem": {"dynamodb:PutItem", "kms:GenerateDataKey"},
    "arn:aws:states:::dynamodb:updateItem": {"dynamodb:UpdateItem", "kms:Decrypt"},
    "arn:aws:states:::sns:publish": {"sns:Publish", "kms:GenerateDataKey"},
}
# Actions with no resource-level permissions, where AWS requires "*": log delivery to
# CloudWatch Logs, X-Ray, and Batch's DescribeJobs.
STAR_ONLY = {
    "logs:CreateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:DescribeLogGroups",
    "logs:DescribeResourcePolicies",
    "logs:GetLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:UpdateLogDelivery",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "xray:PutTelemetryRecords",
    "xray:PutTraceSegments",
    "batch:DescribeJobs",
}


def _policy(folder: Path, name: str) -> dict[str, dict[str, Any]]:
    found = statements(load_dir(folder).data[("aws_iam_policy_document", name)])
    return {statement["sid"]: statement for statement in found}


def _resources_of(definition: dict[str, Any]) -> set[str]:
    found = set()
    for state in definition["States"].values():
        if "Resource" in state:
            found.add(state["Resource"])
        for nested in state.get("Branches", []):
            found |= _resources_of(nested)
        if "ItemProcessor" in state:
            found |= _resources_of(state["ItemProcessor"])
    return found


def test_the_state_machine_may_call_what_its_definition_uses_and_nothing_else() -> None:
    # GIVEN the example's workflow as the module deploys it
    workflow = load_workflow(ROOT / "examples" / "clickstream" / "workflow.toml")
    used = _resources_of(render(workflow, template_target("/app/workflow.toml")))
    assert used == set(INTEGRATION_ACTIONS)
    needed = set().union(*(INTEGRATION_ACTIONS[resource] for resource in used))
    # WHEN the role's policy is read, THEN it allows exactly that, plus logs and X-Ray
    policy = _policy(SFN, "state_machine")
    allowed = {action for statement in policy.values() for action in statement["actions"]}
    assert allowed - STAR_ONLY == needed


def test_every_statement_names_its_resources_where_aws_allows_it() -> None:
    for folder, name in ((SFN, "state_machine"), (SFN, "scheduler"), (BATCH, "submit")):
        for sid, statement in _policy(folder, name).items():
            star = "*" in statement["resources"]
            assert star == bool(set(statement["actions"]) & STAR_ONLY), (name, sid)
            if star:
                assert set(statement["actions"]) <= STAR_ONLY, (name, sid)
                assert statement["resources"] == ["*"], (name, sid)


def test_units_run_only_the_batch_task_definition_in_the_cluster_with_its_roles() -> None:
    policy = _policy(SFN, "state_machine")
    cluster = {"test": "ArnEquals", "variable": "ecs:cluster", "values": ["${var.cluster_arn}"]}
    assert policy["RunUnitTasks"]["resources"] == ["${var.task_definition_family_arn}:*"]
    assert policy["RunUnitTasks"]["condition"] == [cluster]
    follow = policy["FollowUnitTasks"]
    assert set(follow["actions"]) == {"ecs:DescribeTasks", "ecs:StopTask"}
    assert follow["resources"] == ['${replace(var.cluster_arn, ":cluster/", ":task/")}/*']
    assert follow["condition"] == [cluster]
    passed = policy["PassUnitRoles"]
    assert passed["resources"] == ["${var.task_role_arn}", "${var.execution_role_arn}"]
    assert passed["condition"] == [
        {
            "test": "StringEquals",
            "variable": "iam:PassedToService",
            "values": ["ecs-tasks.amazonaws.com"],
        }
    ]
    assert policy["SyncTaskEvents"]["resources"] == [
        "arn:${local.partition}:events:${local.region}:${local.account_id}"
        ":rule/StepFunctionsGetEventsForECSTaskRule"
    ]
    assert policy["RunRecord"]["resources"] == ["${var.runs_table_arn}"]
    assert policy["NotifyFailure"]["resources"] == ["${var.notify_topic_arn}"]
    assert policy["KmsData"]["resources"] == ["${var.kms_key_arn}"]


def test_only_this_state_machine_assumes_its_role() -> None:
    module = load_dir(SFN)
    (trust,) = statements(module.data[("aws_iam_policy_document", "assume_states")])
    assert trust["principals"] == [{"type": "Service", "identifiers": ["states.amazonaws.com"]}]
    conditions = {c["variable"]: c["values"] for c in trust["condition"]}
    assert conditions == {
        "aws:SourceAccount": ["${local.account_id}"],
        "aws:SourceArn": ["${local.state_machine_arn}"],
    }
    assert module.locals["state_machine_arn"].endswith(":stateMachine:${var.name}")


def test_x_ray_is_optional_and_logs_go_encrypted_to_their_group() -> None:
    module = load_dir(SFN)
    policy = module.data[("aws_iam_policy_document", "state_machine")]
    (xray,) = policy["dynamic"]
    assert xray["statement"]["for_each"] == "${var.tracing_enabled ? [1] : []}"
    machine = module.resources[("aws_sfn_state_machine", "this")]
    assert machine["tracing_configuration"] == [{"enabled": "${var.tracing_enabled}"}]
    (logging,) = machine["logging_configuration"]
    assert logging["log_destination"] == "${aws_cloudwatch_log_group.this.arn}:*"
    assert logging["include_execution_data"] is True
    group = module.resources[("aws_cloudwatch_log_group", "this")]
    assert group["kms_key_id"] == "${var.kms_key_arn}"
    assert group["name"].startswith("/aws/vendedlogs/states/")


def test_the_schedule_starts_one_execution_per_run_of_this_machine() -> None:
    module = load_dir(SFN)
    schedule = module.resources[("aws_scheduler_schedule", "this")]
    (target,) = schedule["target"]
    assert target["arn"] == "arn:${local.partition}:scheduler:::aws-sdk:sfn:startExecution"
    # the run id is the schedule's execution id: a retried invocation names the same run
    assert 'Name = "<aws.scheduler.execution-id>"' in target["input"]
    assert "StateMachineArn = aws_sfn_state_machine.this.arn" in target["input"]
    assert schedule["kms_key_arn"] == "${var.kms_key_arn}"
    policy = _policy(SFN, "scheduler")
    assert policy["StartRun"]["actions"] == ["states:StartExecution"]
    assert policy["StartRun"]["resources"] == ["${aws_sfn_state_machine.this.arn}"]
    assert policy["KmsSchedule"] == {
        "sid": "KmsSchedule",
        "actions": ["kms:Decrypt"],
        "resources": ["${var.kms_key_arn}"],
    }


def test_the_definition_is_the_rendered_template_filled_with_the_deployment() -> None:
    module = load_dir(SFN)
    definition = module.locals["definition"]
    assert definition.startswith("${templatefile(var.definition_file,")
    template = (EXAMPLE / "workflow.asl.json.tftpl").read_text()
    for placeholder in (
        "cluster_arn",
        "task_definition_arn",
        "container_name",
        "subnet_ids",
        "security_group_ids",
        "runs_table",
        "notify_topic_arn",
    ):
        assert "${" + placeholder + "}" in template
        assert f"{placeholder} =" in definition.replace("  ", " "), placeholder


def test_aws_batch_runs_the_hardened_image_with_the_ecs_tasks_roles() -> None:
    module = load_dir(BATCH)
    container = module.locals["container"]
    assert container["image"] == "${var.image}@${var.image_digest}"
    assert (container["jobRoleArn"], container["executionRoleArn"]) == (
        "${var.task_role_arn}",
        "${var.execution_role_arn}",
    )
    assert container["user"] == "10001:10001"
    assert container["readonlyRootFilesystem"] is True and container["privileged"] is False
    assert container["mountPoints"] == [
        {"sourceVolume": "scratch", "containerPath": "/tmp", "readOnly": False}
    ]
    assert container["networkConfiguration"] == {"assignPublicIp": "DISABLED"}
    definition = module.resources[("aws_batch_job_definition", "this")]
    assert definition["platform_capabilities"] == ["FARGATE"]
    assert definition["retry_strategy"] == [{"attempts": "${var.retry_attempts}"}]


def test_aws_batch_has_fargate_and_spot_capacity_spot_first() -> None:
    module = load_dir(BATCH)
    assert module.locals["capacity"] == (
        '${var.fargate_spot ? {spot = "FARGATE_SPOT", on_demand = "FARGATE"} '
        ': {on_demand = "FARGATE"}}'
    )
    environment = module.resources[("aws_batch_compute_environment", "this")]
    (resources,) = environment["compute_resources"]
    assert resources["type"] == "${each.value}"
    assert resources["subnets"] == "${var.subnet_ids}"
    queue = module.resources[("aws_batch_job_queue", "this")]
    (order,) = queue["dynamic"]
    assert order["compute_environment_order"]["for_each"] == (
        '${var.fargate_spot ? ["spot", "on_demand"] : ["on_demand"]}'
    )


def test_a_submitter_may_submit_only_to_this_queue_and_job_definition() -> None:
    policy = _policy(BATCH, "submit")
    assert policy["SubmitJobs"]["actions"] == ["batch:SubmitJob"]
    assert policy["SubmitJobs"]["resources"] == [
        "${aws_batch_job_queue.this.arn}",
        "arn:${local.partition}:batch:${var.region}:${local.account_id}"
        ":job-definition/${var.name}:*",
    ]
    assert policy["ReadJobs"]["actions"] == ["batch:DescribeJobs"]


def test_the_example_wires_both_engines_to_its_own_resources_behind_variables() -> None:
    example = load_dir(EXAMPLE)
    machine = example.modules["workflow_state_machine"]
    batch = example.modules["batch"]
    assert machine["count"] == "${local.step_functions ? 1 : 0}"
    assert example.variables["workflow_engine"]["default"] == "stepfunctions"
    # units are tasks of the batch task definition, in its cluster, network and roles
    assert machine["task_definition_arn"] == "${module.batch.task_definition_arn}"
    assert machine["task_definition_family_arn"] == "${module.batch.task_definition_family_arn}"
    for key in ("cluster_arn", "subnet_ids", "security_group_ids", "task_role_arn"):
        assert machine[key] == batch[key], key
    assert machine["execution_role_arn"] == batch["execution_role_arn"]
    assert machine["runs_table_arn"] == "${module.tables.runs_table_arn}"
    assert machine["notify_topic_arn"] == "${module.monitoring.workflow_topic_arn}"
    assert machine["schedule_enabled"] == "${var.workflow_schedule_enabled}"
    # AWS Batch: off by default, the same image, roles and network as the ECS tasks
    aws_batch = example.modules["aws_batch"]
    assert aws_batch["count"] == "${var.enable_aws_batch ? 1 : 0}"
    assert example.variables["enable_aws_batch"]["default"] is False
    for key in ("image", "image_digest", "task_role_arn", "execution_role_arn", "subnet_ids"):
        assert aws_batch[key] == batch[key], key
    assert aws_batch["environment"] == "${local.batch_environment}"
