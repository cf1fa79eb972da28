"""The ``circuit_breakers`` table: one row per breaker, shared by every thread and process.

The state machine (thresholds, cool-down, probes) lives in
:mod:`moviemind_lite.ai.breaker`; this module only reads and writes the rows.
"""

from __future__ import annotations

from dataclasses import dataclass

from moviemind_lite.core.ids import now
from moviemind_lite.store.db import Database, Row, Tx

CLOSED = "closed"
# The columns a move may set besides the state (names go into the SQL text).
_MOVABLE = ("consecutive_failures", "open_until", "probe_until", "opened_count")


@dataclass(frozen=True)
class StoredBreaker:
    """One breaker as stored."""

    name: str
    state: str
    consecutive_failures: int
    open_until: str | None
    probe_until: str | None
    opened_count: int

    @property
    def closed_and_clean(self) -> bool:
        """Closed with no failure counted: the state a success leaves nothing to reset in."""
        return self.state == CLOSED and self.consecutive_failures == 0


def _breaker(row: Row) -> StoredBreaker:
    return StoredBreaker(
        name=row["name"],
        state=row["state"],
        consecutive_failures=int(row["consecutive_failures"]),
        open_until=row["open_until"],
        probe_until=row["probe_until"],
        opened_count=int(row["opened_count"]),
    )


def read_breaker(database: Database, name: str) -> StoredBreaker | None:
    """The breaker ``name`` as stored, read without a write lock; ``None`` if never stored."""
    row = database.query_one("SELECT * FROM circuit_breakers WHERE name = ?", (name,))
    return _breaker(row) if row is not None else None


def ensure_breaker(tx: Tx, name: str) -> StoredBreaker:
    """The breaker ``name`` inside the caller's transaction, stored closed if it was not."""
    tx.execute(
        "INSERT INTO circuit_breakers (name, state, updated_at) VALUES (?, ?, ?) "
        "ON CONFLICT (name) DO NOTHING",
        (name, CLOSED, now()),
    )
    # Locked until the transaction ends: the caller reads, decides and moves it.
    row = tx.execute(
        f"SELECT * FROM circuit_breakers WHERE name = ?{tx.dialect.for_update}", (name,)
    ).fetchone()
    return _breaker(row)


def move_breaker(tx: Tx, name: str, state: str, **columns: str | int | None) -> None:
    """Put breaker ``name`` in ``state``, setting the given columns (the others are kept)."""
    unknown = set(columns) - set(_MOVABLE)
    if unknown:
        raise ValueError(f"not a breaker column: {', '.join(sorted(unknown))}")
    assignments = "".join(f", {column} = :{column}" for column in columns)
    tx.execute(
        f"UPDATE circuit_breakers SET state = :state, updated_at = :now{assignments} "
        "WHERE name = :name",
        {"state": state, "now": now(), "name": name, **columns},
    )


def count_failure(tx: Tx, name: str, failures: int) -> None:
    """Record ``failures`` consecutive failures of breaker ``name``, its state unchanged."""
    tx.execute(
        "UPDATE circuit_breakers SET consecutive_failures = ?, updated_at = ? WHERE name = ?",
        (failures, now(), name),
    )
