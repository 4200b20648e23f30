"""The workflow file: steps run in order, each a set of parallel units of batch jobs.

```toml
name = "readings-daily"
bucket = "my-lake"               # run data lives under s3://my-lake/runs/<name>/<run_id>/
runs_table = "sluice-runs"       # DynamoDB run records (hash run_id, range item)
notify_topic_arn = "arn:aws:sns:..."   # a failed run is published here
launch = "inline"                # or "ecs": every unit as its own ECS task

[[steps]]
name = "extract"
[[steps.tasks]]                  # tasks of one step run side by side
job = "backfill"
config = "pipeline-extract.toml"
params = { bucket = "{bucket}", prefix = "incoming/a/" }
env = { SLUICE__SINKS__LAKE__PREFIX = "{run_prefix}/extract" }
```

`{run_id}`, `{run_prefix}` (`runs/<name>/<run_id>`), `{bucket}` and `{workflow}` are
replaced in params and env values. A task's env entries override its pipeline file
(`SLUICE__...`, as for `sluice run`), which is how a step writes under the run prefix and
the next step reads from there. A task with `parts = N` fans out into N units
(`--part i/N`), at most `max_concurrency` of them at once. The same file runs inline, as
ECS tasks (`runner.py`) or compiled to a Step Functions state machine
(`stepfunctions.py`). `SLUICE_WORKFLOW__<FIELD>` variables override the workflow file's
top-level fields (the Terraform sets `SLUICE_WORKFLOW__RUNS_TABLE`,
`SLUICE_WORKFLOW__NOTIFY_TOPIC_ARN` and `SLUICE_WORKFLOW__BUCKET` for its deployment).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from consumer.config import apply_env_overrides, format_validation_error
from consumer.errors import ConfigError

Launch = Literal["inline", "ecs"]
NAME = r"^[A-Za-z0-9_\-]+$"
ENV_PREFIX = "SLUICE_WORKFLOW__"


class TaskSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    job: str = Field(min_length=1, description="a batch job (sluice batch run --help)")
    config: str = Field(min_length=1, description="pipeline file, relative to the workflow")
    params: dict[str, str] = Field(default_factory=dict)
    env: dict[str, str] = Field(default_factory=dict, description="SLUICE__ overrides")
    parts: int = Field(1, ge=1, le=1000, description="fan-out: units with --part i/N")
    max_concurrency: int | None = Field(
        None, ge=1, le=1000, description="parts running at once (default: all of them)"
    )


class StepSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=NAME, max_length=64)
    tasks: tuple[TaskSpec, ...] = Field(min_length=1, max_length=100)
    launch: Launch | None = Field(None, description="overrides the workflow's launch")
    max_attempts: int | None = Field(None, ge=1, le=20)


class WorkflowConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=NAME)
    bucket: str = Field(min_length=3, description="bucket of the run prefix")
    runs_table: str = Field(min_length=3, description="DynamoDB table of run records")
    notify_topic_arn: str | None = Field(None, description="SNS topic told of a failed run")
    launch: Launch = "inline"
    max_attempts: int = Field(2, ge=1, le=20, description="per unit, first run included")
    unit_timeout_s: float = Field(3600.0, gt=0, description="longest an ECS unit may run")
    retry_interval_s: int = Field(
        30, ge=1, le=3600, description="Step Functions: wait before a unit's first retry (x2 after)"
    )
    steps: tuple[StepSpec, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_steps(self) -> Self:
        names = [step.name for step in self.steps]
        if len(set(names)) != len(names):
            raise ValueError("steps: step names must be unique")
        return self


def load_workflow(path: str | Path, env: Mapping[str, str] | None = None) -> WorkflowConfig:
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read workflow file {path}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    try:
        raw = apply_env_overrides(raw, os.environ if env is None else env, ENV_PREFIX)
    except (ValueError, IndexError, TypeError, AttributeError) as exc:
        raise ConfigError(f"environment override {ENV_PREFIX}...: {exc}") from None
    try:
        return WorkflowConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, str(path))) from None


def expand(template: str, values: dict[str, str]) -> str:
    """`{run_id}` and friends replaced; any other brace is left as it is."""
    for key, value in values.items():
        template = template.replace("{" + key + "}", value)
    return template
