"""tests/localstack/ runs only against LocalStack (`make test-localstack`): `make test`
does not collect it, and asked for by path without `SLUICE_TEST_EMULATOR=localstack` it
skips (fails in CI) instead of testing moto under LocalStack's name."""

from __future__ import annotations

import pytest

from tests.conftest import ON_LOCALSTACK, require


@pytest.fixture(autouse=True)
def _on_localstack_only() -> None:
    require(ON_LOCALSTACK, "tests/localstack/ needs SLUICE_TEST_EMULATOR=localstack")
