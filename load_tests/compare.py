"""`make bench-compare`: this tree's benchmarks against a copy of an earlier commit's code,
interleaved in one run.

The earlier commit is checked out into a temporary git worktree; then, round after round,
`python -m load_tests.bench GROUPS` runs in each tree in turn (the order alternating), each
process importing only its own tree's code. Every row's figure is the median over the
rounds; the table gives both and their ratio, so a change of the code is measured on the
same machine, in the same minutes, as the code it replaces.

    python -m load_tests.compare --baseline ba6cc2f core reference
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import orjson

REPO = Path(__file__).resolve().parents[1]


def _bench(tree: Path, groups: Sequence[str]) -> dict[str, tuple[str, float]]:
    """One `load_tests.bench` run in `tree`: row name -> (unit, value)."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    subprocess.run(
        [sys.executable, "-m", "load_tests.bench", *groups],
        cwd=tree,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    path = tree / "bench-results" / f"bench-{'-'.join(groups)}.json"
    rows: dict[str, tuple[str, float]] = {}
    for row in orjson.loads(path.read_bytes())["results"]:
        unit = next(key for key in ("us/rec", "rows/s", "msg/s", "MB") if key in row)
        rows[f"{row['group']}: {row['name']}"] = (unit, float(row[unit]))
    return rows


def compare(baseline: str, groups: Sequence[str], rounds: int) -> list[dict[str, object]]:
    with tempfile.TemporaryDirectory(prefix="sluice-baseline-") as folder:
        tree = Path(folder, "baseline")
        subprocess.run(
            ["git", "-C", str(REPO), "worktree", "add", "--detach", "-q", str(tree), baseline],
            check=True,
        )
        try:
            figures: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
            units: dict[str, str] = {}
            for round_ in range(rounds):
                order = [("baseline", tree), ("current", REPO)]
                for label, where in order if round_ % 2 == 0 else order[::-1]:
                    for name, (unit, value) in _bench(where, groups).items():
                        figures[name][label].append(value)
                        units[name] = unit
                print(f"round {round_ + 1} of {rounds} done", file=sys.stderr)
        finally:
            subprocess.run(
                ["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)], check=False
            )
    table = []
    for name, by_label in figures.items():
        if len(by_label) < 2:
            continue
        before = statistics.median(by_label["baseline"])
        after = statistics.median(by_label["current"])
        table.append({"row": name, "unit": units[name], "baseline": before, "current": after})
    return _normalized(table)


def _normalized(table: list[dict[str, object]]) -> list[dict[str, object]]:
    """Each row also against its group's own baseline row, measured in the same process
    as the row: the same hand-written code in both trees, so a process-wide difference
    (a larger heap to collect, a colder cache) cancels out."""
    baselines = {
        str(row["row"]).split(":", 1)[0]: row for row in table if "(baseline)" in str(row["row"])
    }
    for row in table:
        group = baselines.get(str(row["row"]).split(":", 1)[0])
        if group is None:
            continue
        before = float(str(row["baseline"])) / float(str(group["baseline"]))
        after = float(str(row["current"])) / float(str(group["current"]))
        row["relative"] = after / before
    return table


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m load_tests.compare", description=__doc__)
    parser.add_argument("--baseline", required=True, help="commit whose code is the baseline")
    parser.add_argument("--rounds", type=int, default=3, help="runs in each tree (default 3)")
    parser.add_argument("groups", nargs="+", help="bench groups, e.g. core reference")
    args = parser.parse_args(argv)
    table = compare(args.baseline, args.groups, args.rounds)
    print(f"\ncurrent tree against {args.baseline}, median of {args.rounds} interleaved runs")
    print("cur/base: the current figure over the baseline's; relative: the same, each figure")
    print("first taken over its group's baseline row of the same run (identical code)")
    print(f"{'row':<72} {'unit':>7} {'baseline':>9} {'current':>9} {'cur/base':>8} {'relative':>8}")
    for row in table:
        before, after = float(str(row["baseline"])), float(str(row["current"]))
        relative = f"{float(str(row['relative'])):>8.3f}" if "relative" in row else f"{'':>8}"
        print(
            f"{str(row['row'])[:72]:<72} {row['unit']!s:>7} {before:>9.2f} {after:>9.2f} "
            f"{after / before:>8.3f} {relative}"
        )
    out = REPO / "bench-results" / f"compare-{'-'.join(args.groups)}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_bytes(orjson.dumps({"baseline": args.baseline, "rounds": args.rounds, "rows": table}))
    print(f"\nresults: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
