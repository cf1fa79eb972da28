"""``for-update``: ``SELECT ... FOR UPDATE`` on a control row, held across the body.

On PostgreSQL this locks one control row per key: jobs for the same key queue
behind the holder's AI call, jobs for other keys run beside it. SQLite has no
row locks: ``BEGIN IMMEDIATE`` takes the database's single write lock, so
holding it across the AI call serialises every job and every dispatch,
whatever their key. Correct on both; the lab shows what each costs.
"""

from __future__ import annotations

from moviemind_lite.core.model import JobOutcome
from moviemind_lite.pipeline.body import LOCKED, WAITING, JobBody
from moviemind_lite.pipeline.strategies.base import NewJobPerRequest
from moviemind_lite.store.leases import lock_control_row
from moviemind_lite.store.slots import slot_key


class ForUpdate(NewJobPerRequest):
    """Look-up, AI call and persist inside one transaction holding the key's control row."""

    name = "for-update"

    def execute(self, body: JobBody) -> JobOutcome:
        """Hold the write lock across the whole body; reuse what an earlier holder wrote."""
        if body.job.action == "regenerate":
            # Regenerating appends or updates under its own narrow lock and
            # never clashes; only the first write needs the control row.
            return body.run_checked()
        body.phase(WAITING)
        # A failed AI call rolls the control row back and leaves the call for
        # the runner to record with the failed attempt.
        with self.context.database.write() as tx:
            lock_control_row(tx, f"for-update:{slot_key(body.job.request)}")
            body.phase(LOCKED)
            # The body reads through this thread's connection: inside this
            # transaction, so the look-up sees every earlier holder's commit.
            stored = body.stored_outcome()
            if stored is not None:
                return stored
            facts = body.facts()
            return body.persist_in(tx, body.generate(facts), facts)
