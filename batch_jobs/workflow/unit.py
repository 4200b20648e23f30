"""One unit of a workflow run: a batch job with its part, run here, its outcome recorded.

The same function runs a unit inline (in the orchestrator's threads) and inside the unit's
ECS task (`sluice batch workflow unit`), so both launches do exactly the same work; only
who waits differs.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from batch_jobs.parts import parse_part
from batch_jobs.registry import run_job
from batch_jobs.workflow.config import StepSpec, TaskSpec, WorkflowConfig, expand
from batch_jobs.workflow.runrecord import RunRecords
from consumer.aws.clients import AwsClients
from consumer.config import load_config
from consumer.errors import ConfigError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Unit:
    id: str
    """`<step>.<task index>.<part>`: stable across reruns of the same workflow file."""
    step: str
    task: TaskSpec
    part: tuple[int, int]


def units_of(step: StepSpec) -> list[Unit]:
    return [
        Unit(f"{step.name}.{index}.{part}", step.name, task, (part, task.parts))
        for index, task in enumerate(step.tasks)
        for part in range(task.parts)
    ]


def waves(units: Sequence[Unit]) -> list[list[Unit]]:
    """The units in the order they may run: a wave holds at most `max_concurrency` units
    of any one task (all of them when the task sets none)."""
    by_task: dict[str, list[Unit]] = {}
    for unit in units:
        by_task.setdefault(unit.id.rsplit(".", 1)[0], []).append(unit)
    ordered: list[list[Unit]] = []
    for group in by_task.values():
        size = group[0].task.max_concurrency or len(group)
        for wave, start in enumerate(range(0, len(group), size)):
            if wave == len(ordered):
                ordered.append([])
            ordered[wave].extend(group[start : start + size])
    return ordered


def find_unit(workflow: WorkflowConfig, unit_id: str, part: str | None = None) -> Unit:
    """The unit `<step>.<task>.<part>`, or `<step>.<task>` with `part` as `i/N` (N must be
    the task's `parts`): how Step Functions names the unit of a Map iteration."""
    if part is not None:
        try:
            index, size = parse_part(part)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        unit_id = f"{unit_id}.{index}"
    for step in workflow.steps:
        for unit in units_of(step):
            if unit.id == unit_id:
                if part is not None and unit.part[1] != size:
                    task = unit_id.rsplit(".", 1)[0]
                    raise ConfigError(f"--part {part}: task {task!r} has {unit.part[1]} parts")
                return unit
    raise ConfigError(f"no unit {unit_id!r} in workflow {workflow.name!r}")


def run_values(workflow: WorkflowConfig, run_id: str) -> dict[str, str]:
    return {
        "run_id": run_id,
        "run_prefix": f"runs/{workflow.name}/{run_id}",
        "bucket": workflow.bucket,
        "workflow": workflow.name,
    }


def execute_unit(
    workflow: WorkflowConfig,
    folder: Path,
    run_id: str,
    unit: Unit,
    attempt: int,
    aws: AwsClients,
    env: Mapping[str, str] | None = None,
) -> bool:
    """Run the unit's job and finish its attempt in the run record; True when it succeeded.
    Never raises for the job's own failures: they are the attempt's outcome."""
    records = RunRecords(aws.client("dynamodb"), workflow.runs_table)
    values = run_values(workflow, run_id)
    task = unit.task
    params = {key: expand(value, values) for key, value in task.params.items()}
    overrides = {key: expand(value, values) for key, value in task.env.items()}
    try:
        config = load_config(folder / task.config, env={**(env or os.environ), **overrides})
        result = run_job(task.job, params, config, aws, unit.part, folder)
    except Exception as exc:  # the unit failed: recorded, retried by the orchestrator
        log.warning("unit failed", extra={"unit": unit.id, "attempt": attempt, "error": repr(exc)})
        records.finish(run_id, unit.id, attempt, "failed", error=f"{type(exc).__name__}: {exc}")
        return False
    outputs = {
        "inputs": result.inputs,
        "records": result.records,
        "written": result.written,
        "quarantined": result.quarantined,
        "seconds": result.seconds,
    }
    error = "; ".join(result.failed_inputs)[:2000] or None
    state = "succeeded" if result.ok else "failed"
    records.finish(run_id, unit.id, attempt, state, outputs=outputs, error=error)
    log.info("unit finished", extra={"unit": unit.id, "attempt": attempt, "state": state})
    return result.ok
