"""The arguments of `sluice cost`, and the deployment arguments `sluice plan` shares."""

from __future__ import annotations

import argparse
from typing import Any

from consumer.capacity.cost.model import estimate
from consumer.capacity.cost.result import CostEstimate
from consumer.capacity.cost.shape import LAKE_FORMATS, NETWORKS, Shape

DEFAULT_PER_CORE_RECORDS_PER_S = 27_000.0  # low end of `make bench`'s pipeline core figure
_DEFAULT = Shape()

# Shape field -> (flag, type, metavar, help): the platform around the pipeline
# (docs/cost.md, "Line items").
_DEPLOYMENT: dict[str, tuple[str, type, str, str]] = {
    "availability_zones": ("--availability-zones", int, "N", "AZs of the tasks' subnets"),
    "interface_endpoints": (
        "--interface-endpoints",
        int,
        "N",
        "interface endpoints with --network endpoints (the example's 11 services + sns)",
    ),
    "nat_gateways": (
        "--nat-gateways",
        int,
        "N",
        "NAT gateways with --network nat (1 shared, or one per AZ)",
    ),
    "image_mb": ("--image-mb", float, "MB", "compressed image size in ECR"),
    "images_kept": ("--images-kept", int, "N", "images the ECR lifecycle policy keeps"),
    "efs_gb": ("--efs-gb", float, "GB", "data on the optional EFS file system (enable_efs)"),
    "efs_ia_share": (
        "--efs-ia-share",
        float,
        "S",
        "0..1 of the EFS bytes untouched for 30 days (Infrequent Access)",
    ),
    "ecs_services": ("--ecs-services", int, "N", "ECS services (Container Insights metrics)"),
    "task_families": (
        "--task-families",
        int,
        "N",
        "task definition families with running tasks (Container Insights metrics)",
    ),
    "containers_per_task": ("--containers-per-task", int, "N", "containers in a task"),
}


def add_deployment_arguments(parser: argparse.ArgumentParser) -> None:
    """The network, Container Insights, ECR, EFS and SQS ledger inputs, defaulting to the
    example deployment's Terraform."""
    group = parser.add_argument_group("deployment (defaults: the example Terraform)")
    group.add_argument(
        "--network",
        choices=NETWORKS,
        default=_DEFAULT.network,
        help="how tasks reach AWS: VPC endpoints only, a NAT gateway, or a network paid "
        "for elsewhere (default: %(default)s)",
    )
    for name, (flag, kind, metavar, text) in _DEPLOYMENT.items():
        group.add_argument(
            flag,
            type=kind,
            metavar=metavar,
            default=getattr(_DEFAULT, name),
            help=f"{text} (default: %(default)g)",
        )
    group.add_argument(
        "--no-sqs-ledger",
        dest="sqs_ledger",
        action="store_false",
        help="--source sqs without the exactly-once ledger (a pipeline with "
        "exactly_once = false): no ledger table, staging copies or their requests",
    )
    group.add_argument(
        "--sqs-retention-days",
        type=float,
        metavar="D",
        default=_DEFAULT.sqs_retention_days,
        help="the queue's retention, how long the ledger keeps a claim (plus a day) "
        "(default: %(default)g, sqs_retention_seconds)",
    )


def deployment_fields(args: argparse.Namespace) -> dict[str, Any]:
    """The Shape fields that add_deployment_arguments parsed."""
    ledger = {"sqs_ledger": args.sqs_ledger, "sqs_retention_days": args.sqs_retention_days}
    return {"network": args.network} | ledger | {name: getattr(args, name) for name in _DEPLOYMENT}


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """The arguments of `sluice cost`."""
    parser.add_argument("--records-per-s", type=float, required=True, help="steady load")
    parser.add_argument("--record-bytes", type=int, required=True, help="average record size")
    parser.add_argument(
        "--per-core-records-per-s",
        type=float,
        default=DEFAULT_PER_CORE_RECORDS_PER_S,
        help="measured pipeline throughput of one core (default: %(default)g, make bench)",
    )
    parser.add_argument("--source", choices=["kinesis", "sqs"], default="kinesis")
    parser.add_argument("--kinesis-driver", choices=["polling", "kcl"], default="polling")
    parser.add_argument("--task-vcpu", type=float, default=1.0)
    parser.add_argument("--task-memory-gb", type=float, default=2.0)
    parser.add_argument("--target-utilization", type=float, default=0.7)
    parser.add_argument("--spot-share", type=float, default=0.0, help="0..1 of task-hours")
    parser.add_argument("--routes", type=int, default=1)
    parser.add_argument("--buffer-max-records", type=int, default=500)
    parser.add_argument("--buffer-max-age-s", type=float, default=5.0)
    lake = parser.add_argument_group("the lake (docs/lake.md)")
    lake.add_argument(
        "--lake-format",
        choices=LAKE_FORMATS,
        default=_DEFAULT.lake_format,
        help="what the S3 lake stores: gzip JSON Lines, Parquet objects or an Iceberg "
        "table (bytes stored, Glue and metadata requests) (default: %(default)s)",
    )
    lake.add_argument(
        "--athena-queries-per-day",
        type=float,
        default=_DEFAULT.athena_queries_per_day,
        help="Athena queries a day, each over one day of data (default: %(default)g)",
    )
    lake.add_argument(
        "--athena-column-share",
        type=float,
        default=_DEFAULT.athena_column_share,
        help="0..1 of a columnar row's bytes a query reads (default: %(default)g)",
    )
    add_deployment_arguments(parser)


def from_args(args: argparse.Namespace) -> CostEstimate:
    """The estimate for parsed `sluice cost` arguments."""
    shape = Shape(
        source=args.source,
        kinesis_driver=args.kinesis_driver,
        task_vcpu=args.task_vcpu,
        task_memory_gb=args.task_memory_gb,
        target_utilization=args.target_utilization,
        spot_share=args.spot_share,
        routes=args.routes,
        buffer_max_records=args.buffer_max_records,
        buffer_max_age_s=args.buffer_max_age_s,
        lake_format=args.lake_format,
        athena_queries_per_day=args.athena_queries_per_day,
        athena_column_share=args.athena_column_share,
        **deployment_fields(args),
    )
    return estimate(args.records_per_s, args.record_bytes, args.per_core_records_per_s, shape)
