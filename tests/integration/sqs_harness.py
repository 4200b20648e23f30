"""The integration pipeline fed from SQS: config, producers and read-back."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from consumer.aws.clients import AwsClients
from consumer.config import PipelineConfig, parse_config
from consumer.local.emulator import provision
from consumer.runtime.service import Service
from consumer.sources.sqs.config import SqsSourceConfig
from consumer.sources.sqs.reader import SqsSource
from tests.integration.harness import Harness

POISON_TEXT = "poison"


class FlakyError(RuntimeError):
    pass


def reading_row_or_fail(reading: Any) -> dict[str, Any]:
    """The integration transform, failing (retryably) for readings keyed 'poison'."""
    if reading.key == POISON_TEXT:
        raise FlakyError(f"cannot transform {reading.id}")
    return {"id": reading.id, "key": reading.key, "seq": reading.seq, "value": reading.value}


def make_sqs_config(
    unique: str, db_path: Path, fifo: bool = False, max_receives: int = 3, **source: Any
) -> PipelineConfig:
    suffix = ".fifo" if fifo else ""
    raw: dict[str, Any] = {
        "name": f"it-{unique}",
        "source": {
            "type": "sqs",
            "queue": f"q-{unique}{suffix}",
            "dlq": f"dlq-{unique}{suffix}",
            "wait_time_s": 1,
            "receivers": 2,
            "visibility_timeout_s": 30,
            "backoff_base_s": 1,
            "idle_flush_s": 1.5,
            **source,
        },
        "routes": [
            {
                "name": "readings",
                "record_type": "reading",
                "schema": "tests.integration.harness:Reading",
                "transform": "tests.integration.sqs_harness:reading_row_or_fail",
                "sinks": ["lake", "db"],
                "key": "id",
                "version_field": "seq",
            }
        ],
        "sinks": {
            "lake": {"type": "s3", "bucket": f"lake-{unique}", "prefix": "lake"},
            "db": {"type": "sqlite", "path": str(db_path)},
        },
        "quarantine": {"type": "s3", "bucket": f"lake-{unique}", "prefix": "quarantine"},
        "buffer": {"max_records": 50, "max_age_s": 0.5},
        "emulator": {"max_receive_count": max_receives},
        "metrics": {"sink": "file", "path": str(db_path.parent / "metrics.jsonl")},
    }
    return parse_config(raw, "sqs integration test")


def body(index: int, key: str | None = None) -> str:
    return orjson.dumps(
        {
            "type": "reading",
            "id": f"r{index}",
            "key": key or f"k{index % 5}",
            "seq": index,
            "value": index / 2,
        }
    ).decode()


@dataclass
class SqsHarness(Harness):
    @classmethod
    def create_sqs(
        cls,
        aws: AwsClients,
        unique: str,
        tmp_path: Path,
        fifo: bool = False,
        max_receives: int = 3,
        **source: Any,
    ) -> SqsHarness:
        config = make_sqs_config(unique, tmp_path / "it.db", fifo, max_receives, **source)
        provision(config, aws)
        return cls(config, aws, tmp_path)

    @property
    def source(self) -> SqsSourceConfig:
        assert isinstance(self.config.source, SqsSourceConfig)
        return self.config.source

    def url(self, name: str) -> str:
        return str(self.aws.client("sqs").get_queue_url(QueueName=name)["QueueUrl"])

    def send(self, bodies: list[str], group: str | None = None) -> None:
        sqs, url = self.aws.client("sqs"), self.url(self.source.queue)
        for start in range(0, len(bodies), 10):
            entries = []
            for i, text in enumerate(bodies[start : start + 10]):
                entry: dict[str, Any] = {"Id": str(i), "MessageBody": text}
                if group is not None:
                    entry |= {
                        "MessageGroupId": group,
                        "MessageDeduplicationId": f"{group}-{start + i}-{time.time_ns()}",
                    }
                entries.append(entry)
            assert not sqs.send_message_batch(QueueUrl=url, Entries=entries).get("Failed")

    def count(self, name: str) -> int:
        attributes = self.aws.client("sqs").get_queue_attributes(
            QueueUrl=self.url(name),
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )
        values = attributes["Attributes"]
        return int(values["ApproximateNumberOfMessages"]) + int(
            values["ApproximateNumberOfMessagesNotVisible"]
        )

    def dlq_messages(self) -> list[dict[str, Any]]:
        sqs, url = self.aws.client("sqs"), self.url(str(self.source.dlq))
        found: list[dict[str, Any]] = []
        for _ in range(5):
            batch = sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=10,
                WaitTimeSeconds=1,
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            found += batch
        return found


def sqs_reader(service: Service) -> SqsSource:
    assert isinstance(service.source, SqsSource)
    return service.source
