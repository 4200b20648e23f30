"""The load profiles shared by the producers and the simulator."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from consumer.capacity.load_profiles import LoadProfile


def test_shapes() -> None:
    step = LoadProfile(shape="step", rate=10, factor=10, at_s=5, hold_s=5, duration_s=20)
    assert [step.rate_at(t) for t in (0, 4.9, 5, 9.9, 10, 19.9, 20)] == [
        10,
        10,
        100,
        100,
        10,
        10,
        0,
    ]
    ramp = LoadProfile(shape="ramp", rate=10, factor=3, duration_s=10)
    assert ramp.rate_at(0) == 10 and ramp.rate_at(5) == 20
    spike = LoadProfile(shape="spike", rate=1, factor=50, duration_s=100)
    assert spike.rate_at(25) == 50 and spike.rate_at(35) == 1  # 10 % of the duration
    diurnal = LoadProfile(shape="diurnal", rate=100, factor=2, duration_s=86_400)
    assert diurnal.rate_at(0) == 100 and diurnal.rate_at(43_200) == pytest.approx(200)
    assert LoadProfile(rate=7, duration_s=1).rate_at(0.5) == 7


def test_bad_profile_names_the_field() -> None:
    with pytest.raises(ValidationError, match="rate"):
        LoadProfile(rate=0, duration_s=1)
    with pytest.raises(ValidationError, match="shape"):
        LoadProfile.model_validate({"shape": "sawtooth", "rate": 1, "duration_s": 1})
