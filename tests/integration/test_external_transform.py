"""An external transform in a real run over the emulator (issue 12): a transform process
that crashes or hangs on one record is restarted, the batch retried, and every record
reaches the lake exactly once; none is quarantined."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from consumer.aws.clients import AwsClients
from consumer.config import parse_config
from consumer.local.emulator import provision
from tests.integration.harness import Harness, make_config, reading

pytestmark = pytest.mark.integration
FAULTY = Path(__file__).resolve().parents[1] / "transforms" / "faulty.py"


@pytest.mark.parametrize("mode", ["crash-once", "hang-once"])
def test_a_failing_transform_process_loses_nothing(
    aws: AwsClients, unique: str, tmp_path: Path, mode: str
) -> None:
    # GIVEN a route whose external transform dies (or hangs) on reading r37, once
    state = tmp_path / "state"
    state.mkdir()
    raw = make_config(unique, tmp_path / "it.db").model_dump(mode="json", by_alias=True)
    raw["routes"][0]["transform"] = {
        "command": [sys.executable, str(FAULTY), mode, str(state), "r37"],
        "timeout_s": 1.0,
    }
    config = parse_config(raw, "external transform test")
    provision(config, aws)
    harness = Harness(config, aws, tmp_path)
    harness.put([reading(i) for i in range(100)])

    # WHEN consumed
    harness.run()

    # THEN the process did fail on r37, and was given it again
    seen = (state / "starts").read_text().splitlines()
    assert sum('"r37"' in line for line in seen) == 2
    assert (state / "tripped").exists()
    # AND every reading is in the lake and the database once, with the transform's rows
    assert harness.lake_ids() == {f"r{i}": 1 for i in range(100)}
    assert harness.db_ids() == {f"r{i}": 1 for i in range(100)}
    assert harness.quarantine_rows() == []
    row = next(r for r in harness.lake_rows() if r["id"] == "r37")
    assert row["type"] == "reading" and row["key"] == "k7"
