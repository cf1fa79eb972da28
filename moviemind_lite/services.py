"""The use cases both front ends call: one object, one method per thing a user asks.

The CLI and the TUI parse input, call one method here and show the result;
nothing below this module knows about either of them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from moviemind_lite.config import Settings
from moviemind_lite.domain import (
    DEFAULT_CONTEXT,
    EntityKind,
    validate_context_tag,
    validate_locale,
    validate_slug,
)
from moviemind_lite.errors import EntityNotFound, HomeNotUsable, InvalidInput
from moviemind_lite.store import catalog
from moviemind_lite.store.catalog import Entity, Text
from moviemind_lite.store.db import Database
from moviemind_lite.store.migrations import migrate
from moviemind_lite.store.sample_catalog import load_sample_catalog

_DATABASE_FILES = ("moviemind.db", "moviemind.db-wal", "moviemind.db-shm")


@dataclass(frozen=True)
class EntityView:
    """An entity with the text ``show`` prints for one locale and context."""

    entity: Entity
    locale: str
    context_tag: str
    text: Text | None

    def to_json(self) -> dict[str, Any]:
        """The ``show --json`` object: slug, facts and the text (or null)."""
        return {
            **self.entity.summary(),
            self.entity.kind.text_noun: self.text.summary() if self.text else None,
        }


@dataclass(frozen=True)
class InitReport:
    """What ``init`` did and what the catalog now holds."""

    database_path: Path
    created: bool
    loaded: dict[str, int]
    counts: dict[str, int]


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
    for name in _DATABASE_FILES:
        (settings.home / name).unlink(missing_ok=True)


class MovieMind:
    """The application: settings plus an open, migrated database."""

    def __init__(self, settings: Settings, database: Database, created: bool) -> None:
        self.settings = settings
        self.database = database
        self.created = created

    @classmethod
    def open(cls, settings: Settings, *, load_sample: bool = True) -> MovieMind:
        """Open (creating if needed) the home's database and apply migrations.

        A database created by this call gets the sample catalog, so the first
        command a user runs already has something to show.
        """
        prepare_home(settings)
        created = not settings.database_path.exists()
        database = Database(settings.database_path, settings.busy_timeout_ms)
        try:
            migrate(database)
            if created and load_sample:
                load_sample_catalog(database)
        except BaseException:
            database.close()
            raise
        return cls(settings, database, created)

    def close(self) -> None:
        """Close every connection."""
        self.database.close()

    def __enter__(self) -> MovieMind:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- catalog --------------------------------------------------------------------

    def initialise(self) -> InitReport:
        """Load the sample catalog if the catalog is empty; report the counts."""
        loaded = load_sample_catalog(self.database)
        return InitReport(self.settings.database_path, self.created, loaded, self.counts())

    def counts(self) -> dict[str, int]:
        """Rows per catalog table."""
        tables = ("movies", "descriptions", "people", "bios")
        return {
            table: int(self.database.query_one(f"SELECT count(*) FROM {table}")[0])  # type: ignore[index]
            for table in tables
        }

    def list_entities(
        self, kind: EntityKind, *, search: str | None = None, limit: int | None = None
    ) -> list[Entity]:
        """Stored entities, filtered by a substring of slug or label."""
        if limit is not None and limit < 0:
            raise InvalidInput(f"limit must be >= 0, got {limit}")
        return catalog.list_entities(self.database, kind, search, limit)

    def show_stored(
        self,
        kind: EntityKind,
        slug: str,
        *,
        locale: str | None = None,
        context_tag: str = DEFAULT_CONTEXT,
    ) -> EntityView:
        """A stored entity with its baseline text for ``locale`` and ``context_tag``."""
        validate_slug(slug)
        locale = validate_locale(locale or self.settings.default_locale)
        validate_context_tag(context_tag)
        entity = catalog.find_entity(self.database, kind, slug)
        if entity is None:
            raise EntityNotFound(f"no {kind.name} with slug {slug!r}")
        text = catalog.find_baseline(self.database, kind, entity.id, locale, context_tag)
        return EntityView(entity, locale, context_tag, text)

    def texts(self, entity: Entity) -> list[Text]:
        """Every text of an entity, baselines first."""
        return catalog.list_texts(self.database, entity.kind, entity.id)
