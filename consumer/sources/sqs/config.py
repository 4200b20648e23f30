"""Configuration of the SQS source."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator


class SqsSourceConfig(BaseModel):
    """Long-poll receivers over one queue; messages are deleted after their flush."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["sqs"] = "sqs"
    queue: str = Field(min_length=1, description="queue name or URL")
    receivers: int = Field(2, ge=1, le=32, description="concurrent long-poll receivers")
    wait_time_s: int = Field(20, ge=0, le=20, description="long-poll wait per receive")
    max_messages: int = Field(10, ge=1, le=10, description="messages per receive")
    visibility_timeout_s: int = Field(
        60, ge=5, le=43_200, description="visibility of a received message, renewed by heartbeats"
    )
    heartbeat_interval_s: float | None = Field(
        None, gt=0, description="how often visibility is extended; visibility_timeout_s / 3"
    )
    max_in_flight_s: int = Field(
        3600, ge=10, le=43_200, description="stop extending a message held longer than this"
    )
    retry_stages: tuple[Literal["decode", "route", "validate", "transform", "load"], ...] = Field(
        ("transform",), description="failures at these stages are retried by redelivery"
    )
    backoff_base_s: int = Field(
        10,
        ge=0,
        description="visibility after a failed attempt n: "
        "min(backoff_max_s, backoff_base_s * 2**(n-1))",
    )
    backoff_max_s: int = Field(900, ge=0, le=43_200)
    dlq: str | None = Field(
        None, description="queue name or URL; sluice moves spent messages there with reasons"
    )
    max_receive_count: int | None = Field(
        None, ge=1, description="attempts before the DLQ; the queue's redrive policy when unset"
    )
    max_object_bytes: int = Field(
        268_435_456, gt=0, description="largest S3 object an S3 event or pointer may name"
    )
    empty_poll_pause_s: float = Field(
        0.2, ge=0, description="pause after an empty receive when short polling (wait 0)"
    )
    idle_flush_s: float = Field(
        1.0,
        gt=0,
        description="with --until-idle: stop once the queue is empty this long",
    )
    exactly_once: bool = Field(
        True,
        description="claim each message in the ledger table and stage S3 objects until their "
        "cut is committed, so a redelivery never writes a message twice (docs/decisions.md)",
    )
    ledger_table: str = Field(
        "sluice-sqs-ledger", min_length=3, description="DynamoDB table, hash key pk (S), TTL exp"
    )
    create_ledger_table: bool = Field(False, description="create it on start when missing")
    ledger_keep_s: int | None = Field(
        None,
        gt=0,
        description="how long ledger items are kept: the queue's retention plus a day when unset",
    )

    @model_validator(mode="after")
    def _heartbeat_before_expiry(self) -> Self:
        interval = self.heartbeat_interval_s
        if interval is not None and interval >= self.visibility_timeout_s:
            raise ValueError("heartbeat_interval_s must be shorter than visibility_timeout_s")
        return self

    @property
    def heartbeat_s(self) -> float:
        return self.heartbeat_interval_s or self.visibility_timeout_s / 3

    @property
    def fifo(self) -> bool:
        return self.queue.endswith(".fifo")
