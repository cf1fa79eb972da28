"""Bulk writes: batches, the row-by-row fallback, skip and update, progress."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable
from typing import Any

import pytest

from moviemind_lite.core.domain import MOVIE, PERSON, EntityKind
from moviemind_lite.core.errors import DiskFull, InvalidInput, StoreError
from moviemind_lite.store import catalog
from moviemind_lite.store.bulk import BulkReport, RowFailure, write_entities
from moviemind_lite.store.db import Database
from tests.engines import sqlite_only

pytestmark = pytest.mark.usefixtures("engines")


def movie(slug: str, title: str | None = None, year: int | None = 1999) -> dict[str, Any]:
    return {
        "slug": slug,
        "title": title if title is not None else slug.title(),
        "year": year,
        "director": "Someone",
        "genres": ["Drama"],
    }


def person(slug: str, name: str | None = None) -> dict[str, Any]:
    return {
        "slug": slug,
        "name": name if name is not None else slug.title(),
        "birth_date": "1970-01-02",
        "birthplace": "Somewhere",
    }


ROW: dict[str, Callable[..., dict[str, Any]]] = {MOVIE.name: movie, PERSON.name: person}


def table(database: Database, kind: EntityKind) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in database.query(f"SELECT * FROM {kind.table} ORDER BY slug")]


def facts(database: Database, kind: EntityKind) -> dict[str, dict[str, Any]]:
    return {entity.slug: entity.facts for entity in catalog.list_entities(database, kind)}


@pytest.mark.parametrize("kind", [MOVIE, PERSON], ids=lambda kind: kind.plural)
def test_a_batch_with_a_duplicate_slug_lands_the_other_four(
    database: Database, kind: EntityKind
) -> None:
    make = ROW[kind.name]
    rows = [make("a"), make("b"), make("c"), make("d"), make("b", "Another B")]
    report = write_entities(database, kind, rows)
    assert report.summary() == f"{kind.plural}: created 4/5, updated 0, skipped 0, failed 1"
    assert report.failed == [RowFailure(5, "row 5", "b", "slug 'b' appears again (first at row 2)")]
    assert report.fallback_batches == 0  # caught before the batch is written
    assert sorted(facts(database, kind)) == ["a", "b", "c", "d"]
    assert facts(database, kind)["b"][kind.label_column] == "B"


def test_a_row_failing_a_constraint_is_reported_and_the_rest_land(database: Database) -> None:
    rows = [movie("a"), movie("b"), {"slug": "c", "title": None}, movie("d"), movie("e")]
    report = write_entities(database, MOVIE, rows, locations=[f"line {n}" for n in range(2, 7)])
    assert (report.created, report.skipped, report.total) == (4, 0, 5)
    # Each engine words the refusal its own way; both name the column.
    [failure] = report.failed
    assert (failure.row, failure.location, failure.slug) == (3, "line 4", "c")
    assert failure.reason in (
        "rejected by the database: NOT NULL constraint failed: movies.title",
        'rejected by the database: null value in column "title" of relation "movies" '
        "violates not-null constraint",
    )
    assert sorted(facts(database, MOVIE)) == ["a", "b", "d", "e"]


def test_only_the_batch_that_meets_a_constraint_goes_row_by_row(database: Database) -> None:
    rows = [movie(f"m-{n}") for n in range(10)]
    rows[7] = {"slug": "m-7", "title": None}
    report = write_entities(database, MOVIE, rows, batch_size=4)
    assert (report.batches, report.fallback_batches) == (3, 1)
    assert (report.created, [f.row for f in report.failed]) == (9, [8])


def test_stored_rows_are_skipped_untouched(database: Database) -> None:
    with database.write() as conn:
        catalog.insert_entity(conn, MOVIE, "b", {"title": "Kept", "year": 1950, "genres": []})
    before = table(database, MOVIE)
    report = write_entities(database, MOVIE, [movie("a"), movie("b"), movie("c")])
    assert report.summary() == (
        "movies: created 2/3, updated 0, skipped 1 (already present), failed 0"
    )
    assert report.failed == []
    assert before[0] in table(database, MOVIE)


def test_writing_the_same_rows_again_changes_nothing(database: Database) -> None:
    rows = [movie(f"m-{n}") for n in range(25)]
    write_entities(database, MOVIE, rows, batch_size=10)
    before = table(database, MOVIE)
    for on_conflict in ("skip", "update"):
        again = write_entities(database, MOVIE, rows, batch_size=10, on_conflict=on_conflict)
        assert (again.created, again.updated, again.skipped) == (0, 0, 25)
        assert not again.changed
        assert table(database, MOVIE) == before


def test_update_overwrites_changed_facts_only(database: Database) -> None:
    write_entities(database, MOVIE, [movie("a"), movie("b"), movie("c")])
    before = {row[1]: row for row in table(database, MOVIE)}
    changed = movie("b", "B Revised", 2001) | {"genres": ["Drama", "Comedy"], "director": None}
    report = write_entities(
        database, MOVIE, [movie("a"), changed, movie("d")], on_conflict="update"
    )
    assert report.summary() == "movies: created 1/3, updated 1, skipped 1 (unchanged), failed 0"
    after = {row[1]: row for row in table(database, MOVIE)}
    assert facts(database, MOVIE)["b"] == {
        "title": "B Revised",
        "year": 2001,
        "director": None,
        "genres": ["Drama", "Comedy"],
    }
    columns = database.query("SELECT * FROM movies LIMIT 1")[0].keys()
    b_before = dict(zip(columns, before["b"], strict=True))
    b_after = dict(zip(columns, after["b"], strict=True))
    assert (b_after["id"], b_after["created_at"]) == (b_before["id"], b_before["created_at"])
    assert b_after["updated_at"] >= b_before["updated_at"]
    assert after["a"] == before["a"] and after["c"] == before["c"]


def test_update_keeps_texts_and_baseline(database: Database) -> None:
    with database.write() as conn:
        entity_id = catalog.insert_entity(conn, PERSON, "ada", {"name": "Ada"}).id
        text_id = catalog.insert_text(
            conn,
            PERSON,
            entity_id,
            locale="en-US",
            context_tag="default",
            text="A bio.",
            origin="curated",
            ai_model=None,
            job_id=None,
            baseline=True,
        ).id
    write_entities(database, PERSON, [person("ada", "Ada Lovelace")], on_conflict="update")
    stored = catalog.find_entity(database, PERSON, "ada")
    assert stored is not None
    assert (stored.id, stored.baseline_id, stored.label) == (entity_id, text_id, "Ada Lovelace")


def test_a_slug_repeated_in_a_later_batch_fails_even_when_already_stored(
    database: Database,
) -> None:
    write_entities(database, MOVIE, [movie("x")])
    rows = [movie("x"), movie("y"), movie("x", "Other X"), movie("y")]
    report = write_entities(database, MOVIE, rows, batch_size=2, on_conflict="update")
    assert (report.created, report.updated, report.skipped) == (1, 0, 1)
    assert [(f.row, f.reason) for f in report.failed] == [
        (3, "slug 'x' appears again (first at row 1)"),
        (4, "slug 'y' appears again (first at row 2)"),
    ]
    assert facts(database, MOVIE)["x"]["title"] == "X"


def test_rows_with_unusable_slugs_fail_without_a_write(database: Database) -> None:
    report = write_entities(database, MOVIE, [movie("Bad Slug"), {"title": "No slug"}, movie("ok")])
    assert [(f.row, f.slug) for f in report.failed] == [(1, "Bad Slug"), (2, None)]
    assert report.failed[0].reason.startswith("invalid slug 'Bad Slug'")
    assert report.failed[1].reason == "slug is missing"
    assert report.fallback_batches == 0
    assert list(facts(database, MOVIE)) == ["ok"]


def test_genres_are_stored_like_insert_entity_stores_them(database: Database) -> None:
    write_entities(database, MOVIE, [movie("a") | {"genres": ["Sci-Fi", "Żart"]}])
    with database.write() as conn:
        catalog.insert_entity(conn, MOVIE, "b", {"title": "B", "genres": ["Sci-Fi", "Żart"]})
    stored = [row[0] for row in database.query("SELECT genres FROM movies ORDER BY slug")]
    assert stored[0] == stored[1] == json.dumps(["Sci-Fi", "Żart"])


def test_progress_is_reported_after_every_batch(database: Database) -> None:
    calls: list[tuple[int, int]] = []
    rows = [movie(f"m-{n}") for n in range(5)]
    write_entities(database, MOVIE, rows, batch_size=2, on_progress=lambda *c: calls.append(c))
    assert calls == [(0, 5), (2, 5), (4, 5), (5, 5)]


def test_no_rows_is_an_empty_report(database: Database) -> None:
    calls: list[tuple[int, int]] = []
    report = write_entities(database, PERSON, [], on_progress=lambda *c: calls.append(c))
    assert report == BulkReport(PERSON, "skip")
    assert calls == [(0, 0)]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"on_conflict": "replace"}, "unknown on-conflict policy 'replace'"),
        ({"batch_size": 0}, "batch size must be >= 1, got 0"),
    ],
)
def test_bad_options_are_invalid_input(
    database: Database, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        write_entities(database, MOVIE, [movie("a")], **options)
    assert table(database, MOVIE) == []


def test_committed_batches_stay_when_a_later_batch_hits_a_database_error(
    database: Database,
) -> None:
    """Errors other than constraint violations end the write; earlier batches stay.

    The report counts only what landed and says why the write stopped.
    """
    rows = [movie(f"m-{n}") for n in range(4)]

    def break_after_first_batch(done: int, total: int) -> None:
        if done == 2:
            with database.write() as tx:
                tx.execute("ALTER TABLE movies RENAME TO films")

    report = write_entities(
        database, MOVIE, rows, batch_size=2, on_progress=break_after_first_batch
    )
    assert isinstance(report.stopped, StoreError)
    assert re.search('no such table: movies|relation "movies" does not exist', str(report.stopped))
    assert (report.created, report.batches, report.failed) == (2, 1, [])
    assert len(database.query("SELECT * FROM films")) == 2


class FullAtCommit:
    """A connection whose ``fail_at``-th COMMIT fails as on a full disk (SQLite then rolls back)."""

    def __init__(self, conn: sqlite3.Connection, fail_at: int) -> None:
        self.conn = conn
        self.fail_at = fail_at
        self.commits = 0

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        if sql == "COMMIT":
            self.commits += 1
            if self.commits == self.fail_at:
                error = sqlite3.OperationalError("database or disk is full")
                error.sqlite_errorcode = sqlite3.SQLITE_FULL  # type: ignore[attr-defined]
                raise error
        return self.conn.execute(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.conn, name)


@sqlite_only
def test_a_batch_undone_at_commit_is_not_counted(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrapped = FullAtCommit(database.connection(), fail_at=3)
    monkeypatch.setattr(database, "connection", lambda: wrapped)
    rows = [movie(f"m-{n}") for n in range(10)]
    rows[5] = movie("m-1")  # fails in the third batch, which the commit then undoes
    report = write_entities(database, MOVIE, rows, batch_size=2, on_conflict="update")
    assert isinstance(report.stopped, DiskFull)
    assert (report.created, report.updated, report.skipped, report.batches) == (4, 0, 0, 2)
    assert report.failed == []
    assert sorted(facts(database, MOVIE)) == ["m-0", "m-1", "m-2", "m-3"]
