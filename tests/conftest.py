"""Shared fixtures: the embedded AWS emulator (moto server over HTTP on loopback).

Integration tests talk to it exactly as to AWS. Where moto is not installed the tests
skip with a loud reason locally and fail under CI (CI=true), so a missing dependency can
never pass as a green run.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from consumer.aws.clients import AwsClients


def require(condition: bool, reason: str) -> None:
    """Skip loudly when a real service is missing; fail instead when running in CI."""
    if condition:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(f"SKIPPED, NOT TESTED: {reason}")


@pytest.fixture(scope="session")
def emulator_endpoint() -> Iterator[str]:
    try:
        import moto.server  # noqa: F401
    except ImportError:
        require(False, "moto[server] is not installed (pip install -e '.[dev]')")
    from consumer.local.emulator import embedded_emulator

    with embedded_emulator() as endpoint:
        yield endpoint


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
