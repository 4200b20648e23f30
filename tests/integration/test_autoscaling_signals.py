"""BacklogPerTask on the emulator, and ECS scale-in protection around batches."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import orjson
import pytest

from consumer.aws import AwsClients
from consumer.backlog import BacklogConfig, BacklogPublisher
from consumer.emulator import provision
from tests.configfile import write_toml
from tests.integration.sqs_harness import SqsHarness, body, make_sqs_config

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


class FakeEcsAgent:
    """Records the task-protection calls a task makes to its ECS agent, on loopback."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        agent = self

        class Handler(BaseHTTPRequestHandler):
            def do_PUT(self) -> None:
                length = int(self.headers["Content-Length"])
                body = orjson.loads(self.rfile.read(length))
                agent.calls.append({"path": self.path, **body})
                reply = orjson.dumps(
                    {"protection": {"ProtectionEnabled": body["ProtectionEnabled"]}}
                )
                self.send_response(200)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.uri = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeEcsAgent:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def states(self) -> list[bool]:
        return [bool(call["ProtectionEnabled"]) for call in self.calls]


@pytest.fixture()
def ecs_agent() -> Iterator[FakeEcsAgent]:
    with FakeEcsAgent() as agent:
        yield agent


REPO = Path(__file__).resolve().parents[2]


def test_sigterm_mid_batch_flushes_acks_and_releases_protection(
    aws: AwsClients, emulator_endpoint: str, ecs_agent: FakeEcsAgent, unique: str, tmp_path: Path
) -> None:
    # GIVEN `sluice run` on an SQS queue of 30 messages, buffers that would hold them a
    # minute, and a fake ECS agent
    config = make_sqs_config(unique, tmp_path / "it.db", wait_time_s=0)
    path = write_toml(
        config,
        tmp_path / "pipeline.toml",
        buffer={"max_age_s": 60.0},
        protection={"idle_release_s": 0.2, "check_interval_s": 0.2},
    )
    provision(config, aws)
    harness = SqsHarness(config, aws, tmp_path)
    harness.send([body(i) for i in range(30)])
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": emulator_endpoint,
        "ECS_AGENT_URI": ecs_agent.uri,
        "PYTHONPATH": str(REPO),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": aws.region,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "consumer", "run", "--config", str(path)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # WHEN the batch is in flight (protection on) and SIGTERM arrives
        deadline = time.monotonic() + 30
        while True not in ecs_agent.states and time.monotonic() < deadline:
            time.sleep(0.1)
        if ecs_agent.states[:1] != [True]:
            process.kill()
            pytest.fail(f"protection was never requested: {process.communicate()[1][-3000:]}")
        time.sleep(2.0)
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        process.kill()

    # THEN it exits 0 with everything flushed and deleted, and protection released last
    assert process.returncode == 0, stderr[-3000:]
    assert set(harness.lake_ids()) == {f"r{i}" for i in range(30)}
    assert harness.count(harness.source.queue) == 0
    assert ecs_agent.states[0] is True and ecs_agent.states[-1] is False
    assert all(call["path"] == "/task-protection/v1/state" for call in ecs_agent.calls)
    assert ecs_agent.calls[0]["ExpiresInMinutes"] == 10
    assert stdout == ""  # logs on stderr; EMF to the configured file
    emf = [orjson.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert sum(e.get("RecordsIn", 0) for e in emf) == 30
