"""Generation slots: "a job for this key is already on its way".

A slot is an add-if-absent row with a TTL, keyed by the UUID v5 of kind, slug,
locale and context, holding the id of the job that took it. It is released
when that job ends; the TTL frees it if the job's process died for good.
"""

from __future__ import annotations

from moviemind_lite.core.ids import after, key_id, now
from moviemind_lite.core.model import Job, JobRequest
from moviemind_lite.store.db import Database, Tx


def slot_key(request: JobRequest) -> str:
    """The deterministic key of the slot guarding ``request``."""
    return key_id(request.kind, request.slug, request.locale, request.context_tag)


def holder(database: Database, key: str) -> Job | None:
    """The job holding the live slot ``key`` (finished or not), read without a write lock."""
    row = database.query_one(
        "SELECT jobs.* FROM generation_slots JOIN jobs ON jobs.id = generation_slots.job_id "
        "WHERE generation_slots.key = ? AND generation_slots.expires_at > ?",
        (key, now()),
    )
    return Job.from_row(row) if row is not None else None


def acquire_slot(tx: Tx, key: str, job_id: str, ttl_ms: float) -> str:
    """Take the slot for ``job_id`` unless a live one exists; return the holder's job id.

    One statement: insert, or take over an expired slot, and hand back the
    winner's job id either way.
    """
    stamp = now()
    row = tx.execute(
        "INSERT INTO generation_slots (key, job_id, expires_at, created_at) "
        "VALUES (:key, :job_id, :expires_at, :now) "
        "ON CONFLICT (key) DO UPDATE SET job_id = excluded.job_id, "
        "expires_at = excluded.expires_at, created_at = excluded.created_at "
        "WHERE generation_slots.expires_at <= :now "
        "RETURNING job_id",
        {"key": key, "job_id": job_id, "expires_at": after(ttl_ms), "now": stamp},
    ).fetchone()
    if row is not None:
        return str(row[0])
    holder = tx.execute("SELECT job_id FROM generation_slots WHERE key = ?", (key,)).fetchone()
    return str(holder[0])


def take_over_slot(tx: Tx, key: str, job_id: str, ttl_ms: float) -> None:
    """Give the slot to ``job_id`` whoever holds it (its holder is known to be finished)."""
    tx.execute(
        "INSERT INTO generation_slots (key, job_id, expires_at, created_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (key) DO UPDATE SET job_id = excluded.job_id, "
        "expires_at = excluded.expires_at, created_at = excluded.created_at",
        (key, job_id, after(ttl_ms), now()),
    )


def release_slot(tx: Tx, key: str, job_id: str) -> None:
    """Free the slot if ``job_id`` still holds it."""
    tx.execute("DELETE FROM generation_slots WHERE key = ? AND job_id = ?", (key, job_id))
