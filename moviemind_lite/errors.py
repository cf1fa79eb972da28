"""Every error MovieMind Lite raises on purpose.

    MovieMindError
    ├── InvalidInput            bad input from a user; front ends exit 2
    │   ├── InvalidSlug
    │   ├── UnknownLocale
    │   ├── InvalidContextTag
    │   └── InvalidSetting
    ├── NotFound                the thing asked for does not exist; exit 1
    │   ├── EntityNotFound
    │   └── JobNotFound
    ├── StoreError              the database refused or is unusable; exit 1
    │   ├── UniqueViolation     carries SQLite's extended code and the constraint
    │   ├── CorruptDatabase
    │   └── HomeNotUsable
    └── AIError                 the generator failed
        └── TransientAIError    worth retrying

The store turns ``sqlite3`` errors into these; only the front ends translate
them into exit codes or notifications.
"""

from __future__ import annotations


class MovieMindError(Exception):
    """Root of every error MovieMind Lite raises on purpose."""


class InvalidInput(MovieMindError):
    """Input from a user that cannot be used as given."""


class InvalidSlug(InvalidInput):
    """A slug that does not match the slug rules."""


class UnknownLocale(InvalidInput):
    """A locale MovieMind does not write in."""


class InvalidContextTag(InvalidInput):
    """A context tag that does not match the context tag rules."""


class InvalidSetting(InvalidInput):
    """A configuration value (option or environment variable) that is unusable."""


class NotFound(MovieMindError):
    """Something asked for by name or id does not exist."""


class EntityNotFound(NotFound):
    """No movie or person with that slug."""


class JobNotFound(NotFound):
    """No job with that id."""


class StoreError(MovieMindError):
    """The database refused an operation or cannot be used."""


class UniqueViolation(StoreError):
    """A row clashed with a UNIQUE constraint (SQLite extended code 2067)."""

    def __init__(self, constraint: str, code: int = 2067) -> None:
        super().__init__(f"unique constraint failed: {constraint}")
        self.constraint = constraint
        self.code = code


class CorruptDatabase(StoreError):
    """The database file is not a usable SQLite database."""


class HomeNotUsable(StoreError):
    """The home folder cannot be created or written."""


class AIError(MovieMindError):
    """The AI generator failed."""


class TransientAIError(AIError):
    """An AI failure worth retrying (timeouts, rate limits, flaky upstream)."""
