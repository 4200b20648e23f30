"""Scale-in protection against a fake ECS agent on loopback (the agent's real answers)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from consumer.runtime.protection import ProtectionConfig, ScaleInProtection, put_protection
from consumer.testing.ecs_agent import FakeEcsAgent


class Clock:
    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture()
def agent() -> Iterator[FakeEcsAgent]:
    with FakeEcsAgent() as fake:
        yield fake


def test_a_unit_holds_protection_exactly_while_it_runs(agent: FakeEcsAgent) -> None:
    # GIVEN protection for units, with an agent present
    protection = ScaleInProtection(ProtectionConfig(), agent.uri)

    # WHEN a unit runs
    assert not agent.protected()
    with protection.unit("job a"):
        during = agent.protected()
    after = agent.protected()

    # THEN it was protected from its start to its end, and only then
    assert during and not after
    assert agent.states == [True, False]
    assert agent.calls[0].expires_in_minutes == 10


def test_overlapping_units_take_and_release_it_once(agent: FakeEcsAgent) -> None:
    protection = ScaleInProtection(ProtectionConfig(), agent.uri)
    with protection.unit("a"):
        with protection.unit("b"):
            pass
        assert agent.protected()
    assert agent.states == [True, False]


def test_a_long_unit_is_renewed_before_its_protection_expires(agent: FakeEcsAgent) -> None:
    # GIVEN one-minute protection and a unit that runs for three minutes
    clock = Clock()
    protection = ScaleInProtection(ProtectionConfig(expires_in_minutes=1), agent.uri, clock)
    with protection.unit("long job"):
        # WHEN the renewal check runs every 10 s of the task's clock
        for _ in range(18):
            clock.now += 10
            protection.tick()
    # THEN it was taken at the start, renewed 30 s before each expiry (every 30 s of a
    # one-minute protection: 6 times in 180 s), then released
    assert agent.states == [True] * 7 + [False]


def test_a_stream_consumer_takes_no_protection_by_default(agent: FakeEcsAgent) -> None:
    # GIVEN the default settings, and a stream whose records buffer and flush steadily
    clock = Clock()
    protection = ScaleInProtection(ProtectionConfig(), agent.uri, clock)
    for _ in range(100):
        protection.on_buffering("stream")
        clock.now += 1
        protection.on_idle("stream")
        protection.tick()
    # THEN the agent was never asked: SIGTERM's drain covers the in-flight cut
    assert agent.calls == []


def test_legacy_stream_protection_is_held_under_steady_traffic(agent: FakeEcsAgent) -> None:
    # GIVEN stream = true and records arriving more often than idle_release_s
    clock = Clock()
    config = ProtectionConfig(stream=True, idle_release_s=5)
    protection = ScaleInProtection(config, agent.uri, clock)
    for _ in range(30):
        protection.on_buffering("stream")
        clock.now += 1
        protection.on_idle("stream")
        clock.now += 1
        protection.tick()
    # THEN it never lets go while traffic flows (the cost the option documents) ...
    assert agent.states == [True]
    # ... and releases once the stream has been idle long enough
    clock.now += 5
    protection.tick()
    assert agent.states == [True, False]


def test_a_standalone_task_is_refused_once_and_never_asked_again() -> None:
    # GIVEN a task that belongs to no service (the agent answers TASK_NOT_VALID)
    with FakeEcsAgent(standalone=True) as agent:
        protection = ScaleInProtection(ProtectionConfig(), agent.uri)
        # WHEN many units run
        for index in range(20):
            with protection.unit(f"job {index}"):
                protection.tick()
        # THEN the agent was asked once, and protection is off for the process
        assert len(agent.calls) == 1 and agent.refused == 1
        assert protection.not_applicable and not protection.active


def test_failed_calls_back_off_instead_of_retrying_every_second(agent: FakeEcsAgent) -> None:
    # GIVEN an agent that answers errors, and a unit that runs for a minute
    agent.fail_next = 1000
    clock = Clock()
    protection = ScaleInProtection(ProtectionConfig(check_interval_s=1), agent.uri, clock)
    with protection.unit("job"):
        for _ in range(60):
            clock.now += 1
            protection.tick()
        # THEN it asked at most at 0, 2, 6, 14, 30 s (doubling waits), not 60 times
        assert len(agent.calls) <= 6
        # WHEN the agent recovers, the next attempt takes protection
        agent.fail_next = 0
        clock.now += 64
        protection.tick()
        assert agent.protected()
    assert agent.states[-1] is False


def test_without_an_agent_nothing_is_called() -> None:
    protection = ScaleInProtection(ProtectionConfig(), agent_uri="")
    with protection.unit("job"):
        assert not protection.active


def test_answers_are_read_as_the_agent_gives_them(agent: FakeEcsAgent) -> None:
    assert put_protection(agent.uri, True, 5) == ("ok", "")
    agent.fail_next = 1
    answer, detail = put_protection(agent.uri, True, 5)
    assert answer == "error" and "HTTP 500" in detail and "ServerException" in detail
    answer, detail = put_protection(agent.uri, True, 9999)
    assert answer == "error" and "HTTP 400" in detail
    assert put_protection("http://127.0.0.1:1", False, 5)[0] == "error"
