"""`BacklogPerTask` as sluice publishes it (consumer/runtime/backlog.py) reaches LocalStack's
CloudWatch and reads back as the target-tracking policy would see it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from consumer.aws.clients import AwsClients
from consumer.runtime.backlog import publish

pytestmark = pytest.mark.localstack


def test_backlog_per_task_reads_back_with_its_dimension(aws: AwsClients, unique: str) -> None:
    # GIVEN two datapoints published for one service
    cloudwatch = aws.client("cloudwatch")
    namespace = f"sluice-{unique}"
    publish(cloudwatch, namespace, "orders", 120.0)
    publish(cloudwatch, namespace, "orders", 30.0)

    # WHEN the metric is read as target tracking reads it: by name and dimension
    now = datetime.now(UTC)
    stats = cloudwatch.get_metric_statistics(
        Namespace=namespace,
        MetricName="BacklogPerTask",
        Dimensions=[{"Name": "service", "Value": "orders"}],
        StartTime=now - timedelta(minutes=5),
        EndTime=now + timedelta(minutes=1),
        Period=300,
        Statistics=["Average", "Maximum", "SampleCount"],
    )

    # THEN both datapoints are there, counted and averaged
    points = stats["Datapoints"]
    assert sum(point["SampleCount"] for point in points) == 2
    assert max(point["Maximum"] for point in points) == 120.0
    listed = cloudwatch.list_metrics(Namespace=namespace)["Metrics"]
    assert [metric["Dimensions"] for metric in listed] == [[{"Name": "service", "Value": "orders"}]]
