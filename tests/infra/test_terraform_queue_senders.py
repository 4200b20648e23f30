"""S3 event notifications and SNS subscriptions can deliver into the KMS-encrypted SQS
queues: the queue policy lets the s3/sns service principals send and the key policy lets
them generate data keys, both only for the named buckets and topics of this account (no
confused deputy). The policies are rendered from the HCL for sample senders, as
Terraform would render their `dynamic "statement"` blocks."""

from __future__ import annotations

from typing import Any

import pytest

from tests.infra.hcl_eval import Evaluator
from tests.infra.tf import EXAMPLE, MODULES, load_dir, statements

BUCKETS = ["arn:aws:s3:::events-a", "arn:aws:s3:::events-b"]
TOPICS = ["arn:aws:sns:us-east-1:123456789012:orders"]
SERVICES = {"s3.amazonaws.com": BUCKETS, "sns.amazonaws.com": TOPICS}


def _locals(module: str) -> dict[str, Any]:
    return {k: v for k, v in load_dir(MODULES / module).locals.items() if k != "__comments__"}


def _substitute(value: Any, key: str, item: Any) -> Any:
    """`statement.key` / `statement.value` of one dynamic iteration."""
    if value == "${statement.key}":
        return key
    if value == "${statement.value}":
        return item
    if isinstance(value, list):
        return [_substitute(v, key, item) for v in value]
    if isinstance(value, dict):
        return {k: _substitute(v, key, item) for k, v in value.items()}
    return value


def _render(module: str, document: str, variables: dict[str, Any]) -> list[dict[str, Any]]:
    """The policy document's statements for these variables: static ones as written, each
    dynamic one once per entry of its for_each (a `{for k, v in local.X : k => v if ...}`)."""
    tf = load_dir(MODULES / module)
    policy = tf.data[("aws_iam_policy_document", document)]
    rendered: list[dict[str, Any]] = list(policy.get("statement", []))
    evaluate = Evaluator(variables, tf.locals)
    for dynamic in policy.get("dynamic", []):
        body = dynamic["statement"]
        source = body["for_each"]
        assert source.startswith("${{for "), f"{module}.{document}: unexpected for_each {source}"
        local_name = source.split(" in local.", 1)[1].split(" ", 1)[0]
        entries = {
            service: evaluate(str(expression))
            for service, expression in _locals(module)[local_name].items()
        }
        assert "if length(" in source  # a sender without ARNs renders no statement
        for key, item in entries.items():
            if item:
                rendered += [_substitute(content, key, item) for content in body["content"]]
    return rendered


def _conditions(statement: dict[str, Any]) -> dict[tuple[str, str], Any]:
    return {(c["test"], c["variable"]): c["values"] for c in statement.get("condition", [])}


def _for_service(found: list[dict[str, Any]], service: str) -> dict[str, Any]:
    matching = [
        s
        for s in found
        if s.get("effect", "Allow") == "Allow"
        and any(
            p["type"] == "Service" and service in p["identifiers"] for p in s.get("principals", [])
        )
    ]
    assert len(matching) == 1, f"{service}: {len(matching)} statements"
    return matching[0]


QUEUE_VARIABLES = {"sender_bucket_arns": BUCKETS, "sender_topic_arns": TOPICS, "fifo": False}
KEY_VARIABLES = {"queue_sender_bucket_arns": BUCKETS, "queue_sender_topic_arns": TOPICS}


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_the_queue_policy_lets_the_service_send_only_for_its_sources(service: str) -> None:
    # GIVEN the source queue's policy rendered for sample buckets and topics
    found = _render("sqs_queue", "queue", QUEUE_VARIABLES)
    # THEN the service may send, to this queue only, only for those sources of this account
    statement = _for_service(found, service)
    assert statement["actions"] == ["sqs:SendMessage"]
    assert statement["resources"] == ["${aws_sqs_queue.this.arn}"]
    conditions = _conditions(statement)
    assert conditions[("ArnLike", "aws:SourceArn")] == SERVICES[service]
    assert conditions[("StringEquals", "aws:SourceAccount")] == [
        "${data.aws_caller_identity.current.account_id}"
    ]
    # AND the policy is attached to the source queue
    attached = load_dir(MODULES / "sqs_queue").resources[("aws_sqs_queue_policy", "this")]
    assert attached["queue_url"] == "${aws_sqs_queue.this.id}"
    assert attached["policy"] == "${data.aws_iam_policy_document.queue.json}"


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_the_key_policy_lets_the_service_encrypt_only_for_its_sources(service: str) -> None:
    found = _render("kms", "key", KEY_VARIABLES)
    statement = _for_service(found, service)
    assert set(statement["actions"]) == {"kms:GenerateDataKey*", "kms:Decrypt"}
    conditions = _conditions(statement)
    assert conditions[("ArnLike", "aws:SourceArn")] == SERVICES[service]
    assert conditions[("StringEquals", "aws:SourceAccount")] == ["${local.account_id}"]
    assert _locals("kms")["account_id"] == "${data.aws_caller_identity.current.account_id}"


def test_without_senders_no_service_gets_the_queue_or_the_key() -> None:
    queue = _render("sqs_queue", "queue", {"sender_bucket_arns": [], "sender_topic_arns": []})
    key = _render("kms", "key", {"queue_sender_bucket_arns": [], "queue_sender_topic_arns": []})
    for found in (queue, key):
        principals = {i for s in found for p in s.get("principals", []) for i in p["identifiers"]}
        assert not principals & set(SERVICES)


@pytest.mark.parametrize("document", ["queue", "dlq"])
def test_both_queues_take_requests_over_tls_only(document: str) -> None:
    (deny,) = [
        s
        for s in statements(
            load_dir(MODULES / "sqs_queue").data[("aws_iam_policy_document", document)]
        )
        if s.get("effect") == "Deny"
    ]
    assert _conditions(deny) == {("Bool", "aws:SecureTransport"): ["false"]}
    assert deny["actions"] == ["sqs:*"]


def test_s3_senders_are_refused_for_a_fifo_queue() -> None:
    """S3 event notifications cannot target FIFO queues: the plan says so."""
    tf = load_dir(MODULES / "sqs_queue")
    (check,) = tf.resources[("aws_sqs_queue_policy", "this")]["lifecycle"][0]["precondition"]
    assert Evaluator({**QUEUE_VARIABLES, "fifo": False})(check["condition"]) is True
    assert Evaluator({**QUEUE_VARIABLES, "fifo": True})(check["condition"]) is False
    fifo_sns = {"sender_bucket_arns": [], "sender_topic_arns": TOPICS, "fifo": True}
    assert Evaluator(fifo_sns)(check["condition"]) is True


@pytest.mark.parametrize("source_type", ["sqs", "kinesis"])
def test_the_example_grants_the_same_senders_in_the_queue_and_the_key(source_type: str) -> None:
    # GIVEN the example with S3 and SNS senders configured
    example = load_dir(EXAMPLE)
    variables = {
        **{name: body.get("default") for name, body in example.variables.items()},
        "source_type": source_type,
        "s3_event_bucket_arns": BUCKETS,
        "sns_topic_arns": TOPICS,
    }
    evaluate = Evaluator(variables, example.locals)
    queue, kms = example.modules["queue"], example.modules["kms"]
    # THEN the queue and the key name the same buckets and topics (only with an SQS source)
    expected_buckets = BUCKETS if source_type == "sqs" else []
    expected_topics = TOPICS if source_type == "sqs" else []
    assert (
        evaluate(queue["sender_bucket_arns"])
        == evaluate(kms["queue_sender_bucket_arns"])
        == expected_buckets
    )
    assert (
        evaluate(queue["sender_topic_arns"])
        == evaluate(kms["queue_sender_topic_arns"])
        == expected_topics
    )
    # AND the queue is encrypted with that key
    assert queue["kms_key_arn"] == "${module.kms.key_arn}"
