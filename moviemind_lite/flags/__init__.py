"""Feature flags: a registry in code, values in SQLite, one evaluation rule.

A flag's value for a process is, first to last: the ``MOVIEMIND_FLAG_<NAME>``
environment variable, the override for the scope asked about, the percentage
rollout (a scope is on when its bucket is below the percentage), the stored
on/off value, and the registry default. Stored values and overrides belong to
one environment (``MOVIEMIND_ENV``); every change is recorded as an event.
"""

from __future__ import annotations

from moviemind_lite.flags.registry import FLAGS, Flag, flag_named
from moviemind_lite.flags.service import (
    FlagChange,
    FlagOverride,
    FlagService,
    FlagState,
    FlagValue,
    rollout_bucket,
    validate_scope,
)

__all__ = [
    "FLAGS",
    "Flag",
    "FlagChange",
    "FlagOverride",
    "FlagService",
    "FlagState",
    "FlagValue",
    "flag_named",
    "rollout_bucket",
    "validate_scope",
]
