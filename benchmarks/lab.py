"""Locking strategies: jobs per second against each engine's raw bound, and two-level at scale.

    .venv/bin/python benchmarks/lab.py               # both measurements, once, on SQLite
    .venv/bin/python benchmarks/lab.py --repeat 3    # medians of three runs each
    .venv/bin/python benchmarks/lab.py --markdown    # also print the docs/benchmarks.md tables
    .venv/bin/python benchmarks/lab.py --postgres-url postgresql://... --redis-url redis://...

With a PostgreSQL URL (``--postgres-url``, else ``MOVIEMIND_DATABASE_URL``)
every measurement also runs on PostgreSQL (with Redis locks when a Redis URL
is given), in the same run: the races in scratch schemas and key prefixes, as
``moviemind race --backend postgres --locks redis`` runs them.

Both go through the lab (what ``moviemind race`` runs): the production
dispatch, ``JobRunner`` and ``JobBody``, in a scratch home per run.

1. **Throughput at 0 ms**: every strategy races ``--jobs`` requests for as
   many distinct slugs (so every request is a job that looks up, calls the AI
   and persists), released together, ``--workers`` job threads, the mock AI
   answering at once. Jobs per second = jobs / wall time. Beside it, measured
   in the same run on the same database settings (WAL, ``synchronous=NORMAL``,
   the package's connection setup): single-row ``BEGIN IMMEDIATE; INSERT;
   COMMIT`` per second, from ``benchmarks/pipeline.py``.
2. **two-level at scale**: 1000 slugs x 10 requests (a burst of 10,000),
   AI at 50 ms, 32 workers. Wall time divided by the ideal, ceil(1000/32) x
   50 ms = 1.6 s: the time the AI calls alone would take. Target: 1.15 or less.

Nothing touches the user's home.
"""

from __future__ import annotations

import argparse
import math
import statistics
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pipeline import (  # benchmarks/pipeline.py, beside this script
    EMBEDDED,
    Backend,
    add_server_options,
    backends,
    drop_scratch,
    environment,
    raw_commits,
)
from rich.console import Console
from rich.table import Table

from moviemind_lite.lab.race import run_race, strategy_names
from moviemind_lite.lab.scenario import Scenario
from moviemind_lite.lab.scratch import Servers

SCALE = Scenario(requests=10_000, slugs=1000, workers=32, latency_ms=50, jitter_ms=0)
TARGET_RATIO = 1.15


def throughput_scenario(jobs: int, workers: int) -> Scenario:
    """``jobs`` requests for as many slugs, AI at 0 ms: every request is a whole job."""
    return Scenario(requests=jobs, slugs=jobs, workers=workers, latency_ms=0, jitter_ms=0)


def ideal_ms(scenario: Scenario) -> float:
    """The AI calls alone: one per slug, ``workers`` at a time."""
    return math.ceil(scenario.slugs / scenario.workers) * scenario.latency_ms


def on(backend: Backend, scenario: Scenario) -> tuple[Scenario, Servers]:
    """``scenario`` raced on ``backend``, and the servers it needs."""
    servers = Servers(backend.database_url, backend.locks_url)
    return scenario.changed(backend=servers.backend, locks=servers.locks), servers


@dataclass(frozen=True)
class Throughput:
    """One strategy at 0 ms on one backend: medians over the repeats."""

    backend: str
    strategy: str
    jobs_per_s: float
    raw_per_s: float
    verdicts: str

    @property
    def raw_commits_per_job(self) -> float:
        """How many raw single-row commits fit in the time one job takes."""
        return self.raw_per_s / self.jobs_per_s


@dataclass(frozen=True)
class Scale:
    """two-level at scale on one backend: medians over the repeats."""

    backend: str
    wall_ms: float
    ratio: float
    deduplicated: float
    served_stored: float
    p50_ms: float
    p95_ms: float
    verdicts: str


def measure_throughput(
    folder: Path,
    strategy: str,
    scenario: Scenario,
    commits: int,
    repeat: int,
    backend: Backend = EMBEDDED,
) -> Throughput:
    """Race ``strategy`` and the raw bound ``repeat`` times each, alternately; the medians."""
    rates, raws, verdicts = [], [], set()
    raced, servers = on(backend, scenario)
    for _ in range(repeat):
        metrics = run_race(raced, strategy, servers=servers).metrics
        rates.append(metrics.jobs_dispatched / (metrics.wall_ms / 1000))
        verdicts.add(metrics.verdict)
        raws.append(raw_commits(folder, 1, commits, backend))
    return Throughput(
        backend.name,
        strategy,
        statistics.median(rates),
        statistics.median(raws),
        " / ".join(sorted(verdicts)),
    )


def measure_scale(repeat: int, backend: Backend = EMBEDDED) -> Scale:
    """Race two-level over SCALE ``repeat`` times; the medians."""
    raced, servers = on(backend, SCALE)
    runs = [run_race(raced, "two-level", servers=servers).metrics for _ in range(repeat)]
    wall = statistics.median(m.wall_ms for m in runs)
    return Scale(
        backend.name,
        wall,
        wall / ideal_ms(SCALE),
        statistics.median(m.deduplicated for m in runs),
        statistics.median(m.requests - m.jobs_dispatched - m.deduplicated for m in runs),
        statistics.median(m.latency.p50_ms for m in runs),
        statistics.median(m.latency.p95_ms for m in runs),
        " / ".join(sorted({m.verdict for m in runs})),
    )


def throughput_table(rows: list[Throughput], scenario: Scenario) -> Table:
    """Jobs per second per strategy beside the raw commit rate."""
    table = Table(title=f"throughput at 0 ms: {scenario.as_options()}", title_justify="left")
    columns = ("strategy", "backend", "jobs/s", "raw commits/s", "raw commits per job", "verdict")
    for column in columns:
        left = column in ("strategy", "backend", "verdict")
        table.add_column(column, justify="left" if left else "right")
    for row in rows:
        table.add_row(
            row.strategy,
            row.backend,
            f"{row.jobs_per_s:,.0f}",
            f"{row.raw_per_s:,.0f}",
            f"{row.raw_commits_per_job:.0f}",
            row.verdicts,
        )
    return table


def scale_line(scale: Scale) -> str:
    """The scale run in one line."""
    verdict = "within" if scale.ratio <= TARGET_RATIO else "above"
    return (
        f"two-level on {scale.backend}, {SCALE.as_options()}: wall {scale.wall_ms:,.0f} ms, ideal "
        f"{ideal_ms(SCALE):,.0f} ms, ratio {scale.ratio:.2f} ({verdict} the {TARGET_RATIO} "
        f"target); {scale.deduplicated:,.0f} requests joined a job, {scale.served_stored:,.0f} "
        f"found the text already stored; latency p50 {scale.p50_ms:,.0f} ms, p95 "
        f"{scale.p95_ms:,.0f} ms; {scale.verdicts}"
    )


def markdown(rows: list[Throughput], scales: list[Scale], scenario: Scenario) -> str:
    """The tables of docs/benchmarks.md's "Locking strategies" section."""
    lines = [
        f"Throughput at 0 ms (`moviemind race --strategy NAME {scenario.as_options()}`, "
        "with `--backend postgres --locks redis` for the second backend):",
        "",
        "| strategy | backend | jobs/s | raw commits/s | raw commits per job | verdict |",
        "|---|---|---:|---:|---:|---|",
    ]
    lines += [
        f"| {row.strategy} | {row.backend} | {row.jobs_per_s:,.0f} | {row.raw_per_s:,.0f} | "
        f"{row.raw_commits_per_job:.0f} | {row.verdicts} |"
        for row in rows
    ]
    lines += [
        "",
        f"two-level at scale (`moviemind race --strategy two-level {SCALE.as_options()}`):",
        "",
        "| backend | wall ms | ideal ms | ratio | joined a job | found it stored | p50 ms "
        "| p95 ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
        *(
            f"| {scale.backend} | {scale.wall_ms:,.0f} | {ideal_ms(SCALE):,.0f} | "
            f"{scale.ratio:.2f} | {scale.deduplicated:,.0f} | {scale.served_stored:,.0f} | "
            f"{scale.p50_ms:,.0f} | {scale.p95_ms:,.0f} |"
            for scale in scales
        ),
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Measure throughput per strategy and two-level at scale; print the results."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=1, help="Runs per measurement (median).")
    parser.add_argument("--jobs", type=int, default=500, help="Jobs per throughput race.")
    parser.add_argument("--workers", type=int, default=8, help="Job threads per throughput race.")
    parser.add_argument("--commits", type=int, default=4000, help="Raw commits per raw run.")
    parser.add_argument("--markdown", action="store_true", help="Also print Markdown tables.")
    add_server_options(parser)
    args = parser.parse_args(argv)
    repeat = max(args.repeat, 1)
    scenario = throughput_scenario(args.jobs, args.workers)
    console = Console()
    engines = backends(args.postgres_url, args.redis_url)
    rows: list[Throughput] = []
    scales: list[Scale] = []
    with tempfile.TemporaryDirectory(prefix="moviemind-bench-") as scratch:
        try:
            for strategy in strategy_names("all"):
                for backend in engines:
                    with console.status(f"throughput: {strategy} on {backend.name}"):
                        rows.append(
                            measure_throughput(
                                Path(scratch), strategy, scenario, args.commits, repeat, backend
                            )
                        )
        finally:
            drop_scratch()
    console.print(throughput_table(rows, scenario))
    for backend in engines:
        with console.status(f"two-level at scale on {backend.name}"):
            scales.append(measure_scale(repeat, backend))
        console.print(scale_line(scales[-1]))
    console.print(f"[dim]{environment()}[/]")
    if args.markdown:
        print(markdown(rows, scales, scenario))


if __name__ == "__main__":
    main()
