"""The record of every AI call, shared by all threads and processes on the database."""

from __future__ import annotations

import os
from dataclasses import dataclass

from moviemind_lite.core.calls import AICall
from moviemind_lite.core.ids import now
from moviemind_lite.store.db import Database, Tx


@dataclass(frozen=True)
class CallUsage:
    """AI calls made so far and the tokens their servers reported (the mock reports none)."""

    calls: int = 0
    failed: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    abandoned: int = 0
    """Calls cut short by a crash: started, never ended, their claim taken back."""


def start_call(database: Database, key: str, job_id: str) -> int:
    """Record an AI call about to start (its own transaction, committed before the call)."""
    with database.write() as tx:
        row = tx.execute(
            "INSERT INTO ai_calls (key, ok, duration_ms, pid, at, state, job_id) "
            "VALUES (?, 0, 0, ?, ?, 'running', ?) RETURNING id",
            (key, os.getpid(), now(), job_id),
        ).fetchone()
    return int(row[0])


def cancel_call(database: Database, record_id: int) -> None:
    """Forget a started call that was never made (the circuit breaker refused it)."""
    with database.write() as tx:
        tx.execute("DELETE FROM ai_calls WHERE id = ? AND state = 'running'", (record_id,))


def abandon_calls(tx: Tx, job_id: str) -> int:
    """Mark ``job_id``'s calls still running as abandoned (their claim was taken back)."""
    return int(
        tx.execute(
            "UPDATE ai_calls SET state = 'abandoned' WHERE job_id = ? AND state = 'running'",
            (job_id,),
        ).rowcount
    )


def record_call(tx: Tx, call: AICall) -> None:
    """Close (or write) one AI call inside the caller's transaction (tokens: ``None`` when
    not reported). A call whose start was recorded has its row closed, even if it was
    marked abandoned meanwhile: it did end."""
    if call.record_id is not None:
        closed = tx.execute(
            "UPDATE ai_calls SET ok = ?, duration_ms = ?, prompt_tokens = ?, "
            "completion_tokens = ?, state = 'ended' WHERE id = ?",
            (
                int(call.ok),
                call.duration_ms,
                call.prompt_tokens,
                call.completion_tokens,
                call.record_id,
            ),
        ).rowcount
        if closed:
            return
        # Its start was written in a transaction that rolled back (for-update makes
        # its call inside its own transaction): written whole now.
    tx.execute(
        "INSERT INTO ai_calls (key, ok, duration_ms, pid, at, prompt_tokens, completion_tokens) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            call.key,
            int(call.ok),
            call.duration_ms,
            os.getpid(),
            now(),
            call.prompt_tokens,
            call.completion_tokens,
        ),
    )


class CallRecord:
    """Every AI call, in SQLite so that all threads and processes share one count."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def record(self, call: AICall) -> None:
        """Write one call in a transaction of its own (a job records its calls with its
        own writes, through :func:`record_call`)."""
        with self.database.write() as tx:
            record_call(tx, call)

    def counts(self) -> dict[str, int]:
        """Calls made per key, failed ones included (they are paid for too)."""
        rows = self.database.query("SELECT key, count(*) FROM ai_calls GROUP BY key")
        return {row[0]: int(row[1]) for row in rows}

    def total(self) -> int:
        """All calls made."""
        row = self.database.query_one("SELECT count(*) FROM ai_calls")
        return int(row[0]) if row else 0

    def usage(self) -> CallUsage:
        """All calls made (running and abandoned included), the failed and abandoned ones,
        and the tokens they used."""
        row = self.database.query_one(
            "SELECT count(*), "
            "count(CASE WHEN state = 'ended' AND ok = 0 THEN 1 END), "
            "coalesce(sum(prompt_tokens), 0), coalesce(sum(completion_tokens), 0), "
            "count(CASE WHEN state = 'abandoned' THEN 1 END) FROM ai_calls"
        )
        return CallUsage(*(int(value) for value in row)) if row else CallUsage()
