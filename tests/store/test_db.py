from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from moviemind_lite.core.domain import MOVIE, PERSON
from moviemind_lite.core.errors import CorruptDatabase, HomeNotUsable, UniqueViolation
from moviemind_lite.store import catalog
from moviemind_lite.store.db import Database
from moviemind_lite.store.migrations import migrate
from moviemind_lite.store.sqlite import SqliteDatabase
from tests.engines import Engines

# A clash is one error type on every engine, carrying the engine's own code.
CLASH = {"sqlite": (2067, sqlite3.IntegrityError), "postgres": ("23505", Exception)}


@pytest.fixture
def sqlite_database(tmp_path: Path) -> SqliteDatabase:
    opened = SqliteDatabase(tmp_path / "t.db")
    migrate(opened)
    return opened


def test_unique_slug_surfaces_as_a_named_error_with_code_and_constraint(
    engines: Engines, database: Database
) -> None:
    with database.write() as conn:
        catalog.insert_entity(conn, MOVIE, "alien-1979", {"title": "Alien", "year": 1979})
    with pytest.raises(UniqueViolation) as raised, database.write() as conn:
        catalog.insert_entity(conn, MOVIE, "alien-1979", {"title": "Alien again"})
    code, cause = CLASH[engines.database]
    assert raised.value.code == code
    assert raised.value.constraint == "movies.slug"
    assert isinstance(raised.value.__cause__, cause)
    assert type(raised.value.__cause__).__name__ in ("IntegrityError", "UniqueViolation")
    assert catalog.count_rows(database, "movies") == 1


def test_one_baseline_per_locale_and_context(engines: Engines, database: Database) -> None:
    with database.write() as conn:
        person_id = catalog.insert_entity(conn, PERSON, "ada", {"name": "Ada"}).id
        first = catalog.insert_text(
            conn,
            PERSON,
            person_id,
            locale="en-US",
            context_tag="default",
            text="one",
            origin="generated",
            ai_model="mock-1",
            job_id=None,
            baseline=True,
        )
    with pytest.raises(UniqueViolation) as raised, database.write() as conn:
        catalog.insert_text(
            conn,
            PERSON,
            person_id,
            locale="en-US",
            context_tag="default",
            text="two",
            origin="generated",
            ai_model="mock-1",
            job_id=None,
            baseline=True,
        )
    assert raised.value.constraint == "bios.person_id, bios.locale, bios.context_tag"
    entity = catalog.find_entity(database, PERSON, "ada")
    assert entity is not None and entity.baseline_id == first.id
    baseline = catalog.find_baseline(database, PERSON, person_id, "en-US", "default")
    assert baseline is not None and baseline.text == "one"
    assert baseline == first  # the insert returned the row as a read gives it


def test_failed_write_rolls_back_everything(engines: Engines, database: Database) -> None:
    with pytest.raises(UniqueViolation), database.write() as conn:
        catalog.insert_entity(conn, MOVIE, "a", {"title": "A"})
        catalog.insert_entity(conn, MOVIE, "a", {"title": "A"})
    assert catalog.count_rows(database, "movies") == 0
    with database.write() as conn:  # the next write is a transaction of its own
        catalog.insert_entity(conn, MOVIE, "b", {"title": "B"})
    assert catalog.count_rows(database, "movies") == 1


def test_a_clash_leaves_the_transaction_usable(engines: Engines, database: Database) -> None:
    with database.write() as conn:
        catalog.insert_entity(conn, MOVIE, "a", {"title": "A"})
        with pytest.raises(UniqueViolation):
            catalog.insert_entity(conn, MOVIE, "a", {"title": "A again"})
        catalog.insert_entity(conn, MOVIE, "b", {"title": "B"})
    assert catalog.count_rows(database, "movies") == 2


def test_each_thread_gets_its_own_connection(sqlite_database: SqliteDatabase) -> None:
    database = sqlite_database
    seen: list[sqlite3.Connection] = []
    thread = threading.Thread(target=lambda: seen.append(database.connection()))
    thread.start()
    thread.join()
    assert seen[0] is not database.connection()
    assert database.connection() is database.connection()


def test_corrupt_file_is_named_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "junk.db"
    junk = b"this is not a database at all" * 200
    path.write_bytes(junk)
    with pytest.raises(CorruptDatabase, match="is not a usable SQLite database"):
        migrate(SqliteDatabase(path))
    assert path.read_bytes() == junk


def test_folder_that_cannot_hold_a_database(tmp_path: Path) -> None:
    with pytest.raises(HomeNotUsable):
        SqliteDatabase(tmp_path / "missing" / "x.db").connection()
