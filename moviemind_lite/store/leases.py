"""Leases in the database: ``SET key token NX PX ttl`` with an owner token and a fencing counter.

A lease row outlives its holders: releasing clears the owner but keeps the
counter, so every grant of a name gets a larger fencing token than the one
before. A holder that checks its token inside its write transaction learns
whether someone was granted the name after it (its lease expired mid-job) and
can refuse to write (:meth:`TableLeases.check_fence`). The ``redis`` locks
engine keeps its leases on Redis instead (see :mod:`moviemind_lite.store.locking`).
"""

from __future__ import annotations

from moviemind_lite.core.clock import SYSTEM_CLOCK, Clock
from moviemind_lite.core.errors import StaleWrite
from moviemind_lite.core.ids import new_owner_token, now
from moviemind_lite.store.db import Database, Tx
from moviemind_lite.store.locking import LeaseGrant

# Every StaleWrite message starts with this, so a failed job's stored error
# tells a refused stale write apart from other failures.
STALE_WRITE = "stale write refused"


def stale_write(name: str, current: int, grant: LeaseGrant) -> StaleWrite:
    """The error refusing the write of ``grant``'s holder: ``name`` is at ``current`` now."""
    return StaleWrite(
        f"{STALE_WRITE}: lease {name} is at fencing token {current}, "
        f"this holder has {grant.fencing_token}"
    )


class TableLeases:
    """The ``leases`` table: non-blocking acquire with a TTL, owner-only release, fencing."""

    def __init__(self, database: Database, clock: Clock = SYSTEM_CLOCK) -> None:
        self.database = database
        self.clock = clock  # decides expiry: SQL compares with the times passed in

    def acquire(self, name: str, ttl_ms: float) -> LeaseGrant | None:
        """Take ``name`` for ``ttl_ms`` unless a live lease holds it; ``None`` if one does."""
        owner, stamp = new_owner_token(), self.clock.stamp()
        expires = self.clock.stamp_after(ttl_ms)
        with self.database.write() as conn:
            row = conn.execute(
                "INSERT INTO leases (name, owner_token, expires_at, fencing_token, acquired_at) "
                "VALUES (:name, :owner, :expires, 1, :now) "
                "ON CONFLICT (name) DO UPDATE SET owner_token = excluded.owner_token, "
                "expires_at = excluded.expires_at, acquired_at = excluded.acquired_at, "
                "fencing_token = leases.fencing_token + 1 "
                "WHERE leases.owner_token IS NULL OR leases.expires_at <= :now "
                "RETURNING fencing_token",
                {"name": name, "owner": owner, "expires": expires, "now": stamp},
            ).fetchone()
        return None if row is None else LeaseGrant(name, owner, int(row[0]), expires)

    def release(self, grant: LeaseGrant) -> bool:
        """Give the lease back if ``grant`` still owns it; ``False`` if it was taken over."""
        with self.database.write() as conn:
            released = conn.execute(
                "UPDATE leases SET owner_token = NULL, expires_at = ? "
                "WHERE name = ? AND owner_token = ?",
                (self.clock.stamp(), grant.name, grant.owner_token),
            ).rowcount
        return released == 1

    def check_fence(self, tx: Tx, grant: LeaseGrant) -> None:
        """Raise ``StaleWrite`` if ``name`` was granted again after ``grant``.

        Meant to run inside the write transaction (a ``persist`` guard). The
        row is read for share, so no new grant can commit between the check
        and the write (SQLite's single writer gives that for free).
        """
        row = tx.execute(
            f"SELECT fencing_token FROM leases WHERE name = ?{tx.dialect.for_share}",
            (grant.name,),
        ).fetchone()
        current = int(row[0]) if row is not None else 0
        if current != grant.fencing_token:
            raise stale_write(grant.name, current, grant)


def lock_control_row(tx: Tx, name: str) -> None:
    """Lock the key's control row until ``tx`` ends: ``SELECT ... FOR UPDATE``.

    The row lives in ``leases`` (name prefixed ``for-update:``) and is never a
    lease. On PostgreSQL the row lock makes another transaction locking the
    same row wait, and nobody else; SQLite has no row locks, and its
    ``BEGIN IMMEDIATE`` already holds the whole database.
    """
    stamp = now()
    tx.execute(
        "INSERT INTO leases (name, owner_token, expires_at, fencing_token, acquired_at) "
        "VALUES (?, NULL, ?, 0, ?) ON CONFLICT (name) DO NOTHING",
        (name, stamp, stamp),
    )
    tx.execute(f"SELECT name FROM leases WHERE name = ?{tx.dialect.for_update}", (name,))
