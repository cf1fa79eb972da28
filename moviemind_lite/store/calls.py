"""The record of every AI call, shared by all threads and processes on the database."""

from __future__ import annotations

import os

from moviemind_lite.core.ids import now
from moviemind_lite.store.db import Database


class CallRecord:
    """Every AI call, in SQLite so that all threads and processes share one count."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def record(self, key: str, *, ok: bool, duration_ms: float) -> None:
        """Write one call (its own transaction, or the caller's if one is open)."""
        with self.database.write() as conn:
            conn.execute(
                "INSERT INTO ai_calls (key, ok, duration_ms, pid, at) VALUES (?, ?, ?, ?, ?)",
                (key, int(ok), duration_ms, os.getpid(), now()),
            )

    def counts(self) -> dict[str, int]:
        """Calls made per key, failed ones included (they are paid for too)."""
        rows = self.database.query("SELECT key, count(*) FROM ai_calls GROUP BY key")
        return {row[0]: int(row[1]) for row in rows}

    def total(self) -> int:
        """All calls made."""
        row = self.database.query_one("SELECT count(*) FROM ai_calls")
        return int(row[0]) if row else 0
