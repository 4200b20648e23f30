"""The cost model's deployment defaults are the Terraform's: the interface endpoints the
example creates, the images ECR keeps, Container Insights on, EFS's Infrequent Access
transition and backup, the network module's zones and NAT gateways, and the SQS ledger's
table, retention and staging expiry."""

from __future__ import annotations

import pytest

from consumer.capacity.cost import Shape
from consumer.capacity.cost.ledger_lines import S3_SINKS, STAGED_COPY_DAYS
from consumer.capacity.cost.shape import ECR_IMAGES_KEPT, EXAMPLE_INTERFACE_ENDPOINTS
from tests.infra.tf import EXAMPLE, MODULES, load_dir


def test_interface_endpoints_are_the_modules_defaults_and_the_examples_extras() -> None:
    services = load_dir(MODULES / "vpc_endpoints").variables["interface_services"]["default"]
    extras = load_dir(EXAMPLE).modules["endpoints"]["extra_interface_services"]
    assert len(set(services) | set(extras)) == EXAMPLE_INTERFACE_ENDPOINTS
    assert Shape().interface_endpoints == EXAMPLE_INTERFACE_ENDPOINTS


def test_ecr_keeps_the_images_the_model_prices() -> None:
    module = load_dir(MODULES / "ecr")
    assert module.variables["keep_images"]["default"] == ECR_IMAGES_KEPT
    assert "imageCountMoreThan" in module.code() and "var.keep_images" in module.code()
    assert Shape().images_kept == ECR_IMAGES_KEPT


def test_container_insights_is_on_so_it_is_always_priced() -> None:
    cluster = load_dir(MODULES / "ecs_cluster").resources[("aws_ecs_cluster", "this")]
    settings = {item["name"]: item["value"] for item in cluster["setting"]}
    assert settings == {"containerInsights": "enabled"}  # standard, not "enhanced"


def test_efs_moves_to_infrequent_access_after_30_days_and_is_backed_up() -> None:
    module = load_dir(MODULES / "efs")
    system = module.resources[("aws_efs_file_system", "this")]
    assert system["lifecycle_policy"][0]["transition_to_ia"] == "AFTER_30_DAYS"
    assert system["throughput_mode"] == "elastic"  # per-GB transfer: not modelled
    backup = module.resources[("aws_efs_backup_policy", "this")]
    assert backup["backup_policy"][0]["status"] == "ENABLED"
    assert load_dir(EXAMPLE).variables["enable_efs"]["default"] is False
    assert Shape().efs_gb == 0


def test_network_module_defaults_are_the_models() -> None:
    path = MODULES / "network"
    if not (path / "variables.tf").exists():
        pytest.skip(f"{path} does not exist on this branch yet (issue 17, part 5)")
    variables = load_dir(path).variables
    assert variables["az_count"]["default"] == Shape().availability_zones
    assert variables["egress"]["default"] == Shape().network == "endpoints"
    assert variables["one_nat_gateway_per_az"]["default"] is False
    assert Shape().nat_gateways == 1


def test_sqs_ledger_defaults_are_the_example_terraforms() -> None:
    # The example creates the ledger for an SQS source, so the model prices it by default
    example = load_dir(EXAMPLE)
    assert "local.sqs ?" in example.locals["sqs_ledger_table_name"]
    assert Shape().sqs_ledger is True
    # items are kept for the queue's retention (plus a day): the example queue's 4 days
    retention_s = example.variables["sqs_retention_seconds"]["default"]
    assert Shape().sqs_retention_days * 86_400 == retention_s
    # staged copies: the staging rule's noncurrent days, plus half a day to the next run
    bucket = load_dir(MODULES / "s3_bucket").variables
    assert bucket["staging_noncurrent_days"]["default"] + 0.5 == STAGED_COPY_DAYS
    # the staging prefixes of the lake sink and the quarantine: one S3 sink lists a cut
    assert S3_SINKS == 1
