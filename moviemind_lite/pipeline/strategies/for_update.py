"""``for-update``: ``SELECT ... FOR UPDATE`` on a control row, held across the body.

On PostgreSQL this would lock one control row per key. SQLite has no row
locks: ``BEGIN IMMEDIATE`` takes the database's single write lock, so holding
it across the AI call serialises every job and every dispatch, whatever their
key. Correct, and the lab shows what it costs.
"""

from __future__ import annotations

import sqlite3

from moviemind_lite.core.errors import AIError
from moviemind_lite.core.ids import now
from moviemind_lite.core.model import JobOutcome
from moviemind_lite.pipeline.body import JobBody
from moviemind_lite.pipeline.strategies.base import (
    LOCKED,
    WAITING,
    NewJobPerRequest,
    register,
)
from moviemind_lite.store.slots import slot_key


def lock_control_row(conn: sqlite3.Connection, name: str, holder: str) -> None:
    """Write the key's control row, the stand-in for ``SELECT ... FOR UPDATE``.

    The row lives in ``leases`` (name prefixed ``for-update:``) and is never a
    lease: its lock is the open transaction, gone at commit or rollback.
    """
    stamp = now()
    conn.execute(
        "INSERT INTO leases (name, owner_token, expires_at, fencing_token, acquired_at) "
        "VALUES (?, ?, ?, 0, ?) ON CONFLICT (name) DO UPDATE SET "
        "owner_token = excluded.owner_token, acquired_at = excluded.acquired_at",
        (name, holder, stamp, stamp),
    )


@register("for-update")
class ForUpdate(NewJobPerRequest):
    """Look-up, AI call and persist inside one ``BEGIN IMMEDIATE`` transaction."""

    name = "for-update"

    def execute(self, body: JobBody) -> JobOutcome:
        """Hold the write lock across the whole body; reuse what an earlier holder wrote."""
        if body.job.action == "regenerate":
            # Regenerating appends or updates under its own narrow lock and
            # never clashes; only the first write needs the control row.
            return body.run_checked()
        failure: AIError | None = None
        body.phase(WAITING)
        with self.context.database.write() as conn:
            lock_control_row(conn, f"for-update:{slot_key(body.job.request)}", body.job.id)
            body.phase(LOCKED)
            # The body reads through this thread's connection: inside this
            # transaction, so the look-up sees every earlier holder's commit.
            stored = body.stored_outcome()
            if stored is not None:
                return stored
            facts = body.facts()
            try:
                text = body.generate(facts)
            except AIError as error:
                # The call was recorded on this connection, inside this
                # transaction: commit it (a failed call is paid for too), then fail.
                failure = error
            else:
                return body.persist_in(conn, text, facts)
        raise failure
