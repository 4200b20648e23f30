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
    # consumer/protection.py (scale-in protection through the ECS agent) and
    # consumer/backlog.py (running task count for BacklogPerTask).
    "ecs:GetTaskProtection",
    "ecs:UpdateTaskProtection",
    "ecs:ListTasks",
    "elasticfilesystem:ClientMount",
    "elasticfilesystem:ClientWrite",
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
}

DATA_PLANE = ("kinesis:", "dynamodb:", "s3:", "sqs:", "cloudwatch:")


def _policy(name: str) -> list[dict[str, Any]]:
    return statements(load_dir(MODULES / "iam").data[("aws_iam_policy_document", name)])


def _actions(found: list[dict[str, Any]]) -> set[str]:
    return {action for statement in found for action in statement["actions"]}


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
