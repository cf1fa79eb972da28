"""``setnx``: ``SET key token NX PX ttl`` (Redlock-style), optionally with fencing.

A job tries to take the key's lease without waiting; a loser ends at once as
``in_progress_elsewhere`` (no AI call). A lease shorter than the AI call
expires mid-job and a second holder starts: without fencing both write; with
``fencing``, the write of a holder whose lease was granted again is refused
(``StaleWrite``) inside the write transaction.
"""

from __future__ import annotations

import sqlite3

from moviemind_lite.core.model import IN_PROGRESS_ELSEWHERE, JobOutcome
from moviemind_lite.pipeline.body import JobBody, WriteGuard
from moviemind_lite.pipeline.strategies.base import (
    LOCKED,
    NewJobPerRequest,
    StrategyContext,
    register,
)
from moviemind_lite.store.leases import LeaseGrant, Leases
from moviemind_lite.store.slots import slot_key


@register("setnx")
class SetNx(NewJobPerRequest):
    """A non-blocking lease per key with a TTL and an owner token; fencing optional."""

    name = "setnx"

    def __init__(self, context: StrategyContext) -> None:
        super().__init__(context)
        self.leases = Leases(context.database)

    def execute(self, body: JobBody) -> JobOutcome:
        """Take the lease or report "in progress"; run the body; release if still the owner."""
        options = self.context.options
        grant = self.leases.acquire(f"setnx:{slot_key(body.job.request)}", options.lease_ttl_ms)
        if grant is None:
            return JobOutcome(IN_PROGRESS_ELSEWHERE)
        body.phase(LOCKED)
        try:
            return body.run_checked(guard=self._fence(grant) if options.fencing else None)
        finally:
            self.leases.release(grant)

    def _fence(self, grant: LeaseGrant) -> WriteGuard:
        def check(conn: sqlite3.Connection) -> None:
            self.leases.check_fence(conn, grant)

        return check
