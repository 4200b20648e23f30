"""The parameters every job takes besides its own, split off before the job's are checked.

- `run_id` (or the environment's `SLUICE_RUN_ID`): names a run whose finished parts are
  recorded in S3 and skipped when run again (batch_jobs/ledger.py);
- `ledger_bucket`: where those markers go (default: the job's `bucket` parameter);
- `progress_interval_s`: seconds between progress logs when stderr is not a terminal
  (default 10; batch_jobs/progress.py).

Arguments given to `run_job` take precedence over parameters, parameters over the
environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from batch_jobs.ledger import Ledger, check_run_id
from consumer.errors import ConfigError

RESERVED = ("run_id", "ledger_bucket", "progress_interval_s")
RUN_ID_ENV = "SLUICE_RUN_ID"


@dataclass(frozen=True)
class RunOptions:
    run_id: str | None = None
    ledger_bucket: str | None = None
    progress_interval_s: float = 10.0

    def ledger(self, s3: Any, job: str, params: BaseModel) -> Ledger | None:
        """The run's ledger, or None without a run id."""
        if self.run_id is None:
            return None
        bucket = self.ledger_bucket or getattr(params, "bucket", None)
        if not isinstance(bucket, str) or not bucket:
            raise ConfigError(f"job {job}: run_id needs a bucket for its ledger: set ledger_bucket")
        return Ledger(s3, bucket, job, self.run_id)


def split_options(
    raw: Mapping[str, str],
    *,
    run_id: str | None = None,
    progress_interval_s: float | None = None,
) -> tuple[dict[str, str], RunOptions]:
    """(the job's own parameters, the run options) from the raw `--param`s."""
    own = dict(raw)
    given = {name: own.pop(name) for name in RESERVED if name in own}
    run = run_id or given.get("run_id") or os.environ.get(RUN_ID_ENV) or None
    text = given.get("progress_interval_s", "10")
    try:
        interval = progress_interval_s if progress_interval_s is not None else float(text)
    except ValueError:
        interval = 0.0
    if not interval > 0:
        shown = progress_interval_s if progress_interval_s is not None else text
        raise ConfigError(f"progress_interval_s: need a number above 0, not {shown!r}")
    options = RunOptions(
        run_id=check_run_id(run) if run is not None else None,
        ledger_bucket=given.get("ledger_bucket") or None,
        progress_interval_s=interval,
    )
    return own, options
