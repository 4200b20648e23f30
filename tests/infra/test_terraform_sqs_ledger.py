"""The SQS source's exactly-once ledger in the Terraform (issue 18): the DynamoDB table
(hash key `pk`, TTL on `exp`, on-demand, KMS, PITR), the task role's statements for it
and for the S3 sinks' staging prefixes (exactly the actions the ledger uses, on the table
and under `<prefix>/_staging/` only), the lifecycle rule that expires what is left there
after the queue's retention plus 2 days, and the table's name in the consumer's
environment. `tests/infra/test_terraform_plan.py` also plans these paths with Terraform
itself (environments/example/tests/sqs_ledger.tftest.hcl)."""

from __future__ import annotations

import tomllib
from typing import Any

import pytest

from tests.infra.hcl_eval import Evaluator
from tests.infra.tf import EXAMPLE, MODULES, ROOT, load_dir, statements

# What the ledger calls: conditional PutItem (claims, a cut item), UpdateItem (lease,
# commit, abort), DeleteItem (a claim that does not ride its cut), GetItem (a claim, a
# dead consumer's cut).
LEDGER_TABLE_ACTIONS = {
    "dynamodb:DeleteItem",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
}
STAGING_OBJECT_ACTIONS = {"s3:DeleteObject", "s3:GetObject", "s3:PutObject"}
BUCKET_ARN = "arn:aws:s3:::sluice-test-lake"
DAY_S = 86_400


def _example_values(**overrides: Any) -> dict[str, Any]:
    """The example's variable defaults (the ones these locals read), and overrides."""
    variables = load_dir(EXAMPLE).variables
    names = (
        "name",
        "source_type",
        "lake_prefix",
        "parquet_prefix",
        "quarantine_prefix",
        "sqs_retention_seconds",
    )
    return {name: variables[name]["default"] for name in names} | overrides


def _example(**overrides: Any) -> Evaluator:
    return Evaluator(_example_values(**overrides), load_dir(EXAMPLE).locals)


def _task_statement(sid: str) -> dict[str, Any]:
    policy = load_dir(MODULES / "iam").data[("aws_iam_policy_document", "task")]
    (found,) = [s for s in statements(policy) if s["sid"] == sid]
    return found


def _gate(sid: str) -> str:
    policy = load_dir(MODULES / "iam").data[("aws_iam_policy_document", "task")]
    (gate,) = [
        d["statement"]["for_each"]
        for d in policy["dynamic"]
        if d["statement"]["content"][0]["sid"] == sid
    ]
    return str(gate)


def _render(expression: str, staging_prefixes: list[str]) -> Any:
    """A statement's expression over `statement.value` (the iam module's sqs_ledger input)
    for these staging prefixes and the test bucket."""
    text = expression.replace("statement.value.staging_prefixes", "var.staging_prefixes")
    variables = {"staging_prefixes": staging_prefixes, "s3_bucket_arn": BUCKET_ARN}
    return Evaluator(variables)(text)


# ------------------------------------------------------------------------------- table


def test_ledger_table_has_the_spec_key_ttl_encryption_and_recovery() -> None:
    tables = load_dir(MODULES / "dynamodb_tables")
    table = tables.resources[("aws_dynamodb_table", "sqs_ledger")]
    assert table["count"] == "${var.sqs_ledger_table_name == null ? 0 : 1}"
    assert table["name"] == "${var.sqs_ledger_table_name}"
    # hash key pk (S) only: claims m#<queue>#<message id>, cuts c#<cut id>
    assert (table["hash_key"], table["attribute"]) == ("pk", [{"name": "pk", "type": "S"}])
    assert "range_key" not in table and "global_secondary_index" not in table
    assert table["ttl"] == [{"attribute_name": "exp", "enabled": True}]
    assert table["billing_mode"] == "PAY_PER_REQUEST"
    assert table["point_in_time_recovery"] == [{"enabled": True}]
    assert table["server_side_encryption"] == [
        {"enabled": True, "kms_key_arn": "${var.kms_key_arn}"}
    ]
    assert table["deletion_protection_enabled"] == "${var.deletion_protection}"
    assert tables.variables["sqs_ledger_table_name"]["default"] is None
    outputs = tables.outputs
    assert (
        outputs["sqs_ledger_table_arn"]["value"] == "${one(aws_dynamodb_table.sqs_ledger[*].arn)}"
    )
    name = outputs["sqs_ledger_table_name"]["value"]
    assert name == "${one(aws_dynamodb_table.sqs_ledger[*].name)}"


def test_example_creates_the_ledger_for_an_sqs_source_only() -> None:
    example = load_dir(EXAMPLE)
    assert example.modules["tables"]["sqs_ledger_table_name"] == "${local.sqs_ledger_table_name}"
    assert _example(source_type="sqs").local("sqs_ledger_table_name") == "sluice-example-sqs-ledger"
    assert _example(source_type="kinesis").local("sqs_ledger_table_name") is None
    outputs = example.outputs
    assert outputs["sqs_ledger_table_name"]["value"] == "${module.tables.sqs_ledger_table_name}"
    assert outputs["sqs_ledger_table_arn"]["value"] == "${module.tables.sqs_ledger_table_arn}"


# ------------------------------------------------------------------------- environment


def test_ledger_table_name_reaches_the_consumer_task_definition() -> None:
    example = load_dir(EXAMPLE).locals
    kinesis, _, sqs = example["source_environment"].partition("} : {")
    assert "SLUICE__SOURCE__LEDGER_TABLE = module.tables.sqs_ledger_table_name" in sqs
    assert "LEDGER_TABLE" not in kinesis
    # source -> the example's environment -> the consumer service -> its task definition
    assert "local.source_environment" in example["environment"]
    assert "local.source_environment" in example["batch_environment"]
    assert load_dir(EXAMPLE).modules["consumer"]["environment"] == "${local.environment}"
    service = load_dir(MODULES / "consumer_service")
    assert "var.environment" in service.locals["environment"]
    assert service.modules["task"]["environment"] == "${local.environment}"
    task = load_dir(MODULES / "task_definition").locals
    assert "var.environment" in task["environment"]
    assert "local.environment[name]" in task["container"]["environment"]


# --------------------------------------------------------------------------------- IAM


def test_ledger_statement_grants_the_item_actions_on_the_table_only() -> None:
    items = _task_statement("SqsLedgerItems")
    assert set(items["actions"]) == LEDGER_TABLE_ACTIONS
    assert items["resources"] == ["${statement.value.table_arn}"]
    assert "condition" not in items
    assert _gate("SqsLedgerItems") == "${var.sqs_ledger == null ? [] : [var.sqs_ledger]}"
    # The example keeps the table out of the general table statement (BatchWriteItem,
    # Scan, Query).
    call = load_dir(EXAMPLE).modules["iam"]
    assert "sqs_ledger" not in call["dynamodb_table_arns"]


def test_staging_objects_are_reachable_under_the_staging_prefixes_only() -> None:
    staging = _task_statement("SqsLedgerStaging")
    assert set(staging["actions"]) == STAGING_OBJECT_ACTIONS
    assert _gate("SqsLedgerStaging") == "${var.sqs_ledger == null ? [] : [var.sqs_ledger]}"
    prefixes = _example(source_type="sqs").local("staging_prefixes")
    assert _render(staging["resources"], prefixes) == [
        f"{BUCKET_ARN}/lake/_staging/*",
        f"{BUCKET_ARN}/parquet/_staging/*",
        f"{BUCKET_ARN}/quarantine/_staging/*",
    ]
    # the only wildcard is the one after _staging/
    for resource in _render(staging["resources"], prefixes):
        assert resource.count("*") == 1 and resource.endswith("/_staging/*")


def test_list_bucket_is_conditioned_on_the_staging_prefixes() -> None:
    listing = _task_statement("SqsLedgerStagingList")
    assert listing["actions"] == ["s3:ListBucket"]
    assert listing["resources"] == ["${var.s3_bucket_arn}"]
    (condition,) = listing["condition"]
    assert (condition["test"], condition["variable"]) == ("StringLike", "s3:prefix")
    prefixes = _example(source_type="sqs").local("staging_prefixes")
    assert _render(condition["values"], prefixes) == [
        "lake/_staging/*",
        "parquet/_staging/*",
        "quarantine/_staging/*",
    ]
    assert _gate("SqsLedgerStagingList") == "${var.sqs_ledger == null ? [] : [var.sqs_ledger]}"


def test_example_gives_the_ledger_rights_for_an_sqs_source_only() -> None:
    call = load_dir(EXAMPLE).modules["iam"]
    assert call["sqs_ledger"] == (
        "${local.sqs ? {table_arn = module.tables.sqs_ledger_table_arn, "
        "staging_prefixes = local.staging_prefixes} : null}"
    )
    # the same prefixes the lifecycle rule expires
    assert load_dir(EXAMPLE).modules["bucket"]["staging_prefixes"] == "${local.staging_prefixes}"
    assert _example(source_type="kinesis").local("staging_prefixes") == []
    validation = load_dir(MODULES / "iam").variables["sqs_ledger"]["validation"][0]
    assert 'endswith(prefix, "/_staging/")' in validation["condition"]
    assert 'strcontains(prefix, "*")' in validation["condition"]


# --------------------------------------------------------------------------- lifecycle


def _staging_rule() -> dict[str, Any]:
    lifecycle = load_dir(MODULES / "s3_bucket").resources[
        ("aws_s3_bucket_lifecycle_configuration", "this")
    ]
    (dynamic,) = [d["rule"] for d in lifecycle["dynamic"] if "rule" in d]
    assert dynamic["for_each"] == "${var.staging_prefixes}"
    (content,) = dynamic["content"]
    return dict(content)


def test_lifecycle_rule_expires_everything_under_each_staging_prefix() -> None:
    rule = _staging_rule()
    assert rule["status"] == "Enabled"
    assert rule["filter"] == [{"prefix": "${rule.value}"}]
    assert rule["expiration"] == [{"days": "${var.staging_expiration_days}"}]
    # Deleted staged copies (noncurrent versions on this versioned bucket) go after a day,
    # not after the lake's 30: S3 honours the shorter of overlapping expirations.
    assert rule["noncurrent_version_expiration"] == [
        {"noncurrent_days": "${var.staging_noncurrent_days}"}
    ]
    variables = load_dir(MODULES / "s3_bucket").variables
    assert (
        variables["staging_noncurrent_days"]["default"]
        < variables["noncurrent_version_days"]["default"]
    )
    assert variables["staging_prefixes"]["default"] == []
    assert (
        'endswith(prefix, "/_staging/")'
        in variables["staging_prefixes"]["validation"][0]["condition"]
    )


@pytest.mark.parametrize("retention_s", [60, 3_600, DAY_S, 345_600, 345_601, 1_209_600])
def test_staging_expiry_outlasts_the_queue_retention_by_two_days(retention_s: int) -> None:
    days = _example(sqs_retention_seconds=retention_s).local("staging_expiration_days")
    assert days >= retention_s / DAY_S + 2
    assert days < retention_s / DAY_S + 3  # and not more than a rounding day longer
    example = load_dir(EXAMPLE).modules
    assert example["bucket"]["staging_expiration_days"] == "${local.staging_expiration_days}"
    # the queue keeps messages exactly as long as the expiry assumes
    assert example["queue"]["retention_seconds"] == "${var.sqs_retention_seconds}"


def test_defaults_match_the_queue_module_and_the_example_sqs_pipeline() -> None:
    example = load_dir(EXAMPLE).variables
    queue = load_dir(MODULES / "sqs_queue").variables
    retention = example["sqs_retention_seconds"]["default"]
    assert retention == queue["retention_seconds"]["default"] == 4 * DAY_S
    bucket_default = load_dir(MODULES / "s3_bucket").variables["staging_expiration_days"]["default"]
    assert bucket_default == 4 + 2
    # The prefixes examples/clickstream/pipeline-sqs.toml writes (its S3 sinks: JSON Lines,
    # Parquet; the quarantine)
    with (ROOT / "examples" / "clickstream" / "pipeline-sqs.toml").open("rb") as handle:
        pipeline = tomllib.load(handle)
    sinks = [pipeline["sinks"]["lake"], pipeline["sinks"]["columns"], pipeline["quarantine"]]
    expected = [f"{sink['prefix'].strip('/')}/_staging/" for sink in sinks]
    assert _example(source_type="sqs").local("staging_prefixes") == expected
