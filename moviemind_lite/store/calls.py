"""The record of every AI call, shared by all threads and processes on the database."""

from __future__ import annotations

import os
from dataclasses import dataclass

from moviemind_lite.core.ids import now
from moviemind_lite.store.db import Database


@dataclass(frozen=True)
class CallUsage:
    """AI calls made so far and the tokens their servers reported (the mock reports none)."""

    calls: int = 0
    failed: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0


class CallRecord:
    """Every AI call, in SQLite so that all threads and processes share one count."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def record(
        self,
        key: str,
        *,
        ok: bool,
        duration_ms: float,
        prompt_tokens: int | None = None,
        completion_tokens: int | None = None,
    ) -> None:
        """Write one call (its own transaction, or the caller's if one is open).

        Token counts are the server's (``None`` when it reported none).
        """
        with self.database.write() as conn:
            conn.execute(
                "INSERT INTO ai_calls (key, ok, duration_ms, pid, at, prompt_tokens, "
                "completion_tokens) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    key,
                    int(ok),
                    duration_ms,
                    os.getpid(),
                    now(),
                    prompt_tokens,
                    completion_tokens,
                ),
            )

    def counts(self) -> dict[str, int]:
        """Calls made per key, failed ones included (they are paid for too)."""
        rows = self.database.query("SELECT key, count(*) FROM ai_calls GROUP BY key")
        return {row[0]: int(row[1]) for row in rows}

    def total(self) -> int:
        """All calls made."""
        row = self.database.query_one("SELECT count(*) FROM ai_calls")
        return int(row[0]) if row else 0

    def usage(self) -> CallUsage:
        """All calls made, the failed ones, and the tokens they used."""
        row = self.database.query_one(
            "SELECT count(*), count(*) - coalesce(sum(ok), 0), coalesce(sum(prompt_tokens), 0), "
            "coalesce(sum(completion_tokens), 0) FROM ai_calls"
        )
        return CallUsage(*(int(value) for value in row)) if row else CallUsage()
