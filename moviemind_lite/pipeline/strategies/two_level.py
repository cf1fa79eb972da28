"""``two-level`` (ADR-007, the shipped design): a slot at dispatch, UNIQUE at persist."""

from __future__ import annotations

import sqlite3

from moviemind_lite.core.ids import new_id, now
from moviemind_lite.core.model import FINISHED, Job, JobOutcome, JobRequest
from moviemind_lite.pipeline.body import JobBody
from moviemind_lite.pipeline.strategies.base import Dispatch, StrategyContext, register
from moviemind_lite.store.slots import acquire_slot, slot_key, take_over_slot


@register("two-level")
class TwoLevel:
    """One job per key while a job is on its way; the UNIQUE index catches the rest."""

    name = "two-level"

    def __init__(self, context: StrategyContext) -> None:
        self.context = context

    def peek(self, request: JobRequest) -> Job | None:
        """The unfinished job holding the key's live slot, read without a write lock.

        Most requests in a herd end here; the write path below stays the one
        that decides when no live holder is seen.
        """
        database = self.context.database
        row = database.query_one(
            "SELECT jobs.* FROM generation_slots JOIN jobs ON jobs.id = generation_slots.job_id "
            "WHERE generation_slots.key = ? AND generation_slots.expires_at > ?",
            (slot_key(request), now()),
        )
        if row is None or row["status"] in FINISHED:
            return None
        return Job.from_row(row)

    def dispatch(self, conn: sqlite3.Connection, request: JobRequest) -> Dispatch:
        """Take the key's slot with a new job, or hand back the job holding it."""
        jobs, ttl = self.context.jobs, self.context.options.slot_ttl_ms
        key, job_id = slot_key(request), new_id()
        holder = acquire_slot(conn, key, job_id, ttl)
        if holder == job_id:
            return Dispatch(jobs.insert(conn, request, self.name, job_id), created=True)
        row = conn.execute("SELECT * FROM jobs WHERE id = ?", (holder,)).fetchone()
        if row is not None and row["status"] not in FINISHED:
            return Dispatch(Job.from_row(row), created=False)
        # The holder ended without releasing (its process died): start afresh.
        fresh = jobs.insert(conn, request, self.name)
        take_over_slot(conn, key, fresh.id, ttl)
        return Dispatch(fresh, created=True)

    def execute(self, body: JobBody) -> JobOutcome:
        """Look up, generate, persist; a clash at persist ends on the existing rows."""
        return body.run_checked()
