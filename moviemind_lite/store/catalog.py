"""Queries over movies, people and their texts, written once for both kinds."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from moviemind_lite.core.domain import EntityKind
from moviemind_lite.core.ids import new_id, now
from moviemind_lite.core.model import Entity, Text
from moviemind_lite.store import answer_cache
from moviemind_lite.store.db import Database, Reader, Row, Tx, read_one

TEXT_COLUMNS = (
    "id",
    "locale",
    "context_tag",
    "text",
    "origin",
    "ai_model",
    "version",
    "is_baseline",
    "job_id",
    "created_at",
    "updated_at",
)


def entity_columns(kind: EntityKind) -> tuple[str, ...]:
    """The columns of an entity row of ``kind``, in table order."""
    return ("id", "slug", *kind.fields, kind.baseline_column, "created_at", "updated_at")


def entity_from_row(kind: EntityKind, row: Row, prefix: str = "") -> Entity:
    """The entity in ``row`` (its columns named with ``prefix``)."""
    facts = {field: row[prefix + field] for field in kind.fields}
    if "genres" in facts:
        facts["genres"] = json.loads(facts["genres"])
    return Entity(
        kind=kind,
        id=row[prefix + "id"],
        slug=row[prefix + "slug"],
        facts=facts,
        baseline_id=row[prefix + kind.baseline_column],
        created_at=row[prefix + "created_at"],
        updated_at=row[prefix + "updated_at"],
    )


def text_from_row(row: Row, prefix: str = "") -> Text:
    """The text in ``row`` (its columns named with ``prefix``)."""
    return Text(
        id=row[prefix + "id"],
        locale=row[prefix + "locale"],
        context_tag=row[prefix + "context_tag"],
        text=row[prefix + "text"],
        origin=row[prefix + "origin"],
        ai_model=row[prefix + "ai_model"],
        version=row[prefix + "version"],
        is_baseline=bool(row[prefix + "is_baseline"]),
        job_id=row[prefix + "job_id"],
        created_at=row[prefix + "created_at"],
        updated_at=row[prefix + "updated_at"],
    )


@cache
def _joined_select(kind: EntityKind) -> str:
    """``SELECT`` of an entity (columns ``e_*``) with one of its texts (``t_*``)."""
    entity = ", ".join(f"e.{column} AS e_{column}" for column in entity_columns(kind))
    text = ", ".join(f"t.{column} AS t_{column}" for column in TEXT_COLUMNS)
    return f"SELECT {entity}, {text} FROM {kind.table} e LEFT JOIN {kind.text_table} t"


def find_with_baseline(
    db: Reader, kind: EntityKind, slug: str, locale: str, context_tag: str
) -> tuple[Entity | None, Text | None]:
    """The entity with ``slug`` and its baseline for ``locale`` and ``context_tag``, in one read."""
    row = read_one(
        db,
        f"{_joined_select(kind)} ON t.{kind.entity_fk} = e.id AND t.locale = ? "
        "AND t.context_tag = ? AND t.is_baseline = 1 WHERE e.slug = ?",
        (locale, context_tag, slug),
    )
    if row is None:
        return None, None
    return entity_from_row(kind, row, "e_"), text_from_row(row, "t_") if row[
        "t_id"
    ] is not None else None


def find_with_text(
    db: Reader, kind: EntityKind, slug: str, text_id: str | None
) -> tuple[Entity | None, Text | None]:
    """The entity with ``slug`` and its text ``text_id`` (if it is one of its own), in one read."""
    row = read_one(
        db,
        f"{_joined_select(kind)} ON t.{kind.entity_fk} = e.id AND t.id = ? WHERE e.slug = ?",
        (text_id, slug),
    )
    if row is None:
        return None, None
    return entity_from_row(kind, row, "e_"), text_from_row(row, "t_") if row[
        "t_id"
    ] is not None else None


def find_entity(db: Reader, kind: EntityKind, slug: str) -> Entity | None:
    """The entity with ``slug``, or ``None``."""
    row = read_one(db, f"SELECT * FROM {kind.table} WHERE slug = ?", (slug,))
    return entity_from_row(kind, row) if row is not None else None


def list_entities(
    db: Database, kind: EntityKind, search: str | None = None, limit: int | None = None
) -> list[Entity]:
    """Entities ordered by label, optionally filtered by a case-insensitive substring."""
    sql = f"SELECT * FROM {kind.table}"
    params: list[Any] = []
    if search:
        where, params = _matching(db, ("slug", kind.label_column), search)
        sql += where
    sql += f" ORDER BY {db.dialect.nocase(kind.label_column)}, slug"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    return [entity_from_row(kind, row) for row in db.query(sql, params)]


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


def _matching(db: Database, columns: tuple[str, ...], search: str) -> tuple[str, list[Any]]:
    """A WHERE clause matching ``search`` as a case-insensitive substring of any column."""
    pattern = "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    like = db.dialect.like
    clause = " OR ".join(f"{column} {like} ? ESCAPE '\\'" for column in columns)
    return f" WHERE ({clause})", [pattern] * len(columns)


# What the HTTP API's ``q`` looks at, beside the slug: the original service also
# searches a movie's director and genres.
SEARCH_COLUMNS = {"movie": ("slug", "title", "director", "genres"), "person": ("slug", "name")}


def page_of_entities(
    db: Database, kind: EntityKind, search: str | None, offset: int, limit: int
) -> tuple[list[Entity], int]:
    """One page of entities, newest first, and how many match in all."""
    where, params = _matching(db, SEARCH_COLUMNS[kind.name], search) if search else ("", [])
    total = db.query_one(f"SELECT count(*) FROM {kind.table}{where}", params)
    rows = db.query(
        f"SELECT * FROM {kind.table}{where} ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
        [*params, limit, offset],
    )
    return [entity_from_row(kind, row) for row in rows], int(total[0]) if total else 0


def count_texts(db: Database, kind: EntityKind, entity_ids: list[str]) -> dict[str, int]:
    """How many texts each of ``entity_ids`` has (ids without texts are left out)."""
    if not entity_ids:
        return {}
    rows = db.query(
        f"SELECT {kind.entity_fk}, count(*) FROM {kind.text_table} "
        f"WHERE {kind.entity_fk} IN ({', '.join('?' for _ in entity_ids)}) "
        f"GROUP BY {kind.entity_fk}",
        entity_ids,
    )
    return {row[0]: int(row[1]) for row in rows}


def find_texts(db: Database, kind: EntityKind, text_ids: list[str]) -> dict[str, Text]:
    """The texts with ``text_ids``, by id (missing ids are left out)."""
    if not text_ids:
        return {}
    rows = db.query(
        f"SELECT * FROM {kind.text_table} WHERE id IN ({', '.join('?' for _ in text_ids)})",
        text_ids,
    )
    return {row["id"]: text_from_row(row) for row in rows}


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
    return text_from_row(row) if row is not None else None


def list_texts(db: Database, kind: EntityKind, entity_id: str) -> list[Text]:
    """Every text of an entity: baselines first, then alternatives, oldest first."""
    rows = db.query(
        f"SELECT * FROM {kind.text_table} WHERE {kind.entity_fk} = ? "
        "ORDER BY locale, context_tag, is_baseline DESC, id",
        (entity_id,),
    )
    return [text_from_row(row) for row in rows]


def insert_entity(
    conn: Tx,
    kind: EntityKind,
    slug: str,
    facts: dict[str, Any],
    *,
    baseline_id: str | None = None,
) -> Entity:
    """Insert an entity and return it as written; a taken slug raises ``UniqueViolation``.

    The insert is blind on purpose: the UNIQUE index, not a prior look-up,
    decides who wins, and the enclosing transaction stays usable after a
    violation (:meth:`Tx.attempt`). ``baseline_id`` is
    the id the entity's first baseline text will get (see :func:`insert_text`),
    so the new row points at it without a second write.
    """
    values = {field: facts.get(field) for field in kind.fields}
    if "genres" in values:
        values["genres"] = json.dumps(list(values["genres"] or []))
    entity_id = new_id()
    stamp = now()
    columns = ["id", "slug", *values, kind.baseline_column, "created_at", "updated_at"]
    row = conn.attempt(
        f"INSERT INTO {kind.table} ({', '.join(columns)}) "
        f"VALUES ({', '.join('?' for _ in columns)}) RETURNING *",
        (entity_id, slug, *values.values(), baseline_id, stamp, stamp),
    ).fetchone()
    assert row is not None  # an insert that did not raise returns its row
    return entity_from_row(kind, row)


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
    text_id: str | None = None,
    new_entity: bool = False,
) -> Text:
    """Insert a description or bio (its id ``text_id``, or a new one); return it as written.

    A baseline for a locale and context that already has one raises
    ``UniqueViolation`` (partial unique index). The entity's baseline pointer
    is set the first time it gets a baseline, and its cached answers dropped;
    an entity inserted in this transaction (``new_entity``) already points at
    ``text_id`` and has nothing cached.
    """
    text_id = text_id or new_id()
    stamp = now()
    row = conn.attempt(
        f"INSERT INTO {kind.text_table} (id, {kind.entity_fk}, locale, context_tag, text, "
        "origin, ai_model, version, is_baseline, job_id, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?) RETURNING *",
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
    ).fetchone()
    if baseline and not new_entity:
        conn.execute(
            f"UPDATE {kind.table} SET {kind.baseline_column} = ?, updated_at = ? "
            f"WHERE id = ? AND {kind.baseline_column} IS NULL",
            (text_id, stamp, entity_id),
        )
        answer_cache.invalidate(conn, kind, entity_id)
    assert row is not None  # an insert that did not raise returns its row
    return text_from_row(row)


def find_text(db: Reader, kind: EntityKind, text_id: str) -> Text | None:
    """One description or bio by id."""
    row = read_one(db, f"SELECT * FROM {kind.text_table} WHERE id = ?", (text_id,))
    return text_from_row(row) if row is not None else None


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
