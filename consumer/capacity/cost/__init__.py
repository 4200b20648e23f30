"""`sluice cost`: a monthly AWS cost estimate for a given load, and its assumptions.

`estimate` is a pure function of the load (records per second, record size), the
measured per-core throughput of the pipeline and the deployment's shape; `render` prints
it as a table. It sizes the consumer (tasks of one vCPU: the pipeline core is one Python
process, so it uses one core) and the stream (shards), then prices Fargate, Kinesis or
SQS, S3, DynamoDB checkpoints, the SQS source's exactly-once ledger, CloudWatch, Container
Insights, KMS, ECR, EFS and the way out of the VPC (interface endpoints or a NAT gateway)
with the figures in `Prices`. docs/cost.md explains the method and where each price comes
from.

The modules: `prices` (every price and its date), `shape` (the deployment), `sizing`
(quotas, tasks, shards, bytes), `pipeline_lines`, `ledger_lines` and `platform_lines` (the
priced lines), `model` (`estimate`), `report` (`render`), `cli` (the arguments). Prices
are us-east-1 list prices as known on `PRICES_AS_OF`; free tiers, savings plans and data
transfer are left out. The output is an order of magnitude to plan with, not a quote.
"""

from __future__ import annotations

from consumer.capacity.cost.cli import (
    DEFAULT_PER_CORE_RECORDS_PER_S,
    add_deployment_arguments,
    configure_parser,
    deployment_fields,
    from_args,
)
from consumer.capacity.cost.model import estimate
from consumer.capacity.cost.prices import PRICES, PRICES_AS_OF, Prices
from consumer.capacity.cost.report import render, table
from consumer.capacity.cost.result import CostEstimate, CostLine
from consumer.capacity.cost.shape import NETWORKS, Driver, Network, Shape, Source
from consumer.capacity.cost.sizing import (
    HOURS_PER_MONTH,
    KIB,
    MIB,
    SECONDS_PER_MONTH,
    flushes_per_s,
    shards_for,
    tasks_for,
)

__all__ = [
    "DEFAULT_PER_CORE_RECORDS_PER_S",
    "HOURS_PER_MONTH",
    "KIB",
    "MIB",
    "NETWORKS",
    "PRICES",
    "PRICES_AS_OF",
    "SECONDS_PER_MONTH",
    "CostEstimate",
    "CostLine",
    "Driver",
    "Network",
    "Prices",
    "Shape",
    "Source",
    "add_deployment_arguments",
    "configure_parser",
    "deployment_fields",
    "estimate",
    "flushes_per_s",
    "from_args",
    "render",
    "shards_for",
    "table",
    "tasks_for",
]
