"""ECS task scale-in protection for units of work that cannot finish within the stop timeout.

A stream consumer (the Kinesis polling reader, KCL, SQS records) does not need it: on
SIGTERM it stops reading, flushes and acks its in-flight cut within `shutdown.timeout_s`
(kept below the ECS `stopTimeout`), so scale-in and deployments lose nothing. Protecting it
would do harm: under steady traffic it is never idle, so it would be protected all the
time, and ECS neither scales in nor replaces protected tasks.

A job message run by `sluice jobs` or a batch part run by a service can take far longer:
such a unit takes protection when it starts (`with protection.unit(name):`), a background
thread renews it before it expires while the unit runs, and it is released when the last
unit ends. `stream = true` brings back protection for a stream consumer (from its first
buffered record until it has been idle `idle_release_s`): off by default, for its cost.

The agent's answers are read as amazon-ecs-agent gives them: `{"protection": ...}` is
success; `{"failure": {"Reason": "TASK_NOT_VALID"}}` means the task belongs to no service
(a standalone RunTask), where protection does not apply, so it is never asked again; any
other failure or error is retried with exponential backoff up to `retry_max_s`, never every
second. Without `ECS_AGENT_URI` (local runs) nothing is called.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field

from consumer.delivery.hooks import Hook

log = logging.getLogger(__name__)
Answer = Literal["ok", "not_applicable", "error"]


class ProtectionConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(
        True, description="units (job messages, batch parts) hold it; only with ECS_AGENT_URI"
    )
    stream: bool = Field(
        False,
        description="also protect a stream consumer while it has buffered records; under "
        "steady traffic that is always, so scale-in and deployments wait (off by default)",
    )
    expires_in_minutes: int = Field(10, ge=1, le=2880, description="renewed while held")
    idle_release_s: float = Field(5.0, ge=0, description="stream = true: idle time before release")
    check_interval_s: float = Field(1.0, gt=0, description="how often renewal is checked")
    retry_max_s: float = Field(300.0, gt=0, description="longest wait after a failed call")


def put_protection(agent_uri: str, enabled: bool, expires_in_minutes: int) -> tuple[Answer, str]:
    """One PUT to the agent's task-protection endpoint; the answer and its detail."""
    body: dict[str, object] = {"ProtectionEnabled": enabled}
    if enabled:
        body["ExpiresInMinutes"] = expires_in_minutes
    request = urllib.request.Request(
        f"{agent_uri}/task-protection/v1/state",
        data=orjson.dumps(body),
        method="PUT",
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            reply = orjson.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return "error", f"HTTP {exc.code}: {exc.read()[:300].decode(errors='replace')}"
    except (OSError, orjson.JSONDecodeError) as exc:
        return "error", str(exc)
    failure = reply.get("failure") if isinstance(reply, dict) else None
    if isinstance(failure, dict):
        reason = str(failure.get("Reason", ""))
        detail = f"{reason}: {failure.get('Detail', '')}"
        return ("not_applicable" if reason == "TASK_NOT_VALID" else "error"), detail
    if isinstance(reply, dict) and "protection" in reply:
        return "ok", ""
    return "error", f"unexpected answer {reply!r}"[:300]


class ScaleInProtection(Hook):
    """Held while any unit runs (and, with `stream = true`, while records are buffered)."""

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
        """When the protection we hold lapses (our clock); 0 when we hold none."""
        self.not_applicable = False
        """The agent said this task belongs to no service: never asked again."""
        self.units = 0
        self._stream_busy = False
        self._stream_idle_since: float | None = None
        self._failures = 0
        self._retry_at = 0.0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def active(self) -> bool:
        return bool(self.config.enabled and self.agent_uri) and not self.not_applicable

    def start(self) -> None:
        if self.active and self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name="scale-in-protection", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        with self._lock:
            self.units = 0
            self._stream_busy = False
            self._stream_idle_since = None
            if self.active and self.protected_until:
                self._retry_at = 0.0
                self._put(False)

    # -- units -------------------------------------------------------------------------------
    @contextmanager
    def unit(self, name: str) -> Iterator[None]:
        """Protection from the start of the unit to its end (renewed in between)."""
        with self._lock:
            self.units += 1
            self._reconcile()
        log.debug("protected unit started", extra={"unit": name})
        try:
            yield
        finally:
            with self._lock:
                self.units -= 1
                self._reconcile()
            log.debug("protected unit ended", extra={"unit": name})

    # -- stream hooks (only with stream = true) ----------------------------------------------
    def on_buffering(self, source: str) -> None:
        if self.config.stream:
            with self._lock:
                self._stream_busy = True
                self._reconcile()

    def on_idle(self, source: str) -> None:
        if self.config.stream:
            with self._lock:
                self._stream_busy = False
                self._stream_idle_since = self.clock()

    # -- keeping the agent's state right -----------------------------------------------------
    def _wanted(self, now: float) -> bool:
        if self.units > 0 or self._stream_busy:
            return True
        idle_since = self._stream_idle_since
        return idle_since is not None and now - idle_since < self.config.idle_release_s

    def tick(self) -> None:
        """Renew before expiry, release after the stream's idle time; the thread's work."""
        with self._lock:
            self._reconcile()

    def _reconcile(self) -> None:
        if not self.active:
            return
        now = self.clock()
        if self._wanted(now):
            margin = min(60.0, self.config.expires_in_minutes * 30.0)
            if now >= self.protected_until - margin:
                self._put(True)
        elif self.protected_until:
            self._put(False)

    def _run(self) -> None:
        while not self._stop.wait(self.config.check_interval_s):
            self.tick()

    def _put(self, enabled: bool) -> None:
        now = self.clock()
        if not self.active or now < self._retry_at:
            return
        assert self.agent_uri is not None
        answer, detail = put_protection(self.agent_uri, enabled, self.config.expires_in_minutes)
        if answer == "ok":
            self._failures, self._retry_at = 0, 0.0
            minutes = self.config.expires_in_minutes
            self.protected_until = self.clock() + minutes * 60.0 if enabled else 0.0
            log.info("task protection", extra={"enabled": enabled, "units": self.units})
        elif answer == "not_applicable":
            self.not_applicable, self.protected_until = True, 0.0
            log.warning(
                "task protection does not apply to this task (not part of a service); "
                "not asked again",
                extra={"detail": detail},
            )
        else:
            self._failures += 1
            delay = min(self.config.retry_max_s, self.config.check_interval_s * 2**self._failures)
            self._retry_at = now + delay
            log.warning(
                "task protection call failed",
                extra={"enabled": enabled, "error": detail, "retry_in_s": delay},
            )
