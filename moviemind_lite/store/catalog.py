"""Queries over movies, people and their texts, written once for both kinds."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from moviemind_lite.core.domain import EntityKind
from moviemind_lite.core.ids import new_id, now
from moviemind_lite.core.model import Entity, Text
from moviemind_lite.store import answer_cache
from moviemind_lite.store.db import Database, Reader, Tx, read_one, translate


def _entity(kind: EntityKind, row: sqlite3.Row) -> Entity:
    facts = {field: row[field] for field in kind.fields}
    if "genres" in facts:
        facts["genres"] = json.loads(facts["genres"])
    return Entity(
        kind=kind,
        id=row["id"],
        slug=row["slug"],
        facts=facts,
        baseline_id=row[kind.baseline_column],
        created_at=row["created_at"],
    )


def _text(row: sqlite3.Row) -> Text:
    return Text(
        id=row["id"],
        locale=row["locale"],
        context_tag=row["context_tag"],
        text=row["text"],
        origin=row["origin"],
        ai_model=row["ai_model"],
        version=row["version"],
        is_baseline=bool(row["is_baseline"]),
        job_id=row["job_id"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def find_entity(db: Reader, kind: EntityKind, slug: str) -> Entity | None:
    """The entity with ``slug``, or ``None``."""
    row = read_one(db, f"SELECT * FROM {kind.table} WHERE slug = ?", (slug,))
    return _entity(kind, row) if row is not None else None


def list_entities(
    db: Database, kind: EntityKind, search: str | None = None, limit: int | None = None
) -> list[Entity]:
    """Entities ordered by label, optionally filtered by a case-insensitive substring."""
    sql = f"SELECT * FROM {kind.table}"
    params: list[Any] = []
    if search:
        pattern = "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        sql += f" WHERE (slug LIKE ? ESCAPE '\\' OR {kind.label_column} LIKE ? ESCAPE '\\')"
        params += [pattern, pattern]
    sql += f" ORDER BY {kind.label_column} COLLATE NOCASE, slug"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    return [_entity(kind, row) for row in db.query(sql, params)]


def entity_rows(db: Database, kind: EntityKind) -> list[dict[str, Any]]:
    """Every stored entity of ``kind`` as a file row (slug plus facts), by slug."""
    rows = db.query(f"SELECT slug, {', '.join(kind.fields)} FROM {kind.table} ORDER BY slug")
    found = []
    for row in rows:
        item = {"slug": row["slug"], **{name: row[name] for name in kind.fields}}
        if "genres" in item:
            item["genres"] = json.loads(item["genres"] or "[]")
        found.append(item)
    return found


CATALOG_TABLES = ("movies", "descriptions", "people", "bios")


def count_rows(db: Database, table: str) -> int:
    """How many rows one catalog table holds."""
    if table not in CATALOG_TABLES:
        raise ValueError(f"not a catalog table: {table!r}")
    row = db.query_one(f"SELECT count(*) FROM {table}")
    return int(row[0]) if row else 0


def find_baseline(
    db: Reader,
    kind: EntityKind,
    entity_id: str,
    locale: str,
    context_tag: str,
) -> Text | None:
    """The baseline text of an entity for a locale and context, or ``None``."""
    sql = (
        f"SELECT * FROM {kind.text_table} WHERE {kind.entity_fk} = ? "
        "AND locale = ? AND context_tag = ? AND is_baseline = 1"
    )
    row = read_one(db, sql, (entity_id, locale, context_tag))
    return _text(row) if row is not None else None


def list_texts(db: Database, kind: EntityKind, entity_id: str) -> list[Text]:
    """Every text of an entity: baselines first, then alternatives, oldest first."""
    rows = db.query(
        f"SELECT * FROM {kind.text_table} WHERE {kind.entity_fk} = ? "
        "ORDER BY locale, context_tag, is_baseline DESC, id",
        (entity_id,),
    )
    return [_text(row) for row in rows]


def insert_entity(conn: Tx, kind: EntityKind, slug: str, facts: dict[str, Any]) -> str:
    """Insert an entity and return its id; a taken slug raises ``UniqueViolation``.

    The insert is blind on purpose: the UNIQUE index, not a prior look-up,
    decides who wins, and the enclosing transaction stays usable after a
    violation (SQLite undoes only the failed statement).
    """
    values = {field: facts.get(field) for field in kind.fields}
    if "genres" in values:
        values["genres"] = json.dumps(list(values["genres"] or []))
    entity_id = new_id()
    stamp = now()
    columns = ["id", "slug", *values, "created_at", "updated_at"]
    try:
        conn.execute(
            f"INSERT INTO {kind.table} ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' for _ in columns)})",
            (entity_id, slug, *values.values(), stamp, stamp),
        )
    except sqlite3.Error as error:
        raise translate(error) from error
    return entity_id


def insert_text(
    conn: Tx,
    kind: EntityKind,
    entity_id: str,
    *,
    locale: str,
    context_tag: str,
    text: str,
    origin: str,
    ai_model: str | None,
    job_id: str | None,
    baseline: bool,
) -> str:
    """Insert a description or bio and return its id.

    A baseline for a locale and context that already has one raises
    ``UniqueViolation`` (partial unique index). The entity's baseline pointer
    is set the first time it gets a baseline.
    """
    text_id = new_id()
    stamp = now()
    try:
        conn.execute(
            f"INSERT INTO {kind.text_table} (id, {kind.entity_fk}, locale, context_tag, text, "
            "origin, ai_model, version, is_baseline, job_id, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?)",
            (
                text_id,
                entity_id,
                locale,
                context_tag,
                text,
                origin,
                ai_model,
                int(baseline),
                job_id,
                stamp,
                stamp,
            ),
        )
    except sqlite3.Error as error:
        raise translate(error) from error
    if baseline:
        conn.execute(
            f"UPDATE {kind.table} SET {kind.baseline_column} = ?, updated_at = ? "
            f"WHERE id = ? AND {kind.baseline_column} IS NULL",
            (text_id, stamp, entity_id),
        )
        answer_cache.invalidate(conn, kind, entity_id)
    return text_id


def find_text(db: Reader, kind: EntityKind, text_id: str) -> Text | None:
    """One description or bio by id."""
    row = read_one(db, f"SELECT * FROM {kind.text_table} WHERE id = ?", (text_id,))
    return _text(row) if row is not None else None


def update_baseline_text(
    conn: Tx,
    kind: EntityKind,
    baseline: Text,
    entity_id: str,
    *,
    text: str,
    ai_model: str | None,
    job_id: str | None,
) -> int:
    """Rewrite a baseline in place from the version read; return the new version.

    ``version`` is written as read + 1 rather than ``version + 1`` in SQL: a
    read-modify-write, which is exactly what the caller's baseline lock must
    protect (without it two writers that read the same version lose an update).
    """
    version = baseline.version + 1
    conn.execute(
        f"UPDATE {kind.text_table} SET text = ?, version = ?, origin = 'generated', "
        "ai_model = ?, job_id = ?, updated_at = ? WHERE id = ?",
        (text, version, ai_model, job_id, now(), baseline.id),
    )
    answer_cache.invalidate(conn, kind, entity_id)
    return version


def delete_entity(conn: Tx, kind: EntityKind, entity_id: str) -> int:
    """Delete an entity with its texts and cached answers; how many texts went with it."""
    texts = conn.execute(
        f"DELETE FROM {kind.text_table} WHERE {kind.entity_fk} = ?", (entity_id,)
    ).rowcount
    conn.execute(f"DELETE FROM {kind.table} WHERE id = ?", (entity_id,))
    answer_cache.invalidate(conn, kind, entity_id)
    return int(texts)


def promote_to_baseline(conn: Tx, kind: EntityKind, entity_id: str, text: Text) -> None:
    """Make an alternative the baseline of its locale and context (the old one becomes an
    alternative)."""
    conn.execute(
        f"UPDATE {kind.text_table} SET is_baseline = 0, updated_at = ? "
        f"WHERE {kind.entity_fk} = ? AND locale = ? AND context_tag = ? AND is_baseline = 1",
        (now(), entity_id, text.locale, text.context_tag),
    )
    conn.execute(
        f"UPDATE {kind.text_table} SET is_baseline = 1, updated_at = ? WHERE id = ?",
        (now(), text.id),
    )
    conn.execute(
        f"UPDATE {kind.table} SET {kind.baseline_column} = ?, updated_at = ? "
        f"WHERE id = ? AND ({kind.baseline_column} IS NULL OR {kind.baseline_column} IN "
        f"(SELECT id FROM {kind.text_table} WHERE {kind.entity_fk} = ? AND is_baseline = 0))",
        (text.id, now(), entity_id, entity_id),
    )
    answer_cache.invalidate(conn, kind, entity_id)
