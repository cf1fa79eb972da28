"""Moving catalog rows between a file and the store: import a read file, export stored rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TextIO

from moviemind_lite.app.files.formats import (
    FORMATS,
    CatalogFile,
    FileFormat,
    read_catalog_file,
    write_catalog,
)
from moviemind_lite.app.files.rows import ParsedRows
from moviemind_lite.core.domain import EntityKind, OnConflict
from moviemind_lite.core.errors import DiskFull, InvalidInput
from moviemind_lite.core.model import ProgressCallback
from moviemind_lite.store.bulk import DEFAULT_BATCH_SIZE, BulkReport, write_entities
from moviemind_lite.store.catalog import entity_rows
from moviemind_lite.store.db import Database


@dataclass
class ImportReport:
    """What an import did, per kind, and which fields it ignored."""

    path: Path
    format: FileFormat
    on_conflict: OnConflict
    results: list[BulkReport]
    ignored: list[str]
    not_imported: list[str] = field(default_factory=list)
    """Kinds of the file never written because the import stopped before them."""

    @property
    def failed(self) -> int:
        """Rows that did not land, over every kind."""
        return sum(len(result.failed) for result in self.results)

    @property
    def changed(self) -> bool:
        """Whether any row was created or updated."""
        return any(result.changed for result in self.results)

    @property
    def stopped(self) -> str | None:
        """Why the import ended early, with the rows that landed; ``None`` when it did not."""
        for result in self.results:
            if result.stopped is None:
                continue
            landed = f"created {result.created} of {result.total} {result.kind.plural}"
            if result.updated:
                landed += f" and updated {result.updated}"
            cause = "the disk filled" if isinstance(result.stopped, DiskFull) else "it stopped"
            rest = f"; {' and '.join(self.not_imported)} not imported" if self.not_imported else ""
            return f"{result.stopped}: {landed} before {cause}{rest}"
        return None

    def to_json(self) -> dict[str, Any]:
        """The report as ``import --json`` prints it."""
        return {
            "file": str(self.path),
            "format": self.format,
            "on_conflict": self.on_conflict,
            "results": [result.to_json() for result in self.results],
            "ignored_fields": self.ignored,
            "stopped": self.stopped,
        }


def import_rows(
    database: Database,
    catalog_file: CatalogFile,
    *,
    on_conflict: OnConflict = "skip",
    batch_size: int = DEFAULT_BATCH_SIZE,
    on_progress: ProgressCallback | None = None,
) -> ImportReport:
    """Write the valid rows of a read file in batches; report every row of it.

    ``on_progress(done, total)`` counts rows over every kind in the file.
    Invalid rows and rows the database refuses are both in the report's
    failures, in file order. A database error that stops the write (a full
    disk) ends the import: the report says what landed (``stopped``).
    """
    grand_total = catalog_file.total
    results: list[BulkReport] = []
    done_before = 0
    not_imported: list[str] = []
    for parsed in catalog_file.sections:
        if results and results[-1].stopped is not None:
            not_imported.append(parsed.kind.plural)
            continue
        progress = None
        if on_progress is not None:
            progress = _offset_progress(on_progress, done_before, parsed, grand_total)
        written = write_entities(
            database,
            parsed.kind,
            parsed.rows,
            locations=parsed.locations,
            on_conflict=on_conflict,
            batch_size=batch_size,
            on_progress=progress,
        )
        # The writer numbers rows among the valid ones; renumber by file row.
        refused = [replace(f, row=parsed.numbers[f.row - 1]) for f in written.failed]
        written.failed = sorted(parsed.failures + refused, key=lambda failure: failure.row)
        written.total = parsed.total
        results.append(written)
        done_before += parsed.total
    return ImportReport(
        catalog_file.path,
        catalog_file.format,
        on_conflict,
        results,
        catalog_file.ignored,
        not_imported,
    )


def import_catalog(
    database: Database,
    path: Path,
    *,
    kind: EntityKind | None = None,
    on_conflict: OnConflict = "skip",
    batch_size: int = DEFAULT_BATCH_SIZE,
    on_progress: ProgressCallback | None = None,
) -> ImportReport:
    """Read, validate and import a catalog file (:func:`read_catalog_file`, :func:`import_rows`)."""
    return import_rows(
        database,
        read_catalog_file(path, kind),
        on_conflict=on_conflict,
        batch_size=batch_size,
        on_progress=on_progress,
    )


def _offset_progress(
    on_progress: ProgressCallback, done_before: int, parsed: ParsedRows, grand_total: int
) -> ProgressCallback:
    invalid = len(parsed.failures)

    def report(done: int, total: int) -> None:
        # Invalid rows never reach the writer; count them done once it finishes.
        extra = invalid if done == total else 0
        on_progress(done_before + done + extra, grand_total)

    return report


# -- exporting --------------------------------------------------------------------------


def export_catalog(
    database: Database, kinds: Sequence[EntityKind], fmt: FileFormat, stream: TextIO
) -> dict[str, int]:
    """Write the stored ``kinds`` to ``stream`` in ``fmt``; return the rows written per kind."""
    if fmt not in FORMATS:
        raise InvalidInput(f"unknown format {fmt!r}; expected one of: {', '.join(FORMATS)}")
    if fmt != "json" and len(kinds) != 1:
        raise InvalidInput(f"a {fmt} file holds one kind; choose movies or people")
    sections = {kind: entity_rows(database, kind) for kind in kinds}
    write_catalog(stream, fmt, sections)
    return {kind.plural: len(items) for kind, items in sections.items()}
