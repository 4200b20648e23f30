"""Retries with full-jitter exponential backoff for retriable sink errors."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field

from consumer.errors import ConfigError, SinkError

T = TypeVar("T")
log = logging.getLogger(__name__)
_RNG = random.Random()


class RetryConfig(BaseModel):
    """Budget for retrying a sink write before the consumer gives up and fails loudly."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_attempts: int = Field(8, ge=1, description="attempts per write, the first included")
    base_delay_s: float = Field(0.2, gt=0, description="first backoff ceiling")
    max_delay_s: float = Field(10.0, gt=0, description="backoff ceiling")


def backoff_delay(config: RetryConfig, attempt: int, rng: random.Random = _RNG) -> float:
    """Full jitter: uniform in [0, min(max, base * 2**attempt)]."""
    ceiling = min(config.max_delay_s, config.base_delay_s * (2**attempt))
    return rng.uniform(0, ceiling)


def call_with_retry(
    what: str,
    func: Callable[[], T],
    is_retriable: Callable[[BaseException], bool],
    config: RetryConfig,
    sleep: Callable[[float], None] = time.sleep,
    on_retry: Callable[[BaseException], None] | None = None,
) -> T:
    """Run `func`; retry retriable failures; raise `SinkError` when the budget is spent.

    A non-retriable failure raises `SinkError` at once: retrying it would only delay the
    loud failure the operator must see; a `ConfigError` (a sink's diagnosis of an error
    its config causes, `SinkConfigError`) is raised as it is.
    """
    for attempt in range(config.max_attempts):
        try:
            return func()
        except ConfigError:
            raise  # the config causes it: every attempt would fail the same way
        except Exception as exc:
            if not is_retriable(exc):
                raise SinkError(f"{what}: non-retriable error: {exc!r}") from exc
            if attempt + 1 == config.max_attempts:
                raise SinkError(
                    f"{what}: gave up after {config.max_attempts} attempts: {exc!r}"
                ) from exc
            delay = backoff_delay(config, attempt)
            log.warning(
                "retrying",
                extra={
                    "what": what,
                    "attempt": attempt + 1,
                    "delay_s": round(delay, 3),
                    "error": repr(exc),
                },
            )
            if on_retry is not None:
                on_retry(exc)
            sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover
