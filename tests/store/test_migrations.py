from __future__ import annotations

from pathlib import Path

import pytest

from moviemind_lite.core.config import Settings
from moviemind_lite.store.db import Database, open_database
from moviemind_lite.store.migrations import MIGRATIONS, migrate, pending
from moviemind_lite.store.sqlite import SqliteDatabase
from tests.helpers import Herd


@pytest.mark.usefixtures("engines")
def test_migrations_apply_in_order_from_an_empty_database(fresh_database: Database) -> None:
    database = fresh_database
    assert pending(database) == [function.__name__ for function in MIGRATIONS]
    applied = migrate(database)
    assert applied == [function.__name__ for function in MIGRATIONS]
    assert pending(database) == []
    assert migrate(database) == []
    recorded = [
        row[0] for row in database.query("SELECT name FROM _migrations ORDER BY applied_at, name")
    ]
    assert recorded == applied


def table_names(database: Database) -> set[str]:
    if database.dialect.name == "sqlite":
        rows = database.query("SELECT name FROM sqlite_master WHERE type = 'table'")
    else:
        rows = database.query(
            "SELECT table_name AS name FROM information_schema.tables "
            "WHERE table_schema = current_schema()"
        )
    return {row["name"] for row in rows}


def column_names(database: Database, table: str) -> set[str]:
    if database.dialect.name == "sqlite":
        return {row["name"] for row in database.query(f"PRAGMA table_info({table})")}
    rows = database.query(
        "SELECT column_name AS name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name = ?",
        (table,),
    )
    return {row["name"] for row in rows}


@pytest.mark.usefixtures("engines")
def test_schema_holds_every_table_the_design_names(database: Database) -> None:
    tables = table_names(database)
    assert {
        "movies",
        "people",
        "descriptions",
        "bios",
        "jobs",
        "generation_slots",
        "leases",
        "flags",
        "flag_overrides",
        "events",
    } <= tables
    description_columns = column_names(database, "descriptions")
    assert {
        "locale",
        "context_tag",
        "origin",
        "ai_model",
        "version",
        "created_at",
        "updated_at",
    } <= description_columns
    assert "default_description_id" in column_names(database, "movies")
    assert "default_bio_id" in column_names(database, "people")
    assert {"owner_token", "expires_at", "fencing_token"} <= column_names(database, "leases")


def test_pragmas(tmp_path: Path) -> None:
    database = SqliteDatabase(tmp_path / "p.db", busy_timeout_ms=1234)
    conn = database.connection()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 1234
    assert conn.isolation_level is None


@pytest.mark.usefixtures("engines")
def test_processes_opening_a_new_database_together_migrate_once(settings: Settings) -> None:
    settings.home.mkdir(parents=True)
    herd = Herd(8)

    def open_and_migrate(index: int) -> list[str]:
        # An opener that fails breaks the herd's line: the others do not wait for ever.
        database = open_database(settings.database)
        try:
            herd.start(index)
            return migrate(database)
        finally:
            database.close()

    results = herd.run(open_and_migrate)
    assert sorted(len(names) for names in results) == [0] * 7 + [len(MIGRATIONS)]
