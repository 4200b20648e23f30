"""BacklogPerTask on the emulator (scale-in protection: test_ecs_runtime.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from consumer.aws.clients import AwsClients
from consumer.runtime.backlog import BacklogConfig, BacklogPublisher

pytestmark = pytest.mark.integration


def _ecs_service(aws: AwsClients, unique: str, tasks: int) -> tuple[str, str]:
    ecs, ec2 = aws.client("ecs"), aws.client("ec2")
    cluster, service = f"c-{unique}", f"svc-{unique}"
    ecs.create_cluster(clusterName=cluster)
    instance = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)["Instances"][0]
    document = json.dumps({"instanceId": instance["InstanceId"], "region": aws.region})
    ecs.register_container_instance(cluster=cluster, instanceIdentityDocument=document)
    ecs.register_task_definition(
        family=service, containerDefinitions=[{"name": "sluice", "image": "sluice", "memory": 128}]
    )
    ecs.create_service(
        cluster=cluster, serviceName=service, taskDefinition=service, desiredCount=tasks
    )
    ecs.run_task(cluster=cluster, taskDefinition=service, count=tasks, startedBy=service)
    return cluster, service


def test_backlog_per_task_is_visible_messages_over_running_tasks(
    aws: AwsClients, unique: str
) -> None:
    # GIVEN 40 visible messages and a service with 4 running tasks
    cluster, service = _ecs_service(aws, unique, tasks=4)
    sqs = aws.client("sqs")
    url = sqs.create_queue(QueueName=f"backlog-{unique}")["QueueUrl"]
    for start in range(0, 40, 10):
        sqs.send_message_batch(
            QueueUrl=url,
            Entries=[{"Id": str(i), "MessageBody": "{}"} for i in range(start, start + 10)],
        )
    config = BacklogConfig(enabled=True, cluster=cluster, service=service)

    # WHEN the publisher runs once
    value = BacklogPublisher(config, aws, url, service).publish_once()

    # THEN 10 is published to CloudWatch under the service's dimension
    now = datetime.now(UTC)
    stats = aws.client("cloudwatch").get_metric_statistics(
        Namespace="sluice",
        MetricName="BacklogPerTask",
        Dimensions=[{"Name": "service", "Value": service}],
        StartTime=now - timedelta(minutes=5),
        EndTime=now + timedelta(minutes=5),
        Period=60,
        Statistics=["Average"],
    )
    assert value == 10.0
    assert [p["Average"] for p in stats["Datapoints"]] == [10.0]
