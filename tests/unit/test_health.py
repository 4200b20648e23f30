"""Liveness and readiness over real HTTP on loopback, with a fake clock."""

from __future__ import annotations

from collections.abc import Iterator

import orjson
import pytest

from consumer.health import HealthConfig, HealthServer, HealthState, probe


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture()
def served() -> Iterator[tuple[HealthState, Clock, str]]:
    clock = Clock()
    config = HealthConfig(port=0, max_poll_gap_s=10, max_flush_age_s=30)
    state = HealthState(config, clock)
    server = HealthServer(state, config)
    server.start()
    yield state, clock, f"http://127.0.0.1:{server.port}"
    server.stop()


def test_live_while_polling_and_dead_when_the_loop_stalls(
    served: tuple[HealthState, Clock, str],
) -> None:
    state, clock, url = served
    state.on_poll("q")
    assert probe(url + "/healthz")[0]
    clock.now += 11
    ok, body = probe(url + "/healthz")
    assert not ok and orjson.loads(body)["seconds_since_poll"] == 11


def test_ready_only_after_polling_and_while_work_is_flushed_in_time(
    served: tuple[HealthState, Clock, str],
) -> None:
    state, clock, url = served
    assert not probe(url + "/readyz")[0]
    state.on_poll("q")
    assert probe(url + "/readyz")[0]
    state.on_buffering("q")
    clock.now += 31
    state.on_poll("q")
    ok, body = probe(url + "/readyz")
    assert not ok and orjson.loads(body)["seconds_waiting_for_flush"] == 31
    state.on_idle("q")
    assert probe(url + "/readyz")[0]


def test_a_failed_flush_makes_it_unready(served: tuple[HealthState, Clock, str]) -> None:
    state, _, url = served
    state.on_poll("q")
    state.on_flush_failed("q", RuntimeError("sink down"))
    ok, body = probe(url + "/readyz")
    assert not ok and "sink down" in orjson.loads(body)["last_error"]


def test_unknown_paths_and_unreachable_servers(served: tuple[HealthState, Clock, str]) -> None:
    _, _, url = served
    assert not probe(url + "/nope")[0]
    assert not probe("http://127.0.0.1:1/healthz", timeout_s=1)[0]
