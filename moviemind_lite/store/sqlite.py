"""The SQLite engine: one connection per thread, explicit transactions, domain errors.

Connections run in autocommit mode (``isolation_level=None``) and every write
opens ``BEGIN IMMEDIATE``: in WAL mode a deferred transaction that reads and
then writes fails at once with SQLITE_BUSY whatever the busy timeout says,
while an immediate one waits its turn. Write transactions therefore run one
at a time across every thread and process on the file, which is what makes
:meth:`SqliteTx.lock_key` free.
"""

from __future__ import annotations

import itertools
import re
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from moviemind_lite.core.config import ServiceUrl
from moviemind_lite.core.errors import (
    ConstraintViolation,
    CorruptDatabase,
    DiskFull,
    EngineTimeout,
    HomeNotUsable,
    StoreError,
    UniqueViolation,
)
from moviemind_lite.store.db import Database, Params, Row, Tx
from moviemind_lite.store.dialects import SQLITE, Dialect

_UNIQUE_CODES = (2067, 1555)  # SQLITE_CONSTRAINT_UNIQUE, SQLITE_CONSTRAINT_PRIMARYKEY
_BUSY_CODES = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, 261, 517)  # + BUSY_RECOVERY, _SNAPSHOT
_NO_WAIT_MS = 0
_UNIQUE_MESSAGE = re.compile(r"UNIQUE constraint failed: (.+)")
_SAVEPOINTS = itertools.count(1)
_NEARLY_FULL_BYTES = 1024 * 1024
"""Free space under which an I/O error is taken for a full disk."""


def _disk_full(path: Path | str) -> bool:
    """Whether the disk holding ``path`` has (next to) no room left."""
    try:
        return shutil.disk_usage(Path(path).absolute().parent).free < _NEARLY_FULL_BYTES
    except OSError:
        return False  # the folder cannot even be looked at: not a question of room


def _disk_full_error(path: Path | str, message: str) -> DiskFull:
    where = Path(path).absolute().parent if isinstance(path, Path) else path
    return DiskFull(f"the disk holding {where} is full ({message})")


def translate(error: sqlite3.Error, path: Path | str = "the database") -> StoreError:
    """The domain error for a ``sqlite3`` error raised while using ``path``."""
    code = getattr(error, "sqlite_errorcode", None)
    message = str(error)
    if isinstance(error, sqlite3.IntegrityError) and code in _UNIQUE_CODES:
        match = _UNIQUE_MESSAGE.search(message)
        constraint = match.group(1) if match else message
        return UniqueViolation(constraint, code=code or 2067)
    if isinstance(error, sqlite3.IntegrityError):
        return ConstraintViolation(message)
    if code == sqlite3.SQLITE_FULL or "database or disk is full" in message:
        return _disk_full_error(path, message)
    io_error = (code or 0) & 0xFF == sqlite3.SQLITE_IOERR or "disk I/O error" in message
    if io_error and _disk_full(path):
        # SQLite says "disk I/O error" when a full disk stops it creating the
        # WAL's shared-memory file; the free space tells that case apart.
        return _disk_full_error(path, message)
    if code == sqlite3.SQLITE_NOTADB or "file is not a database" in message:
        return CorruptDatabase(f"{path} is not a usable SQLite database ({message})")
    if code == sqlite3.SQLITE_CORRUPT or "malformed" in message:
        return CorruptDatabase(f"{path} is damaged ({message})")
    if code == sqlite3.SQLITE_CANTOPEN or "unable to open database" in message:
        return HomeNotUsable(f"cannot open {path} ({message})")
    if code == sqlite3.SQLITE_READONLY or "readonly database" in message:
        return HomeNotUsable(f"{path} is read-only ({message})")
    if "database is locked" in message:
        return EngineTimeout(f"SQLite {path} stayed locked longer than the busy timeout")
    return StoreError(f"{path}: {message}")


class SqliteTx:
    """A ``BEGIN IMMEDIATE`` transaction on one thread's connection (see :class:`Tx`)."""

    dialect: Dialect = SQLITE

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path
        self.committed_actions: list[Callable[[], None]] = []

    def execute(self, sql: str, params: Params = ()) -> sqlite3.Cursor:
        """Run one statement; its error as a domain error."""
        try:
            return self.conn.execute(sql, params)
        except sqlite3.Error as error:
            raise translate(error, self.path) from error

    # A failed statement undoes only itself in SQLite: nothing more to do.
    attempt = execute

    def executemany(self, sql: str, rows: Sequence[Params]) -> int:
        """Run one statement for each of ``rows``; how many rows they changed in all."""
        try:
            return self.conn.executemany(sql, rows).rowcount
        except sqlite3.Error as error:
            raise translate(error, self.path) from error

    def run_script(self, script: str) -> None:
        """Execute the statements of ``script`` one by one, inside this transaction.

        ``sqlite3.Connection.executescript`` would commit first.
        """
        statement = ""
        for line in script.splitlines(keepends=True):
            statement += line
            if sqlite3.complete_statement(statement):
                self.execute(statement)
                statement = ""
        if statement.strip():
            raise ValueError(f"incomplete SQL statement: {statement.strip()[:60]}")

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A savepoint for the block: an error inside undoes only the block's writes."""
        name = f"sp{next(_SAVEPOINTS)}"
        self.execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            if self.conn.in_transaction:
                self.execute(f"ROLLBACK TO {name}")
                self.execute(f"RELEASE {name}")
            raise
        self.execute(f"RELEASE {name}")

    def lock_key(self, key: str) -> None:
        """Nothing to do: ``BEGIN IMMEDIATE`` already let no other writer in."""

    def on_commit(self, action: Callable[[], None]) -> None:
        """Run ``action`` once the transaction has committed."""
        self.committed_actions.append(action)


class SqliteDatabase(Database):
    """A SQLite file opened once per thread with MovieMind's settings."""

    dialect = SQLITE

    def __init__(self, path: Path, busy_timeout_ms: int = 30_000) -> None:
        super().__init__()
        self.path = path
        self.description = str(path)
        self.busy_timeout_ms = busy_timeout_ms
        self._connections = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        # Writers of this process queue here rather than in SQLite's busy
        # handler, which sleeps in growing steps (up to 100 ms) and wastes most
        # of the time under many threads; other processes still meet the busy
        # timeout. Reentrant, so a transaction's own thread may record a call.
        self._write_lock = threading.RLock()

    def connection(self) -> sqlite3.Connection:
        """This thread's connection, opened on first use."""
        conn: sqlite3.Connection | None = getattr(self._connections, "conn", None)
        if conn is None:
            conn = self._connect()
            self._connections.conn = conn
            with self._all_lock:
                self._all.append(conn)
        return conn

    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(
                self.path,
                isolation_level=None,
                timeout=self.busy_timeout_ms / 1000,
                check_same_thread=False,
            )
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
            self._use_wal(conn)
            conn.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.Error as error:
            raise translate(error, self.path) from error
        return conn

    def _use_wal(self, conn: sqlite3.Connection) -> None:
        """Switch a new file to WAL. The switch needs the file to itself and SQLite does
        not run the busy handler for it, so openers racing on a new file take turns here,
        up to the busy timeout, until one of them has switched it."""
        deadline = time.monotonic() + self.busy_timeout_ms / 1000
        while conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            try:
                conn.execute("PRAGMA journal_mode = WAL")
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() >= deadline:
                    raise
                time.sleep(0.01)

    @contextmanager
    def errors(self) -> Iterator[None]:
        """Turn ``sqlite3`` errors raised inside the block into domain errors."""
        try:
            yield
        except sqlite3.Error as error:
            raise translate(error, self.path) from error

    def _write(self) -> Iterator[Tx]:
        """A ``BEGIN IMMEDIATE`` transaction: committed on success, rolled back on error."""
        conn = self.connection()
        with self._write_lock, self.errors():
            conn.execute("BEGIN IMMEDIATE")
            yield from self._run(conn)

    def _run(self, conn: sqlite3.Connection) -> Iterator[SqliteTx]:
        """Yield the open transaction; commit it after the block, or roll it back."""
        tx = SqliteTx(conn, self.path)
        with self.holding(tx, tx.committed_actions):
            try:
                yield tx
                # Inside the try: a COMMIT that fails (a full disk) must not leave
                # the transaction open for this thread's next write to join.
                conn.execute("COMMIT")
            except BaseException:
                # Some errors (SQLITE_FULL, an interrupt) end the transaction themselves.
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def _write_if_free(self) -> Iterator[Tx | None]:
        """``None`` at once when another writer holds the lock, else :meth:`_write`'s."""
        if not self._write_lock.acquire(blocking=False):
            yield None
            return
        conn = self.connection()
        try:
            with self.errors():
                conn.execute(f"PRAGMA busy_timeout = {_NO_WAIT_MS}")
                try:
                    conn.execute("BEGIN IMMEDIATE")
                except sqlite3.OperationalError as busy:
                    if busy.sqlite_errorcode not in _BUSY_CODES:
                        raise
                    began = False
                else:
                    began = True
                finally:
                    conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
                if not began:
                    yield None
                    return
                yield from self._run(conn)
        finally:
            self._write_lock.release()

    def query(self, sql: str, params: Params = ()) -> list[Row]:
        """All rows of a read-only statement."""
        with self.errors():
            return self.connection().execute(sql, params).fetchall()

    def query_one(self, sql: str, params: Params = ()) -> Row | None:
        """The first row of a read-only statement, or ``None``."""
        with self.errors():
            row: Row | None = self.connection().execute(sql, params).fetchone()
            return row

    def close(self) -> None:
        """Close every connection this object opened, in any thread."""
        with self._all_lock:
            connections, self._all = self._all, []
        for conn in connections:
            conn.close()
        self._connections = threading.local()
        self.forget_threads()


def discard(url: ServiceUrl) -> None:
    """Nothing: a scratch SQLite database is deleted with its scratch home."""


def open_database(
    url: ServiceUrl, busy_timeout_ms: int, engine_wait_ms: float = 10_000
) -> SqliteDatabase:
    """The SQLite file of a ``sqlite:///path`` URL (opened on first use).

    ``engine_wait_ms`` does not apply: there is no server to stall, only the busy timeout.
    """
    del engine_wait_ms
    assert url.path is not None  # a sqlite URL always names its file
    return SqliteDatabase(url.path, busy_timeout_ms)
