"""The resources Terraform creates fit what sluice's code expects: scaling on
BacklogPerTask, a hardened task definition, encrypted stores, table keys the code uses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from batch_jobs.messages import spec as jobs
from batch_jobs.workflow import runrecord
from consumer.sources.kinesis import checkpoints
from tests.infra.tf import EXAMPLE, MODULES, load_dir


def _resource(module: str, kind: str, name: str) -> dict[str, Any]:
    return load_dir(MODULES / module).resources[(kind, name)]


class _RecordingDynamoDb:
    """Captures create_table calls of sluice's own table helpers."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def create_table(self, **kwargs: Any) -> None:
        self.calls.append(kwargs)

    def get_waiter(self, name: str) -> _RecordingDynamoDb:
        return self

    def wait(self, **kwargs: Any) -> None:
        return None


def _hash_key_of(create: Any) -> tuple[str, str]:
    client = _RecordingDynamoDb()
    create(client, "table")
    (call,) = client.calls
    (key,) = call["KeySchema"]
    (attribute,) = call["AttributeDefinitions"]
    assert key["KeyType"] == "HASH"
    assert attribute["AttributeName"] == key["AttributeName"]
    return key["AttributeName"], attribute["AttributeType"]


@pytest.mark.parametrize(
    ("table", "create"),
    [("checkpoints", checkpoints.create_table), ("jobs", jobs.create_ledger_table)],
)
def test_table_keys_are_the_ones_sluice_uses(table: str, create: Any) -> None:
    resource = _resource("dynamodb_tables", "aws_dynamodb_table", table)
    assert (resource["hash_key"], resource["attribute"][0]["type"]) == _hash_key_of(create)
    assert resource["billing_mode"] == "PAY_PER_REQUEST"
    assert resource["server_side_encryption"][0]["enabled"] is True
    assert resource["point_in_time_recovery"][0]["enabled"] is True


def test_runs_table_keys_are_the_ones_run_records_use() -> None:
    client = _RecordingDynamoDb()
    runrecord.create_runs_table(client, "runs")
    (call,) = client.calls
    expected = {key["KeyType"]: key["AttributeName"] for key in call["KeySchema"]}
    types = {a["AttributeName"]: a["AttributeType"] for a in call["AttributeDefinitions"]}
    assert expected == {"HASH": "run_id", "RANGE": "item"}

    tables = load_dir(MODULES / "dynamodb_tables")
    runs = tables.resources[("aws_dynamodb_table", "runs")]
    assert {"HASH": runs["hash_key"], "RANGE": runs["range_key"]} == expected
    assert {a["name"]: a["type"] for a in runs["attribute"]} == types
    assert runs["name"] == "${var.runs_table_name}"
    assert runs["billing_mode"] == "PAY_PER_REQUEST"
    assert runs["point_in_time_recovery"][0]["enabled"] is True
    encryption = runs["server_side_encryption"][0]
    assert (encryption["enabled"], encryption["kms_key_arn"]) == (True, "${var.kms_key_arn}")
    assert runs["deletion_protection_enabled"] == "${var.deletion_protection}"
    assert tables.outputs["runs_table_arn"]["value"] == "${aws_dynamodb_table.runs.arn}"
    assert tables.outputs["runs_table_name"]["value"] == "${aws_dynamodb_table.runs.name}"
    example = load_dir(EXAMPLE).modules["tables"]
    assert example["runs_table_name"] == "${var.name}-runs"


def test_workflow_topic_is_encrypted_and_apart_from_the_alarms() -> None:
    monitoring = load_dir(MODULES / "monitoring")
    topic = monitoring.resources[("aws_sns_topic", "workflow_failures")]
    assert topic["kms_master_key_id"] == "${var.kms_key_arn}"
    assert topic["count"] == "${var.create_workflow_topic ? 1 : 0}"
    assert topic["name"] != monitoring.resources[("aws_sns_topic", "alarms")]["name"]
    output = monitoring.outputs["workflow_topic_arn"]["value"]
    assert "aws_sns_topic.workflow_failures[0].arn" in output
    example = load_dir(EXAMPLE)
    assert example.modules["monitoring"]["create_workflow_topic"] is True
    assert example.modules["monitoring"]["kms_key_arn"] == "${module.kms.key_arn}"
    outputs = example.outputs
    assert outputs["workflow_topic_arn"]["value"] == "${module.monitoring.workflow_topic_arn}"
    assert outputs["runs_table_name"]["value"] == "${module.tables.runs_table_name}"


def test_kcl_tables_exist_with_their_keys() -> None:
    tables = load_dir(MODULES / "dynamodb_tables")
    leases = tables.resources[("aws_dynamodb_table", "kcl_leases")]
    assert leases["hash_key"] == "leaseKey"
    assert leases["global_secondary_index"][0]["name"] == "LeaseOwnerToLeaseKeyIndex"
    kcl = tables.locals["kcl_tables"]
    assert "WorkerMetricStats" in kcl and "CoordinatorState" in kcl


def test_backlog_per_task_policy_is_metric_math_over_queue_and_tasks() -> None:
    policy = _resource("consumer_service", "aws_appautoscaling_policy", "backlog_per_task")
    assert policy["policy_type"] == "TargetTrackingScaling"
    config = policy["target_tracking_scaling_policy_configuration"][0]
    assert config["target_value"] == "${var.backlog_per_task_target}"
    metrics = {m["id"]: m for m in config["customized_metric_specification"][0]["metrics"]}
    returned = [m for m in metrics.values() if m["return_data"] is True]
    assert [m["label"] for m in returned] == ["BacklogPerTask"]
    assert returned[0]["expression"] == "visible / tasks"
    visible = metrics["visible"]["metric_stat"][0]["metric"][0]
    tasks = metrics["tasks"]["metric_stat"][0]["metric"][0]
    assert (visible["namespace"], visible["metric_name"]) == (
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
    )
    assert (tasks["namespace"], tasks["metric_name"]) == (
        "ECS/ContainerInsights",
        "RunningTaskCount",
    )
    assert 'var.source_type == "sqs"' in policy["count"]


def test_cpu_policy_and_task_caps() -> None:
    cpu = _resource("consumer_service", "aws_appautoscaling_policy", "cpu")
    config = cpu["target_tracking_scaling_policy_configuration"][0]
    spec = config["predefined_metric_specification"][0]
    assert '"ECSServiceAverageCPUUtilization"' in spec["predefined_metric_type"]
    caps = load_dir(MODULES / "consumer_service").locals
    # The polling reader runs one task; KCL at most one task per shard.
    assert "local.polling_reader ? 1" in caps["max_tasks"]
    assert "min(var.max_tasks, var.kinesis_shard_count)" in caps["max_tasks"]
    target = _resource("consumer_service", "aws_appautoscaling_target", "this")
    assert target["max_capacity"] == "${local.max_tasks}"


def test_polling_reader_deploys_stop_then_start() -> None:
    service = _resource("consumer_service", "aws_ecs_service", "this")
    assert "local.polling_reader ? 0" in service["deployment_minimum_healthy_percent"]
    assert "local.polling_reader ? 100" in service["deployment_maximum_percent"]
    assert service["deployment_circuit_breaker"][0]["rollback"] is True
    assert service["network_configuration"][0]["assign_public_ip"] is False


def test_task_definition_is_non_root_with_a_read_only_root() -> None:
    folder = load_dir(MODULES / "task_definition")
    container = folder.locals["container"]
    assert container["readonlyRootFilesystem"] is True
    assert container["privileged"] is False
    assert container["user"] == "${var.user}"
    user = folder.variables["user"]
    assert user["default"] == "10001:10001"
    assert "root" in user["validation"][0]["condition"]
    assert container["image"] == "${var.image}@${var.image_digest}"
    assert "sha256" in folder.variables["image_digest"]["validation"][0]["condition"]
    assert container["stopTimeout"] == "${var.stop_timeout_s}"
    assert container["linuxParameters"]["capabilities"]["drop"] == ["ALL"]
    assert container["logConfiguration"]["logDriver"] == "awslogs"
    assert "valueFrom" in container["secrets"]
    # /tmp, the only writable path, is the scratch volume
    assert 'containerPath = "/tmp"' in folder.locals["mount_points"]
    definition = folder.resources[("aws_ecs_task_definition", "this")]
    assert definition["volume"][0]["name"] == "scratch"
    assert definition["requires_compatibilities"] == ["FARGATE"]


def test_stores_are_encrypted_with_the_key() -> None:
    stream = _resource("kinesis_stream", "aws_kinesis_stream", "this")
    assert (stream["encryption_type"], stream["kms_key_id"]) == ("KMS", "${var.kms_key_arn}")
    for queue in ("this", "dlq"):
        resource = _resource("sqs_queue", "aws_sqs_queue", queue)
        assert resource["kms_master_key_id"] == "${var.kms_key_arn}"
    rule = _resource("s3_bucket", "aws_s3_bucket_server_side_encryption_configuration", "this")
    default = rule["rule"][0]["apply_server_side_encryption_by_default"][0]
    assert default["sse_algorithm"] == "aws:kms"
    repo = _resource("ecr", "aws_ecr_repository", "this")
    assert repo["image_tag_mutability"] == "IMMUTABLE"
    assert repo["image_scanning_configuration"][0]["scan_on_push"] is True
    assert _resource("kms", "aws_kms_key", "this")["enable_key_rotation"] is True


def test_queue_has_a_dlq_and_the_consumer_gets_its_visibility() -> None:
    queue = _resource("sqs_queue", "aws_sqs_queue", "this")
    assert "deadLetterTargetArn" in queue["redrive_policy"]
    assert queue["visibility_timeout_seconds"] == "${var.visibility_timeout_s}"
    example = load_dir(EXAMPLE)
    assert example.modules["queue"]["visibility_timeout_s"] == "${var.sqs_visibility_timeout_s}"
    assert "SLUICE__SOURCE__VISIBILITY_TIMEOUT_S" in example.locals["source_environment"]
    assert "var.sqs_visibility_timeout_s" in example.locals["source_environment"]


def test_bucket_is_private_tls_only_with_lifecycle() -> None:
    block = _resource("s3_bucket", "aws_s3_bucket_public_access_block", "this")
    flags = ("block_public_acls", "block_public_policy", "ignore_public_acls")
    assert all(block[flag] is True for flag in (*flags, "restrict_public_buckets"))
    policy = load_dir(MODULES / "s3_bucket").data[("aws_iam_policy_document", "tls_only")]
    deny = policy["statement"][0]
    assert deny["effect"] == "Deny"
    assert deny["condition"][0]["variable"] == "aws:SecureTransport"
    rules = _resource("s3_bucket", "aws_s3_bucket_lifecycle_configuration", "this")["rule"]
    by_id = {rule["id"]: rule for rule in rules}
    assert "abort_incomplete_multipart_upload" in by_id["abort-incomplete-uploads"]
    quarantine = by_id["quarantine-expiry"]
    assert quarantine["filter"][0]["prefix"] == "${var.quarantine_prefix}"
    assert "expiration" in quarantine


def test_batch_schedule_runs_the_batch_task_in_the_cluster() -> None:
    schedule = _resource("batch_job", "aws_scheduler_schedule", "this")
    target = schedule["target"][0]
    assert target["arn"] == "${var.cluster_arn}"
    assert target["ecs_parameters"][0]["task_definition_arn"] == "${module.task.arn}"
    scheduler = load_dir(MODULES / "batch_job").data[("aws_iam_policy_document", "scheduler")]
    actions = {a for s in scheduler["statement"] for a in s["actions"]}
    assert actions == {"ecs:RunTask", "iam:PassRole"}


def test_monitoring_module_renders_the_definitions_it_ships() -> None:
    folder = load_dir(MODULES / "monitoring")
    definitions = Path(MODULES / "monitoring" / "../../../monitoring").resolve()
    assert (definitions / "alarms.json").is_file()
    assert "../../../monitoring" in folder.locals["definitions_dir"]
    assert "alarms.json" in folder.locals["alarm_definitions"]
    dashboard = folder.resources[("aws_cloudwatch_dashboard", "this")]
    assert "dashboard.json" in dashboard["dashboard_body"]
    json.loads((definitions / "dashboard.json").read_text(encoding="utf-8"))
