"""A small answer cache in the database, shared by every process using it.

``show`` answers from it; any change to a baseline (a new one, an update in
place, a promotion) drops the entity's cached answers in the same transaction,
so the next ``show`` reads the new text.
"""

from __future__ import annotations

import json
from typing import Any

from moviemind_lite.core.domain import EntityKind
from moviemind_lite.core.ids import key_id, now
from moviemind_lite.store.db import Database, Tx


def cache_key(kind: EntityKind, slug: str, locale: str, context_tag: str) -> str:
    """The cache key of one answer."""
    return key_id("answer", kind.name, slug, locale, context_tag)


def lookup(database: Database, key: str) -> dict[str, Any] | None:
    """The cached answer under ``key``, or ``None``."""
    row = database.query_one("SELECT answer FROM answer_cache WHERE key = ?", (key,))
    return json.loads(row[0]) if row is not None else None


def store_if_free(
    database: Database, key: str, kind: EntityKind, entity_id: str, answer: dict[str, Any]
) -> bool:
    """Cache ``answer`` under ``key`` unless another writer holds the database; whether it did.

    A cache write must never make a read wait: when the write lock is taken
    the answer is simply not cached this time.
    """
    with database.write_if_free() as tx:
        if tx is None:
            return False
        store(tx, key, kind, entity_id, answer)
    return True


def store(tx: Tx, key: str, kind: EntityKind, entity_id: str, answer: dict[str, Any]) -> None:
    """Cache ``answer`` under ``key``."""
    tx.execute(
        "INSERT INTO answer_cache (key, kind, entity_id, answer, created_at) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET kind = excluded.kind, "
        "entity_id = excluded.entity_id, answer = excluded.answer, "
        "created_at = excluded.created_at",
        (key, kind.name, entity_id, json.dumps(answer, ensure_ascii=False), now()),
    )


def invalidate(tx: Tx, kind: EntityKind, entity_id: str) -> None:
    """Drop every cached answer about one entity."""
    tx.execute("DELETE FROM answer_cache WHERE kind = ? AND entity_id = ?", (kind.name, entity_id))
