"""Every price the cost model applies, in one place, and the date they were taken.

USD list prices for us-east-1 as known on `PRICES_AS_OF`. This machine reaches no AWS
pricing page or Price List API (only package registries), so none of them could be
verified online on that date: they are the published list prices as the author knew them,
and docs/cost.md names the page to check each against. A region, a newer price list or a
negotiated rate is one `Prices(...)` away; `estimate(..., prices=...)` takes it.
"""

from __future__ import annotations

from dataclasses import dataclass

PRICES_AS_OF = "2026-12-04"


@dataclass(frozen=True, slots=True)
class Prices:
    """List prices, USD, us-east-1, as known on PRICES_AS_OF (sources: docs/cost.md)."""

    # compute
    fargate_vcpu_hour: float = 0.04048  # Linux/x86
    fargate_gb_hour: float = 0.004445  # Linux/x86
    fargate_spot_discount: float = 0.70  # typical; Spot prices float
    # sources
    kinesis_shard_hour: float = 0.015  # provisioned mode
    kinesis_put_units_per_million: float = 0.014  # 25 KiB payload units
    sqs_requests_per_million: float = 0.40  # standard queue
    # sinks and checkpoints
    s3_puts_per_thousand: float = 0.005  # PUT, COPY, POST, LIST
    s3_gb_month: float = 0.023  # Standard, first 50 TB
    s3_gets_per_thousand: float = 0.0004  # GET, SELECT and all other requests
    glue_requests_per_million: float = 1.00  # Data Catalog requests beyond the free million
    athena_tb_scanned: float = 5.00  # SQL queries, per TB scanned (10 MB minimum a query)
    dynamodb_writes_per_million: float = 0.625  # on-demand write request units
    dynamodb_gb_month: float = 0.25  # table storage, Standard table class
    dynamodb_pitr_gb_month: float = 0.20  # continuous backups (point-in-time recovery)
    # CloudWatch (Container Insights is billed at the same custom-metric and ingest rates)
    cloudwatch_metric_month: float = 0.30  # custom metric, first 10,000
    cloudwatch_logs_ingest_gb: float = 0.50  # standard log class
    cloudwatch_alarm_metric_month: float = 0.10  # standard resolution, per metric
    cloudwatch_dashboard_month: float = 3.00
    # keys and storage of the platform
    kms_key_month: float = 1.00
    ecr_gb_month: float = 0.10  # private repository storage
    efs_standard_gb_month: float = 0.30  # Standard storage class, Regional
    efs_ia_gb_month: float = 0.016  # Infrequent Access storage class
    backup_efs_gb_month: float = 0.05  # AWS Backup warm storage of EFS
    # network
    vpc_endpoint_az_hour: float = 0.01  # interface endpoint, per AZ
    vpc_endpoint_gb: float = 0.01  # interface endpoint data processed, first PB
    nat_gateway_hour: float = 0.045
    nat_gateway_gb: float = 0.045  # data processed
    public_ipv4_hour: float = 0.005  # in-use public IPv4 address (the NAT's Elastic IP)


PRICES = Prices()
