"""Start a sluice command as a one-off ECS task (RunTask) of the same image, and wait for it.

The task runs the task definition's image with its container's command replaced by the
job's arguments (the image's ENTRYPOINT is `sluice`, so `["batch", "run", ...]`), so large
work leaves the long-lived service alone and runs with its own CPU
and memory. Where the launch settings come from: flags, else the environment the service's
task definition sets (`SLUICE_ECS_CLUSTER`, `SLUICE_ECS_TASK_DEFINITION`,
`SLUICE_ECS_CONTAINER`, `SLUICE_ECS_SUBNETS`, `SLUICE_ECS_SECURITY_GROUPS`,
`SLUICE_ECS_ASSIGN_PUBLIC_IP`, `SLUICE_ECS_LAUNCH_TYPE`).

Whether the work succeeded is not read from the container's exit code alone: a workflow
unit writes its own state in the run record, and a task that stopped without writing it
failed. The exit code is reported when ECS has one.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from consumer.errors import EtlError

ENV_PREFIX = "SLUICE_ECS_"


class EcsLaunchError(EtlError):
    """RunTask refused the task, or the task could not be followed."""


class EcsLaunchConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    cluster: str = Field(min_length=1, description="ECS cluster name or ARN")
    task_definition: str = Field(min_length=1, description="family[:revision] or ARN")
    container: str = Field("sluice", min_length=1, description="container whose command runs")
    subnets: tuple[str, ...] = Field((), description="awsvpc subnets (Fargate needs them)")
    security_groups: tuple[str, ...] = ()
    assign_public_ip: bool = False
    launch_type: Literal["FARGATE", "EC2", "EXTERNAL"] = "FARGATE"
    poll_interval_s: float = Field(5.0, gt=0, description="DescribeTasks interval while waiting")

    @classmethod
    def from_env(cls, env: Mapping[str, str], **overrides: str | None) -> EcsLaunchConfig:
        """Settings from `SLUICE_ECS_*`, with non-None `overrides` (flags, as text) winning;
        lists are comma-separated. Missing cluster or task definition fail here, named."""
        given = {ENV_PREFIX + k.upper(): v for k, v in overrides.items() if v is not None}
        env = {**env, **given}
        raw: dict[str, Any] = {}
        for field in cls.model_fields:
            text = env.get(ENV_PREFIX + field.upper())
            if text is None or text == "":
                continue
            if field in ("subnets", "security_groups"):
                raw[field] = tuple(part.strip() for part in text.split(",") if part.strip())
            elif field == "assign_public_ip":
                raw[field] = text.lower() in ("1", "true", "yes", "enabled")
            else:
                raw[field] = text
        return cls.model_validate(raw)

    @classmethod
    def from_flags(cls, env: Mapping[str, str], flags: Any) -> EcsLaunchConfig:
        """`from_env` with the CLI's `--ecs-*` flags (attributes `ecs_<field>`) winning."""
        names = ("cluster", "task_definition", "container", "subnets", "security_groups")
        return cls.from_env(env, **{name: getattr(flags, f"ecs_{name}") for name in names})


@dataclass(frozen=True)
class TaskEnd:
    task_arn: str
    exit_code: int | None
    reason: str


class EcsLauncher:
    def __init__(
        self, client: Any, config: EcsLaunchConfig, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self.client = client
        self.config = config
        self.sleep = sleep

    def run_task(
        self,
        command: Sequence[str],
        environment: Mapping[str, str] | None = None,
        started_by: str = "sluice",
        client_token: str | None = None,
    ) -> str:
        """Start one task running `sluice *command`; returns its ARN. ECS starts one task per
        `client_token` even when the call is repeated (a retry after a crash)."""
        cfg = self.config
        override: dict[str, Any] = {"name": cfg.container, "command": list(command)}
        if environment:
            override["environment"] = [
                {"name": key, "value": value} for key, value in sorted(environment.items())
            ]
        request: dict[str, Any] = {
            "cluster": cfg.cluster,
            "taskDefinition": cfg.task_definition,
            "count": 1,
            "launchType": cfg.launch_type,
            "startedBy": started_by[:36],
            "overrides": {"containerOverrides": [override]},
        }
        if client_token:
            request["clientToken"] = hashlib.sha256(client_token.encode()).hexdigest()[:64]
        if cfg.subnets:
            request["networkConfiguration"] = {
                "awsvpcConfiguration": {
                    "subnets": list(cfg.subnets),
                    "securityGroups": list(cfg.security_groups),
                    "assignPublicIp": "ENABLED" if cfg.assign_public_ip else "DISABLED",
                }
            }
        response = self.client.run_task(**request)
        if response.get("failures") or not response.get("tasks"):
            raise EcsLaunchError(f"RunTask failed: {response.get('failures')}")
        arn: str = response["tasks"][0]["taskArn"]
        return arn

    def wait(self, task_arns: Sequence[str], timeout_s: float) -> dict[str, TaskEnd]:
        """Block until every task has stopped (or `timeout_s` passed: EcsLaunchError)."""
        deadline = time.monotonic() + timeout_s
        ended: dict[str, TaskEnd] = {}
        while True:
            waiting = [arn for arn in task_arns if arn not in ended]
            if not waiting:
                return ended
            for start in range(0, len(waiting), 100):  # DescribeTasks takes up to 100
                described = self.client.describe_tasks(
                    cluster=self.config.cluster, tasks=waiting[start : start + 100]
                )
                for task in described.get("tasks", []):
                    if task.get("lastStatus") == "STOPPED":
                        ended[task["taskArn"]] = _end(task, self.config.container)
            if len(ended) < len(task_arns):
                if time.monotonic() >= deadline:
                    raise EcsLaunchError(f"tasks still running after {timeout_s} s: {waiting}")
                self.sleep(self.config.poll_interval_s)


def _end(task: Mapping[str, Any], container: str) -> TaskEnd:
    code = None
    for described in task.get("containers", []):
        if described.get("name") == container and "exitCode" in described:
            code = int(described["exitCode"])
    return TaskEnd(task["taskArn"], code, str(task.get("stoppedReason", "")))
