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

import orjson

from consumer.errors import ConfigError

RUNS_PREFIX = "_sluice/runs"
_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
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


def marker_key(job: str, run_id: str, part: tuple[int, int]) -> str:
    return f"{parts_prefix(job, run_id)}{part[0]}-of-{part[1]}.json"


@dataclass(frozen=True)
class Ledger:
    """The markers of one run of one job, in one bucket."""

    s3: Any
    bucket: str
    job: str
    run_id: str

    def marker(self, part: tuple[int, int]) -> dict[str, Any] | None:
        """The part's marker, or None when the part has not finished."""
        key = marker_key(self.job, self.run_id, part)
        try:
            body = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except self.s3.exceptions.NoSuchKey:
            return None
        found: dict[str, Any] = orjson.loads(body)
        return found

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
        key = marker_key(self.job, self.run_id, part)
        body = {
            "job": self.job,
            "run_id": self.run_id,
            "part": f"{part[0]}/{part[1]}",
            **summary,
            "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        self.s3.put_object(
            Bucket=self.bucket,
            Key=key,
            Body=orjson.dumps(body, option=orjson.OPT_INDENT_2),
            ContentType="application/json",
        )
        return key

    def finished(self) -> dict[tuple[int, int], dict[str, Any]]:
        """(i, N) -> marker of every finished part of the run, whatever its N."""
        return finished_parts(self.s3, self.bucket, self.job, self.run_id)


def finished_parts(
    s3: Any, bucket: str, job: str, run_id: str
) -> dict[tuple[int, int], dict[str, Any]]:
    """Which parts of a run are done, with their summaries: for a workflow that fans a
    job out and waits for every part, or for a person asking what is left."""
    prefix = parts_prefix(job, check_run_id(run_id))
    done: dict[tuple[int, int], dict[str, Any]] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            name = _MARKER.fullmatch(obj["Key"].removeprefix(prefix))
            if name is None:
                continue
            body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
            done[int(name.group(1)), int(name.group(2))] = orjson.loads(body)
    return dict(sorted(done.items()))


def missing_parts(s3: Any, bucket: str, job: str, run_id: str, size: int) -> list[int]:
    """The indexes of an N-part run that have no marker yet."""
    done = finished_parts(s3, bucket, job, run_id)
    return [index for index in range(size) if (index, size) not in done]
