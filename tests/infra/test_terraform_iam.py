"""The task role names only the API actions sluice calls, on the ARNs of this
deployment's resources; the execution role is separate and has no data-plane rights."""

from __future__ import annotations

from typing import Any

from tests.infra.tf import EXAMPLE, MODULES, load_dir, statements

# What sluice's code calls (consumer/: the polling reader, checkpoints, job ledger, sinks,
# SQS source and DLQ commands, metrics) plus what the KCL path and the ECS features need.
ALLOWED = {
    # Kinesis: ListShards, GetShardIterator, GetRecords (polling reader); KCL adds
    # DescribeStreamSummary and, with enhanced fan-out, DescribeStreamConsumer and
    # SubscribeToShard.
    "kinesis:DescribeStream",
    "kinesis:DescribeStreamSummary",
    "kinesis:DescribeStreamConsumer",
    "kinesis:GetRecords",
    "kinesis:GetShardIterator",
    "kinesis:ListShards",
    "kinesis:SubscribeToShard",
    # DynamoDB item operations on the checkpoint, job, KCL and sink tables; KCL reads the
    # table description at start.
    "dynamodb:BatchWriteItem",
    "dynamodb:DeleteItem",
    "dynamodb:DescribeTable",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "dynamodb:UpdateItem",
    "s3:DeleteObject",
    "s3:GetObject",
    "s3:ListBucket",
    "s3:PutObject",
    "sqs:ChangeMessageVisibility",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",  # consumer/sources/sqs/queues.py resolves queue names
    "sqs:ReceiveMessage",
    "sqs:SendMessage",
    "cloudwatch:PutMetricData",
    "kms:Decrypt",
    "kms:GenerateDataKey",
    # consumer/runtime/protection.py (scale-in protection through the ECS agent) and
    # consumer/runtime/backlog.py (running task count for BacklogPerTask).
    "ecs:GetTaskProtection",
    "ecs:UpdateTaskProtection",
    "ecs:ListTasks",
    "elasticfilesystem:ClientMount",
    "elasticfilesystem:ClientWrite",
    # consumer/aws/ecs.py: workflow units and job messages with launch = "ecs" run as batch
    # tasks (RunTask, which passes the task's roles), waited for with DescribeTasks.
    "ecs:RunTask",
    "ecs:DescribeTasks",
    "iam:PassRole",
    # batch_jobs/workflow/runner.py: a failed run is published to the workflow's topic.
    "sns:Publish",
    # consumer/sinks/iceberg (pyiceberg's Glue catalog): namespace_exists (GetDatabase),
    # load_table and table_exists (GetTable), a route's first table (CreateTable), every
    # commit (GetTable, then UpdateTable conditional on the table's version).
    "glue:CreateTable",
    "glue:GetDatabase",
    "glue:GetTable",
    "glue:UpdateTable",
}

# Actions without resource-level permissions: AWS requires Resource "*"; a condition
# must scope them.
STAR_ONLY_WITH_CONDITION = {"cloudwatch:PutMetricData", "ecs:ListTasks"}

REQUIRED = {
    "kinesis:GetRecords",
    "kinesis:GetShardIterator",
    "kinesis:ListShards",
    "kinesis:SubscribeToShard",
    "dynamodb:GetItem",
    "dynamodb:UpdateItem",
    "dynamodb:PutItem",
    "s3:PutObject",
    "s3:GetObject",
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibility",
    "sqs:GetQueueAttributes",
    "sqs:SendMessage",
    "cloudwatch:PutMetricData",
    "kms:Decrypt",
    "kms:GenerateDataKey",
    "ecs:RunTask",
    "ecs:DescribeTasks",
    "iam:PassRole",
    "sns:Publish",
}

DATA_PLANE = ("kinesis:", "dynamodb:", "s3:", "sqs:", "cloudwatch:")


def _policy(name: str) -> list[dict[str, Any]]:
    return statements(load_dir(MODULES / "iam").data[("aws_iam_policy_document", name)])


def _actions(found: list[dict[str, Any]]) -> set[str]:
    return {action for statement in found for action in statement["actions"]}


def _by_sid(sid: str) -> dict[str, Any]:
    (found,) = [s for s in _policy("task") if s["sid"] == sid]
    return found


def _gate(sid: str) -> str:
    """The for_each of the dynamic statement `sid`: what input turns it on."""
    policy = load_dir(MODULES / "iam").data[("aws_iam_policy_document", "task")]
    (gate,) = [
        d["statement"]["for_each"]
        for d in policy["dynamic"]
        if d["statement"]["content"][0]["sid"] == sid
    ]
    return str(gate)


def _only_condition(statement: dict[str, Any]) -> dict[str, Any]:
    (condition,) = statement["condition"]
    assert isinstance(condition, dict)
    return condition


def test_task_policy_names_only_the_actions_sluice_uses() -> None:
    actions = _actions(_policy("task"))
    assert actions <= ALLOWED, f"not used by sluice: {sorted(actions - ALLOWED)}"
    assert actions >= REQUIRED, f"missing: {sorted(REQUIRED - actions)}"
    assert not [a for a in actions if "*" in a], "no wildcard actions"


def test_task_policy_allows_only_and_names_resources() -> None:
    for statement in _policy("task"):
        assert statement.get("effect", "Allow") == "Allow"
        resources = statement["resources"]
        if resources == ["*"]:
            assert set(statement["actions"]) <= STAR_ONLY_WITH_CONDITION, statement["sid"]
            assert statement.get("condition"), f"{statement['sid']}: '*' without a condition"
            continue
        flat = resources if isinstance(resources, list) else [resources]
        for resource in flat:
            # A resource is built from a module input (an ARN of this deployment); a
            # trailing /* only reaches inside it (objects, indexes, consumers, tasks).
            assert resource != "*" and not resource.endswith(":*"), (statement["sid"], resource)
            assert any(ref in resource for ref in ("var.", "local.", "statement.value")), (
                statement["sid"],
                resource,
            )


def test_metric_namespace_condition_limits_put_metric_data() -> None:
    (metrics,) = [s for s in _policy("task") if s["actions"] == ["cloudwatch:PutMetricData"]]
    (condition,) = metrics["condition"]
    assert condition["variable"] == "cloudwatch:namespace"
    assert condition["values"] == "${var.metric_namespaces}"
    default = load_dir(MODULES / "iam").variables["metric_namespaces"]["default"]
    assert default == ["sluice"]


def test_example_passes_the_arns_of_its_own_resources() -> None:
    call = load_dir(EXAMPLE).modules["iam"]
    assert "module.stream[0].arn" in call["kinesis"]
    assert "module.stream[0].consumer_arn_pattern" in call["kinesis"]
    assert "module.queue[0].queue_arn" in call["sqs_queue_arns"]
    assert "module.queue[0].dlq_arn" in call["sqs_queue_arns"]
    for table in ("checkpoint_table_arn", "job_table_arn", "kcl_table_arns"):
        assert f"module.tables.{table}" in call["dynamodb_table_arns"]
    assert call["s3_bucket_arn"] == "${module.bucket.arn}"
    assert call["kms_key_arn"] == "${module.kms.key_arn}"


def test_execution_role_is_separate_and_has_no_data_plane_rights() -> None:
    iam = load_dir(MODULES / "iam")
    task = iam.resources[("aws_iam_role", "task")]
    execution = iam.resources[("aws_iam_role", "execution")]
    assert task["name"] != execution["name"]
    actions = _actions(_policy("execution"))
    assert not [a for a in actions if a.startswith(DATA_PLANE)], sorted(actions)
    assert {"ecr:BatchGetImage", "logs:PutLogEvents", "secretsmanager:GetSecretValue"} <= actions
    star = [s for s in _policy("execution") if s["resources"] == ["*"]]
    assert [s["actions"] for s in star] == [["ecr:GetAuthorizationToken"]]


def test_roles_trust_only_ecs_tasks_of_this_account() -> None:
    (trust,) = _policy("assume_ecs_tasks")
    assert trust["principals"][0]["identifiers"] == ["ecs-tasks.amazonaws.com"]
    assert {c["variable"] for c in trust["condition"]} == {"aws:SourceAccount", "aws:SourceArn"}


def test_run_task_names_the_batch_families_in_the_cluster() -> None:
    run = _by_sid("EcsRunBatchTasks")
    assert run["actions"] == ["ecs:RunTask"]
    assert "var.batch_launch == null ? []" in _gate("EcsRunBatchTasks")
    # Any revision of each family named, nothing else: never "*".
    assert run["resources"] == (
        '${[for family in statement.value.task_definition_arns : "${family}:*"]}'
    )
    condition = _only_condition(run)
    assert (condition["test"], condition["variable"]) == ("ArnEquals", "ecs:cluster")
    assert condition["values"] == ["${statement.value.cluster_arn}"]
    # The only RunTask in the policy is this one.
    assert [s["sid"] for s in _policy("task") if "ecs:RunTask" in s["actions"]] == [
        "EcsRunBatchTasks"
    ]


def test_describe_tasks_reaches_only_the_tasks_of_the_cluster() -> None:
    describe = _by_sid("EcsDescribeBatchTasks")
    assert describe["actions"] == ["ecs:DescribeTasks"]
    assert "var.batch_launch == null ? []" in _gate("EcsDescribeBatchTasks")
    # arn:...:cluster/NAME -> arn:...:task/NAME/*
    assert describe["resources"] == [
        '${replace(statement.value.cluster_arn, ":cluster/", ":task/")}/*'
    ]
    condition = _only_condition(describe)
    assert (condition["variable"], condition["values"]) == (
        "ecs:cluster",
        ["${statement.value.cluster_arn}"],
    )


def test_pass_role_passes_only_the_batch_roles_and_only_to_ecs_tasks() -> None:
    passes = [s for s in _policy("task") if "iam:PassRole" in s["actions"]]
    assert [s["sid"] for s in passes] == ["PassBatchTaskRoles"]
    (statement,) = passes
    assert statement["actions"] == ["iam:PassRole"]
    assert "var.batch_launch == null ? []" in _gate("PassBatchTaskRoles")
    assert statement["resources"] == "${local.batch_pass_roles}"
    condition = _only_condition(statement)
    assert (condition["test"], condition["variable"], condition["values"]) == (
        "StringEquals",
        "iam:PassedToService",
        ["ecs-tasks.amazonaws.com"],
    )
    # Without pass_role_arns: this module's task and execution roles, never "*".
    roles = load_dir(MODULES / "iam").locals["batch_pass_roles"]
    assert "var.batch_launch.pass_role_arns" in roles
    assert "[aws_iam_role.task.arn, aws_iam_role.execution.arn]" in roles
    assert '"*"' not in roles


def test_run_records_and_failure_notices_are_scoped() -> None:
    records = _by_sid("WorkflowRunRecords")
    # batch_jobs/workflow/runrecord.py: conditional PutItem/UpdateItem, consistent Query.
    assert set(records["actions"]) == {
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:Query",
        "dynamodb:UpdateItem",
    }
    assert records["resources"] == ["${statement.value}"]
    assert "var.workflow_runs_table_arn == null ? []" in _gate("WorkflowRunRecords")
    notify = _by_sid("WorkflowNotify")
    assert notify["actions"] == ["sns:Publish"]
    assert notify["resources"] == ["${statement.value.topic_arn}"]
    assert "var.notify_topic == null ? []" in _gate("WorkflowNotify")
    # Publishing to a KMS-encrypted topic needs its key: the data key, or the topic's own.
    assert _by_sid("KmsData")["resources"] == "${local.data_kms}"
    keys = load_dir(MODULES / "iam").locals
    assert keys["data_kms"] == "${distinct(concat([var.kms_key_arn], local.notify_kms))}"
    assert "var.notify_topic.kms_key_arn" in keys["notify_kms"]


def test_example_lets_its_tasks_launch_the_batch_task_definition() -> None:
    example = load_dir(EXAMPLE)
    call = example.modules["iam"]
    assert call["batch_launch"] == {
        "cluster_arn": "${module.cluster.arn}",
        "task_definition_arns": ["${module.batch.task_definition_family_arn}"],
    }
    # No pass_role_arns: the module's own roles, which are the batch task's.
    batch = example.modules["batch"]
    assert batch["task_role_arn"] == "${module.iam.task_role_arn}"
    assert batch["execution_role_arn"] == "${module.iam.execution_role_arn}"
    output = load_dir(MODULES / "batch_job").outputs["task_definition_family_arn"]
    assert output["value"] == "${module.task.arn_without_revision}"
    assert call["workflow_runs_table_arn"] == "${module.tables.runs_table_arn}"
    assert call["notify_topic"] == {"topic_arn": "${module.monitoring.workflow_topic_arn}"}
    # The runs table gets only the run-record actions, not the general table statement's.
    assert "runs_table" not in call["dynamodb_table_arns"]
