"""The ``file`` locks engine: lock files in the home, slots and leases in the database.

Blocking named mutexes are lock files, one per key, named by the key's SHA-256.

The file name is a hash so that no key (a slug is user text) can name a path
outside the lock folder or clash with another key after case folding or
truncation. Each acquisition builds its own :class:`filelock.FileLock` in the
calling thread and keeps filelock's default thread-local context: a lock
object shared between threads with ``thread_local=False`` would let a second
thread "re-enter" a lock that only the first one holds.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock

from moviemind_lite.core.clock import SYSTEM_CLOCK, Clock
from moviemind_lite.core.config import ServiceUrl
from moviemind_lite.core.errors import HomeNotUsable
from moviemind_lite.store.db import Database
from moviemind_lite.store.leases import TableLeases
from moviemind_lite.store.locking import Locks
from moviemind_lite.store.slots import TableSlots


def lock_file_name(key: str) -> str:
    """The lock file name for ``key``: its SHA-256 in hex, plus ``.lock``."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest() + ".lock"


class KeyedFileLocks:
    """Named mutexes as lock files in one folder; works across threads and processes."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path_for(self, key: str) -> Path:
        """Where the lock file for ``key`` lives."""
        return self.folder / lock_file_name(key)

    @contextmanager
    def hold(self, key: str) -> Iterator[None]:
        """Wait as long as it takes for the lock on ``key``; hold it for the block."""
        lock = FileLock(self.path_for(key))
        try:
            lock.acquire()
        except OSError as error:
            raise HomeNotUsable(
                f"cannot use lock folder {self.folder}: {error.strerror or error}"
            ) from None
        try:
            yield
        finally:
            lock.release()


def open_locks(
    url: ServiceUrl,
    database: Database,
    lock_ttl_ms: float,
    clock: Clock = SYSTEM_CLOCK,
    engine_wait_ms: float = 10_000,
) -> Locks:
    """Lock files in the folder of a ``file:///path`` URL; slots and leases in ``database``.

    ``lock_ttl_ms`` is not needed: a lock file is freed by its holder's death.
    ``clock`` decides when slots and leases expire. ``engine_wait_ms`` does not
    apply (no server); the database bounds its own waits.
    """
    del engine_wait_ms
    assert url.path is not None  # a file URL always names its folder
    return Locks(
        "file",
        KeyedFileLocks(url.path),
        TableSlots(database, clock),
        TableLeases(database, clock),
        _nothing,
    )


def _nothing() -> None:
    """Nothing to close: lock files are opened per acquisition."""


def discard(url: ServiceUrl) -> None:
    """Nothing: scratch lock files are deleted with their scratch home."""


def server_version(url: ServiceUrl) -> str:
    """Nothing: lock files have no server."""
    return ""
