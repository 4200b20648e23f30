"""The lake as tables under SIGKILL: a route that writes an Iceberg table and Parquet
objects beside JSON Lines and the database, killed at each step of an Iceberg commit and
at random moments. Every record must be in the table once (read back by scanning it) and
in the Parquet objects once."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from consumer.aws.clients import AwsClients
from consumer.config import PipelineConfig, parse_config
from consumer.sinks.base import BuildContext
from consumer.sinks.iceberg.catalog import open_catalog
from consumer.sinks.iceberg.config import IcebergSinkConfig
from consumer.sinks.s3 import iter_parquet
from tests.configfile import write_toml
from tests.e2e.chaos import chaos_loop, check, run_sluice, sluice_env
from tests.integration.harness import Harness, reading
from tests.integration.sqs_harness import SqsHarness, body

pytestmark = pytest.mark.e2e
KILLS = int(os.environ.get("SLUICE_CHAOS_KILLS", "12"))


class ReadingRow(BaseModel):
    """The columns of the harness's reading rows."""

    id: str
    key: str
    seq: int
    value: float


class Tables:
    """The harness's pipeline with an Iceberg table and Parquet objects added to its route,
    and the readers of both."""

    def __init__(
        self,
        aws: AwsClients,
        unique: str,
        tmp_path: Path,
        count: int,
        harness: Harness | None = None,
        **overrides: dict[str, Any],
    ) -> None:
        if harness is None:
            harness = Harness.create(aws, unique, tmp_path, max_records=40, max_age_s=0.3)
            harness.put([reading(i) for i in range(count)])
        self.harness = harness
        self.overrides = overrides
        self.aws, self.bucket = aws, f"lake-{unique}"
        self.iceberg = {
            "type": "iceberg",
            "namespace": "chaos",
            "catalog": {
                "type": "sql",
                "uri": f"sqlite:///{tmp_path / 'catalog.db'}",
                "warehouse": f"s3://{self.bucket}/warehouse",
            },
        }
        self.config = write_toml(
            self._config(), tmp_path / "pipeline.toml", metrics={"sink": "off"}
        )

    def _config(self) -> PipelineConfig:
        raw: dict[str, Any] = self.harness.config.model_dump(mode="json", by_alias=True)
        route = raw["routes"][0]
        route["sinks"] = [*route["sinks"], "table", "columns"]
        route["output_model"] = "tests.e2e.test_chaos_tables:ReadingRow"
        raw["sinks"]["table"] = self.iceberg
        raw["sinks"]["columns"] = {
            "type": "s3",
            "bucket": self.bucket,
            "prefix": "parquet",
            "format": "parquet",
        }
        return parse_config(raw, "chaos with tables")

    def table_ids(self) -> Counter[str]:
        config = IcebergSinkConfig.model_validate(self.iceberg)
        catalog = open_catalog(config, BuildContext(self.aws, Path.cwd()))
        table = catalog.load_table("chaos.readings")
        return Counter(
            str(v) for v in table.scan(selected_fields=("id",)).to_arrow()["id"].to_pylist()
        )

    def parquet_ids(self) -> Counter[str]:
        s3 = self.aws.client("s3")
        return Counter(
            str(row["id"]) for _, rows in iter_parquet(s3, self.bucket, "parquet") for row in rows
        )

    def assert_once(self, count: int) -> None:
        produced = [f"r{i}" for i in range(count)]
        verdict = check(self.harness, produced)
        assert verdict.perfect, verdict
        everything = {i: 1 for i in produced}
        table, parquet = self.table_ids(), self.parquet_ids()
        assert table == everything, _difference(table, everything)
        assert parquet == everything, _difference(parquet, everything)


def _difference(found: Counter[str], expected: dict[str, int]) -> str:
    lost = sorted(set(expected) - set(found))
    twice = sorted(key for key, n in found.items() if n > 1)
    return f"lost {len(lost)} {lost[:5]}, twice {len(twice)} {twice[:5]}"


@pytest.mark.parametrize(
    "point",
    [
        "iceberg_before_commit:3",  # nothing of the cut in the table yet
        "iceberg_after_metadata_write:3",  # new metadata written, the catalog not pointed at it
        "iceberg_after_commit:3",  # committed, the other sinks and the checkpoint not yet
        "after_sink_write_columns:3",  # a Parquet object written, the table maybe not
        "after_write_before_ack:3",  # every sink confirmed, the checkpoint not moved
    ],
)
def test_a_kill_at_each_step_of_an_iceberg_commit_then_a_restart(
    aws: AwsClients, emulator_endpoint: str, unique: str, tmp_path: Path, point: str
) -> None:
    # GIVEN 400 records and a consumer that dies at the 3rd pass of one step
    tables = Tables(aws, unique, tmp_path, 400)
    crashing = sluice_env(emulator_endpoint, SLUICE_CRASH_AT=point)
    first = run_sluice(tables.config, crashing, "--until-idle")
    # WHEN a healthy one runs to the end
    second = run_sluice(tables.config, sluice_env(emulator_endpoint), "--until-idle")
    # THEN the crash happened where asked, and every output holds every record once
    assert first.returncode == 137, first.stderr[-2000:]
    assert "injected crash" in first.stderr
    assert second.returncode == 0, second.stderr[-2000:]
    tables.assert_once(400)


def test_chaos_loop_with_an_iceberg_table_loses_and_duplicates_nothing(
    aws: AwsClients, emulator_endpoint: str, unique: str, tmp_path: Path
) -> None:
    # GIVEN 3000 records on a two-shard stream, into JSON Lines, SQLite, Parquet, Iceberg
    tables = Tables(aws, unique, tmp_path, 3000)
    env = sluice_env(emulator_endpoint)
    # WHEN sluice is SIGKILLed at random moments KILLS times, then runs to the end
    landed = chaos_loop(tables.config, env, kills=KILLS)
    final = run_sluice(tables.config, env, "--until-idle", timeout_s=300)
    # THEN the kills landed and the table, scanned, holds every record exactly once
    assert landed == KILLS
    assert final.returncode == 0, final.stderr[-2000:]
    tables.assert_once(3000)


@pytest.mark.parametrize(
    "point",
    [
        "after_sink_write_table:2",  # the cut's rows staged beside the table, not committed
        "sqs_after_commit:2",  # the ledger committed the cut, nothing published
        "iceberg_after_publish_commit:2",  # in the table, the staged files not deleted yet
    ],
)
def test_an_sqs_cut_into_an_iceberg_table_survives_a_kill_at_each_step(
    aws: AwsClients, emulator_endpoint: str, unique: str, tmp_path: Path, point: str
) -> None:
    # GIVEN 150 messages and a consumer that dies at one step of its 2nd cut
    harness = SqsHarness.create_sqs(
        aws, unique, tmp_path, max_receives=100, wait_time_s=0, receivers=2
    )
    harness.send([body(i) for i in range(150)])
    tables = Tables(
        aws,
        unique,
        tmp_path,
        150,
        harness,
        source={"visibility_timeout_s": 5, "backoff_base_s": 1},
        buffer={"max_records": 25, "max_age_s": 0.3},
    )
    crashing = sluice_env(emulator_endpoint, SLUICE_CRASH_AT=point)
    first = run_sluice(tables.config, crashing, "--until-idle")
    # WHEN a healthy consumer runs once what the dead one held is visible again
    second = run_sluice(
        tables.config, sluice_env(emulator_endpoint), "--until-idle", "--max-runtime-s", "90"
    )
    # THEN the crash happened there, and the table holds every message once
    assert first.returncode == 137 and "injected crash" in first.stderr, first.stderr[-2000:]
    assert second.returncode == 0, second.stderr[-2000:]
    everything = {f"r{i}": 1 for i in range(150)}
    found = {
        "table": tables.table_ids(),
        "parquet": tables.parquet_ids(),
        "jsonl": harness.lake_ids(),
        "db": harness.db_ids(),
    }
    assert all(ids == everything for ids in found.values()), {
        name: _difference(ids, everything) for name, ids in found.items()
    }
