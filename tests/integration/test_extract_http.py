"""extract-http against a paginated API on loopback: auth from Secrets Manager, 429 with
Retry-After, a 500, a crash between the load and the state, and resuming from the cursor."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

import orjson
import pytest

from batch_jobs.jobs.http_pages import retry_after_s
from batch_jobs.registry import run_job
from batch_jobs.runner import JobResult
from batch_jobs.state import StateStore
from consumer.aws.clients import AwsClients
from tests.configfile import write_toml
from tests.e2e.chaos import sluice_env
from tests.integration.harness import Harness, reading
from tests.integration.http_api import Api, serve

pytestmark = pytest.mark.integration


def _items(count: int) -> list[dict[str, Any]]:
    return [orjson.loads(reading(i)[1]) for i in range(count)]


def _params(harness: Harness, api: Api, secret: str, **extra: str) -> dict[str, str]:
    unique = harness.config.name.removeprefix("it-")
    params = {
        "url": api.url,
        "items_field": "data.items",
        "next_field": "meta.next",
        "auth_secret_id": secret,
        "rate_per_s": "20",
        "backoff_base_s": "0.05",
        "state_bucket": f"lake-{unique}",
        "state_name": f"api-{unique}",
    }
    if not api.links:
        params["cursor_param"] = "cursor"
    return {**params, **extra}


def _run(harness: Harness, params: dict[str, str]) -> JobResult:
    return run_job("extract-http", params, harness.config, harness.aws, (0, 1), harness.base_dir)


def _state(harness: Harness, params: dict[str, str]) -> dict[str, Any] | None:
    return StateStore(harness.aws.client("s3"), params["state_bucket"]).load(params["state_name"])


def test_pages_through_honours_429_and_resumes_from_its_cursor(
    aws: AwsClients, unique: str, tmp_path: Path
) -> None:
    # GIVEN an API of 10 pages of 7 readings (one invalid), behind a key kept in Secrets
    # Manager as JSON naming the header, that answers page 2 with 429 (Retry-After: 1)
    # twice and page 5 with a 500 once
    harness = Harness.create(aws, unique, tmp_path, max_age_s=30)
    items = _items(70)
    del items[13]["value"]
    aws.client("secretsmanager").create_secret(
        Name=f"api-key-{unique}",
        SecretString=orjson.dumps({"header": "X-Api-Key", "value": "s3cr3t"}).decode(),
    )
    api = Api(items, 7, "X-Api-Key", "s3cr3t", faults={2: [429, 429], 5: [500]})
    with serve(api):
        params = _params(harness, api, f"api-key-{unique}")

        # WHEN a run stops after 4 pages, the next run goes on, and a third finds nothing new
        first = _run(harness, {**params, "max_pages": "4"})
        after_first = _state(harness, params)
        second = _run(harness, params)
        third = _run(harness, params)

    # THEN the first run fetched pages 0-3 and left its cursor on page 4
    assert first.ok and (first.inputs, first.records) == (4, 28)
    assert after_first is not None
    assert (after_first["page"], after_first["cursor"], after_first["next_index"]) == (
        4,
        "tok-4",
        0,
    )
    # AND the second resumed there, the third only looked at the last page again
    assert second.ok and (second.inputs, second.records) == (6, 42)
    assert third.ok and (third.inputs, third.records) == (1, 0)
    assert api.pages_fetched() == [*range(10), 9]
    # AND each 429 was waited out for its Retry-After, the 500 was retried
    page2 = [hit for hit in api.hits if hit.page == 2]
    assert [hit.status for hit in page2] == [429, 429, 200]
    assert all(b.at - a.at >= 1.0 for a, b in pairwise(page2))
    assert [hit.status for hit in api.hits if hit.page == 5] == [500, 200]
    assert first.seconds >= 2.0  # two Retry-After: 1 waits
    # AND the token bucket held the second run's 7 requests to 20/s (6 gaps of 1/20 s;
    # arrival times at the server, less one delivery delay of slack)
    second_hits = [hit.at for hit in api.hits if hit.page >= 4][:7]
    assert second_hits[-1] - second_hits[0] >= 6 / 20 - 0.05
    # AND every item is in the lake and the database exactly once, the bad one quarantined
    lake = harness.lake_ids()
    assert set(lake) == {f"r{i}" for i in range(70)} - {"r13"} and max(lake.values()) == 1
    assert set(harness.db_ids()) == set(lake)
    [bad] = harness.quarantine_rows()
    assert (bad["stage"], bad["partition_key"]) == ("validate", "1:6")
    final = _state(harness, params)
    assert final is not None and (final["page"], final["complete"]) == (9, True)


def test_a_crash_between_load_and_state_loses_and_duplicates_nothing(
    aws: AwsClients, emulator_endpoint: str, unique: str, tmp_path: Path
) -> None:
    # GIVEN 6 pages of 8 readings behind a bearer token (a plain secret), paged by next
    # URLs, and buffers of 3 records: three cuts, so three state commits, per page
    harness = Harness.create(aws, unique, tmp_path, max_records=3, max_age_s=30)
    aws.client("secretsmanager").create_secret(Name=f"bearer-{unique}", SecretString="Bearer t0ken")
    api = Api(_items(48), 8, "Authorization", "Bearer t0ken", links=True)
    config = write_toml(harness.config, tmp_path / "pipeline.toml")
    with serve(api):
        params = _params(harness, api, f"bearer-{unique}")
        args = [arg for key, value in params.items() for arg in ("--param", f"{key}={value}")]

        # WHEN `sluice batch run` dies at the 5th commit: page 1's second cut is written,
        # its state is not
        command = [sys.executable, "-m", "consumer", "batch", "run", "extract-http"]
        crashed = subprocess.run(
            [*command, "--config", str(config), *args],
            env=sluice_env(emulator_endpoint, SLUICE_CRASH_AT="extract_after_load_before_state:5"),
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        crashed_state = _state(harness, params)
        # AND the job runs again with buffers of 5, so its cuts fall elsewhere
        buffer = harness.config.buffer.model_copy(update={"max_records": 5})
        harness.config = harness.config.model_copy(update={"buffer": buffer})
        resumed = _run(harness, params)

    # THEN the crashed run had stored page 1 up to its first cut only
    assert crashed.returncode == 137, crashed.stderr[-2000:]
    assert crashed_state is not None
    assert (crashed_state["page"], crashed_state["next_index"]) == (1, 3)
    assert crashed_state["cursor"] == api.url + "?page=tok-1"
    # AND the rerun fetched page 1 again, took its items from the 4th on, and finished
    assert resumed.ok and resumed.records == 48 - 8 - 3
    assert api.pages_fetched() == [0, 1, 1, 2, 3, 4, 5]
    # AND every item is in the lake and the database exactly once
    lake = harness.lake_ids()
    assert set(lake) == {f"r{i}" for i in range(48)} and max(lake.values()) == 1
    assert set(harness.db_ids()) == set(lake)


def test_a_client_error_fails_the_job_and_keeps_the_cursor(
    aws: AwsClients, unique: str, tmp_path: Path
) -> None:
    # GIVEN an API that refuses page 2 once with a 403
    harness = Harness.create(aws, unique, tmp_path)
    aws.client("secretsmanager").create_secret(Name=f"key-{unique}", SecretString="k")
    api = Api(_items(20), 5, "Authorization", "k", faults={2: [403]})
    with serve(api):
        params = _params(harness, api, f"key-{unique}")

        # WHEN the job runs, then again once the API lets it in
        refused = _run(harness, params)
        state = _state(harness, params)
        again = _run(harness, params)

    # THEN the first run failed at page 2 without retrying it, its cursor still there
    assert not refused.ok and refused.inputs == 3
    assert "HTTP 403" in refused.failed_inputs[0] and "page 2" in refused.failed_inputs[0]
    assert [hit.status for hit in api.hits if hit.page == 2] == [403, 200]
    assert state is not None and (state["page"], state["cursor"]) == (2, "tok-2")
    # AND the second run took the rest: everything exactly once
    assert again.ok and again.records == 10
    lake = harness.lake_ids()
    assert len(lake) == 20 and max(lake.values()) == 1


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    later = format_datetime(now + timedelta(seconds=90), usegmt=True)
    assert retry_after_s("1", now.timestamp()) == 1.0
    assert retry_after_s(later, now.timestamp()) == 90.0
    assert (
        retry_after_s(format_datetime(now - timedelta(seconds=5), usegmt=True), now.timestamp())
        == 0.0
    )
    assert retry_after_s("soon", now.timestamp()) is None and retry_after_s(None) is None
    assert retry_after_s("inf") is None
