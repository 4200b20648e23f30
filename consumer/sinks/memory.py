"""A sink that keeps batches in memory: the fake for unit tests and a reference behaviour.

It can be told to fail its next N writes, retriably or not, to exercise retry and
no-ack paths without a network.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

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

    def build(self, name: str, ctx: BuildContext) -> ListSink:
        return ListSink(name)


class ListSink(SinkBase):
    def __init__(self, name: str = "list") -> None:
        self.name = name
        self.batches: list[Batch] = []
        self.fail_next = 0
        self.fail_retriable = True

    def write(self, batch: Batch) -> None:
        if self.fail_next > 0:
            self.fail_next -= 1
            raise InjectedSinkError(self.fail_retriable)
        self.batches.append(batch)

    def is_retriable(self, exc: BaseException) -> bool:
        return isinstance(exc, InjectedSinkError) and exc.retriable

    def close(self) -> None:
        return None

    @property
    def rows(self) -> list[dict[str, object]]:
        return [row for batch in self.batches for row in batch.rows]
