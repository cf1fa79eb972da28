"""API keys of the HTTP API: stored as the SHA-256 of the secret, looked up by it.

A key's secret is 32 random bytes, so a plain (unsalted, fast) hash is enough:
nobody can guess a secret from its hash, and a look-up by hash is one indexed
read per request. The secret itself is shown once, when the key is created.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from moviemind_lite.core.ids import new_id, now
from moviemind_lite.store.db import Database, Row, Tx


@dataclass(frozen=True)
class ApiKey:
    """One stored API key (its secret is not stored)."""

    id: str
    name: str
    prefix: str
    created_at: str
    revoked_at: str | None

    @property
    def active(self) -> bool:
        """Not revoked."""
        return self.revoked_at is None

    def to_json(self) -> dict[str, Any]:
        """Every stored field and whether the key is active."""
        return {**self.__dict__, "active": self.active}


def secret_hash(secret: str) -> str:
    """The SHA-256 (hex) of a key's secret, as stored."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _key(row: Row) -> ApiKey:
    return ApiKey(row["id"], row["name"], row["prefix"], row["created_at"], row["revoked_at"])


def insert_key(tx: Tx, name: str, prefix: str, secret: str) -> ApiKey:
    """Store a new key under the hash of ``secret``."""
    row = tx.execute(
        "INSERT INTO api_keys (id, name, prefix, secret_sha256, created_at) "
        "VALUES (?, ?, ?, ?, ?) RETURNING *",
        (new_id(), name, prefix, secret_hash(secret), now()),
    ).fetchone()
    return _key(row)


def find_by_secret(database: Database, secret: str) -> ApiKey | None:
    """The key whose secret is ``secret`` (revoked or not), or ``None``."""
    row = database.query_one(
        "SELECT * FROM api_keys WHERE secret_sha256 = ?", (secret_hash(secret),)
    )
    return _key(row) if row is not None else None


def list_keys(database: Database) -> list[ApiKey]:
    """Every key, oldest first."""
    return [_key(row) for row in database.query("SELECT * FROM api_keys ORDER BY id")]


def count_active(database: Database) -> int:
    """How many keys are not revoked."""
    row = database.query_one("SELECT count(*) FROM api_keys WHERE revoked_at IS NULL")
    return int(row[0]) if row else 0


def revoke(tx: Tx, key_id: str) -> ApiKey | None:
    """Revoke key ``key_id`` (a revoked key stays revoked); ``None`` if there is no such key."""
    tx.execute(
        "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", (now(), key_id)
    )
    row = tx.execute("SELECT * FROM api_keys WHERE id = ?", (key_id,)).fetchone()
    return _key(row) if row is not None else None
