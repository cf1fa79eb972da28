"""The lab's engine outage: another connection holds the database, then drops its waiters.

A lesson about workers outliving their engines needs an engine that fails
under them without stopping anyone else's server. It opens a second
connection to its own scratch database and holds it: on SQLite a write
transaction (``BEGIN IMMEDIATE``), so every other connection's write waits
its busy timeout and fails; on PostgreSQL an ``ACCESS EXCLUSIVE`` lock on the
``jobs`` table, so every statement on it waits its lock timeout and fails.
On PostgreSQL the connections left waiting are then ended, as a restart ends
every connection (SQLSTATE 57P01), before the lock is let go.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from moviemind_lite.store.db import Database, Tx


@contextmanager
def engine_held(database: Database) -> Iterator[Tx]:
    """Hold ``database`` against every other connection for the block (see the module)."""
    with database.write() as tx:
        if tx.dialect.name == "postgresql":
            tx.execute("LOCK TABLE jobs IN ACCESS EXCLUSIVE MODE")
        yield tx


def drop_waiting_connections(tx: Tx) -> int:
    """End every connection waiting for a lock ``tx`` holds, as a restart would; how many.

    SQLite has no server and no connection to end: 0.
    """
    if tx.dialect.name != "postgresql":
        return 0
    row = tx.execute(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
        "WHERE pg_backend_pid() = ANY(pg_blocking_pids(pid))"
    ).fetchone()
    return int(row[0]) if row is not None else 0
