"""ECS task scale-in protection while records are in flight.

When records start to be buffered the task asks its ECS agent for protection
(`PUT $ECS_AGENT_URI/task-protection/v1/state`) before going on, so scale-in never kills
a task holding unacked work. A background thread renews the protection before it expires
while work continues, and releases it once the task has been idle for `idle_release_s`
(so a steady stream does not toggle it on every flush). Without `ECS_AGENT_URI` (local
runs) it does nothing.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import urllib.request
from collections.abc import Callable

import orjson
from pydantic import BaseModel, ConfigDict, Field

from consumer.hooks import Hook

log = logging.getLogger(__name__)


class ProtectionConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(True, description="only acts when ECS_AGENT_URI is set")
    expires_in_minutes: int = Field(10, ge=1, le=2880)
    idle_release_s: float = Field(5.0, ge=0)
    check_interval_s: float = Field(1.0, gt=0)


class ScaleInProtection(Hook):
    def __init__(
        self,
        config: ProtectionConfig,
        agent_uri: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.agent_uri = agent_uri if agent_uri is not None else os.environ.get("ECS_AGENT_URI")
        self.clock = clock
        self.protected_until = 0.0
        self.busy = False
        self.idle_since = clock()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def active(self) -> bool:
        return bool(self.config.enabled and self.agent_uri)

    def start(self) -> None:
        if self.active and self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name="scale-in-protection", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self.active and self.protected_until:
            self._set(False)

    def on_buffering(self, source: str) -> None:
        with self._lock:
            self.busy = True
            if self.active and self.clock() >= self.protected_until - 60:
                self._set(True)

    def on_idle(self, source: str) -> None:
        with self._lock:
            self.busy = False
            self.idle_since = self.clock()

    def _run(self) -> None:
        while not self._stop.wait(self.config.check_interval_s):
            with self._lock:
                now = self.clock()
                if self.busy and now >= self.protected_until - 60:
                    self._set(True)
                elif (
                    not self.busy
                    and self.protected_until
                    and now - self.idle_since >= self.config.idle_release_s
                ):
                    self._set(False)

    def _set(self, enabled: bool) -> None:
        body: dict[str, object] = {"ProtectionEnabled": enabled}
        if enabled:
            body["ExpiresInMinutes"] = self.config.expires_in_minutes
        request = urllib.request.Request(
            f"{self.agent_uri}/task-protection/v1/state",
            data=orjson.dumps(body),
            method="PUT",
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                response.read()
        except OSError as exc:
            log.warning(
                "task protection call failed", extra={"enabled": enabled, "error": str(exc)}
            )
            return
        self.protected_until = (
            self.clock() + self.config.expires_in_minutes * 60 if enabled else 0.0
        )
        log.info("task protection", extra={"enabled": enabled})
