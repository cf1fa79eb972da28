"""Locking strategies side by side: wall time and AI calls, with ratios against two-level.

    .venv/bin/python benchmarks/lab.py               # both scenarios, every strategy
    .venv/bin/python benchmarks/lab.py --repeat 3    # median of three runs each
    .venv/bin/python benchmarks/lab.py --markdown    # also print the docs/benchmarks.md section

Two scenarios, each raced by the lab (``moviemind compare``) under every
registered strategy, each run in its own scratch home:

- **burst**: 20 requests for one unknown movie, released together; 8 workers.
  What a strategy costs when everyone wants the same key.
- **distinct slugs**: 20 requests for 20 different movies, released together;
  8 workers. What a strategy costs when nobody clashes (for-update's
  database-wide lock shows here).

The mock AI answers in 200 ms plus up to 50 ms of jitter. Nothing touches the
user's home.
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import statistics
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table

from moviemind_lite.lab.race import run_race, strategy_names
from moviemind_lite.lab.scenario import Scenario

SCENARIOS = {
    "burst": Scenario(requests=20, slugs=1, workers=8, latency_ms=200, jitter_ms=50),
    "distinct slugs": Scenario(requests=20, slugs=20, workers=8, latency_ms=200, jitter_ms=50),
}
BASELINE = "two-level"


@dataclass(frozen=True)
class Row:
    """One strategy in one scenario: medians over the repeats."""

    strategy: str
    wall_ms: float
    ai_calls: float
    p95_ms: float
    verdict: str


def measure(scenario: Scenario, strategy: str, repeat: int) -> Row:
    """Race ``strategy`` ``repeat`` times; the medians, and the verdicts seen."""
    runs = [run_race(scenario, strategy).metrics for _ in range(repeat)]
    verdicts = sorted({metrics.verdict for metrics in runs})
    return Row(
        strategy,
        statistics.median(metrics.wall_ms for metrics in runs),
        statistics.median(metrics.ai_calls for metrics in runs),
        statistics.median(metrics.latency_p95_ms for metrics in runs),
        " / ".join(verdicts),
    )


def ratio(value: float, baseline: float) -> str:
    """``value`` as a multiple of ``baseline``."""
    return f"{value / baseline:.1f}x" if baseline else "-"


def table(title: str, rows: list[Row]) -> Table:
    """Wall time and AI calls per strategy, each beside its ratio to two-level."""
    base = next(row for row in rows if row.strategy == BASELINE)
    shown = Table(title=title, title_justify="left")
    for column in ("strategy", "wall ms", "vs two-level", "AI calls", "vs two-level", "p95 ms"):
        shown.add_column(column, justify="left" if column == "strategy" else "right")
    shown.add_column("verdict")
    for row in rows:
        shown.add_row(
            row.strategy,
            f"{row.wall_ms:,.0f}",
            ratio(row.wall_ms, base.wall_ms),
            f"{row.ai_calls:g}",
            ratio(row.ai_calls, base.ai_calls),
            f"{row.p95_ms:,.0f}",
            row.verdict,
        )
    return shown


def markdown(results: dict[str, list[Row]]) -> str:
    """The rows as the Markdown tables of docs/benchmarks.md."""
    lines: list[str] = []
    for name, rows in results.items():
        base = next(row for row in rows if row.strategy == BASELINE)
        lines += [
            f"**{name}** (`moviemind compare {SCENARIOS[name].as_options()}`):",
            "",
            "| strategy | wall ms | vs two-level | AI calls | vs two-level | p95 ms | verdict |",
            "|---|---:|---:|---:|---:|---:|---|",
        ]
        lines += [
            f"| {row.strategy} | {row.wall_ms:,.0f} | {ratio(row.wall_ms, base.wall_ms)} | "
            f"{row.ai_calls:g} | {ratio(row.ai_calls, base.ai_calls)} | {row.p95_ms:,.0f} | "
            f"{row.verdict} |"
            for row in rows
        ]
        lines.append("")
    return "\n".join(lines)


def environment() -> str:
    """The machine the numbers come from."""
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{os.cpu_count()} CPUs, {platform.system()}, Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}, load average {load:.1f} at the end of the run"
    )


def main(argv: list[str] | None = None) -> None:
    """Run both scenarios under every strategy and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=1, help="Runs per strategy (median).")
    parser.add_argument("--markdown", action="store_true", help="Also print Markdown tables.")
    args = parser.parse_args(argv)
    console = Console()
    results: dict[str, list[Row]] = {}
    for name, scenario in SCENARIOS.items():
        with console.status(f"racing {name}"):
            results[name] = [
                measure(scenario, strategy, max(args.repeat, 1))
                for strategy in strategy_names("all")
            ]
        console.print(table(f"{name}: {scenario.as_options()}", results[name]))
    console.print(f"[dim]{environment()}[/]")
    if args.markdown:
        print(markdown(results))


if __name__ == "__main__":
    main()
