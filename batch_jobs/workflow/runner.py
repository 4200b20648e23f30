"""Run a workflow: its steps in order, each step's units side by side, inline or on ECS.

A unit that fails is tried again, up to `max_attempts` within this invocation; a step
whose units are not all done fails the run, which is recorded and published to the
workflow's SNS topic. Running the same run id again resumes it: units that succeeded are
skipped, the others run again. Units are idempotent as every batch job is (deterministic
S3 keys, upserts), so a unit redone after a crash leaves no duplicate.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson

from batch_jobs.workflow.config import StepSpec, WorkflowConfig
from batch_jobs.workflow.runrecord import RunRecords
from batch_jobs.workflow.unit import Unit, execute_unit, units_of, waves
from consumer.aws.clients import AwsClients
from consumer.aws.ecs import EcsLauncher

log = logging.getLogger(__name__)


class WorkflowRunner:
    def __init__(
        self,
        workflow: WorkflowConfig,
        path: str,
        aws: AwsClients,
        launcher: EcsLauncher | None = None,
    ) -> None:
        self.workflow = workflow
        self.path = path
        """The workflow file as ECS tasks will open it (a path inside the image)."""
        self.folder = Path(path).parent
        self.aws = aws
        self.launcher = launcher
        self.records = RunRecords(aws.client("dynamodb"), workflow.runs_table)

    def run(self, run_id: str) -> bool:
        """Run (or resume) `run_id`; True when every step succeeded."""
        workflow = self.workflow
        resumed = not self.records.start_run(run_id, workflow.name, workflow.launch)
        log.info("workflow started", extra={"run_id": run_id, "resumed": resumed})
        for step in workflow.steps:
            done = self.records.units(run_id)
            pending = [u for u in units_of(step) if done.get(u.id, {}).get("state") != "succeeded"]
            failed = self._step(run_id, step, pending)
            if failed:
                self._fail(run_id, step, failed)
                return False
        self.records.end_run(run_id, "succeeded")
        log.info("workflow succeeded", extra={"run_id": run_id})
        return True

    def _step(self, run_id: str, step: StepSpec, units: Sequence[Unit]) -> list[Unit]:
        """Run the units (in waves of at most `max_concurrency` per task), again while some
        fail and attempts remain; returns those that failed every attempt."""
        launch = step.launch or self.workflow.launch
        attempts = step.max_attempts or self.workflow.max_attempts
        run = self._ecs if launch == "ecs" else self._inline
        remaining = list(units)
        for _ in range(attempts):
            if not remaining:
                break
            remaining = [unit for wave in waves(remaining) for unit in run(run_id, wave)]
        return remaining

    def _inline(self, run_id: str, units: Sequence[Unit]) -> list[Unit]:
        def one(unit: Unit) -> bool:
            attempt = self.records.begin_attempt(run_id, unit.id, unit.step, unit.task.job)
            return execute_unit(self.workflow, self.folder, run_id, unit, attempt, self.aws)

        with ThreadPoolExecutor(max_workers=len(units), thread_name_prefix="unit") as pool:
            outcomes = list(pool.map(one, units))
        return [unit for unit, ok in zip(units, outcomes, strict=True) if not ok]

    def _ecs(self, run_id: str, units: Sequence[Unit]) -> list[Unit]:
        if self.launcher is None:
            raise ValueError("launch = 'ecs' needs ECS settings (--ecs-cluster, ...)")
        started: dict[str, tuple[Unit, int]] = {}
        for unit in units:
            attempt = self.records.begin_attempt(run_id, unit.id, unit.step, unit.task.job)
            command = unit_command(self.path, run_id, unit.id, attempt)
            arn = self.launcher.run_task(command, started_by=f"sluice-{unit.step}")
            self.records.set_task(run_id, unit.id, arn)
            started[arn] = (unit, attempt)
            log.info("unit launched", extra={"unit": unit.id, "attempt": attempt, "task": arn})
        ends = self.launcher.wait(list(started), self.workflow.unit_timeout_s)
        states = self.records.units(run_id)
        failed = []
        for arn, (unit, attempt) in started.items():
            state = states.get(unit.id, {}).get("state")
            if state == "succeeded":
                continue
            if state == "running":  # died before finishing
                end = ends[arn]
                reason = f"task stopped before finishing: {end.reason} (exit {end.exit_code})"
                self.records.finish(run_id, unit.id, attempt, "failed", error=reason)
            failed.append(unit)
        return failed

    def _fail(self, run_id: str, step: StepSpec, failed: Sequence[Unit]) -> None:
        units = self.records.units(run_id)
        detail = {u.id: units.get(u.id, {}).get("error") for u in failed}
        error = f"step {step.name!r} failed: {', '.join(sorted(detail))}"
        self.records.end_run(run_id, "failed", error)
        log.error("workflow failed", extra={"run_id": run_id, "step": step.name, "units": detail})
        if self.workflow.notify_topic_arn:
            notify(self.aws.client("sns"), self.workflow, run_id, step.name, detail)


def unit_command(path: str, run_id: str, unit: str, attempt: int) -> list[str]:
    """The unit's arguments after the image's ENTRYPOINT ["sluice"]."""
    return [
        "batch",
        "workflow",
        "unit",
        path,
        "--run-id",
        run_id,
        "--unit",
        unit,
        "--attempt",
        str(attempt),
    ]


def notify(
    sns: Any, workflow: WorkflowConfig, run_id: str, step: str, units: dict[str, Any]
) -> None:
    """Tell the topic; a failed publish is logged, never hides the run's failure."""
    message = {"workflow": workflow.name, "run_id": run_id, "state": "failed", "step": step}
    try:
        sns.publish(
            TopicArn=workflow.notify_topic_arn,
            Subject=f"sluice workflow {workflow.name} failed"[:100],
            Message=orjson.dumps({**message, "units": units}).decode(),
        )
    except Exception:
        log.exception("could not publish the failure", extra={"run_id": run_id})
