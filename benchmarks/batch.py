"""Batch work benchmarks (seed 004), each a section printed as a rich table.

    .venv/bin/python benchmarks/batch.py [--rows N] [--repeat N] [--synchronous FULL]
                                         [--only SECTION]

Sections:

- ``import``: catalog rows written to a scratch database through the bulk
  path (batches, one ``BEGIN IMMEDIATE`` transaction each) and through one
  commit per row, side by side, with the ratio. Both paths get the same rows,
  already read and validated from the same CSV file, so the comparison is of
  the writes alone; the reading and the whole import are timed on their own
  lines. Beside them, the raw bound: the shortest script that puts the same
  file into the same schema (``csv.reader`` into one ``executemany`` in one
  transaction, ids and timestamps included, nothing validated), and that
  ``executemany`` alone, its rows built beforehand. The whole import's ratio
  to the raw script is printed against the 1.5x target.
- ``stagger``: one batch of ``--slugs`` new slugs generated through the real
  request path with ``--workers`` job threads, dispatched as a burst, with
  linear spacing and with random delays; the table shows the peak number of
  jobs dispatched but not finished (waiting for the AI).

Nothing touches the user's home: every section works in a temporary folder.
"""

from __future__ import annotations

import argparse
import csv
import json
import sqlite3
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from moviemind_lite.app.files.formats import read_catalog_file
from moviemind_lite.app.files.transfer import import_catalog
from moviemind_lite.core.domain import MOVIE
from moviemind_lite.core.errors import UniqueViolation
from moviemind_lite.core.ids import new_id, now
from moviemind_lite.store.bulk import DEFAULT_BATCH_SIZE, write_entities
from moviemind_lite.store.catalog import insert_entity
from moviemind_lite.store.db import Database
from moviemind_lite.store.migrations import migrate
from moviemind_lite.store.sqlite import SqliteDatabase

Section = Callable[[Console, argparse.Namespace], None]

GENRES = ("Action", "Comedy", "Drama", "Horror", "Science Fiction", "Thriller", "War")


def scratch_database(folder: Path, name: str, synchronous: str) -> SqliteDatabase:
    """A new, migrated database in ``folder`` with the given ``synchronous`` level."""
    database = SqliteDatabase(folder / f"{name}.db")
    migrate(database)
    # The app runs WAL with synchronous=NORMAL; FULL shows what a commit
    # costs when each one must reach the disk.
    database.connection().execute(f"PRAGMA synchronous = {synchronous}")
    return database


def write_movies_csv(path: Path, rows: int) -> None:
    """A catalog CSV of ``rows`` made-up movies."""
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["slug", "title", "year", "director", "genres"])
        for n in range(rows):
            genres = "|".join(GENRES[(n + step) % len(GENRES)] for step in range(n % 3 + 1))
            writer.writerow(
                [f"movie-{n}", f"Movie Number {n}", 1900 + n % 125, f"Director {n % 997}", genres]
            )


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds ``action`` took, and what it returned."""
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def one_commit_per_row(database: Database, rows: list[dict[str, Any]]) -> int:
    """The naive path: every row in its own transaction; return the rows created."""
    created = 0
    for row in rows:
        try:
            with database.write() as conn:
                insert_entity(conn, MOVIE, row["slug"], row)
        except UniqueViolation:
            continue
        created += 1
    return created


RAW_TARGET = 1.5  # the whole import against the raw script
_COLUMNS = ("id", "slug", *MOVIE.fields, "created_at", "updated_at")
RAW_INSERT = f"INSERT INTO movies ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"


def raw_script(database: SqliteDatabase, source: Path) -> int:
    """The same file into the same schema, as a script would: no checks, one executemany."""
    conn = database.connection()
    stamp = now()
    with source.open(encoding="utf-8", newline="") as stream:
        reader = csv.reader(stream)
        next(reader)
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            RAW_INSERT,
            (
                (new_id(), slug, title, year, director, json.dumps(genres.split("|")), stamp, stamp)
                for slug, title, year, director, genres in reader
            ),
        )
        conn.execute("COMMIT")
    return int(conn.execute("SELECT count(*) FROM movies").fetchone()[0])


def raw_executemany(database: SqliteDatabase, params: list[tuple[Any, ...]]) -> None:
    """Only the insert: rows built beforehand, one executemany in one transaction."""
    conn = database.connection()
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(RAW_INSERT, params)
    conn.execute("COMMIT")


def batch_import(console: Console, args: argparse.Namespace) -> None:
    """Bulk path vs one commit per row, for ``args.rows`` movies."""
    rows_wanted: int = args.rows
    with tempfile.TemporaryDirectory(prefix="moviemind-bench-") as name:
        folder = Path(name)
        source = folder / "movies.csv"
        write_movies_csv(source, rows_wanted)

        read_seconds, catalog_file = timed(lambda: read_catalog_file(source))
        (section,) = catalog_file.sections
        rows = section.rows

        bulk_db = scratch_database(folder, "bulk", args.synchronous)
        bulk_seconds, bulk_report = timed(lambda: write_entities(bulk_db, MOVIE, rows))
        assert bulk_report.created == len(rows), bulk_report.summary()

        per_row_db = scratch_database(folder, "per-row", args.synchronous)
        per_row_seconds, per_row_created = timed(lambda: one_commit_per_row(per_row_db, rows))
        assert per_row_created == len(rows)

        # The whole import and the raw script, in turns, each into a new
        # database; the fastest of each counts (the machine's noise only adds).
        wholes, raws = [], []
        for attempt in range(args.repeat):
            whole_db = scratch_database(folder, f"whole-{attempt}", args.synchronous)
            wholes.append(timed(partial(import_catalog, whole_db, source))[0])
            raw_db = scratch_database(folder, f"raw-{attempt}", args.synchronous)
            seconds, raw_rows = timed(partial(raw_script, raw_db, source))
            assert raw_rows == len(rows)
            raws.append(seconds)
            raw_db.close()
            if attempt + 1 < args.repeat:
                whole_db.close()
        whole_seconds, raw_seconds = min(wholes), min(raws)
        again_seconds, again = timed(lambda: import_catalog(whole_db, source))
        assert again.results[0].skipped == len(rows), again.results[0].summary()
        stamp = now()
        params = [
            (
                new_id(),
                row["slug"],
                *(row[name] for name in MOVIE.fields[:-1]),
                json.dumps(row["genres"]),
                stamp,
                stamp,
            )
            for row in rows
        ]
        insert_db = scratch_database(folder, "insert", args.synchronous)
        insert_seconds, _ = timed(lambda: raw_executemany(insert_db, params))
        for database in (bulk_db, per_row_db, whole_db, insert_db):
            database.close()

    table = Table(
        title=(
            f"Batch import: {len(rows):,} movies (SQLite {sqlite3.sqlite_version}, WAL, "
            f"synchronous={args.synchronous})"
        ),
        header_style="bold",
    )
    table.add_column("path")
    table.add_column("seconds", justify="right")
    table.add_column("rows/s", justify="right")
    table.add_column("µs/row", justify="right")

    def add(label: str, seconds: float) -> None:
        table.add_row(
            label,
            f"{seconds:.2f}",
            f"{len(rows) / seconds:,.0f}",
            f"{seconds / len(rows) * 1e6:.1f}",
        )

    add(f"bulk write (batches of {DEFAULT_BATCH_SIZE}, one transaction each)", bulk_seconds)
    add("one commit per row", per_row_seconds)
    table.add_section()
    add("read + validate the CSV", read_seconds)
    add("whole import from the CSV (read + bulk write)", whole_seconds)
    add("re-import of the same CSV (all skipped)", again_seconds)
    table.add_section()
    add("raw script: csv.reader into one executemany, no checks", raw_seconds)
    add("raw executemany alone (rows built beforehand)", insert_seconds)
    console.print(table)
    ratio = whole_seconds / raw_seconds
    verdict = "met" if ratio <= RAW_TARGET else "NOT met"
    console.print(
        f"bulk write is [bold]{per_row_seconds / bulk_seconds:.1f}x[/bold] faster than "
        "one commit per row\n"
        f"whole import is [bold]{ratio:.2f}x[/bold] the raw script "
        f"(target {RAW_TARGET}x: {verdict}) and {whole_seconds / insert_seconds:.2f}x "
        "the executemany alone\n"
    )


def stagger_peak(console: Console, args: argparse.Namespace) -> None:
    """Peak jobs waiting for the AI: burst vs linear vs random dispatch of one batch."""
    from moviemind_lite.app.batch import BatchInput, BatchItem, parse_stagger, run_batch
    from moviemind_lite.app.wiring import build_app
    from moviemind_lite.core.config import load_settings

    latency, workers = args.latency, args.workers
    # Linear spacing that matches the pool's service rate: one job per
    # latency/workers; random spreads the same batch over the same window.
    window = args.slugs * latency / workers
    specs = ("none", f"linear:{latency / workers:g}", f"random:0-{window:g}")
    table = Table(title=f"{args.slugs} slugs, AI {latency:g} ms, {workers} workers")
    for column in ("stagger", "peak waiting", "wall", "AI calls", "created"):
        table.add_column(column, justify="right" if column != "stagger" else "left")
    peaks: dict[str, int] = {}
    for spec in specs:
        with tempfile.TemporaryDirectory() as folder:
            settings = load_settings(Path(folder), {}).with_ai(latency_ms=latency, jitter_ms=0)
            with build_app(settings, load_sample=False) as app:
                batch = BatchInput(
                    items=[BatchItem(f"line {n}", f"bench-film-{n}") for n in range(args.slugs)]
                )
                report = run_batch(app, MOVIE, batch, stagger=parse_stagger(spec), workers=workers)
        peaks[spec] = report.peak_waiting
        table.add_row(
            spec,
            str(report.peak_waiting),
            f"{report.wall_ms / 1000:.2f} s",
            str(report.ai_calls),
            str(report.created),
        )
    console.print(table)
    burst = peaks["none"]
    for spec in specs[1:]:
        console.print(f"{spec}: peak waiting {burst / max(peaks[spec], 1):.0f}x lower than burst")


SECTIONS: dict[str, Section] = {
    "import": batch_import,
    "stagger": stagger_peak,
}


def main(argv: list[str] | None = None) -> int:
    """Run the chosen sections (default: all) and print their tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=100_000, help="catalog rows to import")
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of the whole import and the raw script"
    )
    parser.add_argument("--slugs", type=int, default=1000, help="slugs in the stagger batch")
    parser.add_argument("--latency", type=float, default=50.0, help="AI latency (ms), stagger")
    parser.add_argument("--workers", type=int, default=32, help="job threads, stagger")
    parser.add_argument(
        "--synchronous",
        choices=("NORMAL", "FULL"),
        default="NORMAL",
        help="SQLite synchronous level of the scratch databases (the app uses NORMAL)",
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=list(SECTIONS),
        metavar="SECTION",
        help=f"run only this section (repeatable): {', '.join(SECTIONS)}",
    )
    args = parser.parse_args(argv)
    if args.rows < 1:
        parser.error("--rows must be at least 1")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    console = Console()
    for name, section in SECTIONS.items():
        if args.only is None or name in args.only:
            section(console, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
