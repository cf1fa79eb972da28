"""Bulk writes of movies or people: batches, with a row-by-row fallback.

Rows are written in batches, one write transaction per batch,
because a commit per row costs far more than the insert itself. Inside a batch:

1. a row whose slug is bad, or came earlier in the input, fails at once;
2. the other rows go in with one ``executemany`` inside a savepoint, whose
   ``ON CONFLICT (slug) DO NOTHING`` passes over slugs already stored (the
   rows skipped are those it did not write); with ``on_conflict="update"``
   one query first reads the stored facts of the batch's slugs, and rows
   whose facts differ are updated;
3. if that meets another constraint (a missing label), the savepoint is
   rolled back and the same rows are written one by one, each in its own
   savepoint, so the good rows land and each bad one is reported.

``executemany`` rather than sqlite-utils' ``insert_all``: it measured about
twice as fast here, and ``insert(..., ignore=True)`` in sqlite-utils 4.2.1
raises ``KeyError`` when the clash is on a UNIQUE column other than the pk.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from moviemind_lite.core.domain import ON_CONFLICT_CHOICES as ON_CONFLICT_CHOICES
from moviemind_lite.core.domain import EntityKind, OnConflict, describe_bad_slug
from moviemind_lite.core.errors import ConstraintViolation, InvalidInput, StoreError
from moviemind_lite.core.ids import new_id, now
from moviemind_lite.core.memory import collector_paused
from moviemind_lite.core.model import ProgressCallback
from moviemind_lite.store.db import Database, Tx
from moviemind_lite.store.dialects import Dialect

DEFAULT_BATCH_SIZE = 2000


@dataclass(frozen=True)
class RowFailure:
    """One row that did not land, and why."""

    row: int
    """1-based position of the row in its input."""
    location: str
    """Where the row came from, for people: ``line 7``, ``item 3``, ``row 5``."""
    slug: str | None
    reason: str

    def to_json(self) -> dict[str, Any]:
        """The failure as ``--json`` prints it."""
        return {
            "row": self.row,
            "location": self.location,
            "slug": self.slug,
            "reason": self.reason,
        }


@dataclass
class BulkReport:
    """What a bulk write did with each row: created, updated, skipped or failed."""

    kind: EntityKind
    on_conflict: OnConflict
    total: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0
    failed: list[RowFailure] = field(default_factory=list)
    batches: int = 0
    fallback_batches: int = 0
    """Batches whose bulk statement met a constraint and were redone row by row."""
    stopped: StoreError | None = None
    """Why the write ended before its last batch (a full disk, say); the batches before stay."""

    @property
    def changed(self) -> bool:
        """Whether any row was created or updated."""
        return bool(self.created or self.updated)

    def summary(self) -> str:
        """One line such as ``movies: created 4/5, updated 0, skipped 0, failed 1``."""
        why = "already present" if self.on_conflict == "skip" else "unchanged"
        skipped = f"skipped {self.skipped}" + (f" ({why})" if self.skipped else "")
        return (
            f"{self.kind.plural}: created {self.created}/{self.total}, updated {self.updated}, "
            f"{skipped}, failed {len(self.failed)}"
        )

    def to_json(self) -> dict[str, Any]:
        """The report as ``--json`` prints it."""
        return {
            "kind": self.kind.plural,
            "total": self.total,
            "created": self.created,
            "updated": self.updated,
            "skipped": self.skipped,
            "failed": [failure.to_json() for failure in self.failed],
            "stopped": None if self.stopped is None else str(self.stopped),
        }


class _BatchWriter:
    """The state of one bulk write: statements, the report, slugs seen so far."""

    def __init__(
        self,
        kind: EntityKind,
        rows: Sequence[Mapping[str, Any]],
        locations: Sequence[str],
        on_conflict: OnConflict,
        dialect: Dialect,
    ) -> None:
        self.kind = kind
        self.rows = rows
        self.locations = locations
        self.on_conflict = on_conflict
        self.report = BulkReport(kind, on_conflict, total=len(rows))
        # Slug -> index of the row that settled it in this run: a later row
        # with the same slug is a duplicate, not "already present".
        self.settled: dict[str, int] = {}
        self.genres_at = kind.fields.index("genres") if "genres" in kind.fields else None
        self.genres_cache: dict[tuple[str, ...], str] = {}
        columns = ["id", "slug", *kind.fields, "created_at", "updated_at"]
        self.insert_sql = (
            f"INSERT INTO {kind.table} ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' for _ in columns)}) ON CONFLICT (slug) DO NOTHING"
        )
        assignments = ", ".join(f"{name} = ?" for name in kind.fields)
        self.update_sql = f"UPDATE {kind.table} SET {assignments}, updated_at = ? WHERE slug = ?"
        # One parameter for the whole batch: its slugs (a JSON array, or an array).
        self.dialect = dialect
        among = f"WHERE {dialect.in_list('slug')}"
        self.facts_sql = f"SELECT slug, {', '.join(kind.fields)} FROM {kind.table} {among}"

    def values(self, row: Mapping[str, Any]) -> list[Any]:
        """The column values of a row's facts, genres as the JSON text insert_entity stores."""
        values = list(map(row.get, self.kind.fields))
        if self.genres_at is not None:
            values[self.genres_at] = self.genres_text(values[self.genres_at] or [])
        return values

    def genres_text(self, genres: Sequence[str]) -> str:
        # Catalogs repeat a few genre lists many times; encoding each list once
        # saves a good part of a bulk write's Python time.
        key = tuple(genres)
        text = self.genres_cache.get(key)
        if text is None:
            text = self.genres_cache[key] = json.dumps(list(key))
        return text

    def comparable(self, stored: Sequence[Any]) -> list[Any]:
        """Stored facts in the form :meth:`values` gives new ones."""
        values = list(stored)
        if self.genres_at is not None:
            values[self.genres_at] = self.genres_text(json.loads(values[self.genres_at] or "[]"))
        return values

    def checkpoint(self) -> tuple[int, int, int, int, int]:
        """What the report and the settled slugs hold now, to go back to if a batch is undone."""
        report = self.report
        return (
            report.created,
            report.updated,
            report.skipped,
            len(report.failed),
            len(self.settled),
        )

    def undo_to(self, mark: tuple[int, int, int, int, int]) -> None:
        """Forget what a batch rolled back by the database had counted."""
        self.report.created, self.report.updated, self.report.skipped, failed, settled = mark
        del self.report.failed[failed:]
        while len(self.settled) > settled:
            self.settled.popitem()  # slugs are only ever added: the last ones are the batch's

    def fail(self, index: int, reason: str) -> None:
        slug = self.rows[index].get("slug")
        self.report.failed.append(
            RowFailure(
                index + 1, self.locations[index], slug if isinstance(slug, str) else None, reason
            )
        )

    def write_all(
        self, database: Database, batch_size: int, on_progress: ProgressCallback | None
    ) -> None:
        """Write every batch, each in its own transaction, until one fails to commit."""
        total = len(self.rows)
        for start in range(0, total, batch_size):
            indices = range(start, min(start + batch_size, total))
            mark = self.checkpoint()
            try:
                with database.write() as conn:
                    self.write_batch(conn, indices)
            except StoreError as error:
                # The batch's transaction was rolled back whole; the ones before stay.
                self.undo_to(mark)
                self.report.stopped = error
                return
            self.report.batches += 1
            if on_progress is not None:
                on_progress(indices.stop, total)

    def write_batch(self, conn: Tx, indices: range) -> None:
        """Sort one batch into skipped, updated and new rows, and write them."""
        rows, locations, settled = self.rows, self.locations, self.settled
        slugs = [rows[index].get("slug") for index in indices]
        # Updating compares the stored facts; skipping lets the insert pass over
        # stored slugs (ON CONFLICT DO NOTHING) and counts what it wrote.
        stored: dict[str, list[Any]] = {}
        if self.on_conflict == "update":
            wanted = (self.dialect.list_param([slug for slug in slugs if isinstance(slug, str)]),)
            stored = {
                row[0]: self.comparable(list(row)[1:])
                for row in conn.execute(self.facts_sql, wanted)
            }
        stamp = now()
        inserts: list[tuple[int, tuple[Any, ...]]] = []
        updates: list[tuple[int, tuple[Any, ...]]] = []
        for index, slug in zip(indices, slugs, strict=True):
            if not isinstance(slug, str):
                self.fail(index, "slug is missing")
                continue
            problem = describe_bad_slug(slug)
            if problem is not None:
                self.fail(index, problem)
                continue
            first = settled.get(slug)
            if first is not None:
                self.fail(index, f"slug {slug!r} appears again (first at {locations[first]})")
                continue
            settled[slug] = index
            values = self.values(rows[index])
            if slug not in stored:
                inserts.append((index, (new_id(), slug, *values, stamp, stamp)))
            elif stored[slug] == values:
                self.report.skipped += 1
            else:
                updates.append((index, (*values, stamp, slug)))
        failed_before = len(self.report.failed)
        created = self.apply(conn, self.insert_sql, inserts)
        self.report.created += created
        if self.on_conflict == "skip":
            # The rest of the inserts either failed or met a stored slug and were passed over.
            refused = len(self.report.failed) - failed_before
            self.report.skipped += len(inserts) - created - refused
        self.report.updated += self.apply(conn, self.update_sql, updates)

    def apply(self, conn: Tx, sql: str, work: list[tuple[int, tuple[Any, ...]]]) -> int:
        """Run ``sql`` for every row in one go, else row by row; return the rows written."""
        if not work:
            return 0
        try:
            # Some rows of the executemany may go in before a failing one: the
            # savepoint takes them back out.
            with conn.savepoint():
                return conn.executemany(sql, [params for _, params in work])
        except ConstraintViolation:
            self.report.fallback_batches += 1
            return self.apply_row_by_row(conn, sql, work)

    def apply_row_by_row(self, conn: Tx, sql: str, work: list[tuple[int, tuple[Any, ...]]]) -> int:
        written = 0
        for index, params in work:
            slug = self.rows[index]["slug"]
            # A savepoint per row keeps a row's writes all-or-nothing should a
            # row ever take more than one statement.
            try:
                with conn.savepoint():
                    written += conn.execute(sql, params).rowcount
            except ConstraintViolation as error:
                del self.settled[slug]
                self.fail(index, f"rejected by the database: {error}")
                continue
        return written


def write_entities(
    database: Database,
    kind: EntityKind,
    rows: Sequence[Mapping[str, Any]],
    *,
    locations: Sequence[str] | None = None,
    on_conflict: OnConflict = "skip",
    batch_size: int = DEFAULT_BATCH_SIZE,
    on_progress: ProgressCallback | None = None,
) -> BulkReport:
    """Write ``rows`` (``slug`` plus the kind's fields) in batches; report every row.

    ``on_conflict="skip"`` leaves entities whose slug is already stored as
    they are; ``"update"`` overwrites their facts when they differ. A row whose
    slug appeared earlier in ``rows`` fails, as does a row the database
    refuses; the rest still land. ``locations`` names each row in failures
    (default ``row N``). Database errors other than constraint violations
    (locked, disk full) end the write: batches already committed stay.
    """
    if on_conflict not in ON_CONFLICT_CHOICES:
        raise InvalidInput(
            f"unknown on-conflict policy {on_conflict!r}; expected one of: "
            + ", ".join(ON_CONFLICT_CHOICES)
        )
    if batch_size < 1:
        raise InvalidInput(f"batch size must be >= 1, got {batch_size}")
    if locations is None:
        locations = [f"row {number}" for number in range(1, len(rows) + 1)]
    elif len(locations) != len(rows):
        raise ValueError(f"{len(locations)} locations for {len(rows)} rows")
    writer = _BatchWriter(kind, rows, locations, on_conflict, database.dialect)
    if on_progress is not None:
        on_progress(0, len(rows))
    with collector_paused():
        writer.write_all(database, batch_size, on_progress)
    writer.report.failed.sort(key=lambda failure: failure.row)
    return writer.report
