"""The lake as tables in the Terraform (issue 19): the example's Glue tables are what
`sluice validate --ddl` prints for its pipeline, their partition projection is the one
sluice's own DDL writes, the Athena workgroup enforces encrypted results in their own
bucket, and the task role reaches Glue only for the Iceberg sink's database.
`environments/example/tests/lake_catalog.tftest.hcl` plans and applies the same with
Terraform itself (tests/infra/test_terraform_plan.py)."""

from __future__ import annotations

import re
from typing import Any

from consumer.config import load_config
from consumer.sinks.columns.ddl import PROJECTION_START, terraform_entry
from consumer.sinks.columns.tables import lake_tables
from tests.infra.tf import EXAMPLE, MODULES, ROOT, load_dir, statements

PIPELINE = ROOT / "examples" / "clickstream" / "pipeline.toml"
GLUE_ACTIONS = {"glue:CreateTable", "glue:GetDatabase", "glue:GetTable", "glue:UpdateTable"}


def _printed_tables() -> dict[str, Any]:
    config = load_config(PIPELINE)
    return {
        table.name: terraform_entry(table)
        for route in ("page_views", "purchases")
        for table in lake_tables(config, route)
    }


def test_the_examples_tables_are_what_sluice_prints_for_its_pipeline() -> None:
    default = load_dir(EXAMPLE).variables["lake_tables"]["default"]
    assert default == _printed_tables()


def test_the_projection_is_the_one_sluices_ddl_writes() -> None:
    # GIVEN the module's projection parameters and sluice's for an hourly table with a field
    module = load_dir(MODULES / "lake_catalog")
    projection = str(module.locals["projection"])
    config = load_config(PIPELINE)
    (page_views,) = [t for t in lake_tables(config, "page_views") if t.format == "jsonl"]
    # THEN every parameter sluice writes is one the module writes, with the same values
    for key, value in page_views.projection().items():
        if key == "storage.location.template":
            continue
        assert f'"{key}" = ' in projection, key
        if key != "projection.dt.range":
            assert f'"{key}" = "{value}"' in projection, (key, value)
    assert module.variables["projection_start"]["default"] == PROJECTION_START
    assert '"${var.projection_start},NOW"' in projection
    assert '"projection.${field}.type" => "injected"' in projection
    # and the location template of the tftest's assertion is sluice's
    assert page_views.projection()["storage.location.template"] == (
        "s3://sluice-demo-lake/lake/page_views/dt=${dt}/hr=${hr}"
    )
    test = (EXAMPLE / "tests" / "lake_catalog.tftest.hcl").read_text()
    assert '/lake/page_views/dt=$${dt}/hr=$${hr}"' in test


def test_json_and_parquet_tables_use_their_serdes() -> None:
    serde = str(load_dir(MODULES / "lake_catalog").locals["serde"])
    assert "org.openx.data.jsonserde.JsonSerDe" in serde
    assert "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe" in serde


def test_the_workgroup_enforces_encrypted_results_in_their_own_bucket() -> None:
    module = load_dir(MODULES / "lake_catalog")
    (configuration,) = module.resources[("aws_athena_workgroup", "lake")]["configuration"]
    assert configuration["enforce_workgroup_configuration"] is True
    assert configuration["publish_cloudwatch_metrics_enabled"] is True
    (result,) = configuration["result_configuration"]
    assert result["output_location"] == "s3://${module.results.name}/results/"
    (encryption,) = result["encryption_configuration"]
    assert encryption == {"encryption_option": "SSE_KMS", "kms_key_arn": "${var.kms_key_arn}"}
    results = module.modules["results"]
    assert results["source"] == "../s3_bucket" and results["kms_key_arn"] == "${var.kms_key_arn}"
    # the module's expiry rule on the prefix "" expires every result
    assert results["quarantine_prefix"] == ""
    assert results["quarantine_expiration_days"] == "${var.results_expiration_days}"


def _glue_statement() -> dict[str, Any]:
    policy = load_dir(MODULES / "iam").data[("aws_iam_policy_document", "task")]
    (found,) = [s for s in statements(policy) if s["sid"] == "GlueIcebergTables"]
    return found


def test_the_task_role_reaches_glue_only_for_the_iceberg_databases() -> None:
    statement = _glue_statement()
    assert set(statement["actions"]) == GLUE_ACTIONS
    resources = str(statement["resources"])
    assert ":catalog" in resources and "statement.value" in resources
    assert 'replace(arn, ":database/", ":table/")}/*' in resources
    policy = load_dir(MODULES / "iam").data[("aws_iam_policy_document", "task")]
    (gate,) = [
        d["statement"]["for_each"]
        for d in policy["dynamic"]
        if d["statement"]["content"][0]["sid"] == "GlueIcebergTables"
    ]
    assert "length(var.glue_iceberg_database_arns) > 0" in gate
    # only database ARNs, no wildcard: the tables pattern is derived from each
    (validation,) = load_dir(MODULES / "iam").variables["glue_iceberg_database_arns"]["validation"]
    assert 'strcontains(arn, ":database/")' in validation["condition"]
    assert '!strcontains(arn, "*")' in validation["condition"]
    call = load_dir(EXAMPLE).modules["iam"]
    assert call["glue_iceberg_database_arns"] == (
        "${compact([module.lake_catalog.iceberg_database_arn])}"
    )


def test_the_iceberg_sink_is_pointed_at_glue_in_the_lake_bucket() -> None:
    environment = str(load_dir(EXAMPLE).locals["sink_environment"])
    assert "SLUICE__SINKS__TABLES__NAMESPACE" in environment
    assert re.search(r'type\s*=\s*"glue"', environment)
    assert "s3://${module.bucket.name}/${var.iceberg_warehouse_prefix}" in environment
    assert "SLUICE__SINKS__COLUMNS__BUCKET" in environment
