"""The store's one seam over the database engines: :class:`Database` and :class:`Tx`.

Everything above this module reads through a :class:`Database` and writes in
the :class:`Tx` its :meth:`~Database.write` yields; neither names an engine.
The engines (``sqlite``, the embedded default; ``postgresql``) live in their
own modules, listed by name in :data:`DATABASE_ENGINES` and imported only
when a database URL chooses them, so the PostgreSQL client is loaded by a
process that uses PostgreSQL and by no other.

SQL is written once with ``?`` and ``:name`` placeholders (the PostgreSQL
engine rewrites them); what differs between the engines is a field of the
transaction's :class:`~moviemind_lite.store.dialects.Dialect`. A statement
that fails raises a domain error (a clash is :class:`UniqueViolation` on both
engines), never the client's own.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from importlib import import_module
from types import ModuleType
from typing import Any, Protocol

from moviemind_lite.core.config import ServiceUrl
from moviemind_lite.core.errors import InvalidSetting, MissingExtra
from moviemind_lite.store.dialects import Dialect

Params = Sequence[Any] | dict[str, Any]


class Row(Protocol):
    """A row read: its values by position and by column name."""

    def __getitem__(self, key: int | str, /) -> Any: ...

    def keys(self) -> list[str]: ...

    def __iter__(self) -> Iterator[Any]: ...

    def __len__(self) -> int: ...


class Result(Protocol):
    """What a statement run in a transaction gives back."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Tx(Protocol):
    """An open write transaction, as :meth:`Database.write` yields it.

    Store functions run their statements on it; layers above the store hold
    it only to hand it back to store functions, so that several writes share
    one transaction, and never run SQL on it.
    """

    @property
    def dialect(self) -> Dialect:
        """The engine's SQL differences."""
        ...

    def execute(self, sql: str, params: Params = ()) -> Result:
        """Run one statement; a failure rolls the whole transaction back when it ends."""
        ...

    def attempt(self, sql: str, params: Params = ()) -> Result:
        """Run one statement that may fail (a UNIQUE clash) and leave the transaction usable.

        SQLite undoes only the failed statement by itself; PostgreSQL aborts
        the transaction unless the statement ran inside a savepoint.
        """
        ...

    def executemany(self, sql: str, rows: Sequence[Params]) -> int:
        """Run one statement for each of ``rows``; how many rows they changed in all."""
        ...

    def run_script(self, script: str) -> None:
        """Run several ``;``-separated statements (no parameters) in this transaction."""
        ...

    def savepoint(self) -> AbstractContextManager[None]:
        """A savepoint for the block: an error inside undoes only the block's writes."""
        ...

    def lock_key(self, key: str) -> None:
        """Let no other transaction naming ``key`` run past this call until this one ends.

        SQLite's write transactions already run one at a time; on PostgreSQL
        this is a transaction-level advisory lock.
        """
        ...

    def on_commit(self, action: Callable[[], None]) -> None:
        """Run ``action`` once the transaction has committed (never if it rolls back)."""
        ...


class Listener(Protocol):
    """A connection that hears an engine's notifications on one channel."""

    def payloads(self, timeout_s: float) -> Sequence[str]:
        """The payloads that arrived, waiting at most ``timeout_s`` for the first."""
        ...

    def close(self) -> None:
        """Stop listening and close the connection."""
        ...


class Database(ABC):
    """One database: reads on shared connections, writes in :class:`Tx` transactions.

    A thread inside :meth:`write` reads inside its transaction too, and a
    :meth:`write` it opens there joins the one it holds.
    """

    dialect: Dialect
    description: str
    """Where the database is, for messages (a file, or a server with no password)."""

    def __init__(self) -> None:
        self._local = threading.local()

    def held(self) -> Tx | None:
        """The write transaction this thread holds open, or ``None``."""
        held: Tx | None = getattr(self._local, "tx", None)
        return held

    @contextmanager
    def holding(self, tx: Tx, committed: list[Callable[[], None]]) -> Iterator[None]:
        """Make ``tx`` this thread's open transaction for the block.

        The engine commits inside the block; once the block has ended without
        an error, the ``committed`` actions (:meth:`Tx.on_commit`) run.
        """
        self._local.tx = tx
        try:
            yield
        finally:
            self._local.tx = None
        for action in committed:
            action()

    def forget_threads(self) -> None:
        """Forget every thread's open transaction (the connections are closed)."""
        self._local = threading.local()

    @contextmanager
    def write(self) -> Iterator[Tx]:
        """A write transaction: committed on success, rolled back on error.

        Inside a transaction this thread already holds, the block joins it.
        """
        joined = self.held()
        if joined is not None:
            yield joined
            return
        yield from self._write()

    @contextmanager
    def write_if_free(self) -> Iterator[Tx | None]:
        """Like :meth:`write`, but yield ``None`` at once rather than wait for another writer.

        For optional writes (a cache fill) that must not make a reader wait.
        """
        joined = self.held()
        if joined is not None:
            yield joined
            return
        yield from self._write_if_free()

    @abstractmethod
    def _write(self) -> Iterator[Tx]:
        """The engine's new write transaction, yielded once (see :meth:`write`)."""

    @abstractmethod
    def _write_if_free(self) -> Iterator[Tx | None]:
        """The engine's new write transaction, or ``None`` (see :meth:`write_if_free`)."""

    @abstractmethod
    def query(self, sql: str, params: Params = ()) -> list[Row]:
        """All rows of a read-only statement."""

    @abstractmethod
    def query_one(self, sql: str, params: Params = ()) -> Row | None:
        """The first row of a read-only statement, or ``None``."""

    def listen(self, channel: str) -> Listener | None:
        """A connection of its own told of every ``NOTIFY`` on ``channel``; ``None`` on an
        engine without notifications (SQLite)."""
        return None

    @abstractmethod
    def close(self) -> None:
        """Close every connection this object opened, in any thread."""


Reader = Database | Tx
"""Where a store function reads: the shared connection, or inside the caller's transaction."""


def read_one(reader: Reader, sql: str, params: Params = ()) -> Row | None:
    """The first row of a read-only statement run through ``reader``, or ``None``."""
    if isinstance(reader, Database):
        return reader.query_one(sql, params)
    row: Row | None = reader.execute(sql, params).fetchone()
    return row


def read_all(reader: Reader, sql: str, params: Params = ()) -> list[Row]:
    """All rows of a read-only statement run through ``reader``."""
    if isinstance(reader, Database):
        return reader.query(sql, params)
    return reader.execute(sql, params).fetchall()


@dataclass(frozen=True)
class Client:
    """The client library an engine needs, and the extra that installs it."""

    engine: str
    module: str
    extra: str


# The engines by URL scheme: the module that implements each, imported by name
# only when a URL chooses it; and the extra that installs its client.
DATABASE_ENGINES: dict[str, str] = {
    "sqlite": "moviemind_lite.store.sqlite",
    "postgresql": "moviemind_lite.store.postgres",
}
_CLIENTS = {"postgresql": Client("PostgreSQL", "psycopg", "postgres")}


def engine_module(table: dict[str, str], name: str, clients: dict[str, Client]) -> ModuleType:
    """The module registered as ``name`` in ``table``, imported now.

    A client library missing from the environment is one line saying which
    extra installs it; an unknown name lists the valid ones.
    """
    try:
        module_name = table[name]
    except KeyError:
        raise InvalidSetting(
            f"unknown engine {name!r}; expected one of: {', '.join(table)}"
        ) from None
    try:
        return import_module(module_name)
    except ModuleNotFoundError as error:
        client = clients.get(name)
        if client is None or (error.name or "").split(".")[0] != client.module:
            raise
        raise MissingExtra(
            f"{client.engine} needs {client.module}: pip install 'moviemind-lite[{client.extra}]'"
        ) from None


def open_database(
    url: ServiceUrl, busy_timeout_ms: int = 30_000, engine_wait_ms: float = 10_000
) -> Database:
    """The database ``url`` names, opened with its engine (nothing is created yet).

    ``engine_wait_ms`` bounds how long a caller waits for a server that does
    not answer (a connection from the pool, a stopped server).
    """
    module = engine_module(DATABASE_ENGINES, url.engine, _CLIENTS)
    opened: Database = module.open_database(url, busy_timeout_ms, engine_wait_ms)
    return opened


def discard_namespace(url: ServiceUrl) -> None:
    """Drop the schema ``url`` names with everything in it (a scratch run's); a file's
    database goes with its folder, so there is nothing to do for SQLite."""
    engine_module(DATABASE_ENGINES, url.engine, _CLIENTS).discard(url)
