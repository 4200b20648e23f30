"""A fake ECS agent endpoint on loopback: the task scale-in protection API as the agent
serves it (`$ECS_AGENT_URI/task-protection/v1/state`), which no AWS emulator models.

It answers as amazon-ecs-agent does: a PUT with `ProtectionEnabled` (and optionally
`ExpiresInMinutes`, 1 to 2,880, default 120) answers 200 `{"protection": {...}}`; for a
standalone task (one not started by a service) ECS refuses with a failure, which the
agent passes on as 200 `{"failure": {"Reason": "TASK_NOT_VALID", ...}}`; a malformed
request is a 400 `{"error": {...}}`. Every call is recorded with its time, and the time the
task spent protected (expiry included) can be read back.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson

PATH = "/task-protection/v1/state"
TASK_ARN = "arn:aws:ecs:us-east-1:000000000000:task/sluice/0123456789abcdef"


@dataclass(frozen=True, slots=True)
class ProtectionCall:
    at: float
    enabled: bool
    expires_in_minutes: int | None


class FakeEcsAgent:
    """Start with `with FakeEcsAgent() as agent:`; point `ECS_AGENT_URI` at `agent.uri`."""

    def __init__(
        self, standalone: bool = False, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.standalone = standalone
        self.clock = clock
        self.calls: list[ProtectionCall] = []
        self.refused = 0
        self.fail_next = 0
        """Answer the next N calls with a 500 ServerException (the agent's own error)."""
        self._intervals: list[tuple[float, float]] = []  # (from, until) while protected
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.uri = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(
            target=self.server.serve_forever, name="fake-ecs-agent", daemon=True
        )

    def __enter__(self) -> FakeEcsAgent:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- what the API does -----------------------------------------------------------------
    def put(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        enabled = body.get("ProtectionEnabled")
        minutes = body.get("ExpiresInMinutes")
        if not isinstance(enabled, bool) or (
            minutes is not None and not (isinstance(minutes, int) and 1 <= minutes <= 2880)
        ):
            return 400, {"error": {"Code": "InvalidParameterException", "Message": str(body)}}
        with self._lock:
            now = self.clock()
            self.calls.append(ProtectionCall(now, enabled, minutes))
            if self.fail_next > 0:
                self.fail_next -= 1
                return 500, {"error": {"Code": "ServerException", "Message": "injected"}}
            if self.standalone:
                self.refused += 1
                failure = {
                    "Arn": TASK_ARN,
                    "Reason": "TASK_NOT_VALID",
                    "Detail": "The task is not part of a service.",
                }
                return 200, {"failure": failure}
            self._end_current(now)
            if enabled:
                self._intervals.append((now, now + 60.0 * (minutes or 120)))
            return 200, {"protection": self._state(now)}

    def get(self) -> dict[str, Any]:
        with self._lock:
            return {"protection": self._state(self.clock())}

    def _end_current(self, now: float) -> None:
        if self._intervals and self._intervals[-1][1] > now:
            start, _ = self._intervals[-1]
            self._intervals[-1] = (start, now)

    def _state(self, now: float) -> dict[str, Any]:
        active = bool(self._intervals) and self._intervals[-1][1] > now
        return {"TaskArn": TASK_ARN, "ProtectionEnabled": active}

    # -- what tests read --------------------------------------------------------------------
    def protected(self) -> bool:
        return bool(self.get()["protection"]["ProtectionEnabled"])

    def protected_seconds(self, start: float, end: float) -> float:
        """How long the task was protected between two readings of the agent's clock."""
        with self._lock:
            return sum(
                max(0.0, min(until, end) - max(since, start)) for since, until in self._intervals
            )

    @property
    def states(self) -> list[bool]:
        return [call.enabled for call in self.calls]


def _handler(agent: FakeEcsAgent) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_PUT(self) -> None:
            if self.path != PATH:
                self._reply(404, {"error": {"Code": "NotFound", "Message": self.path}})
                return
            length = int(self.headers.get("Content-Length") or 0)
            try:
                body = orjson.loads(self.rfile.read(length))
            except orjson.JSONDecodeError:
                body = {}
            self._reply(*agent.put(body if isinstance(body, dict) else {}))

        def do_GET(self) -> None:
            self._reply(200, agent.get())

        def _reply(self, status: int, payload: dict[str, Any]) -> None:
            data = orjson.dumps(payload)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    return Handler
