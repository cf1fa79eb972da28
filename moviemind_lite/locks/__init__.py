"""Locks the strategies use: file locks named by a hash of their key, and SQLite leases.

:class:`KeyedFileLocks` stands in for Redis ``Cache::lock``: a blocking mutex
per key, one file per key in the lock folder. :class:`Leases` stands in for
``SET NX PX``: a non-blocking lease with a TTL, an owner token, and a fencing
counter a write can be checked against.
"""

from __future__ import annotations

from moviemind_lite.locks.file_lock import KeyedFileLocks, lock_file_name
from moviemind_lite.locks.lease import STALE_WRITE, LeaseGrant, Leases

__all__ = ["STALE_WRITE", "KeyedFileLocks", "LeaseGrant", "Leases", "lock_file_name"]
