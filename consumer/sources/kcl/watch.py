"""Liveness and readiness of `sluice kcl run`: its daemon and the children it started.

The same contract as `sluice run` (`consumer.runtime.health`): `/healthz` fails when the task stops
making progress, `/readyz` when it is not yet doing useful work or its writes fail.

- Live: the daemon process runs, and every child the wrapper knows of has reported
  progress within `health.max_poll_gap_s`. The daemon calls each child's processRecords
  regularly even when a read returned nothing, and a child reports on every call, so a
  child that stopped answering the daemon (stuck in a sink, frozen) turns the task
  unhealthy. A child that stopped (lease lost, shard ended, shutdown) or whose connection
  closed (it exited) is forgotten. A daemon with no child (no lease yet) is live.
- Ready: live, at least one child has polled, no child's last flush failed, and no child
  has waited longer than `health.max_flush_age_s` for a flush.

The children's reports also carry the records each is behind on its shard;
`records_behind` sums them over the children alive for the task's KinesisRecordsBehind.

Reports are timed by the wrapper's clock when they arrive, never by the child's.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from consumer.runtime.health import HealthConfig


@dataclass
class Child:
    """What the wrapper knows of one child, from its reports."""

    connected: float
    pid: int | None = None
    shard: str | None = None
    last_poll: float | None = None
    last_flush: float | None = None
    busy_since: float | None = None
    error: str | None = None
    behind: float = 0.0

    def label(self) -> str:
        return self.shard or f"pid {self.pid}"


class Watch:
    """The `Probes` of `sluice kcl run`, fed by the relay with each child's reports."""

    def __init__(
        self,
        config: HealthConfig,
        daemon_alive: Callable[[], bool],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.daemon_alive = daemon_alive
        self.clock = clock
        self._lock = threading.Lock()
        self._children: dict[int, Child] = {}

    # -- fed by the relay ----------------------------------------------------------------------
    def connected(self, key: int) -> None:
        with self._lock:
            self._children[key] = Child(connected=self.clock())

    def report(self, key: int, report: Mapping[str, Any]) -> None:
        """Apply one progress report (`consumer.sources.kcl.outputs.ProgressReport`)."""
        now = self.clock()
        with self._lock:
            child = self._children.get(key)
            if child is None:
                return
            event = report.get("event")
            if event == "stopped":
                del self._children[key]
                return
            child.pid = report.get("pid", child.pid)
            child.shard = report.get("shard") or child.shard
            if event in ("poll", "flushed", "failed", "busy", "idle"):
                child.last_poll = now
            if event == "flushed":
                child.last_flush = now
            if "busy" in report:
                busy = bool(report["busy"])
                if busy and child.busy_since is None:
                    child.busy_since = now
                elif not busy:
                    child.busy_since = None
            if "error" in report:
                child.error = report["error"]
            if isinstance(report.get("behind"), int | float):
                child.behind = max(0.0, float(report["behind"]))

    def disconnected(self, key: int) -> None:
        with self._lock:
            self._children.pop(key, None)

    def records_behind(self) -> float:
        """Records behind over the shards of the children alive (0 with none)."""
        with self._lock:
            return sum(child.behind for child in self._children.values())

    # -- the probes ------------------------------------------------------------------------------
    def live(self) -> tuple[bool, dict[str, Any]]:
        now = self.clock()
        with self._lock:
            gaps = {
                child.label(): now - (child.last_poll or child.connected)
                for child in self._children.values()
            }
        alive = self.daemon_alive()
        stalled = sorted(name for name, gap in gaps.items() if gap > self.config.max_poll_gap_s)
        worst = max(gaps.values(), default=None)
        return alive and not stalled, {
            "daemon_alive": alive,
            "children": len(gaps),
            "seconds_since_poll": None if worst is None else round(worst, 3),
            "stalled": stalled,
        }

    def ready(self) -> tuple[bool, dict[str, Any]]:
        now = self.clock()
        alive, detail = self.live()
        with self._lock:
            children = list(self._children.values())
        polled = any(child.last_poll is not None for child in children)
        waiting = max(
            (now - c.busy_since for c in children if c.busy_since is not None), default=0.0
        )
        flushes = [child.last_flush for child in children if child.last_flush is not None]
        errors = {child.label(): child.error for child in children if child.error}
        ok = alive and polled and waiting <= self.config.max_flush_age_s and not errors
        return ok, {
            **detail,
            "polled": polled,
            "seconds_waiting_for_flush": round(waiting, 3),
            "seconds_since_flush": round(now - max(flushes), 3) if flushes else None,
            "last_error": next(iter(errors.values()), None),
            "errors": errors,
        }
