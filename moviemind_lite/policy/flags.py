"""Evaluating and changing feature flags, per environment, with an audit trail.

Precedence, first match wins:

1. ``MOVIEMIND_FLAG_<NAME>=on|off`` in the process environment;
2. the override stored for the scope asked about (``slug:the-matrix-1999``);
3. the percentage rollout: a scope is on when its bucket is below the
   percentage; asked about no scope, a rollout counts as on only at 100%;
4. the stored on/off value;
5. the registry default.

Buckets come from sha256 of (flag, scope), not from a lottery stored per
scope, so raising a rollout from 5 to 25 keeps the first 5% on and every
process agrees on who is in without writing anything.
"""

from __future__ import annotations

import getpass
import hashlib
import os
import re
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

from moviemind_lite.core.domain import describe_bad_slug
from moviemind_lite.core.errors import FlagNotTogglable, InvalidInput, InvalidScope, InvalidSetting
from moviemind_lite.core.ids import now
from moviemind_lite.policy.flag_registry import FLAGS, Flag, flag_named
from moviemind_lite.store.db import Database, Tx
from moviemind_lite.store.events import recent_events, record_event
from moviemind_lite.store.flags import (
    FlagOverride,
    StoredFlag,
    all_overrides,
    all_stored_values,
    delete_override,
    delete_value,
    list_overrides,
    stored_override,
    stored_value,
    upsert_override,
    upsert_value,
)

Source = Literal["environment-variable", "override", "percentage", "stored", "default"]
Action = Literal["set", "percentage", "override", "clear"]

CHANGE_EVENT = "flag.changed"
SCOPE_MAX_LENGTH = 300
_SCOPE = re.compile(r"([a-z][a-z0-9_]*):([!-~]+)")


def rollout_bucket(name: str, scope: str) -> int:
    """The bucket (0..99) of ``scope`` in the rollout of flag ``name``; stable forever."""
    digest = hashlib.sha256(f"{name}\x1f{scope}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 100


def within_percentage(name: str, scope: str, percentage: int) -> bool:
    """Whether ``scope`` is inside a ``percentage`` rollout of flag ``name``."""
    return rollout_bucket(name, scope) < percentage


def validate_scope(scope: str) -> str:
    """Return ``scope`` if it reads ``kind:value`` (``user:42``); else :class:`InvalidScope`."""
    if len(scope) > SCOPE_MAX_LENGTH:
        raise InvalidScope(f"scope is {len(scope)} characters long; at most {SCOPE_MAX_LENGTH}")
    match = _SCOPE.fullmatch(scope)
    if match is None:
        raise InvalidScope(
            f"invalid scope {scope!r}: use kind:value, e.g. slug:the-matrix-1999 or user:42"
        )
    kind, value = match.groups()
    if kind == "slug":
        problem = describe_bad_slug(value)
        if problem is not None:
            raise InvalidScope(f"invalid scope {scope!r}: {problem}")
    return scope


def current_user() -> str:
    """Who is changing flags: the OS user, or ``unknown``."""
    try:
        return getpass.getuser() or "unknown"
    except (OSError, KeyError):
        # getuser() falls back to the password database, which a container's
        # uid may be missing from; an audit entry is still worth writing.
        return "unknown"


def _label(enabled: bool) -> str:
    return "on" if enabled else "off"


def _stored_label(stored: StoredFlag | bool | None) -> str | None:
    """A stored value or override as the audit trail shows it: ``on``, ``off``, ``25%``, None."""
    if stored is None:
        return None
    if isinstance(stored, bool):
        return _label(stored)
    if stored.percentage is not None:
        return f"{stored.percentage}%"
    return _label(stored.enabled)


@dataclass(frozen=True)
class FlagValue:
    """A flag's value for one scope (or none) and which rule decided it."""

    name: str
    enabled: bool
    source: Source
    scope: str | None = None

    def to_json(self) -> dict[str, Any]:
        """Name, value, source and scope."""
        return asdict(self)


@dataclass(frozen=True)
class FlagChange:
    """One change to a flag in one environment, as recorded in the events table.

    ``before`` and ``after`` read ``on``, ``off``, ``25%``, or ``None`` when
    nothing was (or is any longer) stored.
    """

    name: str
    environment: str
    action: Action
    scope: str | None
    before: str | None
    after: str | None
    at: str
    actor: str

    @property
    def changed(self) -> bool:
        """Whether the stored value differs afterwards (unchanged calls record nothing)."""
        return self.before != self.after

    def to_json(self) -> dict[str, Any]:
        """The change with ``from`` and ``to`` as the events table stores them."""
        return {
            "at": self.at,
            "actor": self.actor,
            "action": self.action,
            "scope": self.scope,
            "from": self.before,
            "to": self.after,
            "environment": self.environment,
        }


@dataclass(frozen=True)
class FlagState:
    """Everything known about a flag in one environment."""

    flag: Flag
    environment: str
    value: FlagValue
    stored: bool | None
    percentage: int | None
    overrides: tuple[FlagOverride, ...]
    changes: tuple[FlagChange, ...]

    def summary(self) -> dict[str, Any]:
        """The ``flags list --json`` object: one line of the table."""
        return {
            "name": self.flag.name,
            "enabled": self.value.enabled,
            "source": self.value.source,
            "percentage": self.percentage,
            "togglable": self.flag.togglable,
            "default": self.flag.default,
            "description": self.flag.description,
        }

    def to_json(self) -> dict[str, Any]:
        """The ``flags show --json`` object."""
        return {
            "name": self.flag.name,
            "description": self.flag.description,
            "environment": self.environment,
            "enabled": self.value.enabled,
            "source": self.value.source,
            "default": self.flag.default,
            "togglable": self.flag.togglable,
            "reason": self.flag.reason,
            "stored": self.stored,
            "percentage": self.percentage,
            "overrides": [override.to_json() for override in self.overrides],
            "changes": [change.to_json() for change in self.changes],
        }


@dataclass(frozen=True)
class _StoredFlags:
    """Every stored value and override of one environment, as read at one state version."""

    version: int
    values: dict[str, StoredFlag]
    overrides: dict[tuple[str, str], bool]


class FlagService:
    """Feature flags of one environment over one database.

    ``env`` is where ``MOVIEMIND_FLAG_<NAME>`` variables are read (default:
    ``os.environ``); ``actor`` is who changes are attributed to (default: the
    OS user).
    """

    def __init__(
        self,
        database: Database,
        environment: str,
        env: Mapping[str, str] | None = None,
        *,
        actor: str | None = None,
    ) -> None:
        self.database = database
        self.environment = environment
        self._env = os.environ if env is None else env
        self._actor = actor
        # What was stored at one state version (see ``evaluate``'s ``at_version``).
        self._known: _StoredFlags | None = None
        self._known_lock = threading.Lock()

    @property
    def actor(self) -> str:
        """Who changes made through this service are attributed to."""
        return self._actor or current_user()

    # -- reading ----------------------------------------------------------------------

    def is_enabled(
        self, name: str, scope: str | None = None, *, at_version: int | None = None
    ) -> bool:
        """Whether flag ``name`` is on, for ``scope`` if given (``at_version``: see evaluate)."""
        return self.evaluate(name, scope, at_version=at_version).enabled

    def evaluate(
        self, name: str, scope: str | None = None, *, at_version: int | None = None
    ) -> FlagValue:
        """The value of flag ``name`` for ``scope`` (or none) and the rule that decided it.

        With ``at_version``, the state version the caller just read (every
        flag, override and rollout change moves it), the stored values are
        the ones this service read at that version, read again only when it
        moved: the request path evaluates its flags without a query.
        """
        flag = flag_named(name)
        if scope is not None:
            validate_scope(scope)
        forced = self._forced(flag)
        if forced is not None:
            return FlagValue(name, forced, "environment-variable", scope)
        known = self._stored_at(at_version) if at_version is not None else None
        if scope is not None:
            override = (
                known.overrides.get((name, scope))
                if known is not None
                else stored_override(self.database, name, self.environment, scope)
            )
            if override is not None:
                return FlagValue(name, override, "override", scope)
        stored = (
            known.values.get(name)
            if known is not None
            else stored_value(self.database, name, self.environment)
        )
        if stored is not None and stored.percentage is not None:
            if scope is None:
                enabled = stored.percentage >= 100
            else:
                enabled = within_percentage(name, scope, stored.percentage)
            return FlagValue(name, enabled, "percentage", scope)
        if stored is not None:
            return FlagValue(name, stored.enabled, "stored", scope)
        return FlagValue(name, flag.default, "default", scope)

    def describe(self, name: str, changes: int = 10) -> FlagState:
        """Value, source, percentage, overrides and the last ``changes`` changes of a flag."""
        flag = flag_named(name)
        value = self.evaluate(name)
        stored = stored_value(self.database, name, self.environment)
        return FlagState(
            flag=flag,
            environment=self.environment,
            value=value,
            stored=None if stored is None else stored.enabled,
            percentage=None if stored is None else stored.percentage,
            overrides=tuple(list_overrides(self.database, name, self.environment)),
            changes=tuple(self.history(name, changes)),
        )

    def list_states(self) -> list[FlagState]:
        """The state of every registered flag, in registry order."""
        return [self.describe(name, changes=0) for name in FLAGS]

    def history(self, name: str, limit: int = 10) -> list[FlagChange]:
        """The last ``limit`` changes of flag ``name`` in this environment, newest first."""
        flag_named(name)
        if limit <= 0:
            return []
        return [
            FlagChange(
                name=name,
                environment=self.environment,
                action=event.data["action"],
                scope=event.data.get("scope"),
                before=event.data.get("from"),
                after=event.data.get("to"),
                at=event.at,
                actor=event.actor,
            )
            for event in recent_events(self.database, CHANGE_EVENT, name, self.environment, limit)
        ]

    # -- changing ---------------------------------------------------------------------

    def set(self, name: str, enabled: bool) -> FlagChange:
        """Store ``enabled`` for flag ``name``, ending any percentage rollout."""
        flag = self._togglable(name)
        after = _label(enabled)
        with self.database.write() as tx:
            before = _stored_label(stored_value(tx, name, self.environment))
            if before != after:
                self._upsert(tx, flag, enabled, None)
            return self._record(tx, flag, "set", None, before, after)

    def set_percentage(self, name: str, percentage: int) -> FlagChange:
        """Roll flag ``name`` out to ``percentage`` (0..100) of scopes."""
        flag = self._togglable(name)
        if isinstance(percentage, bool) or not isinstance(percentage, int):
            raise InvalidInput(f"percentage must be a whole number, got {percentage!r}")
        if not 0 <= percentage <= 100:
            raise InvalidInput(f"percentage must be between 0 and 100, got {percentage}")
        after = f"{percentage}%"
        with self.database.write() as tx:
            before = _stored_label(stored_value(tx, name, self.environment))
            if before != after:
                # The on/off column says what the rollout means for no scope.
                self._upsert(tx, flag, percentage == 100, percentage)
            return self._record(tx, flag, "percentage", None, before, after)

    def override(self, name: str, scope: str, enabled: bool) -> FlagChange:
        """Store ``enabled`` for flag ``name`` and one ``scope``, whatever the rollout says."""
        flag = self._togglable(name)
        validate_scope(scope)
        after = _label(enabled)
        with self.database.write() as tx:
            before = _stored_label(stored_override(tx, name, self.environment, scope))
            if before != after:
                upsert_override(
                    tx, flag.name, self.environment, scope, enabled=enabled, actor=self.actor
                )
            return self._record(tx, flag, "override", scope, before, after)

    def clear(self, name: str, scope: str | None = None) -> FlagChange:
        """Forget the stored value of flag ``name`` (or only its override for ``scope``)."""
        flag = self._togglable(name)
        if scope is not None:
            validate_scope(scope)
        with self.database.write() as tx:
            if scope is None:
                before = _stored_label(stored_value(tx, name, self.environment))
                delete_value(tx, name, self.environment)
            else:
                before = _stored_label(stored_override(tx, name, self.environment, scope))
                delete_override(tx, name, self.environment, scope)
            return self._record(tx, flag, "clear", scope, before, None)

    # -- internals --------------------------------------------------------------------

    def _stored_at(self, version: int) -> _StoredFlags:
        with self._known_lock:
            known = self._known
            if known is None or known.version != version:
                # Read after the version: never older than what it is filed under.
                known = _StoredFlags(
                    version,
                    all_stored_values(self.database, self.environment),
                    all_overrides(self.database, self.environment),
                )
                self._known = known
            return known

    def _forced(self, flag: Flag) -> bool | None:
        raw = self._env.get(flag.environment_variable)
        if raw is None or raw.strip() == "":
            return None
        value = raw.strip().lower()
        if value in ("on", "off"):
            return value == "on"
        raise InvalidSetting(f"{flag.environment_variable}={raw!r}: expected on or off")

    def _togglable(self, name: str) -> Flag:
        flag = flag_named(name)
        if not flag.togglable:
            raise FlagNotTogglable(flag.name, flag.reason or "it is fixed at run time")
        return flag

    def _upsert(self, tx: Tx, flag: Flag, enabled: bool, percentage: int | None) -> None:
        upsert_value(
            tx,
            flag.name,
            self.environment,
            enabled=enabled,
            percentage=percentage,
            actor=self.actor,
        )

    def _record(
        self,
        tx: Tx,
        flag: Flag,
        action: Action,
        scope: str | None,
        before: str | None,
        after: str | None,
    ) -> FlagChange:
        change = FlagChange(
            name=flag.name,
            environment=self.environment,
            action=action,
            scope=scope,
            before=before,
            after=after,
            at=now(),
            actor=self.actor,
        )
        if change.changed:
            data = {
                key: value for key, value in change.to_json().items() if key not in ("at", "actor")
            }
            record_event(
                tx,
                kind=CHANGE_EVENT,
                subject=flag.name,
                actor=change.actor,
                at=change.at,
                data=data,
            )
        return change
