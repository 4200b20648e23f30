"""A local ECS agent for the embedded emulator: runs the tasks that RunTask started.

moto records RunTask calls but runs nothing. This agent follows a cluster over the ECS API,
as a container agent would: each new task's container command (from the overrides that
RunTask sent) runs as a local process with the overrides' environment, and when it ends
the agent stops the task (StopTask) with the exit code in its reason. The image is this
checkout and its ENTRYPOINT `sluice`: a task's command `["batch", "run", ...]` runs
`python -m consumer batch run ...`. So a test or a demo
drives real RunTask calls over HTTP and gets the commands' real effects.

`hold_tasks_running` keeps moto from moving a described task to STOPPED by itself (its
default state machine advances a task on every DescribeTasks): only the agent stops tasks.
It also keeps the exit code the agent reports in its stop reason on the task's container,
with the stop code `EssentialContainerExited`, as ECS describes a task whose container
ended (moto reports exit code 0 for every container): Step Functions' `ecs:runTask.sync`
and the workflow orchestrator read it there.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

STOP_REASON = "Essential container in task exited (exit code {code})"
_EXIT_CODE = re.compile(r"\(exit code (-?\d+)\)$")


def hold_tasks_running() -> None:
    """In the emulator's process: tasks stay RUNNING until StopTask, and a stop with the
    agent's reason records the container's exit code."""
    from moto.moto_api import state_manager

    state_manager.set_transition("ecs::task", {"progression": "manual", "times": 10**9})
    _record_exit_codes()


@cache
def _record_exit_codes() -> None:
    from moto.ecs import models

    stop_task = models.EC2ContainerServiceBackend.stop_task

    def stopped(self: Any, cluster_str: str, task_str: str, reason: str) -> Any:
        task = stop_task(self, cluster_str, task_str, reason)
        found = _EXIT_CODE.search(reason or "")
        if found:
            task.stop_code = "EssentialContainerExited"  # type: ignore[attr-defined]
            for container in task.containers:
                container.exitCode = int(found[1])
                container.last_status = "STOPPED"
        return task

    models.EC2ContainerServiceBackend.stop_task = stopped  # type: ignore[method-assign]


@dataclass
class Ran:
    task_arn: str
    command: list[str]
    environment: dict[str, str]
    exit_code: int


@dataclass
class LocalEcsAgent:
    client: Any
    cluster: str
    env: Mapping[str, str]
    """The environment of every task process (endpoint, credentials), under the overrides."""
    cwd: Path
    poll_interval_s: float = 0.2
    task_env: Callable[[Sequence[str]], Mapping[str, str]] | None = None
    """More environment for a task, chosen by its command (a test injects a fault into
    one task this way)."""
    ran: list[Ran] = field(default_factory=list)
    _seen: set[str] = field(default_factory=set)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def __enter__(self) -> LocalEcsAgent:
        follower = threading.Thread(target=self._follow, name="ecs-agent", daemon=True)
        follower.start()
        self._threads.append(follower)
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for thread in list(self._threads):
            thread.join(timeout=120)

    def _follow(self) -> None:
        while not self._stop.wait(self.poll_interval_s):
            try:
                arns = self.client.list_tasks(cluster=self.cluster, desiredStatus="RUNNING")
            except Exception as exc:  # no cluster yet, or the emulator stopping under us
                log.debug("ecs agent: ListTasks failed", extra={"error": repr(exc)})
                continue
            new = [arn for arn in arns.get("taskArns", []) if arn not in self._seen]
            if not new:
                continue
            self._seen.update(new)
            for task in self.client.describe_tasks(cluster=self.cluster, tasks=new)["tasks"]:
                runner = threading.Thread(target=self._run, args=(task,), daemon=True)
                runner.start()
                self._threads.append(runner)

    def _run(self, task: Mapping[str, Any]) -> None:
        overrides = task.get("overrides", {}).get("containerOverrides") or [{}]
        command = list(overrides[0].get("command") or [])
        environment = {e["name"]: e["value"] for e in overrides[0].get("environment", [])}
        extra = self.task_env(command) if self.task_env else {}
        code = run_local(command, {**self.env, **environment, **extra}, self.cwd)
        self.ran.append(Ran(task["taskArn"], command, environment, code))
        self.client.stop_task(
            cluster=self.cluster,
            task=task["taskArn"],
            reason=STOP_REASON.format(code=code),
        )


def run_local(command: Sequence[str], env: Mapping[str, str], cwd: Path) -> int:
    """Run a task's command as the image would: after ENTRYPOINT ["sluice"], which is
    this checkout's CLI."""
    argv = [sys.executable, "-m", "consumer", *command]
    log.info("ecs agent: running task", extra={"command": list(command)})
    done = subprocess.run(argv, env={**os.environ, **env}, cwd=cwd, check=False, timeout=600)
    return done.returncode
