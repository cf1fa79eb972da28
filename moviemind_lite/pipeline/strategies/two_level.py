"""``two-level`` (ADR-007, the shipped design): a slot at dispatch, UNIQUE at persist.

The slot spares the database; it never decides alone. A slot taken by a new
job is checked against the jobs table (the key's unfinished job, guarded by a
partial UNIQUE index), so a lock server that forgot its slots costs a look,
never a second job.
"""

from __future__ import annotations

import logging

from moviemind_lite.core.ids import new_id
from moviemind_lite.core.model import FINISHED, Job, JobOutcome, JobRequest
from moviemind_lite.pipeline.body import JobBody
from moviemind_lite.pipeline.strategies.base import Dispatch, StrategyContext
from moviemind_lite.store.db import Tx
from moviemind_lite.store.slots import slot_key

log = logging.getLogger("moviemind.jobs")


class TwoLevel:
    """One job per key while a job is on its way; the UNIQUE index catches the rest."""

    name = "two-level"

    def __init__(self, context: StrategyContext) -> None:
        self.context = context

    def peek(self, request: JobRequest, holder: Job | None) -> Job | None:
        """The unfinished job holding the key's live slot, seen without a write lock.

        Most requests in a herd end here; the write path below stays the one
        that decides when no live holder is seen.
        """
        return holder if holder is not None and holder.status not in FINISHED else None

    def dispatch(self, tx: Tx, request: JobRequest, claim_for: str | None = None) -> Dispatch:
        """Take the key's slot with a new job, or hand back the job holding it."""
        jobs, ttl, slots = (
            self.context.jobs,
            self.context.settings.slot_ttl_ms,
            self.context.locks.slots,
        )
        key, job_id = slot_key(request), new_id()
        holder_id = slots.acquire(tx, key, job_id, ttl)
        if holder_id != job_id:
            holder = jobs.find_in(tx, holder_id)
            if holder is not None and holder.status not in FINISHED:
                return Dispatch(holder, created=False)
            # The holder ended without releasing (its process died): start afresh.
        # The slot is ours, or free to take: the database decides whether a job is unfinished.
        if self.context.settings.job_guard:
            job, created = jobs.insert_or_join(tx, request, self.name, job_id, claimed_by=claim_for)
        else:  # the lab without the database's guards: the slot alone decides
            job, created = jobs.insert(tx, request, self.name, job_id, claimed_by=claim_for), True
        if job.id != holder_id:
            slots.take_over(tx, key, job.id, ttl)
        if not created:
            log.warning(
                "The slot did not name the key's unfinished job (lost or expired); joined it",
                extra={"fields": {"job_id": job.id, "slug": request.slug, "key": key}},
            )
        return Dispatch(job, created=created)

    def execute(self, body: JobBody) -> JobOutcome:
        """Look up, generate, persist; a clash at persist ends on the existing rows."""
        return body.run_checked()
