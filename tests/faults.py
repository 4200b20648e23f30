"""Fault injection around real components: the calls still go to the emulator over HTTP,
but chosen calls fail first, as they do against AWS under load or at the worst moment."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from consumer.record import Position
from consumer.sources.kinesis.checkpoints import CheckpointStore, ShardCheckpoint


class Crash(BaseException):
    """Stands for the process dying: not an Exception, so no handler in sluice catches it."""


def client_error(code: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "injected"}}, operation)


class FaultyClient:
    """Proxy of a boto3 client; `faults[operation]` decides per call whether to fail."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.faults: dict[str, Callable[[int], str | None]] = {}
        self.calls: dict[str, int] = {}

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._client, name)
        if not callable(target):
            return target

        def call(*args: Any, **kwargs: Any) -> Any:
            count = self.calls.get(name, 0) + 1
            self.calls[name] = count
            decide = self.faults.get(name)
            code = decide(count) if decide else None
            if code:
                raise client_error(code, name)
            return target(*args, **kwargs)

        return call


class CrashingCheckpoints:
    """Wraps a checkpoint store; dies right before the Nth commit (after the sinks wrote)."""

    def __init__(self, inner: CheckpointStore, crash_before_commit: int) -> None:
        self.inner = inner
        self.crash_before_commit = crash_before_commit
        self.commits = 0

    def load(self, shard: str) -> ShardCheckpoint:
        return self.inner.load(shard)

    def commit(self, shard: str, end: Position) -> None:
        self.commits += 1
        if self.commits == self.crash_before_commit:
            raise Crash(f"crash before committing {shard} at {end}")
        self.inner.commit(shard, end)

    def end_shard(self, shard: str) -> None:
        self.inner.end_shard(shard)
