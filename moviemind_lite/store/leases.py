"""Leases in SQLite: ``SET key token NX PX ttl`` with an owner token and a fencing counter.

A lease row outlives its holders: releasing clears the owner but keeps the
counter, so every grant of a name gets a larger fencing token than the one
before. A holder that checks its token inside its write transaction learns
whether someone was granted the name after it (its lease expired mid-job) and
can refuse to write (:meth:`Leases.check_fence`).
"""

from __future__ import annotations

from dataclasses import dataclass

from moviemind_lite.core.errors import StaleWrite
from moviemind_lite.core.ids import after, new_owner_token, now
from moviemind_lite.store.db import Database, Tx

# Every StaleWrite message starts with this, so a failed job's stored error
# tells a refused stale write apart from other failures.
STALE_WRITE = "stale write refused"


@dataclass(frozen=True)
class LeaseGrant:
    """One holder's grant of a lease: who holds it, until when, with which fencing token."""

    name: str
    owner_token: str
    fencing_token: int
    expires_at: str


class Leases:
    """The ``leases`` table: non-blocking acquire with a TTL, owner-only release, fencing."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def acquire(self, name: str, ttl_ms: float) -> LeaseGrant | None:
        """Take ``name`` for ``ttl_ms`` unless a live lease holds it; ``None`` if one does."""
        owner, stamp, expires = new_owner_token(), now(), after(ttl_ms)
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
                (now(), grant.name, grant.owner_token),
            ).rowcount
        return released == 1

    def check_fence(self, tx: Tx, grant: LeaseGrant) -> None:
        """Raise ``StaleWrite`` if ``name`` was granted again after ``grant``.

        Meant to run inside the write transaction (a ``persist`` guard), so no
        new grant can slip in between the check and the write.
        """
        row = tx.execute(
            "SELECT fencing_token FROM leases WHERE name = ?", (grant.name,)
        ).fetchone()
        current = int(row[0]) if row is not None else 0
        if current != grant.fencing_token:
            raise StaleWrite(
                f"{STALE_WRITE}: lease {grant.name} is at fencing token {current}, "
                f"this holder has {grant.fencing_token}"
            )


def lock_control_row(tx: Tx, name: str, holder: str) -> None:
    """Write the key's control row, the stand-in for ``SELECT ... FOR UPDATE``.

    The row lives in ``leases`` (name prefixed ``for-update:``) and is never a
    lease: its lock is the open transaction, gone at commit or rollback.
    """
    stamp = now()
    tx.execute(
        "INSERT INTO leases (name, owner_token, expires_at, fencing_token, acquired_at) "
        "VALUES (?, ?, ?, 0, ?) ON CONFLICT (name) DO UPDATE SET "
        "owner_token = excluded.owner_token, acquired_at = excluded.acquired_at",
        (name, holder, stamp, stamp),
    )
