"""What the extract jobs share: the checkpoint in the state store, secrets, fan-out.

`Checkpoint` is to an extract what the Kinesis checkpoint is to the consumer. The job
feeds records with positions it derives from its cursor, and `BatchPipeline.feed` calls
back after every cut the sinks confirmed; the job commits the cursor just past that cut.
So at most one cut is ever written and not committed, and a rerun after a crash starts
at that cut's first record and rebuilds objects with the same first positions, hence the
same S3 keys, wherever its own cuts fall (docs/decisions.md, "Exactly-once objects
without a write-ahead fence"). Committing per page instead would leave several
unconfirmed cuts when a page spans more than one, and a rerun whose age-based cuts fell
elsewhere could then leave a record in two objects.

Records of an extract have no arrival time from a source, and the lake partitions by
arrival time unless a route names a `time_field`; the checkpoint therefore also holds the
arrival time the records after it carry, set at each commit. A rerun uses the stored one,
so replayed records land in the same `dt=`/`hr=` folder as the first attempt's.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from batch_jobs.state import StateError, StateStore
from consumer.errors import ConfigError, EtlError
from consumer.testing.faults import crash_point

log = logging.getLogger(__name__)

CRASH_POINT = "extract_after_load_before_state"
"""`SLUICE_CRASH_AT=extract_after_load_before_state:N` dies at the Nth commit, after the
sinks confirmed its cut and before the state is stored (consumer/testing/faults.py)."""


class ExtractError(EtlError):
    """An input that cannot be read: a page the API refuses, a query that fails."""


class Checkpoint:
    """Where an extract resumes: `fields` (cursor, page, offset...) and `arrival_time`.

    `identity` names what the state belongs to (the URL, the table); a state of another
    input under the same name is refused rather than silently resumed from.
    """

    def __init__(
        self,
        store: StateStore,
        name: str,
        job: str,
        identity: Mapping[str, Any],
        fresh: Mapping[str, Any],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.name = name
        self.job = job
        self.identity = dict(identity)
        self.clock = clock
        doc = store.load(name)
        if doc is None:
            self.fields = dict(fresh)
            self.arrival_time = float(clock())
            # Before any record: only fixes the arrival time the first records carry.
            self._save()
            return
        where = store.location(name)
        expected = {"job": job, **self.identity}
        differ = [k for k, v in expected.items() if doc.get(k) != v]
        if differ:  # named, not shown: a URL may carry a key in its query
            raise StateError(
                f"{where} belongs to another input ({', '.join(differ)} differ): "
                "use another state_name, or delete the state to start over"
            )
        missing = [k for k in (*fresh, "arrival_time") if k not in doc]
        if missing:
            raise StateError(f"{where}: missing {', '.join(missing)}")
        self.fields = {k: doc[k] for k in fresh}
        self.arrival_time = float(doc["arrival_time"])
        shown = {k: v for k, v in self.fields.items() if k != "cursor"}
        log.info("resuming", extra={"job": job, "state": where, **shown})

    def commit(self, fields: Mapping[str, Any]) -> None:
        """Store where the next run starts. Call only after the sinks confirmed every
        record before it; the records fed after this carry a new arrival time."""
        crash_point(CRASH_POINT)
        self.fields = dict(fields)
        self.arrival_time = float(self.clock())
        self._save()

    def _save(self) -> None:
        doc = {
            "job": self.job,
            **self.identity,
            **self.fields,
            "arrival_time": self.arrival_time,
            "saved_at": datetime.now(UTC).isoformat(),
        }
        self.store.save(self.name, doc)


def read_secret(aws: Any, secret_id: str) -> str:
    """A Secrets Manager secret's SecretString (or UTF-8 SecretBinary). Its value is never
    logged nor put in an error message."""
    try:
        answer = aws.client("secretsmanager").get_secret_value(SecretId=secret_id)
    except Exception as exc:
        code = getattr(exc, "response", {}).get("Error", {}).get("Code", type(exc).__name__)
        raise ConfigError(f"secret {secret_id!r}: cannot be read ({code})") from None
    if "SecretString" in answer:
        return str(answer["SecretString"])
    try:
        return bytes(answer["SecretBinary"]).decode()
    except (KeyError, UnicodeDecodeError):
        raise ConfigError(f"secret {secret_id!r}: holds no text") from None


def takes_part(job: str, part: tuple[int, int]) -> bool:
    """Extracts read one ordered cursor, which cannot be split without a state per part:
    part 0 of N does all the work, the other parts finish at once with nothing to do."""
    if part[0] == 0:
        return True
    log.info("nothing to do in this part", extra={"job": job, "part": f"{part[0]}/{part[1]}"})
    return False
