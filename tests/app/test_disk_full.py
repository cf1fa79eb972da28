"""A full disk during import or generation: a named error, what landed, nothing half-written.

The disk is "filled" with ``PRAGMA max_page_count`` on every connection, which
makes SQLite itself report SQLITE_FULL once the database would grow past it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from moviemind_lite.app.batch import NOT_DISPATCHED, read_batch_file, run_batch
from moviemind_lite.app.files.transfer import import_catalog
from moviemind_lite.app.wiring import App
from moviemind_lite.core.domain import MOVIE
from moviemind_lite.core.errors import DiskFull
from moviemind_lite.store import sqlite as store_db
from moviemind_lite.store.sqlite import SqliteDatabase, translate
from tests.cli.conftest import run

FillDisk = Callable[[SqliteDatabase, int], None]


@pytest.fixture
def fill_disk(monkeypatch: pytest.MonkeyPatch) -> FillDisk:
    """``fill_disk(database, spare)``: the database may grow by ``spare`` pages, no more."""

    def fill(database: SqliteDatabase, spare: int) -> None:
        limit = database.query_one("PRAGMA page_count")[0] + spare  # type: ignore[index]
        opened = SqliteDatabase._connect

        def connect(self: SqliteDatabase) -> sqlite3.Connection:
            conn = opened(self)
            conn.execute(f"PRAGMA max_page_count = {limit}")
            return conn

        monkeypatch.setattr(SqliteDatabase, "_connect", connect)
        for conn in database._all:
            conn.execute(f"PRAGMA max_page_count = {limit}")

    return fill


def count(database: SqliteDatabase, sql: str) -> int:
    row = database.query_one(sql)
    assert row is not None
    return int(row[0])


def assert_intact(database: SqliteDatabase) -> None:
    assert database.query_one("PRAGMA integrity_check")[0] == "ok"  # type: ignore[index]


def big_file(folder: Path, rows: int) -> Path:
    path = folder / "many.csv"
    path.write_text(
        "slug,title,director\n"
        + "".join(f"film-{n}-2001,Film number {n},Someone Somewhere\n" for n in range(rows))
    )
    return path


def test_sqlite_full_is_a_named_error_naming_the_folder(tmp_path: Path) -> None:
    error = sqlite3.OperationalError("database or disk is full")
    error.sqlite_errorcode = sqlite3.SQLITE_FULL  # type: ignore[attr-defined]
    translated = translate(error, tmp_path / "moviemind.db")
    assert isinstance(translated, DiskFull)
    assert str(translated) == f"the disk holding {tmp_path} is full (database or disk is full)"


def test_an_io_error_on_a_full_disk_is_a_full_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What SQLite says when a full disk stops it making the WAL's -shm file.
    error = sqlite3.OperationalError("disk I/O error")
    error.sqlite_errorcode = 4874  # type: ignore[attr-defined]  # SQLITE_IOERR_SHMSIZE
    assert not isinstance(translate(error, tmp_path / "moviemind.db"), DiskFull)
    usage = store_db.shutil.disk_usage(tmp_path)
    monkeypatch.setattr(store_db.shutil, "disk_usage", lambda _: usage._replace(free=4096))
    assert isinstance(translate(error, tmp_path / "moviemind.db"), DiskFull)


def test_an_import_reports_what_landed_before_the_disk_filled(
    app: App, tmp_path: Path, fill_disk: FillDisk
) -> None:
    before = count(app.database, "SELECT count(*) FROM movies")
    fill_disk(app.database, 20)
    report = import_catalog(app.database, big_file(tmp_path, 5000), batch_size=250)
    (result,) = report.results
    landed = count(app.database, "SELECT count(*) FROM movies") - before
    assert 0 < landed < 5000
    assert landed % 250 == 0  # whole batches: the one that hit the full disk left nothing
    assert (result.created, result.failed) == (landed, [])
    assert isinstance(result.stopped, DiskFull)
    assert report.stopped == (
        f"the disk holding {app.settings.home.absolute()} is full (database or disk is full): "
        f"created {landed} of 5000 movies before the disk filled"
    )
    assert report.to_json()["stopped"] == report.stopped
    assert_intact(app.database)


def test_cli_import_on_a_full_disk(app: App, tmp_path: Path, fill_disk: FillDisk) -> None:
    fill_disk(app.database, 20)
    result = run("catalog", "import", str(big_file(tmp_path, 5000)), "--batch-size", "250")
    assert result.exit_code == 1
    (summary,) = result.stdout.splitlines()
    assert summary.startswith("movies: created ") and summary.endswith("failed 0")
    (error,) = result.stderr.splitlines()
    assert error.startswith(f"Error: the disk holding {app.settings.home.absolute()} is full")
    assert error.endswith("of 5000 movies before the disk filled")
    assert "Traceback" not in result.output


# Bounded: a full disk waited out like an engine outage made this batch wait for ever.
@pytest.mark.timeout(60)
def test_a_batch_on_a_full_disk_reports_each_slug_and_leaves_nothing_half_written(
    app: App, tmp_path: Path, fill_disk: FillDisk
) -> None:
    slugs = tmp_path / "slugs.txt"
    slugs.write_text("".join(f"full-film-{n}\n" for n in range(40)))
    fill_disk(app.database, 3)
    report = run_batch(app, MOVIE, read_batch_file(slugs, MOVIE), workers=4)
    assert 0 < report.created < 40
    assert report.created + len(report.failed) == 40
    full = f"the disk holding {app.settings.home.absolute()} is full"
    assert all(why.startswith(full) or why == NOT_DISPATCHED for _, why in report.failed)
    # Once a dispatch met the full disk, the rest were not even tried.
    assert NOT_DISPATCHED in [why for _, why in report.failed]
    assert report.stopped is not None and report.stopped.startswith(full)
    assert report.stopped.endswith(f"created {report.created} of 40 before the disk filled")
    # Every movie that landed has its description: a job's writes are one transaction.
    assert (
        count(
            app.database,
            "SELECT count(*) FROM movies m WHERE slug LIKE 'full-film-%' AND NOT EXISTS "
            "(SELECT 1 FROM descriptions d WHERE d.movie_id = m.id)",
        )
        == 0
    )
    assert count(app.database, "SELECT count(*) FROM movies WHERE slug LIKE 'full-film-%'") == (
        report.created
    )
    assert_intact(app.database)
