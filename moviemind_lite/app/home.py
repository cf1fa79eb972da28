"""The home folder: its folders, its database, and opening that database for use.

The database is the home's SQLite file unless the settings name another
(``MOVIEMIND_DATABASE_URL``); either way it is opened and migrated here.
"""

from __future__ import annotations

import os

from moviemind_lite.core.config import Settings
from moviemind_lite.core.errors import HomeNotUsable
from moviemind_lite.core.logs import configure_logging
from moviemind_lite.store import db
from moviemind_lite.store.db import Database
from moviemind_lite.store.migrations import MIGRATIONS, drop_schema, migrate, pending

DATABASE_FILES = ("moviemind.db", "moviemind.db-wal", "moviemind.db-shm")


def prepare_home(settings: Settings) -> None:
    """Create the home folder with ``locks/`` and ``logs/``, or say why it cannot be."""
    for folder in (settings.home, settings.locks_dir, settings.logs_dir):
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise HomeNotUsable(f"cannot create {folder}: {error.strerror or error}") from None
    if not os.access(settings.home, os.W_OK | os.X_OK):
        raise HomeNotUsable(f"home {settings.home} is not writable")


def reset_home(settings: Settings) -> None:
    """Delete the database (the home's file with its WAL files, or MovieMind's tables on a
    server); locks and logs stay."""
    if settings.database_url is None:
        for name in DATABASE_FILES:
            (settings.home / name).unlink(missing_ok=True)
        return
    database = db.open_database(
        settings.database, settings.busy_timeout_ms, settings.engine_wait_ms
    )
    try:
        drop_schema(database)
    finally:
        database.close()


def connect_database(settings: Settings) -> Database:
    """The settings' database, connected (a server is reached now) but not yet migrated."""
    prepare_home(settings)
    configure_logging(settings.log_path)
    return db.open_database(settings.database, settings.busy_timeout_ms, settings.engine_wait_ms)


def migrate_database(database: Database, *, load_sample: bool = True) -> bool:
    """Bring ``database`` up to date; whether this call created it.

    A database created here gets the sample catalog in the same transaction
    as its schema (unless ``load_sample`` is off), so the first command a user
    runs already has something to show and no process ever sees a half-made
    home. An up-to-date database is opened with reads alone.
    """
    if not pending(database):
        return False
    return MIGRATIONS[0].__name__ in migrate(database, load_sample=load_sample)


def open_home_database(settings: Settings, *, load_sample: bool = True) -> tuple[Database, bool]:
    """The home's database, migrated; and whether this call created it."""
    database = connect_database(settings)
    try:
        return database, migrate_database(database, load_sample=load_sample)
    except BaseException:
        database.close()
        raise
