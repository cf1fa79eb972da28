"""The sample catalog: real movies and people, some with curated texts.

Installed wheels carry it as ``moviemind_lite/sample_catalog.json``; a source
checkout reads ``data/catalog.json`` directly. The package is always installed
as files (never zipped), so a path beside this module finds it; that spares
every command the import of ``importlib.resources``, a few milliseconds of a
``show``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from moviemind_lite.core.domain import MOVIE, PERSON, EntityKind, validate_locale, validate_slug
from moviemind_lite.core.ids import new_id, now
from moviemind_lite.store.db import Database, Tx

_TEXT_LISTS = {MOVIE.name: "descriptions", PERSON.name: "bios"}


def sample_catalog_text() -> str:
    """The JSON text of the sample catalog shipped with MovieMind."""
    return _sample_text("sample_catalog.json", "catalog.json")


def _sample_text(packaged_name: str, checkout_name: str) -> str:
    package = Path(__file__).resolve().parents[1]
    packaged = package / packaged_name
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    checkout = package.parent / "data" / checkout_name
    return checkout.read_text(encoding="utf-8")


def load_sample_credits(conn: Tx) -> int:
    """Link the sample catalog's movies and people (``data/credits.json``) where both are
    stored; the credits added. Safe to run again."""
    if not conn.execute(conn.dialect.table_exists(), ("credits",)).fetchone():
        return 0  # a schema from before m011_credits, which links them when it runs
    credits = json.loads(_sample_text("sample_credits.json", "credits.json"))["credits"]
    added = 0
    for credit in credits:
        added += conn.execute(
            "INSERT INTO credits "
            "(movie_id, person_id, role, character_name, billing_order, created_at) "
            "SELECT movies.id, people.id, ?, ?, ?, ? FROM movies, people "
            "WHERE movies.slug = ? AND people.slug = ? ON CONFLICT DO NOTHING",
            (
                credit["role"],
                credit["character_name"],
                credit["billing_order"],
                now(),
                credit["movie"],
                credit["person"],
            ),
        ).rowcount
    return added


def _rows(
    kind: EntityKind, items: list[dict[str, Any]], stamp: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    entities: list[dict[str, Any]] = []
    texts: list[dict[str, Any]] = []
    for item in items:
        entity_id = new_id()
        row: dict[str, Any] = {"id": entity_id, "slug": validate_slug(item["slug"])}
        for field in kind.fields:
            row[field] = item.get(field)
        if "genres" in row:
            row["genres"] = json.dumps(row["genres"] or [])
        row[kind.baseline_column] = None
        for entry in item.get(_TEXT_LISTS[kind.name], []):
            text_id = new_id()
            texts.append(
                {
                    "id": text_id,
                    kind.entity_fk: entity_id,
                    "locale": validate_locale(entry["locale"]),
                    "context_tag": entry.get("context_tag", "default"),
                    "text": entry["text"],
                    "origin": "curated",
                    "ai_model": None,
                    "version": 1,
                    "is_baseline": 1,
                    "job_id": None,
                    "created_at": stamp,
                    "updated_at": stamp,
                }
            )
            if row[kind.baseline_column] is None:
                row[kind.baseline_column] = text_id
        row["created_at"] = row["updated_at"] = stamp
        entities.append(row)
    return entities, texts


def _insert_all(conn: Tx, table: str, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    columns = list(rows[0])
    conn.executemany(
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})",
        [tuple(row[column] for column in columns) for row in rows],
    )


def load_sample_rows(conn: Tx) -> dict[str, int]:
    """Insert the sample catalog inside the caller's transaction, unless the catalog has rows.

    Returns the rows added per table: none when the catalog already holds
    movies or people.
    """
    if conn.execute(
        "SELECT EXISTS (SELECT 1 FROM movies UNION ALL SELECT 1 FROM people)"
    ).fetchone()[0]:
        return {}
    document = json.loads(sample_catalog_text())
    stamp = now()
    counts: dict[str, int] = {}
    for kind in (MOVIE, PERSON):
        entities, texts = _rows(kind, document[kind.plural], stamp)
        _insert_all(conn, kind.table, entities)
        _insert_all(conn, kind.text_table, texts)
        counts[kind.table] = len(entities)
        counts[kind.text_table] = len(texts)
    load_sample_credits(conn)
    return counts


def load_sample_catalog(database: Database) -> dict[str, int]:
    """:func:`load_sample_rows` in a transaction of its own."""
    with database.write() as conn:
        return load_sample_rows(conn)
