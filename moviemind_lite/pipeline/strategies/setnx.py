"""``setnx``: ``SET key token NX PX ttl``, a single-instance lease, optionally with fencing.

Not Redlock: Redlock takes a majority of independent Redis masters within a
validity time adjusted for clock drift, and gives no fencing token. This is
one lease in one place: a row of the database's ``leases`` table, or a key
on one Redis server with an ``INCR`` counter as its fencing token (ours, and
monotonic only while that Redis keeps its data).

A job tries to take the key's lease without waiting; a loser ends at once as
``in_progress_elsewhere`` (no AI call). A lease shorter than the AI call
expires mid-job and a second holder starts: without fencing both write; with
``fencing``, the write of a holder whose lease was granted again is refused
(``StaleWrite``) inside the write transaction.
"""

from __future__ import annotations

from moviemind_lite.core.model import IN_PROGRESS_ELSEWHERE, JobOutcome
from moviemind_lite.pipeline.body import LOCKED, JobBody
from moviemind_lite.pipeline.strategies.base import NewJobPerRequest, StrategyContext
from moviemind_lite.store.slots import slot_key


class SetNx(NewJobPerRequest):
    """A non-blocking lease per key with a TTL and an owner token; fencing optional."""

    name = "setnx"

    def __init__(self, context: StrategyContext) -> None:
        super().__init__(context)
        self.leases = context.locks.leases

    def execute(self, body: JobBody) -> JobOutcome:
        """Take the lease or report "in progress"; run the body; release if still the owner."""
        settings = self.context.settings
        grant = self.leases.acquire(f"setnx:{slot_key(body.job.request)}", settings.setnx_lease_ms)
        if grant is None:
            return JobOutcome(IN_PROGRESS_ELSEWHERE)
        body.phase(LOCKED)
        try:
            return body.run_checked(fence=grant if settings.fencing else None)
        finally:
            self.leases.release(grant)
