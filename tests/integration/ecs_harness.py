"""ECS on the emulator for tests: a Fargate cluster, the local agent that runs its tasks,
and an SNS topic whose messages a test can read."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from consumer.aws.clients import AwsClients
from consumer.aws.ecs import EcsLaunchConfig
from consumer.local.emulator_ecs import LocalEcsAgent
from tests.integration.harness import REPO

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/sluice:test"


def topic_with_queue(aws: AwsClients, unique: str) -> tuple[str, str]:
    """An SNS topic delivering raw messages to an SQS queue the test can read."""
    sns, sqs = aws.client("sns"), aws.client("sqs")
    topic = sns.create_topic(Name=f"alerts-{unique}")["TopicArn"]
    url = sqs.create_queue(QueueName=f"alerts-{unique}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=arn["QueueArn"],
        Attributes={"RawMessageDelivery": "true"},
    )
    return topic, url


def ecs_cluster(aws: AwsClients, unique: str) -> EcsLaunchConfig:
    """A Fargate cluster and task definition on the emulator, with a subnet for awsvpc (in
    a VPC with DNS hostnames, as Fargate needs; moto's RunTask fails without them)."""
    ec2, ecs = aws.client("ec2"), aws.client("ecs")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName=f"sg-{unique}", Description="t", VpcId=vpc)
    ecs.create_cluster(clusterName=f"batch-{unique}")
    ecs.register_task_definition(
        family=f"sluice-batch-{unique}",
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="1024",
        memory="2048",
        containerDefinitions=[
            {"name": "sluice", "image": IMAGE, "essential": True, "cpu": 1024, "memory": 2048}
        ],
    )
    return EcsLaunchConfig(
        cluster=f"batch-{unique}",
        task_definition=f"sluice-batch-{unique}",
        subnets=(subnet,),
        security_groups=(group["GroupId"],),
        poll_interval_s=0.2,
    )


@pytest.fixture()
def agent_env(emulator_endpoint: str) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL": emulator_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "PYTHONPATH": str(REPO),
        "SLUICE_LOG_LEVEL": "WARNING",
    }


@pytest.fixture()
def agent(aws: AwsClients, unique: str, agent_env: dict[str, str]) -> Iterator[LocalEcsAgent]:
    with LocalEcsAgent(aws.client("ecs"), f"batch-{unique}", agent_env, REPO) as running:
        yield running
