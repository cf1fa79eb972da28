"""API key use cases: create (the secret shown once), list, revoke, and check a presented key."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Literal

from moviemind_lite.core.errors import InvalidInput, NotFound
from moviemind_lite.store import api_keys
from moviemind_lite.store.api_keys import ApiKey
from moviemind_lite.store.db import Database

__all__ = ["ApiKey", "ApiKeys", "CreatedKey", "KeyCheck"]

SECRET_PREFIX = "mm_"
NAME_MAX_LENGTH = 100

KeyCheck = Literal["missing", "invalid", "inactive", "ok"]


@dataclass(frozen=True)
class CreatedKey:
    """A key just created, with its secret: the only time the secret is known."""

    key: ApiKey
    secret: str


class ApiKeys:
    """The keys that may call the HTTP API's protected endpoints (``POST /api/v1/generate``)."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def create(self, name: str) -> CreatedKey:
        """A new key named ``name``; its secret is returned here and never again."""
        name = name.strip()
        if not name or len(name) > NAME_MAX_LENGTH or not name.isprintable():
            raise InvalidInput(
                f"key name must be 1 to {NAME_MAX_LENGTH} printable characters, got {name!r}"
            )
        secret = SECRET_PREFIX + secrets.token_urlsafe(32)
        with self.database.write() as tx:
            key = api_keys.insert_key(tx, name, secret[: len(SECRET_PREFIX) + 6], secret)
        return CreatedKey(key, secret)

    def list(self) -> list[ApiKey]:
        """Every key, revoked ones included, oldest first."""
        return api_keys.list_keys(self.database)

    def revoke(self, key_id: str) -> ApiKey:
        """Revoke key ``key_id`` at once; :class:`NotFound` if there is no such key."""
        with self.database.write() as tx:
            key = api_keys.revoke(tx, key_id)
        if key is None:
            raise NotFound(f"no API key with id {key_id!r}")
        return key

    def any_active(self) -> bool:
        """Whether at least one key may be used."""
        return api_keys.count_active(self.database) > 0

    def check(self, secret: str | None) -> KeyCheck:
        """Whether a presented secret opens the door: ``ok``, or why not."""
        if not secret:
            return "missing"
        key = api_keys.find_by_secret(self.database, secret)
        if key is None:
            return "invalid"
        return "ok" if key.active else "inactive"
