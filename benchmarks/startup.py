"""Start-up: what a command costs from the shell, beside Python importing sqlite3 and click.

    .venv/bin/python benchmarks/startup.py             # 15 runs of each, in turns
    .venv/bin/python benchmarks/startup.py --runs 31   # steadier medians

Each command runs as a new process, the way a user types it, in turns with
the others so that the machine's noise falls on all of them alike; the
median wall time of each is printed with its ratio to the bound,
``python -c "import sqlite3, click"`` (the interpreter and the two libraries
every command needs). Targets: ``moviemind --help`` and ``moviemind movies
show`` of a stored movie within 1.5x of the bound.

A second table runs ``moviemind stats`` and ``moviemind jobs list`` over a
scratch home holding 10,000 and then 50,000 jobs (most of them finished in
the last hour, as ``benchmarks/tui.py`` fills it): neither should grow with
the number of finished jobs. Nothing touches the user's home.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table
from tui import fill_queue  # benchmarks/tui.py, beside this script

from moviemind_lite.core.config import load_settings

TARGET = 1.5
BOUND = [sys.executable, "-c", "import sqlite3, click"]


# The console script a user types, beside this interpreter (else the module).
SCRIPT = Path(sys.executable).with_name("moviemind")
ENTRY = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "moviemind_lite"]


def moviemind(home: Path, *words: str) -> list[str]:
    """The command line of ``moviemind --home HOME WORDS``."""
    return [*ENTRY, "--home", str(home), *words]


def timed(command: list[str]) -> float:
    """Seconds one run of ``command`` takes, start to exit; it must succeed."""
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def medians(commands: dict[str, list[str]], runs: int) -> dict[str, float]:
    """The median seconds of each command over ``runs`` rounds, the commands in turns."""
    times: dict[str, list[float]] = {label: [] for label in commands}
    for _ in range(runs):
        for label, command in commands.items():
            times[label].append(timed(command))
    return {label: statistics.median(values) for label, values in times.items()}


def start_up(home: Path, runs: int) -> Table:
    """The bound, --help and show of a stored movie, with their ratios."""
    subprocess.run(moviemind(home, "init"), check=True, capture_output=True)
    # The first show caches the answer, as any show of a stored movie does.
    subprocess.run(
        moviemind(home, "movies", "show", "the-matrix-1999"), check=True, capture_output=True
    )
    found = medians(
        {
            'python -c "import sqlite3, click"': BOUND,
            "moviemind --help": moviemind(home, "--help"),
            "moviemind movies show the-matrix-1999": moviemind(
                home, "movies", "show", "the-matrix-1999"
            ),
        },
        runs,
    )
    bound = found['python -c "import sqlite3, click"']
    table = Table(title=f"Start-up, median of {runs} runs", title_justify="left")
    for column in ("command", "ms", "x bound", f"within {TARGET}x"):
        table.add_column(column, justify="left" if column == "command" else "right")
    for label, seconds in found.items():
        ratio = seconds / bound
        verdict = "" if seconds is bound else ("met" if ratio <= TARGET else "NOT met")
        table.add_row(label, f"{seconds * 1000:.0f}", f"{ratio:.2f}", verdict)
    return table


def growth(folder: Path, runs: int) -> Table:
    """stats and jobs list over 10,000 and 50,000 jobs."""
    table = Table(title=f"Reads over a growing queue, median of {runs} runs", title_justify="left")
    for column in ("command", "10,000 jobs ms", "50,000 jobs ms", "50k / 10k"):
        table.add_column(column, justify="left" if column == "command" else "right")
    found: dict[int, dict[str, float]] = {}
    for jobs in (10_000, 50_000):
        home = folder / f"queue-{jobs}"
        fill_queue(load_settings(home, env={}), jobs)
        found[jobs] = medians(
            {
                "moviemind stats": moviemind(home, "stats"),
                "moviemind jobs list": moviemind(home, "jobs", "list"),
            },
            runs,
        )
    for label in found[10_000]:
        small, large = found[10_000][label], found[50_000][label]
        table.add_row(label, f"{small * 1000:.0f}", f"{large * 1000:.0f}", f"{large / small:.2f}")
    return table


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=15, help="Runs of each command (median).")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    console = Console()
    with tempfile.TemporaryDirectory(prefix="moviemind-bench-") as scratch:
        folder = Path(scratch)
        with console.status("start-up"):
            console.print(start_up(folder / "home", args.runs))
        with console.status("stats and jobs list over 10,000 and 50,000 jobs"):
            console.print(growth(folder, max(args.runs // 3, 1)))


if __name__ == "__main__":
    main()
