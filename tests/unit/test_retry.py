"""call_with_retry: retriable errors back off and retry; anything else fails loudly at once."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from consumer.delivery.retry import RetryConfig, backoff_delay, call_with_retry
from consumer.errors import SinkError


class Transient(Exception):
    pass


class Fatal(Exception):
    pass


def is_transient(exc: BaseException) -> bool:
    return isinstance(exc, Transient)


class Flaky:
    """Fails with `Transient` for its first `failures` calls, then returns "ok"."""

    def __init__(self, failures: int, error: Exception | None = None) -> None:
        self.failures = failures
        self.error = error or Transient("throttled")
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return "ok"


class UpperBound(random.Random):
    """A Random whose uniform(a, b) always answers b and records its bounds."""

    def __init__(self) -> None:
        super().__init__(0)
        self.bounds: list[tuple[float, float]] = []

    def uniform(self, a: float, b: float) -> float:
        self.bounds.append((a, b))
        return b


@pytest.fixture()
def sleeps() -> list[float]:
    return []


@pytest.fixture()
def sleep(sleeps: list[float]) -> Callable[[float], None]:
    return sleeps.append


CONFIG = RetryConfig(max_attempts=4, base_delay_s=0.5, max_delay_s=3.0)


def test_success_on_first_try_does_not_sleep(
    sleep: Callable[[float], None], sleeps: list[float]
) -> None:
    assert call_with_retry("put", Flaky(0), is_transient, CONFIG, sleep) == "ok"
    assert sleeps == []


def test_retriable_errors_are_retried_until_success(
    sleep: Callable[[float], None], sleeps: list[float]
) -> None:
    # GIVEN a call failing twice with a retriable error
    func = Flaky(2)
    # WHEN called with a budget of 4 attempts
    result = call_with_retry("put", func, is_transient, CONFIG, sleep)
    # THEN it succeeds on the third attempt after two bounded backoffs
    assert (result, func.calls, len(sleeps)) == ("ok", 3, 2)
    assert 0 <= sleeps[0] <= 0.5 and 0 <= sleeps[1] <= 1.0


def test_gives_up_with_sink_error_after_max_attempts(
    sleep: Callable[[float], None], sleeps: list[float]
) -> None:
    # GIVEN a call that always fails retriably
    func = Flaky(100)
    # WHEN called
    with pytest.raises(SinkError) as info:
        call_with_retry("write to lake", func, is_transient, CONFIG, sleep)
    # THEN it tried max_attempts times, slept between attempts only, and chains the cause
    assert func.calls == 4 and len(sleeps) == 3
    assert str(info.value) == "write to lake: gave up after 4 attempts: Transient('throttled')"
    assert isinstance(info.value.__cause__, Transient)
    assert all(0 <= d <= min(3.0, 0.5 * 2**i) for i, d in enumerate(sleeps))


def test_non_retriable_error_fails_at_once(
    sleep: Callable[[float], None], sleeps: list[float]
) -> None:
    func = Flaky(1, Fatal("access denied"))
    with pytest.raises(SinkError) as info:
        call_with_retry("put", func, is_transient, CONFIG, sleep)
    assert func.calls == 1 and sleeps == []
    assert str(info.value) == "put: non-retriable error: Fatal('access denied')"
    assert isinstance(info.value.__cause__, Fatal)


def test_a_single_attempt_budget_never_sleeps(
    sleep: Callable[[float], None], sleeps: list[float]
) -> None:
    func = Flaky(1)
    with pytest.raises(SinkError, match="gave up after 1 attempts"):
        call_with_retry("put", func, is_transient, RetryConfig(max_attempts=1), sleep)
    assert func.calls == 1 and sleeps == []


def test_backoff_ceiling_doubles_up_to_the_maximum() -> None:
    rng = UpperBound()
    delays = [backoff_delay(CONFIG, attempt, rng) for attempt in range(6)]
    assert delays == [0.5, 1.0, 2.0, 3.0, 3.0, 3.0]
    assert all(a == 0 for a, _ in rng.bounds)


@pytest.mark.parametrize("attempt", [0, 1, 2, 3, 10, 60])
def test_backoff_is_within_full_jitter_bounds(attempt: int) -> None:
    rng = random.Random(attempt)
    ceiling = min(CONFIG.max_delay_s, CONFIG.base_delay_s * 2**attempt)
    delays = [backoff_delay(CONFIG, attempt, rng) for _ in range(200)]
    assert all(0 <= d <= ceiling for d in delays)
    # Full jitter spreads over the whole range, not just near the ceiling.
    assert min(delays) < ceiling * 0.1 and max(delays) > ceiling * 0.9
