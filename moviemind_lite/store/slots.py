"""Generation slots: "a job for this key is already on its way".

A slot is an add-if-absent entry with a TTL, keyed by the UUID v5 of kind,
slug, locale and context, holding the id of the job that took it. It is
released when that job ends; the TTL frees it if the job's process died for
good. :class:`TableSlots` keeps them in the database's ``generation_slots``
table (the ``file`` locks engine); the ``redis`` engine keeps them on Redis
(see :mod:`moviemind_lite.store.locking`).
"""

from __future__ import annotations

from moviemind_lite.core.clock import SYSTEM_CLOCK, Clock
from moviemind_lite.core.ids import key_id
from moviemind_lite.core.model import JobRequest
from moviemind_lite.store.db import Database, Tx


def slot_key(request: JobRequest) -> str:
    """The deterministic key of the slot guarding ``request``."""
    return key_id(request.kind, request.slug, request.locale, request.context_tag)


def take_turns(tx: Tx, key: str) -> None:
    """Let the dispatches and job ends of slot ``key`` run one transaction at a time.

    A dispatch reads "no text stored" and then decides about the key's slot;
    a job's end writes the text and frees the slot. On PostgreSQL's READ
    COMMITTED both can interleave (the dispatch would read no text, then find
    the slot freed or its holder done, and start a second job); this lock on
    the key keeps them apart. SQLite's writers take turns anyway.
    """
    tx.lock_key(f"key:{key}")


class TableSlots:
    """Slots as rows of ``generation_slots``, written in the caller's transaction."""

    in_database = True

    def __init__(self, database: Database, clock: Clock = SYSTEM_CLOCK) -> None:
        self.database = database
        self.clock = clock  # decides expiry: SQL compares with the times passed in

    def acquire(self, tx: Tx, key: str, job_id: str, ttl_ms: float) -> str:
        """Take the slot for ``job_id`` unless a live one exists; return the holder's job id.

        One statement: insert, or take over an expired slot, and hand back the
        winner's job id either way. On PostgreSQL a dispatcher meeting another
        one's uncommitted slot waits for it at the unique key.
        """
        stamp = self.clock.stamp()
        row = tx.execute(
            "INSERT INTO generation_slots (key, job_id, expires_at, created_at) "
            "VALUES (:key, :job_id, :expires_at, :now) "
            "ON CONFLICT (key) DO UPDATE SET job_id = excluded.job_id, "
            "expires_at = excluded.expires_at, created_at = excluded.created_at "
            "WHERE generation_slots.expires_at <= :now "
            "RETURNING job_id",
            {
                "key": key,
                "job_id": job_id,
                "expires_at": self.clock.stamp_after(ttl_ms),
                "now": stamp,
            },
        ).fetchone()
        if row is not None:
            return str(row[0])
        holder = tx.execute("SELECT job_id FROM generation_slots WHERE key = ?", (key,)).fetchone()
        return str(holder[0])

    def take_over(self, tx: Tx, key: str, job_id: str, ttl_ms: float) -> None:
        """Give the slot to ``job_id`` whoever holds it (its holder is known to be finished)."""
        tx.execute(
            "INSERT INTO generation_slots (key, job_id, expires_at, created_at) "
            "VALUES (?, ?, ?, ?) "
            "ON CONFLICT (key) DO UPDATE SET job_id = excluded.job_id, "
            "expires_at = excluded.expires_at, created_at = excluded.created_at",
            (key, job_id, self.clock.stamp_after(ttl_ms), self.clock.stamp()),
        )

    def release(self, tx: Tx, key: str, job_id: str) -> None:
        """Free the slot if ``job_id`` still holds it, in the transaction that ends the job."""
        tx.execute("DELETE FROM generation_slots WHERE key = ? AND job_id = ?", (key, job_id))

    def holder_id(self, key: str) -> str | None:
        """The id of the job holding the live slot ``key``, or ``None``."""
        row = self.database.query_one(
            "SELECT job_id FROM generation_slots WHERE key = ? AND expires_at > ?",
            (key, self.clock.stamp()),
        )
        return None if row is None else str(row[0])

    def count_open(self) -> int:
        """How many slot rows are left."""
        row = self.database.query_one("SELECT count(*) FROM generation_slots")
        return int(row[0]) if row else 0
