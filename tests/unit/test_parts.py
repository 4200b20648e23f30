"""Which part a task takes: `--part i/N`, or its launcher's index (an AWS Batch array
child, a Kubernetes indexed Job's pod) with SLUICE_PARTS; the parts split any input."""

from __future__ import annotations

import pytest

from batch_jobs.parts import parse_part, select


@pytest.mark.parametrize(
    ("text", "env", "part"),
    [
        ("2/4", {}, (2, 4)),
        (None, {}, (0, 1)),
        (None, {"AWS_BATCH_JOB_ARRAY_INDEX": "3", "SLUICE_PARTS": "5"}, (3, 5)),
        (None, {"JOB_COMPLETION_INDEX": "1", "SLUICE_PARTS": "2"}, (1, 2)),
        # the flag wins over the launcher's index
        ("0/2", {"JOB_COMPLETION_INDEX": "1", "SLUICE_PARTS": "2"}, (0, 2)),
    ],
)
def test_the_part_comes_from_the_flag_or_the_launchers_index(
    text: str | None, env: dict[str, str], part: tuple[int, int]
) -> None:
    assert parse_part(text, env) == part


@pytest.mark.parametrize(
    ("text", "env", "message"),
    [
        ("4/4", {}, "need 0 <= i < N"),
        ("two", {}, "write it as i/N"),
        (None, {"JOB_COMPLETION_INDEX": "1"}, "JOB_COMPLETION_INDEX is 1 but SLUICE_PARTS"),
        (None, {"AWS_BATCH_JOB_ARRAY_INDEX": "0"}, "AWS_BATCH_JOB_ARRAY_INDEX is 0 but"),
        (None, {"AWS_BATCH_JOB_ARRAY_INDEX": "4", "SLUICE_PARTS": "4"}, "need 0 <= i < N"),
    ],
)
def test_a_part_that_cannot_be_taken_is_refused(
    text: str | None, env: dict[str, str], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        parse_part(text, env)


def test_n_parts_take_every_name_exactly_once() -> None:
    names = [f"in/{n:04d}.jsonl" for n in range(500)]
    taken = [name for index in range(7) for name in select(names, index, 7)]
    assert sorted(taken) == names
    assert all(list(select(names, index, 7)) for index in range(7))
