"""GET JSON pages politely: a token bucket, retries with jittered backoff, `Retry-After`.

Only the standard library (`urllib.request`) is used. What is retried, and why:

- connection errors, timeouts, truncated responses and 5xx: transient by nature, retried
  with full-jitter exponential backoff (`consumer.delivery.retry.backoff_delay`);
- 429: the server says when to come back, so its `Retry-After` (delay-seconds or an HTTP
  date) is waited out before the next attempt; without one, the backoff applies. A wait
  longer than `max_retry_after_s` fails the page instead of stalling the job for hours;
- any other 4xx (401, 403, 404...) cannot get better by asking again: the page fails at
  once with the status in its message.

Every attempt takes a token first, so retries count against the rate too. The
credential header is added as an *unredirected* header: urllib drops it when following a
redirect, so it is never sent to a host the caller did not name.
"""

from __future__ import annotations

import email.utils
import http.client
import logging
import math
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from datetime import UTC
from typing import Any
from urllib.parse import urlsplit

import orjson

from batch_jobs.jobs.extract_common import ExtractError
from consumer.delivery.retry import RetryConfig, backoff_delay

log = logging.getLogger(__name__)
_TRANSIENT = (urllib.error.URLError, http.client.HTTPException, OSError)


class TokenBucket:
    """At most `burst` requests at once, refilled at `rate_per_s`."""

    def __init__(
        self,
        rate_per_s: float,
        burst: int = 1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rate_per_s = rate_per_s
        self.burst = burst
        self.clock = clock
        self.sleep = sleep
        self._tokens = float(burst)
        self._at = clock()

    def take(self) -> float:
        """Wait for a token and spend it; returns the seconds waited."""
        now = self.clock()
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate_per_s)
        self._at = now
        wait = 0.0
        if self._tokens < 1:
            wait = (1 - self._tokens) / self.rate_per_s
            self.sleep(wait)
            self._at = self.clock()
            self._tokens = 1.0
        self._tokens -= 1
        return wait


def retry_after_s(value: str | None, now: float | None = None) -> float | None:
    """Seconds a `Retry-After` header asks for (RFC 9110: delay-seconds or an HTTP date),
    never negative; None when it is absent or unreadable."""
    if not value:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = when.timestamp() - (time.time() if now is None else now)
    return max(0.0, seconds) if math.isfinite(seconds) else None


def safe_url(url: str) -> str:
    """The URL without its query string, which may carry keys: for logs and errors."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


class PageFetcher:
    def __init__(
        self,
        headers: Mapping[str, str],
        rate: TokenBucket,
        retry: RetryConfig,
        timeout_s: float,
        max_retry_after_s: float,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.headers = dict(headers)
        self.rate = rate
        self.retry = retry
        self.timeout_s = timeout_s
        self.max_retry_after_s = max_retry_after_s
        self.sleep = sleep
        self.opener = urllib.request.build_opener()
        self.requests = 0
        self.waited_s = 0.0

    def get_json(self, url: str) -> Any:
        """The page's JSON. Raises `ExtractError` on a client error, a body that is not
        JSON, or when `retry.max_attempts` attempts failed."""
        reason = ""
        for attempt in range(self.retry.max_attempts):
            self.waited_s += self.rate.take()
            self.requests += 1
            try:
                body = self._get(url)
            except urllib.error.HTTPError as exc:
                exc.close()
                delay = self._delay_after(exc, attempt, url)
                reason = f"HTTP {exc.code} {exc.reason}"
            except (*_TRANSIENT, TimeoutError) as exc:
                delay = backoff_delay(self.retry, attempt)
                reason = f"{type(exc).__name__}: {exc}"
            else:
                try:
                    return orjson.loads(body)
                except orjson.JSONDecodeError as exc:
                    raise ExtractError(
                        f"{safe_url(url)}: the response is not JSON: {exc}"
                    ) from None
            if attempt + 1 < self.retry.max_attempts:
                log.warning(
                    "retrying page",
                    extra={
                        "url": safe_url(url),
                        "attempt": attempt + 1,
                        "reason": reason,
                        "delay_s": round(delay, 3),
                    },
                )
                self.sleep(delay)
                self.waited_s += delay
        raise ExtractError(
            f"{safe_url(url)}: gave up after {self.retry.max_attempts} attempts: {reason}"
        )

    def _get(self, url: str) -> bytes:
        request = urllib.request.Request(url, headers={"Accept": "application/json"})
        for name, value in self.headers.items():
            request.add_unredirected_header(name, value)
        with self.opener.open(request, timeout=self.timeout_s) as response:
            body: bytes = response.read()
        return body

    def _delay_after(self, exc: urllib.error.HTTPError, attempt: int, url: str) -> float:
        """How long to wait before retrying a status, or raise when it is not retriable."""
        if exc.code == 429:
            asked = retry_after_s(exc.headers.get("Retry-After"))
            if asked is None:
                return backoff_delay(self.retry, attempt)
            if asked > self.max_retry_after_s:
                raise ExtractError(
                    f"{safe_url(url)}: HTTP 429 asks to wait {asked:.0f} s, more than "
                    f"max_retry_after_s={self.max_retry_after_s:g}; run again later"
                )
            return asked
        if exc.code >= 500:
            return backoff_delay(self.retry, attempt)
        raise ExtractError(f"{safe_url(url)}: HTTP {exc.code} {exc.reason} (not retried)")
