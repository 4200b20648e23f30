"""The finished-parts ledger of a batch run, in S3: a rerun skips what is done.

A run is named by a run id (job parameter `run_id`, or `SLUICE_RUN_ID`). When part i of N
has written everything (every flush confirmed by every sink, the sinks closed), it puts
`s3://{bucket}/_sluice/runs/{job}/{run_id}/parts/{i}-of-{N}.json` with its summary. A
part of the same run that finds its marker does nothing; a part without one (never run,
crashed, failed) runs from its start. Redoing a crashed part is safe because every
output is positioned by input object and line or row: S3 keys are overwritten, database
rows upserted. A part whose inputs failed (an object quarantined whole) writes no
marker, so a rerun tries those inputs again, and the run fails until they pass.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

from batch_jobs.state import NAME_PATTERN, StateStore
from consumer.errors import ConfigError

RUNS_PREFIX = "_sluice/runs"
_RUN_ID = re.compile(NAME_PATTERN)
_MARKER = re.compile(r"(\d+)-of-(\d+)\.json")


def check_run_id(run_id: str) -> str:
    """A run id is one S3 key segment: letters, digits, `.`, `_`, `-` (128 at most)."""
    if not _RUN_ID.fullmatch(run_id):
        raise ConfigError(
            f"run_id {run_id!r}: use 1 to 128 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return run_id


def parts_prefix(job: str, run_id: str) -> str:
    return f"{RUNS_PREFIX}/{job}/{run_id}/parts/"


def marker_name(part: tuple[int, int]) -> str:
    return f"{part[0]}-of-{part[1]}"


def marker_key(job: str, run_id: str, part: tuple[int, int]) -> str:
    return f"{parts_prefix(job, run_id)}{marker_name(part)}.json"


@dataclass(frozen=True)
class Ledger:
    """The markers of one run of one job, in one bucket: JSON documents of a `StateStore`
    under the run's parts prefix."""

    s3: Any
    bucket: str
    job: str
    run_id: str

    @property
    def _store(self) -> StateStore:
        return StateStore(self.s3, self.bucket, parts_prefix(self.job, self.run_id))

    def marker(self, part: tuple[int, int]) -> dict[str, Any] | None:
        """The part's marker, or None when the part has not finished."""
        return self._store.load(marker_name(part))

    def done(self, part: tuple[int, int], params: dict[str, Any]) -> dict[str, Any] | None:
        """The marker of the part when it finished with these same job parameters. A
        marker left with other parameters is an error: the run id was reused for another
        job, and skipping would leave that job's outputs unwritten."""
        marker = self.marker(part)
        if marker is not None and marker.get("params") != params:
            raise ConfigError(
                f"run_id {self.run_id!r}: part {part[0]}/{part[1]} of {self.job} finished "
                f"with parameters {marker.get('params')}, not {params}: use a new run_id"
            )
        return marker

    def finish(self, part: tuple[int, int], summary: dict[str, Any]) -> str:
        """Record the part as finished; call only after all its writes are confirmed."""
        body = {
            "job": self.job,
            "run_id": self.run_id,
            "part": f"{part[0]}/{part[1]}",
            **summary,
            "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        self._store.save(marker_name(part), body)
        return self._store.key(marker_name(part))

    def finished(self) -> dict[tuple[int, int], dict[str, Any]]:
        """(i, N) -> marker of every finished part of the run, whatever its N."""
        return finished_parts(self.s3, self.bucket, self.job, self.run_id)


def finished_parts(
    s3: Any, bucket: str, job: str, run_id: str
) -> dict[tuple[int, int], dict[str, Any]]:
    """Which parts of a run are done, with their summaries: for a workflow that fans a
    job out and waits for every part, or for a person asking what is left."""
    prefix = parts_prefix(job, check_run_id(run_id))
    store = StateStore(s3, bucket, prefix)
    done: dict[tuple[int, int], dict[str, Any]] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            found = _MARKER.fullmatch(obj["Key"].removeprefix(prefix))
            if found is None:
                continue
            marker = store.load(found.group(0).removesuffix(".json"))
            if marker is not None:  # removed since it was listed
                done[int(found.group(1)), int(found.group(2))] = marker
    return dict(sorted(done.items()))


def missing_parts(s3: Any, bucket: str, job: str, run_id: str, size: int) -> list[int]:
    """The indexes of an N-part run that have no marker yet."""
    done = finished_parts(s3, bucket, job, run_id)
    return [index for index in range(size) if (index, size) not in done]
