"""Catalog use cases: list, show, texts, promote, delete, counts, and guarding catalog writes."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TextIO

from moviemind_lite.app.files.formats import CatalogFile, FileFormat
from moviemind_lite.app.files.transfer import ImportReport, export_catalog, import_rows
from moviemind_lite.app.views import DeleteReport, EntityView, InitReport
from moviemind_lite.core.config import Settings
from moviemind_lite.core.domain import (
    EntityKind,
    OnConflict,
    validate_slug,
)
from moviemind_lite.core.errors import (
    CatalogReadOnly,
    EntityBusy,
    EntityNotFound,
    InvalidInput,
    NotFound,
)
from moviemind_lite.core.ids import looks_like_id
from moviemind_lite.core.model import Entity, ProgressCallback, Text
from moviemind_lite.pipeline.body import baseline_key
from moviemind_lite.policy.flags import FlagService
from moviemind_lite.store import catalog, jobs
from moviemind_lite.store.bulk import DEFAULT_BATCH_SIZE
from moviemind_lite.store.db import Database
from moviemind_lite.store.locking import KeyLocks
from moviemind_lite.store.sample_catalog import load_sample_catalog

log = logging.getLogger("moviemind.catalog")

READ_ONLY_FLAG = "catalog_read_only_mode"
# Longer than any title, and well under SQLite's limit on a LIKE pattern.
SEARCH_MAX_LENGTH = 1000


@dataclass(eq=False)
class Catalog:
    """The movies and people, their facts and their texts."""

    settings: Settings
    database: Database
    flags: FlagService
    created: bool
    locks: KeyLocks

    def check_writable(self, what: str) -> None:
        """Refuse ``what`` (a catalog write) while ``catalog_read_only_mode`` is on."""
        if self.flags.is_enabled(READ_ONLY_FLAG):
            raise CatalogReadOnly(
                f"the catalog is read-only ({READ_ONLY_FLAG} is on): cannot {what}"
            )

    def initialise(self) -> InitReport:
        """Load the sample catalog if the catalog is empty; report the counts."""
        loaded = {} if self.created else self._load_sample_if_empty()
        return InitReport(self.settings.database_shown, self.created, loaded, self.counts())

    def _load_sample_if_empty(self) -> dict[str, int]:
        if any(self.counts()[table] for table in ("movies", "people")):
            return {}
        self.check_writable("load the sample catalog")
        return load_sample_catalog(self.database)

    def counts(self) -> dict[str, int]:
        """Rows per catalog table."""
        return {table: catalog.count_rows(self.database, table) for table in catalog.CATALOG_TABLES}

    def list_entities(
        self, kind: EntityKind, *, search: str | None = None, limit: int | None = None
    ) -> list[Entity]:
        """Stored entities, filtered by a substring of slug or label."""
        if limit is not None and limit < 0:
            raise InvalidInput(f"limit must be >= 0, got {limit}")
        if search is not None and len(search) > SEARCH_MAX_LENGTH:
            raise InvalidInput(
                f"search text is {len(search)} characters long; at most {SEARCH_MAX_LENGTH} allowed"
            )
        return catalog.list_entities(self.database, kind, search, limit)

    def find(self, kind: EntityKind, slug: str) -> Entity:
        """The stored entity with ``slug``; :class:`EntityNotFound` if there is none."""
        entity = catalog.find_entity(self.database, kind, validate_slug(slug))
        if entity is None:
            raise EntityNotFound(f"no {kind.name} with slug {slug!r}")
        return entity

    def view(self, entity: Entity, locale: str, context_tag: str) -> EntityView:
        """``entity`` with its baseline text for ``locale`` and ``context_tag`` (if any)."""
        text = catalog.find_baseline(self.database, entity.kind, entity.id, locale, context_tag)
        return EntityView(entity, locale, context_tag, text)

    def texts(self, entity: Entity) -> list[Text]:
        """Every text of an entity, baselines first."""
        return catalog.list_texts(self.database, entity.kind, entity.id)

    def texts_of(self, kind: EntityKind, slug: str) -> list[Text]:
        """Every text of the entity with ``slug`` (baselines and alternatives)."""
        return self.texts(self.find(kind, slug))

    def show_text(self, kind: EntityKind, slug: str, text_id: str) -> EntityView:
        """The entity with one of its texts, whichever its locale, context or role."""
        entity = self.find(kind, slug)
        text = self._text_of(entity, text_id)
        return EntityView(entity, text.locale, text.context_tag, text)

    def _text_of(self, entity: Entity, text_id: str) -> Text:
        kind = entity.kind
        if not looks_like_id(text_id):
            raise InvalidInput(
                f"{text_id!r} is not a {kind.text_noun} id "
                f"(`moviemind {kind.plural} texts {entity.slug}` lists them)"
            )
        text = catalog.find_text(self.database, kind, text_id)
        if text is None or text.id not in {t.id for t in self.texts(entity)}:
            raise NotFound(f"{entity.slug} has no {kind.text_noun} with id {text_id}")
        return text

    def import_file(
        self,
        catalog_file: CatalogFile,
        *,
        on_conflict: OnConflict = "skip",
        batch_size: int = DEFAULT_BATCH_SIZE,
        on_progress: ProgressCallback | None = None,
    ) -> ImportReport:
        """Write the rows of a read catalog file in batches; report every row of it."""
        self.check_writable(f"import {catalog_file.path.name}")
        return import_rows(
            self.database,
            catalog_file,
            on_conflict=on_conflict,
            batch_size=batch_size,
            on_progress=on_progress,
        )

    def export(
        self, kinds: Sequence[EntityKind], fmt: FileFormat, stream: TextIO
    ) -> dict[str, int]:
        """Write the stored ``kinds`` to ``stream`` in ``fmt``; the rows written per kind."""
        return export_catalog(self.database, kinds, fmt, stream)

    def delete(self, kind: EntityKind, slug: str) -> DeleteReport:
        """Delete a stored entity with its texts and cached answers.

        The jobs that wrote it keep their history with their entity and text
        ids cleared. While a job for the slug is PENDING or IN_PROGRESS the
        entity is not deleted (the job would bring it back when it ends).
        """
        validate_slug(slug)
        self.check_writable(f"delete {kind.name} {slug!r}")
        with self.database.write() as tx:
            entity = catalog.find_entity(tx, kind, slug)
            if entity is None:
                raise EntityNotFound(f"no {kind.name} with slug {slug!r}")
            running = jobs.unfinished_for(tx, kind.name, slug)
            if running:
                job = running[0]
                raise EntityBusy(
                    f"cannot delete {kind.name} {slug!r}: job {job.id} for it is {job.status}; "
                    f"wait for it (moviemind jobs wait {job.id}) and delete again"
                )
            texts = catalog.delete_entity(tx, kind, entity.id)
            cleared = jobs.forget_entity(tx, kind.name, entity.id)
        log.info(
            "Entity deleted",
            extra={"fields": {"kind": kind.name, "slug": slug, "texts": texts, "jobs": cleared}},
        )
        return DeleteReport(entity, texts, cleared)

    def promote(self, kind: EntityKind, slug: str, text_id: str) -> Text:
        """Make one of an entity's texts the baseline of its locale and context.

        Runs under the same narrow baseline lock as an in-place regeneration,
        so a promotion never interleaves with one.
        """
        entity = self.find(kind, slug)
        text = self._text_of(entity, text_id)
        self.check_writable(f"promote a {kind.text_noun}")
        key = baseline_key(kind, entity.id, text.locale, text.context_tag)
        with self.locks.hold(key), self.database.write() as conn:
            catalog.promote_to_baseline(conn, kind, entity.id, text)
        promoted = catalog.find_text(self.database, kind, text_id)
        assert promoted is not None
        return promoted
