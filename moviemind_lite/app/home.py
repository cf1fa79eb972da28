"""The home folder: its folders, its database file, and opening that database for use."""

from __future__ import annotations

import os

from moviemind_lite.core.config import Settings
from moviemind_lite.core.errors import HomeNotUsable
from moviemind_lite.core.logs import configure_logging
from moviemind_lite.store.db import Database
from moviemind_lite.store.migrations import MIGRATIONS, migrate, pending

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
    """Delete the database (with its WAL files); locks and logs stay."""
    for name in DATABASE_FILES:
        (settings.home / name).unlink(missing_ok=True)


def open_database(settings: Settings, *, load_sample: bool = True) -> tuple[Database, bool]:
    """The home's database, migrated; and whether this call created it.

    A database created here gets the sample catalog in the same transaction
    as its schema (unless ``load_sample`` is off), so the first command a user
    runs already has something to show and no process ever sees a half-made
    home. An up-to-date database is opened with reads alone.
    """
    prepare_home(settings)
    configure_logging(settings.log_path)
    database = Database(settings.database_path, settings.busy_timeout_ms)
    try:
        created = False
        if pending(database):
            applied = migrate(database, load_sample=load_sample)
            created = MIGRATIONS[0].__name__ in applied
    except BaseException:
        database.close()
        raise
    return database, created
