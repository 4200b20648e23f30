"""Fixtures for the integration tier."""

from __future__ import annotations

import shutil

import pytest

from tests.conftest import require
from tests.integration.ecs_harness import agent, agent_env  # noqa: F401 (fixtures)
from tests.integration.iceberg_harness import lake  # noqa: F401 (fixture)
from tests.integration.kcl_harness import h2_endpoint  # noqa: F401 (a fixture)


@pytest.fixture(params=["python", "node"])
def transform(request: pytest.FixtureRequest) -> str:
    """The shared pipeline tests run once with the Python transform and once with the
    Node.js external command that makes the same rows (examples/node-transform)."""
    if request.param == "node":
        require(shutil.which("node") is not None, "node is not installed (the external transform)")
    return str(request.param)


@pytest.fixture(params=["stream", "batch"])
def mode(request: pytest.FixtureRequest) -> str:
    """The shared pipeline tests run once streamed through the consumer and once as a
    batch job (backfill) over the same records: the same routes, sinks and quarantine."""
    return str(request.param)
