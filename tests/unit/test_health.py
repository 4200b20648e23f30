"""Liveness and readiness over real HTTP on loopback, with a fake clock."""

from __future__ import annotations

from collections.abc import Iterator

import orjson
import pytest

from consumer.runtime.health import HealthConfig, HealthServer, HealthState, default_url, probe


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


def test_live_while_the_loop_turns_and_dead_when_it_stalls(
    served: tuple[HealthState, Clock, str],
) -> None:
    state, clock, url = served
    state.on_turn("q")
    assert probe(url + "/healthz")[0]
    clock.now += 11
    ok, body = probe(url + "/healthz")
    assert not ok and orjson.loads(body)["seconds_since_loop_turned"] == 11


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
    state.on_turn("q")
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


def test_a_flush_running_past_its_bound_fails_liveness() -> None:
    # GIVEN a consumer whose loop turns, then whose flush hangs (a sink that never answers)
    clock = Clock()
    state = HealthState(HealthConfig(max_poll_gap_s=10, max_flush_s=30), clock)
    state.on_turn("q")
    state.on_flush_started("q")
    clock.now += 29
    assert state.live()[0]
    # WHEN it runs past max_flush_s
    clock.now += 2
    ok, detail = state.live()
    # THEN liveness fails with how long it has been flushing
    assert not ok and detail["seconds_flushing"] == 31
    # and a flush that ends (even failed) makes it live again once the loop turns
    state.on_flush_failed("q", RuntimeError("sink down"))
    state.on_turn("q")
    assert state.live()[0]


def test_an_idle_loop_that_keeps_turning_stays_live() -> None:
    clock = Clock()
    state = HealthState(HealthConfig(max_poll_gap_s=10), clock)
    for _ in range(100):
        clock.now += 1
        state.on_turn("q")
        assert state.live()[0]


def test_polls_from_receiver_threads_do_not_hide_a_wedged_loop() -> None:
    # GIVEN SQS receivers that keep polling while the main loop is stuck
    clock = Clock()
    state = HealthState(HealthConfig(max_poll_gap_s=10), clock)
    state.on_turn("q")
    for _ in range(11):
        clock.now += 1
        state.on_poll("q")
    # THEN liveness fails: polling is not progress
    assert not state.live()[0]


def test_default_url_is_the_containers_own_port() -> None:
    assert default_url(env={}) == "http://127.0.0.1:8080/healthz"
    assert default_url(True, {"SLUICE__HEALTH__PORT": "9000"}) == "http://127.0.0.1:9000/readyz"
