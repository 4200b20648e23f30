"""Reports of load runs: one self-contained HTML page (PNG plots embedded in base64), a
Markdown file with the same PNGs beside it, and the numbers in JSON.

`write_report` takes a title, the summary figures and the plots; `sim_report` and
`scenario_report` build those from an autoscaling simulation and a scenario run.
Plots use matplotlib's Agg backend (no display); install it with the `load` extra.
"""

from __future__ import annotations

import base64
import html
import io
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from consumer.capacity.autoscale_sim import SimResult


@dataclass(frozen=True)
class Plot:
    name: str  # file stem of its PNG
    title: str
    ylabel: str
    x: list[float]
    series: dict[str, list[float | None]]


@dataclass
class Written:
    html: Path
    markdown: Path
    json: Path
    pngs: list[Path] = field(default_factory=list)


_LINE_STYLES = ("-", "--", "-.", ":")


def _png(plot: Plot) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(8, 3))
    for index, (label, values) in enumerate(plot.series.items()):
        ys = [math.nan if v is None else v for v in values]
        # series that coincide (desired and running tasks, mostly) stay visible: the first
        # is drawn widest, the next ones thinner and dashed on top of it
        style = _LINE_STYLES[index % len(_LINE_STYLES)]
        width = max(3.0 - 0.7 * index, 1.0)
        axes.plot(plot.x, ys, label=label, linestyle=style, linewidth=width, marker=".", ms=2)
    axes.set_title(plot.title)
    axes.set_xlabel("seconds")
    axes.set_ylabel(plot.ylabel)
    axes.grid(alpha=0.3)
    if len(plot.series) > 1:
        axes.legend()
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=80)
    pyplot.close(figure)
    return buffer.getvalue()


def _figure(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def write_report(
    out_dir: Path, stem: str, title: str, summary: dict[str, Any], plots: list[Plot]
) -> Written:
    """Write `stem`.html, `stem`.md, `stem`.json and one `stem`-<plot>.png per plot."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = Written(out_dir / f"{stem}.html", out_dir / f"{stem}.md", out_dir / f"{stem}.json")
    rows = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(_figure(v))}</td></tr>"
        for k, v in summary.items()
    )
    body = [f"<h1>{html.escape(title)}</h1>", f"<table>{rows}</table>"]
    markdown = [f"# {title}", "", "| figure | value |", "| --- | --- |"]
    markdown += [f"| {k} | {_figure(v)} |" for k, v in summary.items()]
    for plot in plots:
        png = _png(plot)
        path = out_dir / f"{stem}-{plot.name}.png"
        path.write_bytes(png)
        written.pngs.append(path)
        data = base64.b64encode(png).decode()
        body.append(
            f'<h2>{html.escape(plot.title)}</h2><img alt="{html.escape(plot.title)}" '
            f'src="data:image/png;base64,{data}">'
        )
        markdown += ["", f"## {plot.title}", "", f"![{plot.title}]({path.name})"]
    style = "body{font-family:sans-serif;max-width:900px;margin:auto}th{text-align:left}"
    written.html.write_text(
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{style}</style></head><body>{''.join(body)}</body></html>\n",
        "utf-8",
    )
    written.markdown.write_text("\n".join(markdown) + "\n", "utf-8")
    series = {p.name: {"x": p.x, **p.series} for p in plots}
    written.json.write_bytes(
        orjson.dumps(
            {"title": title, "summary": summary, "series": series}, option=orjson.OPT_INDENT_2
        )
    )
    return written


def sim_summary(result: SimResult) -> dict[str, Any]:
    samples, ledger, config = result.samples, result.ledger, result.config
    peak = max(samples, key=lambda s: s.backlog)
    drained: float | str = next((s.t for s in samples if s.t > peak.t and s.backlog < 1), "never")
    if peak.backlog < 1:
        drained = "no backlog"
    asked = result.scale_events("in")
    scaled_in = result.scaled_in_at()
    outs = result.scale_events("out")
    unit = config.workload
    summary: dict[str, Any] = {
        "source": config.source,
        "protection": config.protection,
        "per_task_records_per_s": config.per_task_records_per_s,
        "startup_s": config.startup_s,
        "max_tasks (after caps)": result.max_tasks,
        "peak_tasks": max(s.tasks for s in samples),
        f"peak_backlog_{unit}": round(peak.backlog),
        "peak_backlog_at_s": peak.t,
        "backlog_drained_at_s": drained,
        "max_latency_s": max(s.latency_s for s in samples),
        "first_scale_out_at_s": outs[0] if outs else "never",
        "scale_outs": len(outs),
        "scale_ins": len(asked),
        "first_scale_in_asked_at_s": asked[0] if asked else "never",
        "running_down_to_desired_at_s": scaled_in if scaled_in is not None else "never",
        "running_tasks_at_end": samples[-1].running,
        "task_hours": result.task_hours(),
        "task_hours_above_desired (protected or draining)": result.above_desired_task_hours(),
        "protected_share_of_task_time": result.protected_share(),
        "drains (tasks stopped while ready)": ledger.drains,
        "longest_drain_s": ledger.longest_drain_s,
        f"drain_flushed_{unit}": round(ledger.drain_flushed),
        f"drain_delayed_{unit} (unacked past the stop timeout, delivered again)": round(
            ledger.drain_delayed
        ),
        f"lost_{unit}": round(ledger.lost),
        "cost_usd (tasks and shards, this run)": samples[-1].cost_usd,
        "events": "; ".join(
            f"{t:g}s {d} {a}->{b} ({cause})"
            for (t, d, a, b), cause in zip(result.events, result.causes, strict=True)
        ),
    }
    if config.workload == "jobs":
        summary["jobs_interrupted"] = ledger.jobs_interrupted
    return summary


def sim_report(result: SimResult, out_dir: Path, stem: str = "simulation") -> Written:
    s = result.samples[::10]  # a point every 10 s is plenty for minutes-long runs
    x = [p.t for p in s]
    unit = result.config.workload
    plots = [
        Plot(
            "throughput",
            "Throughput",
            f"{unit}/s",
            x,
            {"offered": [p.offered for p in s], "processed": [p.processed for p in s]},
        ),
        Plot("backlog", "Backlog (lag)", unit, x, {"backlog": [p.backlog for p in s]}),
        Plot(
            "tasks",
            f"Tasks (scale-in protection: {result.config.protection})",
            "tasks",
            x,
            {
                "desired": [p.desired for p in s],
                "running (billed)": [p.running for p in s],
                "ready": [p.tasks for p in s],
                "protected": [p.protected for p in s],
            },
        ),
        Plot("latency", "Estimated latency", "seconds", x, {"latency": [p.latency_s for p in s]}),
        Plot("cost", "Cumulative cost", "USD", x, {"cost": [p.cost_usd for p in s]}),
    ]
    return write_report(out_dir, stem, "sluice autoscaling simulation", sim_summary(result), plots)


def scenario_report(result: Any, out_dir: Path, stem: str = "scenario") -> Written:
    """The report of a load_tests.scenario.ScenarioResult."""
    s = result.samples
    x = [p.t for p in s]
    summary: dict[str, Any] = {
        "profile": result.profile.shape,
        "rate": result.profile.rate,
        "duration_s": result.profile.duration_s,
        "max_batch_age_s": result.max_age_s,
        "p50_latency_s": result.latency(50),
        "p99_latency_s": result.latency(99),
        "max_latency_s": max(result.latencies) if result.latencies else float("nan"),
        **{f"sent_{k}": v for k, v in result.sent.summary().items() if k != "per_second"},
        # records_produced (read back) = sent_records (the profile) + the warm-up record
        "warmup_records": result.checks["records_produced"] - result.sent.records,
        **result.checks,
        "sluice_exit": result.sluice_exit,
    }
    plots = [
        Plot(
            "throughput",
            "Throughput written",
            "records/s",
            x,
            {"written": [p.throughput for p in s]},
        ),
        Plot(
            "lag",
            "Lag and backlog",
            "seconds / records",
            x,
            {"lag_s": [p.lag_s for p in s], "backlog/100": [p.backlog / 100 for p in s]},
        ),
        Plot(
            "latency",
            "End-to-end latency (event time to write time)",
            "seconds",
            x,
            {"p50": [p.p50_s for p in s], "p99": [p.p99_s for p in s]},
        ),
    ]
    return write_report(out_dir, stem, "sluice load scenario", summary, plots)
