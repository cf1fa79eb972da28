"""The engines a backend test runs on, and a scratch schema and key prefix per test.

SQLite and lock files are always there. PostgreSQL and Redis come from
``MOVIEMIND_TEST_POSTGRES_URL`` and ``MOVIEMIND_TEST_REDIS_URL``: a test on an
engine that is not configured is skipped, or fails when
``MOVIEMIND_REQUIRE_SERVICES=1`` (CI sets it, so CI cannot pass by skipping).
Each test gets its own PostgreSQL schema and Redis key prefix, dropped after
it: tests never see each other's rows or keys, and a fresh schema costs a
few milliseconds, not a fresh database.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

from moviemind_lite.core.config import DATABASE_SCHEMES, LOCKS_SCHEMES, parse_service_url
from moviemind_lite.lab.scratch import Servers
from moviemind_lite.store import db, locking

# Read at import, before the autouse home fixture clears every MOVIEMIND_* variable.
POSTGRES_URL = os.environ.get("MOVIEMIND_TEST_POSTGRES_URL") or None
REDIS_URL = os.environ.get("MOVIEMIND_TEST_REDIS_URL") or None
REQUIRED = os.environ.get("MOVIEMIND_REQUIRE_SERVICES") == "1"


@dataclass(frozen=True)
class Engines:
    """A database engine and a locks engine, as a test runs on them."""

    database: str
    locks: str

    @property
    def id(self) -> str:
        """How the test's id names it."""
        return f"{self.database}+{self.locks}"

    @property
    def on_servers(self) -> bool:
        """Whether anything lives on a server (slower: tests shrink their repeats)."""
        return self.database == "postgres" or self.locks == "redis"


EMBEDDED = Engines("sqlite", "file")
SERVERS = Engines("postgres", "redis")
# Every suite runs at both ends; the strategy contract also across them.
BOTH_ENDS = [EMBEDDED, SERVERS]
EVERY_PAIR = [EMBEDDED, Engines("postgres", "file"), Engines("sqlite", "redis"), SERVERS]

sqlite_only = pytest.mark.parametrize(
    "engines", [EMBEDDED], indirect=True, ids=lambda engines: engines.id
)
"""For a test in a module on every engine that checks something only SQLite has."""

servers_only = pytest.mark.parametrize(
    "engines", [SERVERS], indirect=True, ids=lambda engines: engines.id
)
"""For a test in a module on every engine that checks something only the servers have."""


def require(engines: Engines) -> None:
    """Skip (or, with MOVIEMIND_REQUIRE_SERVICES=1, fail) when a server is not configured."""
    missing = [
        variable
        for needed, variable, url in (
            (engines.database == "postgres", "MOVIEMIND_TEST_POSTGRES_URL", POSTGRES_URL),
            (engines.locks == "redis", "MOVIEMIND_TEST_REDIS_URL", REDIS_URL),
        )
        if needed and url is None
    ]
    if not missing:
        return
    message = f"{engines.id} needs {' and '.join(missing)}"
    if REQUIRED:
        pytest.fail(f"{message} (MOVIEMIND_REQUIRE_SERVICES=1)")
    pytest.skip(message)


# One line in the summary of `make test` for every test skipped for want of a server.
SERVICES_SKIP = (
    'needs PostgreSQL and Redis: `make services && eval "$(scripts/services.sh env)"` '
    "sets MOVIEMIND_TEST_POSTGRES_URL and MOVIEMIND_TEST_REDIS_URL (README: Development)"
)


def folded_skip(longrepr: object) -> object:
    """A skip report's ``(path, line, reason)``, the same for every test skipped because a
    server is not configured, so that pytest's summary counts them on one line."""
    if (
        isinstance(longrepr, tuple)
        and len(longrepr) == 3
        and "needs MOVIEMIND_TEST_" in str(longrepr[2])
    ):
        return (__file__, None, f"Skipped: {SERVICES_SKIP}")
    return longrepr


def lab_servers(engines: Engines) -> Servers:
    """The configured servers, as the lab takes them (each race makes its own schema and
    prefix on them), for a race on ``engines``."""
    require(engines)
    return Servers(
        parse_service_url("test", POSTGRES_URL, DATABASE_SCHEMES)
        if engines.database == "postgres" and POSTGRES_URL
        else None,
        parse_service_url("test", REDIS_URL, LOCKS_SCHEMES)
        if engines.locks == "redis" and REDIS_URL
        else None,
    )


def _with_parameter(url: str, name: str, value: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}{name}={value}"


@dataclass(frozen=True)
class ScratchServers:
    """The URLs of one test's schema and key prefix (``None``: the embedded engine)."""

    database_url: str | None
    locks_url: str | None


@contextmanager
def scratch_servers(engines: Engines) -> Iterator[ScratchServers]:
    """A new schema and key prefix on the configured servers; dropped afterwards."""
    require(engines)
    name = f"t_{uuid.uuid4().hex[:16]}"
    database_url = (
        _with_parameter(POSTGRES_URL, "schema", name)
        if engines.database == "postgres" and POSTGRES_URL
        else None
    )
    locks_url = (
        _with_parameter(REDIS_URL, "prefix", name)
        if engines.locks == "redis" and REDIS_URL
        else None
    )
    try:
        yield ScratchServers(database_url, locks_url)
    finally:
        if database_url is not None:
            db.discard_namespace(parse_service_url("test", database_url, DATABASE_SCHEMES))
        if locks_url is not None:
            locking.discard_namespace(parse_service_url("test", locks_url, LOCKS_SCHEMES))
