"""`sluice cost`: the platform lines (Container Insights, ECR, EFS, the network) appear,
scale with what they are billed on, and follow the CLI's deployment arguments."""

from __future__ import annotations

import argparse

import pytest

from consumer.capacity.cost import (
    HOURS_PER_MONTH,
    PRICES,
    SECONDS_PER_MONTH,
    CostEstimate,
    Shape,
    configure_parser,
    estimate,
    from_args,
)
from consumer.capacity.cost.sizing import (
    INSIGHTS_CONTAINER_EVENT_BYTES,
    INSIGHTS_TASK_EVENT_BYTES,
    MINUTES_PER_MONTH,
    SQS_MESSAGE_WIRE_BYTES,
)

INSIGHTS_METRICS = ("Container Insights", "metrics (cluster, services, task families)")
INSIGHTS_LOGS = ("Container Insights", "performance log events")


def _line(result: CostEstimate, service: str, item: str) -> float:
    matches = [x.usd_per_month for x in result.lines if x.service == service and x.item == item]
    assert len(matches) == 1, (service, item, result.lines)
    return matches[0]


def _items(result: CostEstimate, service: str) -> list[str]:
    return [line.item for line in result.lines if line.service == service]


def test_container_insights_metrics_follow_services_and_families_not_tasks() -> None:
    # GIVEN one load on 1 task and on 15 tasks (a slower core)
    one = estimate(1000, 800, 27_000, Shape(source="sqs"))
    many = estimate(1000, 800, 100, Shape(source="sqs"))
    assert (one.tasks, many.tasks) == (1, 15)
    # THEN the metrics are those of one cluster, one service and one task family
    assert _line(one, *INSIGHTS_METRICS) == pytest.approx(37 * PRICES.cloudwatch_metric_month)
    assert _line(many, *INSIGHTS_METRICS) == _line(one, *INSIGHTS_METRICS)
    # AND each further service adds 15 metrics, each further task family 10
    more = estimate(1000, 800, 27_000, Shape(source="sqs", ecs_services=2, task_families=3))
    extra = _line(more, *INSIGHTS_METRICS) - _line(one, *INSIGHTS_METRICS)
    assert extra == pytest.approx((15 + 2 * 10) * PRICES.cloudwatch_metric_month)


def test_container_insights_log_events_grow_with_tasks_and_containers() -> None:
    shape = Shape(source="sqs")
    one, fifteen = estimate(1000, 800, 27_000, shape), estimate(1000, 800, 100, shape)
    per_task_gb = (INSIGHTS_TASK_EVENT_BYTES + INSIGHTS_CONTAINER_EVENT_BYTES) * (
        MINUTES_PER_MONTH / 1e9
    )
    step = _line(fifteen, *INSIGHTS_LOGS) - _line(one, *INSIGHTS_LOGS)
    assert step == pytest.approx(14 * per_task_gb * PRICES.cloudwatch_logs_ingest_gb)
    sidecar = estimate(1000, 800, 27_000, Shape(source="sqs", containers_per_task=2))
    added = _line(sidecar, *INSIGHTS_LOGS) - _line(one, *INSIGHTS_LOGS)
    expected = INSIGHTS_CONTAINER_EVENT_BYTES * MINUTES_PER_MONTH / 1e9
    assert added == pytest.approx(expected * PRICES.cloudwatch_logs_ingest_gb)


def test_ecr_storage_is_images_kept_times_image_size() -> None:
    result = estimate(1000, 800, 27_000, Shape(image_mb=500, images_kept=10))
    assert _line(result, "ECR", "image storage") == pytest.approx(10 * 0.5 * 0.10)
    doubled = estimate(1000, 800, 27_000, Shape(image_mb=500, images_kept=20))
    assert _line(doubled, "ECR", "image storage") == pytest.approx(
        2 * _line(result, "ECR", "image storage")
    )


def test_efs_is_priced_only_when_it_holds_data() -> None:
    assert _items(estimate(1000, 800, 27_000), "EFS") == []
    result = estimate(1000, 800, 27_000, Shape(efs_gb=100, efs_ia_share=0.6))
    assert _line(result, "EFS", "storage, Standard") == pytest.approx(40 * 0.30)
    assert _line(result, "EFS", "storage, Infrequent Access") == pytest.approx(60 * 0.016)
    assert _line(result, "EFS", "backup (AWS Backup, warm)") == pytest.approx(100 * 0.05)
    hot = estimate(1000, 800, 27_000, Shape(efs_gb=100))
    assert _items(hot, "EFS") == ["storage, Standard", "backup (AWS Backup, warm)"]


def test_interface_endpoints_scale_with_endpoints_and_azs() -> None:
    two = estimate(1000, 800, 27_000, Shape(availability_zones=2))
    three = estimate(1000, 800, 27_000, Shape(availability_zones=3))
    hourly = _line(two, "VPC", "interface endpoints")
    assert hourly == pytest.approx(12 * 2 * HOURS_PER_MONTH * PRICES.vpc_endpoint_az_hour)
    assert _line(three, "VPC", "interface endpoints") == pytest.approx(hourly * 1.5)
    fewer = estimate(1000, 800, 27_000, Shape(interface_endpoints=6))
    assert _line(fewer, "VPC", "interface endpoints") == pytest.approx(hourly / 2)
    # the data charge does not depend on the AZs
    data = ("VPC", "interface endpoint data processed")
    assert _line(three, *data) == _line(two, *data)


def test_network_data_is_the_source_on_the_wire_plus_the_logs() -> None:
    # GIVEN SQS at 1,000 messages/s of 800 bytes: 2 flushes/s of 2,000 log bytes
    result = estimate(1000, 800, 27_000, Shape(source="sqs"))
    assert result.flushes_per_s == 2
    wire_gb = 1000 * (800 + SQS_MESSAGE_WIRE_BYTES) * SECONDS_PER_MONTH / 1e9
    log_gb = 2 * 2000 * SECONDS_PER_MONTH / 1e9
    expected = (wire_gb + log_gb) * PRICES.vpc_endpoint_gb
    assert _line(result, "VPC", "interface endpoint data processed") == pytest.approx(expected)
    # AND doubling the rate roughly doubles it (the logs follow the flushes)
    double = estimate(2000, 800, 27_000, Shape(source="sqs"))
    ratio = _line(double, "VPC", "interface endpoint data processed") / (
        _line(result, "VPC", "interface endpoint data processed")
    )
    assert ratio == pytest.approx(2.0, rel=0.01)


def test_nat_mode_prices_gateways_data_and_addresses_instead_of_endpoints() -> None:
    endpoints = estimate(1000, 800, 27_000)
    nat = estimate(1000, 800, 27_000, Shape(network="nat"))
    assert _items(nat, "VPC") == [
        "NAT gateways",
        "NAT data processed",
        "public IPv4 (NAT Elastic IPs)",
    ]
    assert _line(nat, "VPC", "NAT gateways") == pytest.approx(HOURS_PER_MONTH * 0.045)
    assert _line(nat, "VPC", "public IPv4 (NAT Elastic IPs)") == pytest.approx(
        HOURS_PER_MONTH * 0.005
    )
    # the same bytes as through the endpoints, at the NAT's rate
    processed = _line(endpoints, "VPC", "interface endpoint data processed")
    assert _line(nat, "VPC", "NAT data processed") == pytest.approx(processed * 4.5)
    per_az = estimate(1000, 800, 27_000, Shape(network="nat", nat_gateways=3))
    assert _line(per_az, "VPC", "NAT gateways") == pytest.approx(
        3 * _line(nat, "VPC", "NAT gateways")
    )


def test_network_none_has_no_vpc_lines() -> None:
    assert _items(estimate(1000, 800, 27_000, Shape(network="none")), "VPC") == []


def test_cli_deployment_arguments_reach_the_shape() -> None:
    parser = argparse.ArgumentParser()
    configure_parser(parser)
    argv = ["--records-per-s", "10", "--record-bytes", "100", "--network", "nat"]
    argv += ["--availability-zones", "3", "--nat-gateways", "3", "--image-mb", "300"]
    argv += ["--images-kept", "5", "--efs-gb", "50", "--efs-ia-share", "0.2"]
    argv += ["--ecs-services", "2", "--task-families", "3", "--containers-per-task", "2"]
    shape = from_args(parser.parse_args(argv)).shape
    assert (shape.network, shape.availability_zones, shape.nat_gateways) == ("nat", 3, 3)
    assert (shape.image_mb, shape.images_kept) == (300, 5)
    assert (shape.efs_gb, shape.efs_ia_share) == (50, 0.2)
    assert (shape.ecs_services, shape.task_families, shape.containers_per_task) == (2, 3, 2)
    defaults = from_args(parser.parse_args(argv[:4])).shape
    assert defaults == Shape()
