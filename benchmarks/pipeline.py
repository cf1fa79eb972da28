"""Pipeline throughput: jobs per second through the in-process runner, beside raw SQLite.

    .venv/bin/python benchmarks/pipeline.py                  # 1, 4 and 16 threads
    .venv/bin/python benchmarks/pipeline.py --jobs 200       # quicker
    .venv/bin/python benchmarks/pipeline.py --write-docs     # also update docs/benchmarks.md

For each thread count, in a fresh scratch home (with the sample catalog) and
with the mock AI answering at once (0 ms latency, 0 jitter), two paths are
timed over distinct slugs, so every job really looks up, generates and
persists a movie and its description:

- **request path**: each thread calls ``app.generation.request(MOVIE, slug)`` and
  waits: dispatch (generation slot + job row), claim, look-up, AI call,
  persist, complete, then the answer is read back, as ``moviemind movies
  show`` does.
- **worker drain**: the jobs are queued first (``wait=False``, untimed), then
  a :class:`~moviemind_lite.runtime.worker.Worker` with that many threads claims
  and runs them until none is left, as ``moviemind worker --once`` does.

Beside them, the raw bound on the same database file and settings (WAL,
``synchronous=NORMAL``, the package's own connection setup, one connection per
thread): single-row ``BEGIN IMMEDIATE; INSERT; COMMIT`` transactions per
second. The ratio says how many raw commits one job costs.

A last, untimed run counts the statements and write transactions one job of
the request path issues, and what a *join* costs: a request for a key whose
job is already on its way (statements, writes, CPU per join). The targets
(a job in at most 2 write transactions and 12 statements, a join with no
write under 0.1 ms of CPU, the request path and the worker drain at 1 thread
at least 1/10 of the raw commit rate) are printed beside the numbers.
Nothing touches the user's home.
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import tempfile
import textwrap
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from moviemind_lite.app.wiring import App, build_app
from moviemind_lite.core.config import Settings, load_settings
from moviemind_lite.core.domain import MOVIE
from moviemind_lite.runtime.worker import Worker
from moviemind_lite.store.db import Database
from moviemind_lite.store.sqlite import SqliteDatabase

DOCS = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
HEADING = "## Pipeline throughput"
MAX_WRITES = 2  # write transactions per request-path job
MAX_STATEMENTS = 12  # statements per request-path job
MAX_JOIN_CPU_MS = 0.1  # CPU per join
MIN_SHARE_OF_RAW = 1 / 10  # jobs/s at 1 thread against raw commits/s


@dataclass(frozen=True)
class Row:
    """One thread count's measurements."""

    threads: int
    jobs: int
    request_per_s: float
    drain_per_s: float
    raw_per_s: float

    @property
    def commits_per_job(self) -> float:
        """Raw single-row commits that fit in the time one request-path job takes."""
        return self.raw_per_s / self.request_per_s

    @property
    def drain_commits_per_job(self) -> float:
        """Raw single-row commits that fit in the time one drained job takes."""
        return self.raw_per_s / self.drain_per_s


@dataclass(frozen=True)
class Join:
    """What one join costs: a request for a key whose job is on its way."""

    statements: float
    writes: float
    cpu_ms: float


def met(ok: bool) -> str:
    """A target's verdict, for tables and lines."""
    return "met" if ok else "NOT met"


def scratch_settings(folder: Path, name: str) -> Settings:
    """Settings for a new home under ``folder`` with an instant, reliable mock AI."""
    return load_settings(folder / name, env={}).with_ai(latency_ms=0, jitter_ms=0, fail_rate=0)


def in_threads(threads: int, work: Callable[[int], None]) -> float:
    """Run ``work(index)`` on ``threads`` threads released together; the wall time."""
    barrier = threading.Barrier(threads + 1)
    errors: list[BaseException] = []

    def run(index: int) -> None:
        barrier.wait()
        try:
            work(index)
        except BaseException as error:
            errors.append(error)

    pool = [threading.Thread(target=run, args=(index,)) for index in range(threads)]
    for thread in pool:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in pool:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise errors[0]
    return elapsed


def shares(items: list[str], threads: int) -> list[list[str]]:
    """``items`` dealt round-robin to ``threads`` threads."""
    return [items[index::threads] for index in range(threads)]


def check_done(app: App, expected: int) -> None:
    """Every job ended DONE with a new movie: the run measured real work."""
    done = app.job_store.counts()["DONE"]
    created = int(app.database.query_one("SELECT count(*) FROM jobs WHERE result = 'created'")[0])  # type: ignore[index]
    if done != expected or created != expected or app.calls.total() != expected:
        raise SystemExit(f"benchmark run went wrong: {done} done, {created} created of {expected}")


def request_path(folder: Path, threads: int, jobs: int) -> float:
    """Jobs per second when ``threads`` threads each request and wait for their slugs."""
    with build_app(scratch_settings(folder, f"request-{threads}")) as app:
        app.generation.request(
            MOVIE, "warm-up-0000"
        )  # opens this thread's connection, builds the runner
        parts = shares([f"bench-{threads}-{n:05d}" for n in range(jobs)], threads)

        def work(index: int) -> None:
            for slug in parts[index]:
                outcome = app.generation.request(MOVIE, slug)
                if outcome.status != "done":
                    raise RuntimeError(f"{slug}: {outcome.status}")

        elapsed = in_threads(threads, work)
        check_done(app, jobs + 1)
    return jobs / elapsed


def worker_drain(folder: Path, threads: int, jobs: int) -> float:
    """Jobs per second when a ``threads``-thread worker drains ``jobs`` queued jobs."""
    with build_app(scratch_settings(folder, f"drain-{threads}")) as app:
        for n in range(jobs):
            app.generation.request(MOVIE, f"drain-{threads}-{n:05d}", wait=False)
        worker = Worker(app.runner, threads=threads, once=True)
        started = time.perf_counter()
        report = worker.run(handle_signals=False)
        elapsed = time.perf_counter() - started
        if report.done != jobs:
            raise SystemExit(f"worker drain went wrong: {report}")
        check_done(app, jobs)
    return jobs / elapsed


def raw_commits(folder: Path, threads: int, commits: int) -> float:
    """Single-row ``BEGIN IMMEDIATE; INSERT; COMMIT`` per second on ``threads`` threads."""
    database = SqliteDatabase(scratch_settings(folder, f"raw-{threads}").database_path)
    Path(database.path).parent.mkdir(parents=True, exist_ok=True)
    database.connection().execute(
        "CREATE TABLE IF NOT EXISTS raw_commits "
        "(id INTEGER PRIMARY KEY, thread INTEGER NOT NULL, at TEXT NOT NULL)"
    )
    per_thread = commits // threads

    def work(index: int) -> None:
        conn = database.connection()  # this thread's own, set up like the app's
        for _ in range(per_thread):
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(
                "INSERT INTO raw_commits (thread, at) VALUES (?, strftime('%f', 'now'))", (index,)
            )
            conn.execute("COMMIT")

    try:
        elapsed = in_threads(threads, work)
    finally:
        database.close()
    return per_thread * threads / elapsed


@contextmanager
def counting_statements() -> Iterator[Counter[str]]:
    """Count the statements every connection opened inside the block runs, by kind."""
    counts: Counter[str] = Counter()
    lock = threading.Lock()
    original = Database._connect

    def connect(self: Database) -> sqlite3.Connection:
        conn = original(self)

        def trace(sql: str) -> None:
            verb = sql.lstrip().split(None, 1)[0].upper()
            with lock:
                counts[verb] += 1
                if verb in ("INSERT", "UPDATE", "DELETE") and not conn.in_transaction:
                    counts["autocommit write"] += 1

        conn.set_trace_callback(trace)
        return conn

    Database._connect = connect  # type: ignore[method-assign]
    try:
        yield counts
    finally:
        Database._connect = original  # type: ignore[method-assign]


def statements_per_job(folder: Path, jobs: int = 50) -> dict[str, float]:
    """Statements and write transactions one request-path job issues, on average."""
    with build_app(scratch_settings(folder, "counted")) as app:
        app.generation.request(MOVIE, "warm-up-0000")

        def work(index: int) -> None:
            for n in range(jobs):
                app.generation.request(MOVIE, f"counted-{n:03d}")

        with counting_statements() as counts:
            in_threads(1, work)  # a fresh thread opens a fresh, traced connection
    per_job = {verb: number / jobs for verb, number in counts.items()}
    per_job["write transactions"] = per_job.get("BEGIN", 0) + per_job.get("autocommit write", 0)
    return per_job


def join_cost(folder: Path, joins: int = 2000) -> Join:
    """Statements, writes and CPU of one join, on average over ``joins`` joins.

    One job per key is queued for ``moviemind worker`` (no worker runs), so
    every later request for the key finds it on its way and joins it.
    """
    keys = [f"joined-{n:03d}" for n in range(100)]
    with build_app(scratch_settings(folder, "joins")) as app:
        for slug in keys:
            app.generation.request(MOVIE, slug, wait=False)
        cpu: list[float] = []

        def work(index: int) -> None:
            started = time.thread_time()
            for n in range(joins):
                outcome = app.generation.request(MOVIE, keys[n % len(keys)], wait=False)
                if outcome.status != "in_progress":
                    raise RuntimeError(f"{keys[n % len(keys)]}: {outcome.status}, not joined")
            cpu.append(time.thread_time() - started)

        with counting_statements() as counts:
            in_threads(1, work)
        if app.job_store.counts()["PENDING"] != len(keys):
            raise SystemExit("join run went wrong: a join created a job")
    writes = counts.get("BEGIN", 0) + counts.get("autocommit write", 0)
    statements = sum(counts.get(verb, 0) for verb in ("SELECT", "INSERT", "UPDATE", "DELETE"))
    return Join(statements / joins, writes / joins, cpu[0] * 1000 / joins)


def measure(args: argparse.Namespace, console: Console) -> tuple[list[Row], dict[str, float], Join]:
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="moviemind-bench-") as scratch:
        folder = Path(scratch)
        for threads in args.threads:
            console.print(f"[dim]{threads} thread(s)…[/]")
            rows.append(
                Row(
                    threads=threads,
                    jobs=args.jobs,
                    request_per_s=request_path(folder, threads, args.jobs),
                    drain_per_s=worker_drain(folder, threads, args.jobs),
                    raw_per_s=raw_commits(folder, threads, args.commits),
                )
            )
        counted = statements_per_job(folder)
        joined = join_cost(folder)
    return rows, counted, joined


def table(rows: list[Row]) -> Table:
    result = Table(title="Pipeline throughput (mock AI at 0 ms)", header_style="bold")
    for column in (
        "threads",
        "jobs",
        "request path jobs/s",
        "worker drain jobs/s",
        "raw commits/s",
        "request path / raw",
        "worker drain / raw",
    ):
        result.add_column(column, justify="right")
    for row in rows:
        result.add_row(
            str(row.threads),
            str(row.jobs),
            f"{row.request_per_s:,.0f}",
            f"{row.drain_per_s:,.0f}",
            f"{row.raw_per_s:,.0f}",
            f"1/{row.commits_per_job:.0f}",
            f"1/{row.drain_commits_per_job:.0f}",
        )
    return result


def verdicts(rows: list[Row], counted: dict[str, float], joined: Join) -> list[str]:
    """Each target of the pipeline, the measured number beside it."""
    writes = counted.get("write transactions", 0.0)
    statements = statements_in(counted)
    single = rows[0]
    share = 1 / MIN_SHARE_OF_RAW
    return [
        f"request-path job: {writes:.1f} write transactions (target <= {MAX_WRITES}), "
        f"{statements:.1f} statements (target <= {MAX_STATEMENTS}): "
        f"{met(writes <= MAX_WRITES and statements <= MAX_STATEMENTS)}",
        f"join: {joined.writes:.2f} writes, {joined.statements:.1f} statements, "
        f"{joined.cpu_ms * 1000:.0f} us CPU (target no write, < {MAX_JOIN_CPU_MS * 1000:.0f} us): "
        f"{met(joined.writes == 0 and joined.cpu_ms < MAX_JOIN_CPU_MS)}",
        f"{single.threads} thread: request path 1/{single.commits_per_job:.0f} and worker drain "
        f"1/{single.drain_commits_per_job:.0f} of the raw commit rate (target 1/{share:.0f}): "
        f"{met(max(single.commits_per_job, single.drain_commits_per_job) <= share)}",
    ]


def statements_in(counted: dict[str, float]) -> float:
    """Data statements (not BEGIN/COMMIT) in a per-job count."""
    return sum(counted.get(verb, 0.0) for verb in ("SELECT", "INSERT", "UPDATE", "DELETE"))


def environment() -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{os.cpu_count()} CPUs, {platform.system()}, Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}, load average {load:.1f} at the end of the run"
    )


def paragraph(text: str) -> list[str]:
    """``text`` wrapped like the rest of docs/benchmarks.md, then a blank line."""
    return [*textwrap.wrap(text, width=76, break_on_hyphens=False), ""]


def docs_section(
    rows: list[Row], counted: dict[str, float], joined: Join, args: argparse.Namespace
) -> str:
    """The markdown of this benchmark's section, numbers and reading included."""
    writes = counted.get("write transactions", 0.0)
    statements = statements_in(counted)
    single = rows[0]
    commit_share = writes * single.request_per_s / single.raw_per_s
    best = max(rows, key=lambda row: row.request_per_s)
    scaling = (
        f"{best.threads} threads give {best.request_per_s / single.request_per_s:.2f} "
        "times the 1-thread rate, no more: "
        if best is not single
        else "More threads do not help at 0 ms: "
    ) + "SQLite takes one writer at a time and the work between writes holds the GIL. "
    lines = [
        HEADING,
        "",
        "```console",
        ".venv/bin/python benchmarks/pipeline.py               # 1, 4 and 16 threads",
        ".venv/bin/python benchmarks/pipeline.py --write-docs  # and rewrite this section",
        "```",
        "",
        *paragraph(
            f"{args.jobs} jobs per thread count over distinct slugs (so every job looks up, "
            "calls the AI and persists a new movie and description), mock AI at 0 ms, each "
            "thread count in a fresh scratch home. *Request path*: every thread calls "
            "`App.request` and waits (what `moviemind movies show` does: dispatch, "
            "claim, run, complete, read the answer back). *Worker drain*: the jobs are "
            "queued first, untimed, then a `Worker` with that many threads runs them "
            "(`moviemind worker --once`). *Raw commits*: single-row `BEGIN IMMEDIATE; "
            "INSERT; COMMIT` on one connection per thread, same connection setup (WAL, "
            "`synchronous=NORMAL`), measured in the same run."
        ),
        *paragraph(f"Measured on {environment()}:"),
        "| threads | request path jobs/s | worker drain jobs/s | raw commits/s "
        "| request path / raw | worker drain / raw |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row.threads} | {row.request_per_s:,.0f} | {row.drain_per_s:,.0f} | "
            f"{row.raw_per_s:,.0f} | 1/{row.commits_per_job:.0f} | "
            f"1/{row.drain_commits_per_job:.0f} |"
        )
    lines += ["", *(f"- {line}" for line in verdicts(rows, counted, joined)), ""]
    lines += paragraph(
        f"One request-path job issues {writes:.1f} write transactions and "
        f"{statements:.0f} statements in all ("
        + ", ".join(
            f"{counted.get(verb, 0):.0f} `{verb}`"
            for verb in ("SELECT", "INSERT", "UPDATE", "DELETE")
            if counted.get(verb)
        )
        + f"). At one thread its {writes:.0f} commits, at the raw rate, take about "
        f"{commit_share:.0%} of the job's time; the rest is the other statements and "
        "the Python around them (rows to objects, timestamps, ids, JSON log lines). "
        + scaling
        + "With a real AI latency (hundreds of ms) the pipeline's few milliseconds per "
        "job disappear in the wait."
    )
    return "\n".join(lines)


def write_docs(section: str, path: Path = DOCS) -> None:
    """Replace this script's section of ``path`` (or add it), leaving other sections alone."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    lines = text.splitlines()
    start = next((n for n, line in enumerate(lines) if line.strip() == HEADING), None)
    if start is None:
        before, after = lines, []
        while before and before[-1] == "":
            before.pop()
        before.append("")
    else:
        end = next(
            (n for n in range(start + 1, len(lines)) if lines[n].startswith("## ")), len(lines)
        )
        before, after = lines[:start], lines[end:]
    updated = (
        "\n".join([*before, *section.rstrip("\n").splitlines(), *([""] if after else []), *after])
        + "\n"
    )
    temporary = path.with_suffix(".md.tmp")
    temporary.write_text(updated, encoding="utf-8")
    temporary.replace(path)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--jobs", type=int, default=400, help="Jobs per thread count.")
    parser.add_argument(
        "--threads",
        type=lambda raw: [int(n) for n in raw.split(",")],
        default=[1, 4, 16],
        help="Comma-separated thread counts (default 1,4,16).",
    )
    parser.add_argument("--commits", type=int, default=4000, help="Raw commits per thread count.")
    parser.add_argument("--write-docs", action="store_true", help=f"Rewrite {HEADING!r}.")
    args = parser.parse_args(argv)
    console = Console()
    rows, counted, joined = measure(args, console)
    console.print(table(rows))
    for line in verdicts(rows, counted, joined):
        console.print(line, markup=False)
    per_job: dict[str, Any] = {key: round(value, 1) for key, value in sorted(counted.items())}
    console.print(f"per request-path job: {per_job}")
    console.print(f"[dim]{environment()}[/]")
    if args.write_docs:
        write_docs(docs_section(rows, counted, joined, args))
        console.print(f"updated {DOCS}")


if __name__ == "__main__":
    main()
