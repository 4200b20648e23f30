"""Configuration of the built-in Kinesis polling reader."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator


class KinesisSourceConfig(BaseModel):
    """Single-worker polling reader over every shard of one stream."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["kinesis"] = "kinesis"
    stream: str = Field(min_length=1, max_length=128)
    initial_position: Literal["TRIM_HORIZON", "LATEST", "AT_TIMESTAMP"] = "TRIM_HORIZON"
    initial_timestamp: datetime | None = Field(
        None, description="required when initial_position is AT_TIMESTAMP"
    )
    checkpoint_table: str = Field("sluice-checkpoints", min_length=3)
    create_checkpoint_table: bool = Field(
        False, description="create the table on start when missing (local use)"
    )
    max_records_per_call: int = Field(10_000, ge=1, le=10_000)
    idle_poll_interval_s: float = Field(
        1.0, ge=0.2, description="wait before polling a caught-up shard again (5 reads/s/shard)"
    )
    shard_sync_interval_s: float = Field(60.0, gt=0, description="re-list shards to find children")
    throttle_backoff_max_s: float = Field(10.0, gt=0)

    @model_validator(mode="after")
    def _timestamp_with_at_timestamp(self) -> Self:
        if (self.initial_position == "AT_TIMESTAMP") != (self.initial_timestamp is not None):
            raise ValueError("initial_timestamp is required with, and only with, AT_TIMESTAMP")
        return self
