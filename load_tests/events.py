"""The load events' schema and transform, named by the scenario's pipeline file."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class LoadEvent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str = "load"
    id: str
    key: str
    seq: int = Field(ge=0)
    ts: float = Field(description="event time: when the producer sent it (epoch seconds)")


def load_row(event: LoadEvent) -> dict[str, Any]:
    return {"id": event.id, "key": event.key, "seq": event.seq, "ts": event.ts}
