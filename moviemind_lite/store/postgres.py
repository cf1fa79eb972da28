"""The PostgreSQL engine: a psycopg 3 connection pool, transactions, domain errors.

Imported only when a database URL names PostgreSQL (see
:data:`moviemind_lite.store.db.DATABASE_ENGINES`), so it imports its client
at the top like any module, and a process on SQLite never loads psycopg.

Connections come from a :class:`psycopg_pool.ConnectionPool` and run in
autocommit mode: a read borrows one for its statement, a write transaction
keeps one (``BEGIN`` at READ COMMITTED) until it ends, and a thread inside a
write transaction reads inside it. Unlike SQLite, write transactions run side
by side: where the store reads a row before changing it, it locks the row
(``FOR UPDATE``, ``FOR SHARE``, ``SKIP LOCKED`` when claiming jobs), and where
it must decide about a key nobody has a row for yet, it takes a transaction
advisory lock on the key (:meth:`PostgresTx.lock_key`).

The store's SQL is written with ``?`` and ``:name`` placeholders; this module
rewrites them to psycopg's ``%s`` and ``%(name)s`` once per statement text.

A server that stops answering (SIGSTOP, a stalled host) is not seen by TCP:
the kernel still acknowledges what is sent, so keepalives and the server's own
timeouts never fire. Every statement therefore watches its connection
(:class:`WatchedConnection`): silent for longer than the engine wait, it asks
the server for a fresh connection; a server that answers is busy (a lock wait,
which its own lock timeout bounds) and is waited for again, a server that does
not is stalled, and the statement's connection is closed and the caller hears
``EngineTimeout`` naming PostgreSQL.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import psycopg
import psycopg_pool.base
from psycopg import errors as pg_errors
from psycopg.abc import PQGen
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import RowMaker
from psycopg_pool import ConnectionPool, PoolTimeout

from moviemind_lite.core.config import ServiceUrl
from moviemind_lite.core.errors import (
    ConstraintViolation,
    EngineTimeout,
    ServiceUnavailable,
    StoreError,
    UniqueViolation,
)
from moviemind_lite.store.db import Database, Params, Row, Tx
from moviemind_lite.store.dialects import POSTGRESQL, Dialect

log = logging.getLogger("moviemind.store")

# Connections one process keeps at most; a thread waiting for one waits as long
# as it would wait for a lock (the busy timeout).
POOL_SIZE = 16
CONNECT_TIMEOUT_S = 10
# How long a probe of a silent server may take to connect (libpq's least connect timeout).
PROBE_CONNECT_S = 2
# The pool reconnects to a restarted server every second (with its jitter), not after
# waits that double without a cap (1, 2, 4, 8, 16 s...): a 2 s outage cost a worker 15 s.
# The class is psycopg_pool's own (AttemptWithBackoff; ConnectionAttempt before 3.2).
for _name in ("AttemptWithBackoff", "ConnectionAttempt"):
    if hasattr(psycopg_pool.base, _name):
        getattr(psycopg_pool.base, _name).DELAY_BACKOFF = 1.0
_TOKENS = re.compile(r"'(?:[^']|'')*'|\"[^\"]*\"|::|\?|:[A-Za-z_]\w*|%")
_KEY_COLUMNS = re.compile(r"Key \(([^)]*)\)=")
_FIX = "(check MOVIEMIND_DATABASE_URL or --database-url)"
# SQLSTATE classes of a server going away: 08 (connection), 57P (shutdown, starting up).
_GONE_SQLSTATES = ("08", "57P")


@lru_cache(maxsize=4096)
def to_pyformat(sql: str) -> str:
    """``sql`` with ``?`` as ``%s``, ``:name`` as ``%(name)s`` and ``%`` as ``%%``.

    Quoted strings and ``::`` casts keep their ``?`` and ``:`` (a ``%`` in a
    string literal is doubled too: psycopg reads every ``%``).
    """

    def swap(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "?":
            return "%s"
        if token == "%":
            return "%%"
        if token.startswith(":") and token != "::":
            return f"%({token[1:]})s"
        return token.replace("%", "%%")

    return _TOKENS.sub(swap, sql)


class PgRow:
    """A row by position and by column name, as ``sqlite3.Row`` is."""

    __slots__ = ("_index", "_values")

    def __init__(self, values: Sequence[Any], index: dict[str, int]) -> None:
        self._values = values
        self._index = index

    def __getitem__(self, key: int | str) -> Any:
        return self._values[self._index[key] if isinstance(key, str) else key]

    def keys(self) -> list[str]:
        """The column names."""
        return list(self._index)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


def pg_rows(cursor: psycopg.Cursor[Any]) -> RowMaker[PgRow]:
    """psycopg's row factory making :class:`PgRow` rows."""
    description = cursor.description or []
    index = {column.name: position for position, column in enumerate(description)}

    def make(values: Sequence[Any]) -> PgRow:
        return PgRow(values, index)

    return make


def translate(error: psycopg.Error, where: str) -> StoreError:
    """The domain error for a psycopg error raised while using the database at ``where``."""
    diag = error.diag
    first_line = (diag.message_primary or str(error)).splitlines()[0] if str(error) else ""
    if isinstance(error, pg_errors.UniqueViolation):
        match = _KEY_COLUMNS.search(diag.message_detail or "")
        table = diag.table_name or "?"
        constraint = (
            ", ".join(f"{table}.{column.strip()}" for column in match.group(1).split(","))
            if match
            else diag.constraint_name or first_line
        )
        return UniqueViolation(constraint, code=diag.sqlstate or "23505")
    if isinstance(error, psycopg.IntegrityError):
        return ConstraintViolation(first_line)
    if isinstance(error, pg_errors.LockNotAvailable):
        return EngineTimeout(f"PostgreSQL at {where} stayed locked longer than the lock timeout")
    if isinstance(error, pg_errors.QueryCanceled):
        return EngineTimeout(
            f"PostgreSQL at {where} did not answer within the statement timeout {_FIX}"
        )
    if (diag.sqlstate or "").startswith(_GONE_SQLSTATES):
        # The server is shutting down, starting up, or dropped the connection.
        return ServiceUnavailable(f"cannot use PostgreSQL at {where}: {first_line} {_FIX}")
    if isinstance(error, psycopg.OperationalError) and diag.sqlstate is None:
        # No SQLSTATE: the server was never reached, or closed the connection.
        reason = " ".join(str(error).split()) or type(error).__name__
        return ServiceUnavailable(f"cannot use PostgreSQL at {where}: {reason} {_FIX}")
    if isinstance(error, pg_errors.InvalidPassword | pg_errors.InvalidAuthorizationSpecification):
        return ServiceUnavailable(f"PostgreSQL at {where} refused the login: {first_line} {_FIX}")
    if isinstance(error, pg_errors.InvalidCatalogName):
        return ServiceUnavailable(f"PostgreSQL at {where}: {first_line} (create it first)")
    return StoreError(f"{where}: {first_line}")


class SilenceWatch:
    """How long a connection may hear nothing before the server is asked if it lives."""

    def __init__(self, conninfo: str, where: str, silence_s: float) -> None:
        self.conninfo = conninfo
        self.where = where
        self.silence_s = silence_s

    def server_answers(self) -> bool:
        """Whether the server takes a new connection and answers ``SELECT 1`` (a short probe)."""
        try:
            with psycopg.connect(
                self.conninfo, autocommit=True, connect_timeout=PROBE_CONNECT_S
            ) as probe:
                probe.execute("SELECT 1")
        except psycopg.Error:
            return False
        return True

    def stalled(self) -> EngineTimeout:
        """The error a caller hears when the server stopped answering."""
        return EngineTimeout(
            f"PostgreSQL at {self.where} did not answer within {self.silence_s:g} s "
            f"and takes no new connection {_FIX}"
        )


class WatchedConnection(psycopg.Connection[PgRow]):
    """A connection whose statements give up on a stalled server (see the module)."""

    watch: SilenceWatch | None = None

    def wait(self, gen: PQGen[Any], interval: float = 0.1, timeout: float | None = None) -> Any:
        """psycopg's wait for ``gen``, watched for a silent server."""
        if self.watch is None or timeout is not None:
            return super().wait(gen, interval, timeout)
        return super().wait(self._watched(gen, self.watch), interval, timeout)

    def _watched(self, gen: PQGen[Any], watch: SilenceWatch) -> Generator[Any, Any, Any]:
        # psycopg's wait sends a falsy "ready" every interval the socket stays quiet.
        heard = time.monotonic()
        try:
            state = next(gen)
            while True:
                ready = yield state
                if ready:
                    heard = time.monotonic()
                elif time.monotonic() - heard >= watch.silence_s:
                    if not watch.server_answers():
                        # The statement cannot be taken back from a stopped server: the
                        # connection goes (the pool replaces it), the caller hears why.
                        self.close()
                        raise watch.stalled()
                    heard = time.monotonic()  # busy, not stalled: its own timeouts bound it
                state = gen.send(ready)
        except StopIteration as stop:
            return stop.value


class PostgresTx:
    """A transaction on one pooled connection (see :class:`~moviemind_lite.store.db.Tx`)."""

    dialect: Dialect = POSTGRESQL

    def __init__(self, conn: psycopg.Connection[PgRow], where: str) -> None:
        self.conn = conn
        self.where = where
        self.committed_actions: list[Callable[[], None]] = []
        # Advisory locks already held: a transaction keeps them to its end.
        self.locked: set[str] = set()
        # Statements whose results nobody reads (BEGIN, advisory locks): they go to the
        # server in one pipeline with the next statement, not in round trips of their own.
        self.unsent: list[tuple[bytes, Params]] = [(b"BEGIN", ())]
        self.begun = False

    def _send(self, sql: bytes | str, params: Params = ()) -> psycopg.Cursor[PgRow]:
        """``sql``, after the unsent statements, in one round trip (psycopg errors raise)."""
        if not self.unsent:
            return self.conn.execute(sql, params)
        with self.conn.pipeline():
            self._send_unsent()
            return self.conn.execute(sql, params)

    def _send_unsent(self) -> None:
        """Queue the unsent statements (inside a pipeline, or one by one outside)."""
        unsent, self.unsent = self.unsent, []
        for statement, params in unsent:
            self.begun = self.begun or statement == b"BEGIN"
            self.conn.execute(statement, params)

    def flush(self) -> None:
        """Send the unsent statements now (before a block that talks to the server itself)."""
        if self.unsent:
            try:
                with self.conn.pipeline():
                    self._send_unsent()
            except psycopg.Error as error:
                raise translate(error, self.where) from error

    def commit(self) -> None:
        """``COMMIT`` (with anything unsent); nothing at all if nothing was sent."""
        if self.unsent == [(b"BEGIN", ())]:
            return  # the transaction never ran a statement
        try:
            self._send(b"COMMIT")
        except psycopg.Error as error:
            raise translate(error, self.where) from error

    def rollback(self) -> None:
        """``ROLLBACK`` whatever was sent; the unsent statements are dropped."""
        self.unsent = []
        if self.begun:
            try:
                self.conn.execute(b"ROLLBACK")
            except (psycopg.Error, StoreError) as error:
                # The connection is broken: the pool discards it when it comes back.
                log.debug("ROLLBACK failed", extra={"fields": {"error": str(error)}})

    def execute(self, sql: str, params: Params = ()) -> psycopg.Cursor[PgRow]:
        """Run one statement; its error as a domain error."""
        try:
            return self._send(to_pyformat(sql), params)
        except psycopg.Error as error:
            raise translate(error, self.where) from error

    def attempt(self, sql: str, params: Params = ()) -> psycopg.Cursor[PgRow]:
        """Run one statement in a savepoint: if it fails, the transaction goes on.

        ``SAVEPOINT``, the statement and ``RELEASE`` go to the server together
        in pipeline mode: one round trip where three would be sent one by one.
        A failed statement skips the ``RELEASE``; ``ROLLBACK TO`` the savepoint
        then puts the transaction back (one more round trip, on failure only).
        """
        try:
            with self.conn.pipeline():
                self._send_unsent()
                self.conn.execute(b"SAVEPOINT moviemind_attempt")
                cursor = self.conn.execute(to_pyformat(sql), params)
                self.conn.execute(b"RELEASE SAVEPOINT moviemind_attempt")
        except psycopg.Error as error:
            try:
                self.conn.execute(b"ROLLBACK TO SAVEPOINT moviemind_attempt")
                self.conn.execute(b"RELEASE SAVEPOINT moviemind_attempt")
            except psycopg.Error as undo:
                raise translate(undo, self.where) from error
            raise translate(error, self.where) from error
        return cursor

    def executemany(self, sql: str, rows: Sequence[Params]) -> int:
        """Run one statement for each of ``rows`` (psycopg pipelines them); how many rows
        they changed in all."""
        self.flush()
        try:
            with self.conn.cursor() as cursor:
                cursor.executemany(to_pyformat(sql), rows)
                return cursor.rowcount
        except psycopg.Error as error:
            raise translate(error, self.where) from error

    def run_script(self, script: str) -> None:
        """Run several statements, sent as one (no parameters)."""
        self.flush()
        try:
            self.conn.execute(script.encode())
        except psycopg.Error as error:
            raise translate(error, self.where) from error

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A savepoint for the block: an error inside undoes only the block's writes."""
        self.flush()  # psycopg's savepoint needs the transaction begun
        try:
            with self.conn.transaction():
                yield
        except psycopg.Error as error:
            raise translate(error, self.where) from error

    def lock_key(self, key: str) -> None:
        """A transaction advisory lock on ``key`` (within this schema), held until the end."""
        if key in self.locked:
            return
        self.locked.add(key)
        # Sent with the next statement: it waits for the lock, so that statement runs after.
        self.unsent.append(
            (
                b"SELECT pg_advisory_xact_lock(hashtextextended(current_schema() || ':' || %s, 0))",
                (key,),
            )
        )

    def on_commit(self, action: Callable[[], None]) -> None:
        """Run ``action`` once the transaction has committed."""
        self.committed_actions.append(action)


class PostgresDatabase(Database):
    """A PostgreSQL database (in the URL's schema, if it names one) through a pool."""

    dialect = POSTGRESQL

    def __init__(
        self,
        url: ServiceUrl,
        busy_timeout_ms: int,
        pool_size: int = POOL_SIZE,
        engine_wait_ms: float = 10_000,
    ) -> None:
        super().__init__()
        self.description = str(url)
        self.schema = url.namespace
        # Every wait is bounded: a lock by the busy timeout, a statement by the longer of
        # it and 30 s (bulk writes), a pooled connection and a silent server by the
        # engine wait (then the caller hears "PostgreSQL at ... " and a request answers
        # 503 with Retry-After).
        settings = [
            f"-c lock_timeout={max(int(busy_timeout_ms), 1)}",
            f"-c statement_timeout={max(int(busy_timeout_ms), 30_000)}",
        ]
        if self.schema is not None:
            settings.append(f"-c search_path={self.schema}")
        conninfo = self._conninfo(url, " ".join(settings))
        self._conninfo_text = conninfo
        self._errors_where = self.description
        # One connection first, outside the pool: its error says what is wrong
        # (refused, no such database, wrong password) where the pool would only
        # time out. It also makes the schema the URL names.
        with self.errors():
            first = psycopg.connect(conninfo, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S)
            try:
                if self.schema is not None:
                    first.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"'.encode())
            finally:
                first.close()
        engine_wait_s = engine_wait_ms / 1000
        watch = SilenceWatch(conninfo, self.description, engine_wait_s)

        def watched(conn: WatchedConnection) -> None:
            conn.watch = watch

        self.pool: ConnectionPool[WatchedConnection] = ConnectionPool(
            conninfo,
            connection_class=WatchedConnection,
            kwargs={"autocommit": True, "row_factory": pg_rows},
            configure=watched,
            min_size=1,
            max_size=pool_size,
            timeout=min(max(busy_timeout_ms / 1000, 0.1), engine_wait_s),
            name=f"moviemind {self.description}",
            open=True,
        )

    @staticmethod
    def _conninfo(url: ServiceUrl, settings: str) -> str:
        given = conninfo_to_dict(url.client_url())
        options = " ".join(part for part in (str(given.pop("options", "")), settings) if part)
        timeout = given.pop("connect_timeout", CONNECT_TIMEOUT_S)
        # TCP keepalives find a server host that vanished (a network cut, a dead VM)
        # within about 11 s instead of the kernel's two hours.
        keepalives = {"keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2}
        keepalives["keepalives_count"] = 3
        for name, value in keepalives.items():
            given.setdefault(name, value)
        return make_conninfo("", **given, options=options, connect_timeout=timeout)

    @contextmanager
    def errors(self) -> Iterator[None]:
        """Turn psycopg errors raised inside the block into domain errors."""
        try:
            yield
        except psycopg.Error as error:
            raise translate(error, self._errors_where) from error
        except PoolTimeout:
            raise EngineTimeout(
                f"PostgreSQL at {self.description} gave no connection within "
                f"{self.pool.timeout:g} s {_FIX}"
            ) from None

    def _write(self) -> Iterator[Tx]:
        """A transaction on a pooled connection: committed on success, rolled back on error."""
        with self.errors(), self.pool.connection() as conn:
            yield from self._run(conn)

    def _run(self, conn: psycopg.Connection[PgRow]) -> Iterator[PostgresTx]:
        tx = PostgresTx(conn, self.description)
        # BEGIN goes with the transaction's first statement, COMMIT with its unsent ones.
        with self.holding(tx, tx.committed_actions):
            try:
                yield tx
            except BaseException:
                tx.rollback()
                raise
            tx.commit()

    def _write_if_free(self) -> Iterator[Tx | None]:
        """``None`` at once when no pooled connection is free, else a transaction.

        PostgreSQL has no database-wide write lock to wait for: an optional
        write waits only if every connection of this process is busy.
        """
        try:
            conn = self.pool.getconn(timeout=0.001)
        except PoolTimeout:
            yield None
            return
        try:
            with self.errors():
                yield from self._run(conn)
        finally:
            self.pool.putconn(conn)

    def query(self, sql: str, params: Params = ()) -> list[Row]:
        """All rows of a read-only statement."""
        joined = self.held()
        if joined is not None:
            return list(joined.execute(sql, params).fetchall())
        with self.errors(), self.pool.connection() as conn:
            return list(conn.execute(to_pyformat(sql), params).fetchall())

    def query_one(self, sql: str, params: Params = ()) -> Row | None:
        """The first row of a read-only statement, or ``None``."""
        joined = self.held()
        if joined is not None:
            row: Row | None = joined.execute(sql, params).fetchone()
            return row
        with self.errors(), self.pool.connection() as conn:
            found: PgRow | None = conn.execute(to_pyformat(sql), params).fetchone()
            return found

    def listen(self, channel: str) -> NotifyListener:
        """A connection of its own listening on ``channel`` (``LISTEN``)."""
        with self.errors():
            return NotifyListener(self._conninfo_text, channel, self.description)

    def close(self) -> None:
        """Close the pool and every connection in it."""
        self.pool.close()
        self.forget_threads()


class NotifyListener:
    """A connection outside the pool that listens on one channel (one thread uses it)."""

    def __init__(self, conninfo: str, channel: str, where: str) -> None:
        self.where = where
        self.conn = psycopg.connect(conninfo, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S)
        self.conn.execute(f'LISTEN "{channel}"'.encode())

    def payloads(self, timeout_s: float) -> list[str]:
        """The payloads that arrived, waiting at most ``timeout_s`` for the first."""
        try:
            return [note.payload for note in self.conn.notifies(timeout=timeout_s, stop_after=1)]
        except psycopg.Error as error:
            raise translate(error, self.where) from error

    def close(self) -> None:
        """Close the connection (its ``LISTEN`` ends with it)."""
        self.conn.close()


def discard(url: ServiceUrl) -> None:
    """Drop the schema ``url`` names, with everything in it (never a URL without one)."""
    if url.namespace is None:
        raise ValueError("refusing to drop a database that names no schema of its own")
    where = str(url)
    try:
        with psycopg.connect(PostgresDatabase._conninfo(url, ""), autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{url.namespace}" CASCADE'.encode())
    except psycopg.Error as error:
        raise translate(error, where) from error


def open_database(
    url: ServiceUrl, busy_timeout_ms: int, engine_wait_ms: float = 10_000
) -> PostgresDatabase:
    """The PostgreSQL database of a ``postgresql://`` URL, connected once to check it."""
    return PostgresDatabase(url, busy_timeout_ms, engine_wait_ms=engine_wait_ms)
