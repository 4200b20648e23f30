"""Job messages run once per idempotency key; the DLQ can be inspected and redriven."""

from __future__ import annotations

from collections import Counter
from typing import Any

import orjson
import pytest

from batch_jobs.messages.runner import JobRunner
from batch_jobs.messages.spec import JobLedger, create_ledger_table
from batch_jobs.registry import jobs_with
from consumer.aws.clients import AwsClients
from consumer.sources.sqs import dlq

pytestmark = pytest.mark.integration


def _queues(aws: AwsClients, unique: str, max_receives: int = 2) -> tuple[str, str]:
    sqs = aws.client("sqs")
    dlq_url = sqs.create_queue(QueueName=f"jobs-dlq-{unique}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    policy = orjson.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": max_receives})
    sqs.create_queue(QueueName=f"jobs-{unique}", Attributes={"RedrivePolicy": policy.decode()})
    return f"jobs-{unique}", f"jobs-dlq-{unique}"


def _send(aws: AwsClients, queue: str, *bodies: Any) -> list[str]:
    sqs = aws.client("sqs")
    url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    ids = []
    for body in bodies:
        text = body if isinstance(body, str) else orjson.dumps(body).decode()
        ids.append(sqs.send_message(QueueUrl=url, MessageBody=text)["MessageId"])
    return ids


def test_same_job_twice_has_one_effect_and_bad_specs_go_to_the_dlq(
    aws: AwsClients, unique: str
) -> None:
    # GIVEN a registry with one job that counts its effects, and a ledger table
    queue, dead = _queues(aws, unique)
    create_ledger_table(aws.client("dynamodb"), f"ledger-{unique}")
    effects: Counter[str] = Counter()

    def backfill(params: dict[str, Any]) -> None:
        effects[params["day"]] += 1

    spec = {"job": "backfill", "params": {"day": "2026-11-21"}, "idempotency_key": "bf-21"}
    _send(aws, queue, spec, spec, {"job": "nope", "idempotency_key": "x"}, "{not json")
    runner = JobRunner(
        aws.client("sqs"),
        queue,
        dead,
        JobLedger(aws.client("dynamodb"), f"ledger-{unique}"),
        jobs=jobs_with({"backfill": backfill}),
        wait_time_s=1,
        backoff_base_s=0,
    )

    # WHEN the runner drains the queue
    counts = runner.run(until_idle=True)

    # THEN the job ran once, the duplicate was skipped, both bad specs are in the DLQ
    assert effects == {"2026-11-21": 1}
    assert (counts.ran, counts.skipped_done, counts.rejected) == (1, 1, 2)
    letters = dlq.inspect(aws.client("sqs"), dead)
    assert sorted(letter.reason["error_type"] for letter in letters) == ["JobRejected"] * 2
    assert any("unknown job 'nope'" in letter.reason["message"] for letter in letters)


def test_a_failing_job_is_retried_then_dead_lettered_and_can_be_redriven(
    aws: AwsClients, unique: str
) -> None:
    # GIVEN a job that fails until it is fixed
    queue, dead = _queues(aws, unique, max_receives=2)
    create_ledger_table(aws.client("dynamodb"), f"ledger-{unique}")
    fixed = {"ok": False}
    ran: list[str] = []

    def flaky(params: dict[str, Any]) -> None:
        if not fixed["ok"]:
            raise ConnectionError("upstream down")
        ran.append(params["n"])

    [sent_id] = _send(aws, queue, {"job": "flaky", "params": {"n": "1"}, "idempotency_key": "f1"})
    ledger = JobLedger(aws.client("dynamodb"), f"ledger-{unique}")

    def runner() -> JobRunner:
        return JobRunner(
            aws.client("sqs"),
            queue,
            dead,
            ledger,
            jobs=jobs_with({"flaky": flaky}),
            wait_time_s=1,
            backoff_base_s=0,
        )

    # WHEN it fails on both allowed receives
    counts = runner().run(until_idle=True, max_messages=2)

    # THEN it is in the DLQ with its reason
    assert counts.failed == 2
    [letter] = dlq.inspect(aws.client("sqs"), dead)
    assert (letter.reason["stage"], letter.reason["error_type"]) == ("job", "ConnectionError")
    assert letter.reason["receive_count"] == "2"
    # with the id it had in the source queue, which inspect shows beside the DLQ copy's
    assert letter.reason["message_id"] == sent_id != letter.message_id
    assert f"- {sent_id} (in the DLQ: {letter.message_id})" in dlq.render([letter])

    # WHEN the fix is in and the DLQ is redriven
    fixed["ok"] = True
    assert dlq.redrive(aws.client("sqs"), dead) == 1
    runner().run(until_idle=True)

    # THEN the job ran once and the DLQ is empty
    assert ran == ["1"]
    assert dlq.inspect(aws.client("sqs"), dead) == []
