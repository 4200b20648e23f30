"""The SQS ledger's transitions against DynamoDB on the emulator: a message rides one
committed cut at most, a commit and an abort of the same cut never both succeed, an
abandoned cut is taken over, and a zombie's commit is refused."""

from __future__ import annotations

import pytest

from consumer.aws.clients import AwsClients
from consumer.sources.sqs.ledger import ABORTED, COMMITTED, Claim, SqsLedger, create_table

pytestmark = pytest.mark.integration


class Clock:
    def __init__(self) -> None:
        self.now = 1_765_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture()
def table(aws: AwsClients, unique: str) -> str:
    name = f"ledger-{unique}"
    create_table(aws.client("dynamodb"), name)
    return name


def _ledger(aws: AwsClients, table: str, clock: Clock) -> SqsLedger:
    return SqsLedger(aws.client("dynamodb"), table, "q", keep_s=86_400, lease_s=60, clock=clock)


def test_a_message_rides_one_committed_cut_and_is_done_after(aws: AwsClients, table: str) -> None:
    clock = Clock()
    first, second = _ledger(aws, table, clock), _ledger(aws, table, clock)
    cut = first.open_cut()
    assert first.claim(cut, ["m1", "m2"]) == {"m1": (Claim.MINE, cut), "m2": (Claim.MINE, cut)}
    # claiming again for the same cut (a redelivery while buffered) is harmless
    assert first.claim(cut, ["m1"]) == {"m1": (Claim.MINE, cut)}
    # another consumer, while the cut is open and leased: held
    other = second.open_cut()
    assert second.claim(other, ["m1"]) == {"m1": (Claim.HELD, cut)}
    # committed: done for everyone, for good
    assert first.commit(cut)
    assert second.claim(other, ["m1", "m2"]) == {
        "m1": (Claim.DONE, cut),
        "m2": (Claim.DONE, cut),
    }
    state = first.state(cut)
    assert state is not None and state.state == COMMITTED


def test_an_abandoned_cut_is_aborted_and_taken_over_and_its_zombie_cannot_commit(
    aws: AwsClients, table: str
) -> None:
    # GIVEN a consumer whose open cut holds m1, then stops renewing (paused, or dead)
    clock = Clock()
    zombie, rescuer = _ledger(aws, table, clock), _ledger(aws, table, clock)
    lost = zombie.open_cut()
    assert zombie.claim(lost, ["m1"])["m1"][0] is Claim.MINE

    # WHEN its lease lapses and another consumer receives m1
    clock.now += 61
    taken = rescuer.open_cut()
    fate = rescuer.claim(taken, ["m1"])

    # THEN the abandoned cut is aborted and m1 rides the rescuer's cut ...
    assert fate == {"m1": (Claim.MINE, taken)}
    state = rescuer.state(lost)
    assert state is not None and state.state == ABORTED
    # ... and the zombie, going on, can neither renew nor commit its cut
    assert not zombie.renew(lost)
    assert not zombie.commit(lost)
    assert rescuer.commit(taken)


def test_a_commit_first_beats_a_late_abort(aws: AwsClients, table: str) -> None:
    clock = Clock()
    slow, other = _ledger(aws, table, clock), _ledger(aws, table, clock)
    cut = slow.open_cut()
    slow.claim(cut, ["m1"])
    clock.now += 61  # lapsed, but the owner commits before anyone aborts
    assert slow.commit(cut)
    assert not other.abort(cut)
    assert other.claim(other.open_cut(), ["m1"])["m1"][0] is Claim.DONE


def test_released_claims_are_free_and_an_owner_can_abort_its_own_cut(
    aws: AwsClients, table: str
) -> None:
    clock = Clock()
    owner, other = _ledger(aws, table, clock), _ledger(aws, table, clock)
    cut = owner.open_cut()
    owner.claim(cut, ["retried", "kept", "stopped"])
    owner.release(cut, ["retried"])
    assert owner.commit(cut)
    cut2 = owner.open_cut()
    assert other.claim(other.open_cut(), ["retried"])["retried"][0] is Claim.MINE
    assert other.claim(other.open_cut(), ["kept"])["kept"][0] is Claim.DONE
    # a clean stop aborts the open cut at once: no lease to wait out
    owner.claim(cut2, ["later"])
    assert owner.abort(cut2, mine=True)
    assert other.claim(other.open_cut(), ["later"])["later"][0] is Claim.MINE
