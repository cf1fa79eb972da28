"""Opening a home: reads never wait for a writer, and a new home is made in one step."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from moviemind_lite.app.wiring import build_app
from moviemind_lite.cli import cli
from moviemind_lite.core.config import Settings
from moviemind_lite.core.domain import MOVIE
from moviemind_lite.store.migrations import pending
from tests.helpers import Processes, run_together


@pytest.fixture
def held_write_lock(settings: Settings) -> Iterator[None]:
    """Another connection holds the database's write lock until the test ends."""
    build_app(settings).close()  # the home exists, migrated, with its sample catalog
    holder = sqlite3.connect(settings.database_path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("UPDATE flags SET updated_at = updated_at")
    try:
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


@pytest.mark.usefixtures("held_write_lock")
@pytest.mark.parametrize(
    "args",
    [
        ("movies", "list", "--limit", "1"),
        ("movies", "show", "the-matrix-1999"),
        ("movies", "show", "the-matrix-1999"),  # again: its answer is cached, or not: no wait
        ("people", "show", "keanu-reeves", "--json"),
        ("jobs", "list"),
        ("stats", "--json"),
        ("flags", "list"),
        ("rollout", "status"),
    ],
)
def test_a_read_answers_while_another_process_holds_the_write_lock(
    args: tuple[str, ...],
) -> None:
    # A busy timeout of 50 ms: a command that took the write lock would fail
    # with "stayed locked" at once instead of waiting the default 30 s.
    result = CliRunner().invoke(cli, list(args), env={"MOVIEMIND_BUSY_TIMEOUT_MS": "50"})
    assert result.exit_code == 0, result.output
    assert "locked" not in result.output


def test_an_up_to_date_database_opens_without_a_write(settings: Settings) -> None:
    build_app(settings).close()
    with build_app(settings) as app:
        assert pending(app.database) == []
        assert not app.catalog.created
        changes_before = app.database.connection().total_changes
        app.catalog.list_entities(MOVIE, limit=1)
        assert app.database.connection().total_changes == changes_before


def test_parallel_first_commands_all_see_the_sample_catalog(
    processes: Processes, home: Path
) -> None:
    started = [processes.start("movies", "list", "--limit", "1", "--json") for _ in range(6)]
    outputs = [process.communicate(timeout=60)[0] for process in started]
    assert [process.returncode for process in started] == [0] * 6, outputs
    assert [len(json.loads(output)) for output in outputs] == [1] * 6


def test_a_home_whose_creator_died_mid_way_is_made_whole_by_the_next_command(
    settings: Settings,
) -> None:
    # The creator died inside its one transaction: the file exists, empty.
    settings.home.mkdir(parents=True)
    sqlite3.connect(settings.database_path).close()
    with build_app(settings) as app:
        assert app.catalog.created
        assert app.catalog.counts()["movies"] > 0


def test_concurrent_openers_in_one_process_load_the_sample_once(settings: Settings) -> None:
    counts: list[int] = []

    def open_home(index: int) -> None:
        with build_app(settings) as app:
            counts.append(app.catalog.counts()["movies"])

    run_together(open_home, 8)
    assert len(counts) == 8 and len(set(counts)) == 1 and counts[0] > 0
