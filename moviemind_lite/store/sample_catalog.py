"""The sample catalog: real movies and people, some with curated texts.

Installed wheels carry it as ``moviemind_lite/sample_catalog.json``; a source
checkout reads ``data/catalog.json`` directly.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from moviemind_lite.core.domain import MOVIE, PERSON, EntityKind, validate_locale, validate_slug
from moviemind_lite.core.ids import new_id, now
from moviemind_lite.store.db import Database

_TEXT_LISTS = {MOVIE.name: "descriptions", PERSON.name: "bios"}


def sample_catalog_text() -> str:
    """The JSON text of the sample catalog shipped with MovieMind."""
    packaged = resources.files("moviemind_lite").joinpath("sample_catalog.json")
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    checkout = Path(__file__).resolve().parents[2] / "data" / "catalog.json"
    return checkout.read_text(encoding="utf-8")


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


def load_sample_catalog(database: Database) -> dict[str, int]:
    """Bulk-load the sample catalog into an empty catalog, in one transaction.

    Returns the rows added per table: none when the catalog already holds
    movies or people (so processes opening a new database together load it once).
    """
    document = json.loads(sample_catalog_text())
    stamp = now()
    counts: dict[str, int] = {}
    with database.write() as conn:
        if conn.execute(
            "SELECT EXISTS (SELECT 1 FROM movies UNION ALL SELECT 1 FROM people)"
        ).fetchone()[0]:
            return counts
        db = database.utils()
        for kind in (MOVIE, PERSON):
            entities, texts = _rows(kind, document[kind.plural], stamp)
            db.table(kind.table).insert_all(entities)
            db.table(kind.text_table).insert_all(texts)
            counts[kind.table] = len(entities)
            counts[kind.text_table] = len(texts)
    return counts
