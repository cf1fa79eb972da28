"""The ``events`` table: an audit trail of who changed what, when.

Each event has a kind (``flag.changed``, ``rollout.advanced``, ...), a subject
(the flag's name) and a JSON object of details, which always says the
environment it happened in.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from moviemind_lite.core.ids import new_id
from moviemind_lite.store.db import Database, Tx


@dataclass(frozen=True)
class Event:
    """One recorded event."""

    at: str
    kind: str
    subject: str
    actor: str
    data: dict[str, Any]


def record_event(
    tx: Tx, *, kind: str, subject: str, actor: str, at: str, data: Mapping[str, Any]
) -> None:
    """Add one event to the trail inside the caller's transaction."""
    tx.execute(
        "INSERT INTO events (id, at, kind, subject, actor, data) VALUES (?, ?, ?, ?, ?, ?)",
        (new_id(), at, kind, subject, actor, json.dumps(data)),
    )


def recent_events(
    database: Database, kind: str, subject: str, environment: str, limit: int
) -> list[Event]:
    """The last ``limit`` events of ``kind`` about ``subject`` in ``environment``, newest first."""
    dialect = database.dialect
    rows = database.query(
        "SELECT at, kind, subject, actor, data FROM events "
        f"WHERE kind = ? AND subject = ? AND {dialect.json_field('data', 'environment')} = ? "
        f"ORDER BY at DESC, {dialect.insertion_order} DESC LIMIT ?",
        (kind, subject, environment, limit),
    )
    return [
        Event(row["at"], row["kind"], row["subject"], row["actor"], json.loads(row["data"]))
        for row in rows
    ]
