"""The external-command transform: protocol, batches, and every way a command can fail.

The command is a real process (tests/fixtures/external_transform.py, faults on demand);
nothing is mocked.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import orjson
from pydantic import BaseModel

from consumer.flow import Position, Record
from consumer.pipeline.decode import DecodeConfig, Decoder
from consumer.pipeline.external import ExternalTransform, ExternalTransformConfig, Rejected
from consumer.pipeline.process import Pipeline
from consumer.pipeline.route import Route, RouteConfig
from consumer.pipeline.router import Router

FIXTURE = str(Path(__file__).resolve().parents[1] / "fixtures" / "external_transform.py")


def command(*args: str, **options: Any) -> ExternalTransform:
    config = ExternalTransformConfig(command=(sys.executable, FIXTURE, *args), **options)
    return ExternalTransform(config, "test")


def payloads(*behaviours: str) -> list[bytes]:
    return [orjson.dumps({"id": f"r{n}", "do": do}) for n, do in enumerate(behaviours)]


def test_one_answer_per_record_in_order() -> None:
    transform = command()
    try:
        outcomes = transform.run(payloads("ok", "two", "none", "reject", "ok", "reject-typed"))
    finally:
        transform.close()
    assert outcomes == [
        [{"id": "r0", "n": 1}],
        [{"id": "r1", "n": 1}, {"id": "r1", "n": 2}],
        [],
        Rejected("rejected r3"),
        [{"id": "r4", "n": 1}],
        Rejected("rejected r5", "ValueError"),
    ]
    assert transform.restarts == 0


def test_a_record_that_crashes_the_command_is_isolated_with_its_stderr() -> None:
    # GIVEN a batch in which one record makes the command exit
    transform = command(max_attempts=2)
    try:
        outcomes = transform.run(payloads("ok", "ok", "crash", "ok"))
    finally:
        transform.close()
    # THEN the others get their rows; the crashing one gets the reason and the stderr tail
    assert outcomes[:2] == [[{"id": "r0", "n": 1}], [{"id": "r1", "n": 1}]]
    assert outcomes[3] == [{"id": "r3", "n": 1}]
    reason = outcomes[2]
    assert isinstance(reason, Rejected) and reason.error_type == "ExternalTransformError"
    assert "exited with code 3" in reason.reason
    assert "fatal: cannot handle record r2" in reason.reason


def test_a_crash_once_is_restarted_and_the_batch_retried(tmp_path: Path) -> None:
    transform = command(str(tmp_path / "crashed"))
    try:
        outcomes = transform.run(payloads("ok", "crash-once", "ok"))
    finally:
        transform.close()
    assert outcomes == [[{"id": f"r{n}", "n": 1}] for n in range(3)]
    assert transform.restarts == 1


def test_a_hanging_command_is_killed_at_the_time_limit() -> None:
    transform = command(timeout_s=0.5, max_attempts=1)
    started = time.monotonic()
    try:
        outcomes = transform.run(payloads("ok", "hang", "ok"))
    finally:
        transform.close()
    assert outcomes[0] == [{"id": "r0", "n": 1}] and outcomes[2] == [{"id": "r2", "n": 1}]
    assert isinstance(outcomes[1], Rejected) and "no answer within 0.5 s" in outcomes[1].reason
    assert time.monotonic() - started < 10


def test_an_answer_that_is_not_json_fails_that_record_only() -> None:
    transform = command(max_attempts=1)
    try:
        outcomes = transform.run(payloads("ok", "garbage", "ok"))
    finally:
        transform.close()
    assert outcomes[0] == [{"id": "r0", "n": 1}] and outcomes[2] == [{"id": "r2", "n": 1}]
    assert isinstance(outcomes[1], Rejected) and "not JSON" in outcomes[1].reason


def test_a_wrong_handshake_fails_every_record_with_the_reason() -> None:
    transform = command("--bad-handshake", max_attempts=1)
    try:
        outcomes = transform.run(payloads("ok", "ok"))
    finally:
        transform.close()
    assert all(isinstance(o, Rejected) and "bad handshake" in o.reason for o in outcomes)


def test_a_large_batch_does_not_deadlock_on_full_pipes() -> None:
    transform = command(timeout_s=60)
    try:
        outcomes = transform.run(payloads(*["two"] * 20_000))
    finally:
        transform.close()
    assert len(outcomes) == 20_000 and outcomes[-1] == [
        {"id": "r19999", "n": 1},
        {"id": "r19999", "n": 2},
    ]


def test_the_pipeline_quarantines_rejected_and_crashing_records_with_stage_transform() -> None:
    # GIVEN a route whose transform is the command
    spec = {
        "name": "things",
        "schema": "tests.unit.test_external_transform:Thing",
        "transform": {"command": [sys.executable, FIXTURE], "max_attempts": 1},
        "sinks": ["lake"],
    }
    route = Route(RouteConfig.model_validate(spec), 0)
    pipeline = Pipeline(Decoder(DecodeConfig()), [route], Router([route], None))
    records = [
        Record("s", "p", Position(n), "k", 0.0, orjson.dumps({"id": f"r{n}", "do": do}))
        for n, do in enumerate(["ok", "reject", "crash", "two"])
    ]
    # WHEN the records go through as one batch
    try:
        results = pipeline.process_many(records)
    finally:
        pipeline.close()
    # THEN rows for the good ones, quarantine envelopes with the reason for the others
    assert [q for _, q in results] == [False, True, True, False]
    assert [item.row for item in results[0][0]] == [{"id": "r0", "n": 1}]
    assert len(results[3][0]) == 2
    rejected, crashed = results[1][0][0].row, results[2][0][0].row
    assert (rejected["stage"], rejected["error_type"]) == ("transform", "ExternalTransformError")
    assert rejected["message"] == "rejected r1"
    assert "fatal: cannot handle record r2" in crashed["message"]


class Thing(BaseModel):
    id: str
    do: str = "ok"
