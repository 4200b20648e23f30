"""The deployment's shape: what a load is sized and priced against.

The defaults are the example deployment's (infra/terraform/environments/example and the
modules it uses); tests/unit/test_cost_terraform.py reads them from the Terraform, so a
changed module default fails there instead of drifting silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

Source = Literal["kinesis", "sqs"]
Driver = Literal["polling", "kcl"]
# How the tasks reach AWS: VPC endpoints only (the example's default), a NAT gateway (S3
# and DynamoDB still through their free gateway endpoints), or a VPC whose network is
# already paid for elsewhere.
Network = Literal["endpoints", "nat", "none"]
NETWORKS: tuple[str, ...] = get_args(Network)
LakeFormat = Literal["jsonl", "parquet", "iceberg"]
LAKE_FORMATS: tuple[str, ...] = get_args(LakeFormat)

# modules/vpc_endpoints' 11 default interface services plus the example's "sns".
EXAMPLE_INTERFACE_ENDPOINTS = 12
# modules/ecr: keep_images, the newest images kept as rollback targets.
ECR_IMAGES_KEPT = 30
# The image's compressed size in ECR, without the KCL variant's JRE and jars: about
# 87 MB of runtime dependencies (measured: gzip of the installed packages) on the
# python:3.11-slim-bookworm base (about 45 MB). `aws ecr describe-images` gives yours.
IMAGE_MB = 140.0


@dataclass(frozen=True, slots=True)
class Shape:
    """The deployment's shape: what the load is sized and priced against."""

    source: Source = "kinesis"
    kinesis_driver: Driver = "polling"
    task_vcpu: float = 1.0
    task_memory_gb: float = 2.0
    target_utilization: float = 0.7  # of a core and of a shard; the rest is headroom
    spot_share: float = 0.0  # fraction of task-hours on Fargate Spot
    min_shards: int = 0  # shards kept although the steady load needs fewer (sluice plan)
    routes: int = 1
    buffer_max_records: int = 500
    buffer_max_age_s: float = 5.0
    compression_ratio: float = 0.25  # gzip'd JSON Lines bytes / record bytes
    custom_metrics: int = 20  # distinct metric name and dimension sets (EMF)
    alarm_metrics: int = 9  # metrics in infra/monitoring/alarms.json (8 kinesis, 9 sqs)
    log_bytes_per_flush: int = 2000  # EMF records and log lines per flush
    # Container Insights (modules/ecs_cluster turns it on; BacklogPerTask needs it)
    ecs_services: int = 1  # the consumer service
    task_families: int = 1  # task definition families with running tasks
    containers_per_task: int = 1  # modules/task_definition: one container, "sluice"
    # ECR (modules/ecr)
    image_mb: float = IMAGE_MB
    images_kept: int = ECR_IMAGES_KEPT
    # EFS (modules/efs, enable_efs = false by default: no file system)
    efs_gb: float = 0.0
    efs_ia_share: float = 0.0  # of the bytes, moved to Infrequent Access after 30 days
    # network (modules/network and modules/vpc_endpoints)
    network: Network = "endpoints"
    availability_zones: int = 2
    interface_endpoints: int = EXAMPLE_INTERFACE_ENDPOINTS
    nat_gateways: int = 1  # modules/network: one shared unless one_nat_gateway_per_az
    # the SQS source's exactly-once ledger (the example creates its table for SQS)
    sqs_ledger: bool = True  # source.exactly_once; --no-sqs-ledger
    sqs_retention_days: float = 4.0  # the queue's retention (sqs_retention_seconds)
    # the lake's format and its queries (consumer/capacity/cost/lake_lines.py)
    lake_format: LakeFormat = "jsonl"
    athena_queries_per_day: float = 0.0  # queries, each over one day of data
    athena_column_share: float = 0.25  # of a columnar row's bytes a query reads


def check(shape: Shape) -> None:
    """Refuse a shape no deployment can have."""
    if not 0 < shape.target_utilization <= 1:
        raise ValueError("target_utilization must be in (0, 1]")
    if not 0 <= shape.spot_share <= 1 or not 0 <= shape.efs_ia_share <= 1:
        raise ValueError("spot_share and efs_ia_share must be in [0, 1]")
    if shape.routes < 1 or shape.buffer_max_records < 1 or shape.buffer_max_age_s <= 0:
        raise ValueError("routes, buffer_max_records and buffer_max_age_s must be positive")
    if shape.network not in NETWORKS:
        raise ValueError(f"network must be one of {', '.join(NETWORKS)}")
    if not 60 / 86_400 <= shape.sqs_retention_days <= 14:
        raise ValueError("sqs_retention_days must be between 60 s and 14 days")
    if shape.lake_format not in LAKE_FORMATS:
        raise ValueError(f"lake_format must be one of {', '.join(LAKE_FORMATS)}")
    if shape.athena_queries_per_day < 0 or not 0 < shape.athena_column_share <= 1:
        raise ValueError("athena_queries_per_day must be >= 0, athena_column_share in (0, 1]")
    if shape.availability_zones < 1 or shape.containers_per_task < 1:
        raise ValueError("availability_zones and containers_per_task must be at least 1")
    counts = (
        shape.min_shards,
        shape.ecs_services,
        shape.task_families,
        shape.images_kept,
        shape.interface_endpoints,
        shape.nat_gateways,
    )
    if min(counts) < 0 or shape.image_mb < 0 or shape.efs_gb < 0:
        raise ValueError("counts, image_mb and efs_gb must not be negative")
