"""A sink that keeps batches in memory: the fake for unit tests and a reference behaviour
(staged batches wait, as in an object store, until their cut is published).

It can be told to fail its next N writes, retriably or not, to exercise retry and
no-ack paths without a network.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from consumer.errors import EtlError
from consumer.flow import Batch
from consumer.sinks.base import BuildContext, SinkBase


class InjectedSinkError(EtlError):
    def __init__(self, retriable: bool) -> None:
        super().__init__("injected sink failure" + (" (retriable)" if retriable else ""))
        self.retriable = retriable


class MemorySinkConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["memory"] = "memory"
    stages: bool = Field(
        True,
        description="keep staged batches apart until published, as an object store does; "
        "false: write them at once, as a database does",
    )

    def build(self, name: str, ctx: BuildContext) -> ListSink:
        return ListSink(name, stages=self.stages)


class ListSink(SinkBase):
    def __init__(self, name: str = "list", stages: bool = True) -> None:
        self.name = name
        self.stages = stages
        self.batches: list[Batch] = []
        self.staged: dict[str, list[Batch]] = {}
        """Batches of cuts not committed yet, by stage, as an object store holds them."""
        self.fail_next = 0
        self.fail_retriable = True

    def write(self, batch: Batch) -> None:
        if self.fail_next > 0:
            self.fail_next -= 1
            raise InjectedSinkError(self.fail_retriable)
        if batch.stage is not None and self.stages:
            self.staged.setdefault(batch.stage, []).append(batch)
        else:
            self.batches.append(batch)

    def publish(self, stage: str) -> int:
        published = self.staged.pop(stage, [])
        self.batches += published
        return len(published)

    def is_retriable(self, exc: BaseException) -> bool:
        return isinstance(exc, InjectedSinkError) and exc.retriable

    def close(self) -> None:
        return None

    @property
    def rows(self) -> list[dict[str, object]]:
        return [row for batch in self.batches for row in batch.rows]
