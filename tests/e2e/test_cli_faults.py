"""Every `sluice` command against the failures a user meets first: one line, the README's
exit code, no traceback.

Each command runs as a separate process, as a user runs it, against: an endpoint nobody
listens on, an endpoint written without its scheme, the emulator without the resources
the command names, an emulator that checks IAM with a user allowed nothing (and with keys
it does not know), an endpoint answering that the credentials expired, and bad arguments.
Exit codes: 2 for configuration and arguments, 1 for runtime failures (README, "Commands").
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import orjson
import pytest

from tests.conftest import require
from tests.e2e.cli_faults import (
    REPO,
    AuthEmulator,
    auth_emulator,
    dead_endpoint,
    emulator_process,
    expired_endpoint,
    free_port,
    sluice_env,
)

pytestmark = pytest.mark.e2e

PIPELINE = """
name = "faults"
[source]
type = "kinesis"
stream = "missing-stream-{u}"
[[routes]]
name = "readings"
record_type = "reading"
schema = "faults_schema:Reading"
key = "id"
sinks = ["lake"]
[sinks.lake]
type = "s3"
bucket = "missing-bucket-{u}"
prefix = "lake"
[quarantine]
type = "s3"
bucket = "missing-bucket-{u}"
prefix = "quarantine"
[metrics]
sink = "off"
"""
SCHEMA = """
from pydantic import BaseModel

class Reading(BaseModel):
    id: str
    value: float
"""
WORKFLOW = """
name = "faults"
bucket = "missing-bucket-{u}"
runs_table = "missing-runs-{u}"
[[steps]]
name = "load"
[[steps.tasks]]
job = "backfill"
config = "pipeline.toml"
params = {{ bucket = "missing-bucket-{u}", prefix = "in/" }}
"""

# Commands that talk to AWS, with what they name: {config} (a pipeline naming a stream and
# a bucket that do not exist), {queue}, {table}, {bucket}, {workflow}, {records}, {tmp}
AWS_COMMANDS: dict[str, list[str]] = {
    "run": ["run", "--config", "{config}", "--until-idle", "--max-runtime-s", "30"],
    "run --emulator": ["run", "--config", "{config}", "--emulator", "--until-idle"],
    "validate --connect": ["validate", "--config", "{config}", "--connect"],
    "put": ["put", "--config", "{config}", "{records}"],
    "lake ls": ["lake", "ls", "--config", "{config}"],
    "lake cat": ["lake", "cat", "--config", "{config}"],
    "quarantine ls": ["quarantine", "ls", "--config", "{config}"],
    "quarantine show": ["quarantine", "show", "--config", "{config}", "1"],
    "dlq inspect": ["dlq", "inspect", "{queue}"],
    "dlq redrive": ["dlq", "redrive", "{queue}"],
    "jobs": ["jobs", "--queue", "{queue}", "--ledger-table", "{table}", "--until-idle"],
    "batch run": [
        *("batch", "run", "backfill", "--config", "{config}"),
        *("--param", "bucket={bucket}", "--param", "prefix=in/"),
    ],
    "batch workflow run": ["batch", "workflow", "run", "{workflow}"],
    "batch status": ["batch", "status", "run-1", "--runs-table", "{table}"],
    "batch submit": ["batch", "submit", "backfill", "--config", "{config}", "--queue", "{queue}"],
    "quality report": ["quality", "report", "--config", "{config}"],
    "demo": [
        *("demo", "--records", "20", "--sqs-records", "0", "--out", "{tmp}/demo"),
        *("--config", "{demo_config}"),
    ],
}
CREATES_WHAT_IS_MISSING = {"run --emulator", "demo"}  # they provision, so nothing is missing


@dataclass(frozen=True)
class Fault:
    code: int
    line: str  # a pattern the one line must match
    validate_line: str = "checks failed"  # validate --connect lists checks, then says so


FAULTS = {
    "dead-endpoint": Fault(1, r"cannot reach http://127\.0\.0\.1:\d+: nothing answers there"),
    "no-scheme": Fault(2, r"AWS_ENDPOINT_URL '127\.0\.0\.1:\d+' is not an http\(s\) URL", ""),
    "missing": Fault(1, r"does not exist \(\w+\): create it"),
    "denied": Fault(1, r"access denied to \w+( .+)? \(\w+\): grant \w+:\w+"),
    "unknown-keys": Fault(1, r"access denied to|rejected the credentials"),
    "expired": Fault(1, r"the AWS credentials have expired \(\w+\)"),
}

# Bad arguments and files, exit 2; none of these reaches AWS.
BAD_ARGUMENTS: dict[str, tuple[list[str], str]] = {
    "no command": ([], r"the following arguments are required"),
    "unknown command": (["nope"], r"invalid choice: 'nope'"),
    "run without --config": (["run"], r"required: --config"),
    "--log-level nope": (["--log-level", "nope", "validate", "--config", "{config}"], "log-level"),
    "validate, no such file": (["validate", "--config", "{tmp}/nope.toml"], "not found"),
    "batch run --part 2/2": (
        ["batch", "run", "backfill", "--config", "{config}", "--part", "2/2"],
        r"--part 2/2: need 0 <= i < N",
    ),
    "batch run --part x": (
        ["batch", "run", "backfill", "--config", "{config}", "--part", "x"],
        r"--part x: write it as i/N",
    ),
    "batch run --param without =": (
        ["batch", "run", "backfill", "--config", "{config}", "--param", "bucket"],
        r"--param bucket: write it as KEY=VALUE",
    ),
    "batch run, unknown job": (["batch", "run", "nope", "--config", "{config}"], "invalid choice"),
    "batch submit --part 3/2": (
        ["batch", "submit", "backfill", "--config", "{config}", "--part", "3/2"],
        r"--part 3/2",
    ),
    "batch status without table": (["batch", "status", "run-1"], "one of the arguments"),
    "batch workflow run, no such file": (
        ["batch", "workflow", "run", "{tmp}/nope.toml"],
        "cannot read workflow file",
    ),
    "put, no such file": (["put", "--config", "{config}", "{tmp}/nope.jsonl"], "no such file"),
    "lake ls --route nope": (["lake", "ls", "--config", "{config}", "--route", "nope"], "route"),
    "quarantine show x": (["quarantine", "show", "--config", "{config}", "x"], "invalid int"),
    "emulator start --port x": (["emulator", "start", "--port", "x"], "invalid int"),
    "emulator start, bad config": (
        ["emulator", "start", "--config", "{tmp}/nope.toml"],
        "not found",
    ),
    "dlq inspect --limit x": (["dlq", "inspect", "q", "--limit", "x"], "invalid int"),
    "jobs without --queue": (["jobs", "--ledger-table", "t"], "required: --queue"),
    "cost --records-per-s x": (["cost", "--records-per-s", "x"], "invalid"),
    "plan --rate x": (["plan", "--rate", "x"], "invalid"),
    "health --url": (["health", "--url"], "expected one argument"),
    "kcl properties without --config": (["kcl", "properties"], "required"),
    "kcl run without --config": (["kcl", "run"], "required"),
    "quality report --since x": (["quality", "report", "--config", "{config}", "--since", "x"], ""),
    "demo --records x": (["demo", "--records", "x"], "invalid int"),
}


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("faults")
    unique = folder.name.replace("_", "-").lower()[-12:]
    (folder / "faults_schema.py").write_text(SCHEMA)
    config = folder / "pipeline.toml"
    config.write_text(PIPELINE.format(u=unique))
    (folder / "workflow.toml").write_text(WORKFLOW.format(u=unique))
    (folder / "records.jsonl").write_text('{"type": "reading", "id": "a", "value": 1}\n')
    return {
        "config": str(config),
        "workflow": str(folder / "workflow.toml"),
        "records": str(folder / "records.jsonl"),
        "queue": f"missing-queue-{unique}",
        "table": f"missing-table-{unique}",
        "bucket": f"missing-bucket-{unique}",
        "tmp": str(folder),
        "demo_config": str(REPO / "examples/clickstream/pipeline.toml"),
    }


@pytest.fixture(scope="module")
def denied() -> Iterator[AuthEmulator]:
    _require_moto()
    with auth_emulator() as emulator:
        yield emulator


@pytest.fixture(scope="module")
def expired() -> Iterator[str]:
    with expired_endpoint() as endpoint:
        yield endpoint


def _require_moto() -> None:
    try:
        import moto.server  # noqa: F401
    except ImportError:
        require(False, "moto[server] is not installed (pip install -e '.[dev]')")


def sluice(
    args: list[str], files: dict[str, str], env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    argv = [part.format(**files) for part in args]
    return subprocess.run(
        [sys.executable, "-m", "consumer", *argv],
        cwd=files["tmp"],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def assert_one_line(done: subprocess.CompletedProcess[str], code: int, pattern: str) -> str:
    """Exit `code`; stderr holds JSON log lines (and the demo's `[demo]` progress lines)
    and exactly one plain line, the last, which matches `pattern`; no traceback, no
    error-level log line."""
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    lines = [line for line in lines if not line.startswith("[demo] ")]
    shown = done.stderr[-2000:]
    assert "Traceback" not in done.stderr, shown
    plain = [line for line in lines if not line.startswith("{")]
    assert len(plain) == 1 and lines[-1] == plain[0], shown
    assert plain[0].startswith("sluice"), shown
    assert re.search(pattern, plain[0]), shown
    for line in lines[:-1]:
        assert orjson.loads(line)["level"] not in ("error", "critical"), shown
    assert done.returncode == code, shown
    return plain[0]


def _env_for(
    fault: str, emulator_endpoint: str, denied: AuthEmulator | None, expired: str
) -> dict[str, str]:
    if fault == "dead-endpoint":
        return sluice_env(AWS_ENDPOINT_URL=dead_endpoint())
    if fault == "no-scheme":
        return sluice_env(AWS_ENDPOINT_URL=f"127.0.0.1:{free_port()}")
    if fault == "missing":
        return sluice_env(AWS_ENDPOINT_URL=emulator_endpoint)
    if fault == "expired":
        return sluice_env(AWS_ENDPOINT_URL=expired, AWS_SESSION_TOKEN="expired")
    assert denied is not None
    if fault == "denied":
        return sluice_env(
            AWS_ENDPOINT_URL=denied.endpoint,
            AWS_ACCESS_KEY_ID=denied.key_id,
            AWS_SECRET_ACCESS_KEY=denied.secret,
        )
    return sluice_env(AWS_ENDPOINT_URL=denied.endpoint, AWS_ACCESS_KEY_ID="AKIAUNKNOWNKEY000000")


@pytest.mark.parametrize("fault", list(FAULTS))
@pytest.mark.parametrize("command", list(AWS_COMMANDS))
def test_every_aws_command_fails_in_one_line(
    command: str,
    fault: str,
    files: dict[str, str],
    emulator_endpoint: str,
    request: pytest.FixtureRequest,
    expired: str,
) -> None:
    if fault == "missing" and command in CREATES_WHAT_IS_MISSING:
        pytest.skip(f"{command} creates what the pipeline names: nothing is missing")
    # GIVEN the fault
    needs_auth = fault in ("denied", "unknown-keys")
    auth = request.getfixturevalue("denied") if needs_auth else None
    env = _env_for(fault, emulator_endpoint, auth, expired)

    # WHEN the command runs into it
    done = sluice(AWS_COMMANDS[command], files, env)

    # THEN it says so in one line, with the documented exit code
    expected = FAULTS[fault]
    if command == "validate --connect" and expected.validate_line:
        assert_one_line(done, 2, expected.validate_line)
        failed = [line for line in done.stdout.splitlines() if line.startswith("FAIL")]
        assert failed and all(re.search(expected.line, line) for line in failed), done.stdout
    else:
        assert_one_line(done, expected.code, expected.line)


@pytest.mark.parametrize("case", list(BAD_ARGUMENTS))
def test_bad_arguments_fail_in_one_line_with_exit_2(case: str, files: dict[str, str]) -> None:
    args, pattern = BAD_ARGUMENTS[case]
    done = sluice(args, files, sluice_env(AWS_ENDPOINT_URL=dead_endpoint()))
    assert_one_line(done, 2, pattern)


def test_a_taken_port_fails_emulator_start_in_one_line(files: dict[str, str]) -> None:
    _require_moto()
    # GIVEN an emulator on a port
    with emulator_process("--port", str(free_port())) as first:
        port = first.endpoint.rsplit(":", 1)[1]
        # WHEN a second one is started on it
        done = sluice(["emulator", "start", "--port", port], files, sluice_env())
    # THEN it says the port is taken, and how to choose another
    assert_one_line(done, 1, rf"port {port} on 127\.0\.0\.1 is in use .*--port N")


def test_debug_logs_still_show_the_traceback(files: dict[str, str]) -> None:
    # GIVEN an endpoint nobody listens on, and --log-level debug
    env = sluice_env(AWS_ENDPOINT_URL=dead_endpoint())
    # WHEN a command fails there
    done = sluice(["--log-level", "debug", "lake", "ls", "--config", "{config}"], files, env)
    # THEN the traceback is logged (JSON, field exc), and the last line is still the one line
    logged = [orjson.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    assert any("Traceback" in entry.get("exc", "") for entry in logged), done.stderr[-2000:]
    assert done.stderr.splitlines()[-1].startswith("sluice: cannot reach")
    assert done.returncode == 1


@pytest.mark.parametrize("command", ["run", "put", "lake ls", "dlq inspect"])
def test_no_credentials_and_no_endpoint_say_how_to_reach_the_emulator(
    command: str, files: dict[str, str]
) -> None:
    # GIVEN a shell without keys and without AWS_ENDPOINT_URL (the exports forgotten)
    env = sluice_env(
        AWS_CONFIG_FILE="/dev/null",
        AWS_SHARED_CREDENTIALS_FILE="/dev/null",
        AWS_EC2_METADATA_DISABLED="true",
    )
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        env.pop(name)
    # WHEN a command needs AWS THEN one line says what is missing and points at the exports
    done = sluice(AWS_COMMANDS[command], files, env)
    assert_one_line(done, 1, r"no AWS credentials found: .*`sluice emulator start` printed")
