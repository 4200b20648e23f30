"""The lake's format in `sluice cost`: bytes stored per format, Iceberg's commit requests,
Athena's scan of a day of data."""

from __future__ import annotations

import pytest

from consumer.capacity.cost import PRICES, CostEstimate, Shape, estimate
from consumer.capacity.cost.lake_lines import (
    ATHENA_MIN_BYTES,
    FORMAT_BYTES,
    athena_query_usd,
    day_bytes,
)
from consumer.capacity.cost.sizing import SECONDS_PER_MONTH


def _usd(result: CostEstimate, service: str, item: str) -> float:
    found = [
        line.usd_per_month for line in result.lines if (line.service, line.item) == (service, item)
    ]
    assert len(found) == 1, (service, item, result.lines)
    return found[0]


def _items(result: CostEstimate) -> set[tuple[str, str]]:
    return {(line.service, line.item) for line in result.lines}


def test_columns_store_fewer_bytes_than_gzip_json_lines() -> None:
    stored = {
        fmt: _usd(
            estimate(1000, 1200, 27_000, Shape(lake_format=fmt)), "S3", "storage added per month"
        )
        for fmt in ("jsonl", "parquet", "iceberg")
    }
    assert stored["iceberg"] < stored["parquet"] < stored["jsonl"]
    assert stored["parquet"] == pytest.approx(stored["jsonl"] * FORMAT_BYTES["parquet"])


def test_iceberg_commits_cost_catalog_and_metadata_requests_that_bigger_cuts_cut() -> None:
    # GIVEN the same load into Iceberg with 5 s buffers and with 60 s buffers
    small = estimate(1000, 1200, 27_000, Shape(lake_format="iceberg"))
    large = estimate(
        1000,
        1200,
        27_000,
        Shape(lake_format="iceberg", buffer_max_age_s=60, buffer_max_records=100_000),
    )
    glue = ("Glue", "Data Catalog requests (Iceberg commits)")
    # THEN each commit is priced: three Glue requests a cut
    commits = small.flushes_per_s * SECONDS_PER_MONTH
    assert _usd(small, *glue) == pytest.approx(commits * 3 / 1e6 * PRICES.glue_requests_per_million)
    assert _usd(large, *glue) < _usd(small, *glue) / 10
    # AND the formats without commits have no such lines
    assert glue not in _items(estimate(1000, 1200, 27_000, Shape(lake_format="parquet")))


def test_athena_scans_json_lines_whole_and_columns_in_part() -> None:
    load = (1000.0, 1200)
    json_query = athena_query_usd(*load, Shape(lake_format="jsonl"), PRICES)
    parquet = Shape(lake_format="parquet", athena_column_share=0.25)
    assert json_query == pytest.approx(day_bytes(*load, Shape()) / 1e12 * PRICES.athena_tb_scanned)
    assert athena_query_usd(*load, parquet, PRICES) == pytest.approx(
        json_query * FORMAT_BYTES["parquet"] * 0.25
    )
    # a tiny day still pays Athena's 10 MB minimum
    assert athena_query_usd(0.001, 10, parquet, PRICES) == pytest.approx(
        ATHENA_MIN_BYTES / 1e12 * PRICES.athena_tb_scanned
    )
    # no line unless queries are asked for; then queries a day x 30.42 days
    assert ("Athena", "queries over a day of data") not in _items(estimate(*load, 27_000, parquet))
    shape = Shape(lake_format="parquet", athena_queries_per_day=10)
    monthly = _usd(estimate(*load, 27_000, shape), "Athena", "queries over a day of data")
    assert monthly == pytest.approx(10 * 30.42 * athena_query_usd(*load, shape, PRICES))


@pytest.mark.parametrize(
    "changes",
    [{"lake_format": "orc"}, {"athena_queries_per_day": -1}, {"athena_column_share": 0}],
)
def test_a_lake_shape_no_deployment_can_have_is_refused(changes: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        estimate(1000, 1200, 27_000, Shape(**changes))  # type: ignore[arg-type]
