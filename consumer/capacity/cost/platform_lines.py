"""The lines of the platform around the pipeline: Container Insights, the KMS key, image
storage in ECR, the optional EFS file system, and the way out of the VPC (interface
endpoints or a NAT gateway). Most are fixed; Container Insights' logs grow with the
tasks, the network's data charge with the bytes read and logged."""

from __future__ import annotations

from consumer.capacity.cost.prices import Prices
from consumer.capacity.cost.result import CostLine
from consumer.capacity.cost.shape import Shape
from consumer.capacity.cost.sizing import (
    HOURS_PER_MONTH,
    insights_log_gb_per_month,
    insights_metrics,
)


def _gb(value: float) -> str:
    return f"{value:,.0f} GB" if value >= 100 else f"{value:,.2g} GB"


def container_insights(tasks: int, shape: Shape, prices: Prices) -> list[CostLine]:
    """Billed as custom metrics (per cluster, service and task family) and as the
    ingestion of its performance log events (per task and container, each minute)."""
    metrics = insights_metrics(shape)
    log_gb = insights_log_gb_per_month(tasks, shape)
    return [
        CostLine(
            "Container Insights",
            "metrics (cluster, services, task families)",
            f"{metrics} metrics",
            metrics * prices.cloudwatch_metric_month,
        ),
        CostLine(
            "Container Insights",
            "performance log events",
            f"{_gb(log_gb)} from {tasks} task(s)",
            log_gb * prices.cloudwatch_logs_ingest_gb,
        ),
    ]


def kms(prices: Prices) -> list[CostLine]:
    return [CostLine("KMS", "customer-managed key", "1", prices.kms_key_month)]


def ecr(shape: Shape, prices: Prices) -> list[CostLine]:
    """Images kept by the lifecycle policy, each counted whole: an upper bound, since
    layers that did not change between releases are stored once."""
    stored_gb = shape.images_kept * shape.image_mb / 1000
    return [
        CostLine(
            "ECR",
            "image storage",
            f"{shape.images_kept} x {shape.image_mb:g} MB",
            stored_gb * prices.ecr_gb_month,
        )
    ]


def efs(shape: Shape, prices: Prices) -> list[CostLine]:
    """The optional file system: Standard, the share moved to Infrequent Access after 30
    days without access (its lifecycle policy), and its AWS Backup copy."""
    if shape.efs_gb <= 0:
        return []
    ia_gb = shape.efs_gb * shape.efs_ia_share
    standard_gb = shape.efs_gb - ia_gb
    lines = [
        CostLine(
            "EFS",
            "storage, Standard",
            _gb(standard_gb),
            standard_gb * prices.efs_standard_gb_month,
        )
    ]
    if ia_gb > 0:
        lines.append(
            CostLine(
                "EFS", "storage, Infrequent Access", _gb(ia_gb), ia_gb * prices.efs_ia_gb_month
            )
        )
    lines.append(
        CostLine(
            "EFS",
            "backup (AWS Backup, warm)",
            _gb(shape.efs_gb),
            shape.efs_gb * prices.backup_efs_gb_month,
        )
    )
    return lines


def network(data_gb: float, shape: Shape, prices: Prices) -> list[CostLine]:
    """The tasks' way to the AWS APIs other than S3 and DynamoDB (free gateway endpoints
    in every mode): `data_gb` is what crosses it in a month."""
    if shape.network == "endpoints":
        endpoint_hours = shape.interface_endpoints * shape.availability_zones * HOURS_PER_MONTH
        return [
            CostLine(
                "VPC",
                "interface endpoints",
                f"{shape.interface_endpoints} x {shape.availability_zones} AZ",
                endpoint_hours * prices.vpc_endpoint_az_hour,
            ),
            CostLine(
                "VPC",
                "interface endpoint data processed",
                _gb(data_gb),
                data_gb * prices.vpc_endpoint_gb,
            ),
        ]
    if shape.network == "nat":
        gateway_hours = shape.nat_gateways * HOURS_PER_MONTH
        return [
            CostLine(
                "VPC",
                "NAT gateways",
                f"{shape.nat_gateways} gateway(s)",
                gateway_hours * prices.nat_gateway_hour,
            ),
            CostLine("VPC", "NAT data processed", _gb(data_gb), data_gb * prices.nat_gateway_gb),
            CostLine(
                "VPC",
                "public IPv4 (NAT Elastic IPs)",
                f"{shape.nat_gateways} address(es)",
                gateway_hours * prices.public_ipv4_hour,
            ),
        ]
    return []
