"""`BacklogPerTask` for ECS target tracking: visible messages divided by running tasks.

Every task may publish it (leader-free): they all compute the same value from the same
two reads, and target tracking averages the datapoints. Target value rule: acceptable
latency in seconds divided by the measured seconds per message per task; e.g. 60 s of
acceptable backlog at 2 ms a message gives a target of 30,000 (docs/metrics.md).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

log = logging.getLogger(__name__)


class BacklogConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = False
    queue: str | None = Field(None, description="queue to measure; the SQS source's when unset")
    cluster: str = Field("default", description="ECS cluster of the service")
    service: str | None = Field(None, description="ECS service whose running tasks count")
    namespace: str = "sluice"
    interval_s: float = Field(60.0, ge=1)


def backlog_per_task(sqs: Any, ecs: Any, queue_url: str, cluster: str, service: str) -> float:
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"]
    )
    visible = int(attributes["Attributes"]["ApproximateNumberOfMessages"])
    return visible / max(running_tasks(ecs, cluster, service), 1)


def running_tasks(ecs: Any, cluster: str, service: str) -> int:
    """Tasks of the service that ECS wants running (started or starting)."""
    pages = ecs.get_paginator("list_tasks").paginate(
        cluster=cluster, serviceName=service, desiredStatus="RUNNING"
    )
    return sum(len(page["taskArns"]) for page in pages)


def publish(
    cloudwatch: Any, namespace: str, service: str, value: float, high_resolution: bool = False
) -> None:
    """PutMetricData of one datapoint; high resolution (1 s storage) when published more
    often than once a minute, so an alarm can use a period below 60 s."""
    datum: dict[str, Any] = {
        "MetricName": "BacklogPerTask",
        "Value": value,
        "Unit": "Count",
        "Dimensions": [{"Name": "service", "Value": service}],
    }
    if high_resolution:
        datum["StorageResolution"] = 1
    cloudwatch.put_metric_data(Namespace=namespace, MetricData=[datum])


class BacklogPublisher:
    def __init__(self, config: BacklogConfig, aws: Any, queue_url: str, service: str) -> None:
        self.config = config
        self.sqs, self.ecs, self.cloudwatch = (
            aws.client("sqs"),
            aws.client("ecs"),
            aws.client("cloudwatch"),
        )
        self.queue_url = queue_url
        self.service = config.service or service
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="backlog", daemon=True)

    def publish_once(self) -> float:
        value = backlog_per_task(
            self.sqs, self.ecs, self.queue_url, self.config.cluster, self.service
        )
        high_resolution = self.config.interval_s < 60
        publish(self.cloudwatch, self.config.namespace, self.service, value, high_resolution)
        return value

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while True:
            try:
                self.publish_once()
            except Exception:
                log.exception("BacklogPerTask not published")
            if self._stop.wait(self.config.interval_s):
                return
