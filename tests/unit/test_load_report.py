"""A report renders as one page holding its PNG plots and its numbers."""

from __future__ import annotations

import base64
import re
from dataclasses import replace
from pathlib import Path

import orjson
import pytest

from consumer.capacity.autoscale_sim import load_rules, simulate
from consumer.capacity.autoscale_sim_config import SimConfig
from consumer.capacity.load_profiles import LoadProfile
from load_tests.report import sim_report

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_simulation_report_holds_its_plots_and_numbers(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib", reason="matplotlib is not installed (the load extra)")
    profile = LoadProfile(shape="step", rate=1000, factor=10, at_s=300, hold_s=600, duration_s=1800)
    result = simulate(profile, SimConfig(), replace(load_rules(), max_tasks=10))

    written = sim_report(result, tmp_path)

    page = written.html.read_text()
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(images) == 5  # throughput, backlog, tasks, latency, cost
    assert all(base64.b64decode(image).startswith(PNG_MAGIC) for image in images)
    numbers = orjson.loads(written.json.read_bytes())
    peak = round(max(s.backlog for s in result.samples))
    assert numbers["summary"]["peak_backlog_records"] == peak
    assert f"{peak:,}" in page
    assert numbers["summary"]["peak_tasks"] == max(s.tasks for s in result.samples)
    markdown = written.markdown.read_text()
    for png in written.pngs:
        assert png.read_bytes().startswith(PNG_MAGIC)
        assert f"]({png.name})" in markdown
