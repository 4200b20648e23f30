"""Shared fixtures: the embedded AWS emulator (moto server over HTTP on loopback).

Integration tests talk to it exactly as to AWS. Where moto is not installed the tests
skip with a loud reason locally and fail under CI (CI=true), so a missing dependency can
never pass as a green run.

With `SLUICE_TEST_EMULATOR=localstack` (`make test-localstack`) the same fixtures give
LocalStack instead: the one at `SLUICE_LOCALSTACK_ENDPOINT` when set (a running
`make localstack`), else one started for the session from `SLUICE_LOCALSTACK_VENV`
(`.venv-localstack`). tests/localstack/ is collected only then.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from consumer.aws.clients import AwsClients


def require(condition: bool, reason: str) -> None:
    """Skip loudly when a real service is missing; fail instead when running in CI."""
    if condition:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(f"SKIPPED, NOT TESTED: {reason}")


EMULATOR = os.environ.get("SLUICE_TEST_EMULATOR", "moto")
ON_LOCALSTACK = EMULATOR == "localstack"
collect_ignore = [] if ON_LOCALSTACK else ["localstack"]


@pytest.fixture(scope="session")
def emulator_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if ON_LOCALSTACK:
        yield from _localstack_endpoint(tmp_path_factory.mktemp("localstack"))
        return
    try:
        import moto.server  # noqa: F401
    except ImportError:
        require(False, "moto[server] is not installed (pip install -e '.[dev]')")
    from consumer.local.emulator import embedded_emulator

    with embedded_emulator() as endpoint:
        yield endpoint


def _localstack_endpoint(work: Path) -> Iterator[str]:
    """LocalStack for the session; its own log stays in the session's temp folder."""
    for key, value in {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}.items():
        os.environ.setdefault(key, value)
    given = os.environ.get("SLUICE_LOCALSTACK_ENDPOINT")
    if given:
        yield given
        return
    from consumer.local.localstack import DEFAULT_VENV, LocalStackError, running_localstack

    venv = Path(os.environ.get("SLUICE_LOCALSTACK_VENV") or DEFAULT_VENV)
    require((venv / "bin" / "python").exists(), f"no LocalStack at {venv}: make localstack-venv")
    with (work / "localstack.log").open("wb") as log:
        try:
            with running_localstack(venv, log=log) as server:
                yield server.endpoint
        except LocalStackError as exc:
            pytest.fail(f"LocalStack did not start ({exc}); its log: {log.name}")


@pytest.fixture()
def aws(emulator_endpoint: str) -> AwsClients:
    return AwsClients(region="us-east-1", endpoint_url=emulator_endpoint)


@pytest.fixture()
def unique() -> str:
    """A short unique suffix, so tests sharing the emulator never share resources."""
    return uuid.uuid4().hex[:10]


PG_URL = os.environ.get("SLUICE_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session")
def pg_url() -> str:
    """The running PostgreSQL (trust auth on loopback here and in CI)."""
    import psycopg

    try:
        with psycopg.connect(PG_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.OperationalError as exc:
        require(False, f"PostgreSQL at {PG_URL} is not reachable: {exc}")
    return PG_URL
