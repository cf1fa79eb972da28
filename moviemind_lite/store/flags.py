"""The ``flags`` and ``flag_overrides`` tables: stored flag values per environment.

Only what is stored: the evaluation rules (environment variables, overrides,
percentage buckets, defaults) live in :mod:`moviemind_lite.policy.flags`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from moviemind_lite.core.ids import now
from moviemind_lite.store.db import Database, Reader, Tx, read_all, read_one


@dataclass(frozen=True)
class StoredFlag:
    """A flag's stored value in one environment: on or off, and a rollout percentage if any."""

    enabled: bool
    percentage: int | None


@dataclass(frozen=True)
class FlagOverride:
    """A value stored for one scope of a flag."""

    scope: str
    enabled: bool
    updated_at: str
    updated_by: str

    def to_json(self) -> dict[str, Any]:
        """Scope, value and who set it when."""
        return asdict(self)


def stored_value(reader: Reader, name: str, environment: str) -> StoredFlag | None:
    """The value stored for flag ``name`` in ``environment``, or ``None``."""
    row = read_one(
        reader,
        "SELECT enabled, percentage FROM flags WHERE name = ? AND environment = ?",
        (name, environment),
    )
    if row is None:
        return None
    percentage = row["percentage"]
    return StoredFlag(bool(row["enabled"]), None if percentage is None else int(percentage))


def stored_override(reader: Reader, name: str, environment: str, scope: str) -> bool | None:
    """The value stored for flag ``name`` and ``scope`` in ``environment``, or ``None``."""
    row = read_one(
        reader,
        "SELECT enabled FROM flag_overrides WHERE name = ? AND environment = ? AND scope = ?",
        (name, environment, scope),
    )
    return None if row is None else bool(row["enabled"])


def list_overrides(database: Database, name: str, environment: str) -> list[FlagOverride]:
    """Every override of flag ``name`` in ``environment``, by scope."""
    rows = database.query(
        "SELECT scope, enabled, updated_at, updated_by FROM flag_overrides "
        "WHERE name = ? AND environment = ? ORDER BY scope",
        (name, environment),
    )
    return [
        FlagOverride(row["scope"], bool(row["enabled"]), row["updated_at"], row["updated_by"])
        for row in rows
    ]


def upsert_value(
    tx: Tx, name: str, environment: str, *, enabled: bool, percentage: int | None, actor: str
) -> None:
    """Store flag ``name``'s value in ``environment``, replacing any stored before."""
    tx.execute(
        "INSERT INTO flags (name, environment, enabled, percentage, updated_at, updated_by) "
        "VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (name, environment) DO UPDATE SET "
        "enabled = excluded.enabled, percentage = excluded.percentage, "
        "updated_at = excluded.updated_at, updated_by = excluded.updated_by",
        (name, environment, int(enabled), percentage, now(), actor),
    )


def upsert_override(
    tx: Tx, name: str, environment: str, scope: str, *, enabled: bool, actor: str
) -> None:
    """Store flag ``name``'s value for one ``scope`` in ``environment``."""
    tx.execute(
        "INSERT INTO flag_overrides "
        "(name, environment, scope, enabled, updated_at, updated_by) "
        "VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (name, environment, scope) DO UPDATE SET "
        "enabled = excluded.enabled, updated_at = excluded.updated_at, "
        "updated_by = excluded.updated_by",
        (name, environment, scope, int(enabled), now(), actor),
    )


def delete_value(tx: Tx, name: str, environment: str) -> None:
    """Forget flag ``name``'s stored value in ``environment`` (its overrides stay)."""
    tx.execute("DELETE FROM flags WHERE name = ? AND environment = ?", (name, environment))


def delete_override(tx: Tx, name: str, environment: str, scope: str) -> None:
    """Forget flag ``name``'s override for ``scope`` in ``environment``."""
    tx.execute(
        "DELETE FROM flag_overrides WHERE name = ? AND environment = ? AND scope = ?",
        (name, environment, scope),
    )


def all_stored_values(reader: Reader, environment: str) -> dict[str, StoredFlag]:
    """Every flag value stored in ``environment``, by flag name."""
    rows = read_all(
        reader, "SELECT name, enabled, percentage FROM flags WHERE environment = ?", (environment,)
    )
    return {
        row["name"]: StoredFlag(
            bool(row["enabled"]), None if row["percentage"] is None else int(row["percentage"])
        )
        for row in rows
    }


def all_overrides(reader: Reader, environment: str) -> dict[tuple[str, str], bool]:
    """Every override stored in ``environment``, by (flag name, scope)."""
    rows = read_all(
        reader,
        "SELECT name, scope, enabled FROM flag_overrides WHERE environment = ?",
        (environment,),
    )
    return {(row["name"], row["scope"]): bool(row["enabled"]) for row in rows}
