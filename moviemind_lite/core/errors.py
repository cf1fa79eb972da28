"""Every error MovieMind Lite raises on purpose.

    MovieMindError
    ├── InvalidInput            bad input from a user; front ends exit 2
    │   ├── InvalidSlug
    │   ├── SlugRejected        an unknown slug that fails the confidence check; carries the score
    │   ├── UnknownLocale
    │   ├── InvalidContextTag
    │   ├── InvalidSetting
    │   ├── SuspectedInjection  a slug or catalog text that reads like instructions to the AI
    │   ├── UnusableFile        a file to read or write refused as a whole, before any use
    │   │   └── InvalidCatalogFile  a catalog file that cannot be used as a whole
    │   ├── InvalidScope        a flag scope that is not kind:value
    │   ├── UnknownFlag
    │   ├── FlagNotTogglable    a change to a flag fixed at run time; carries the reason
    │   ├── InvalidRolloutPlan  stages or guardrail limits that cannot be used
    │   └── RolloutAlreadyActive
    ├── NotFound                the thing asked for does not exist; exit 1
    │   ├── EntityNotFound
    │   │   └── GenerationOff   ...and its generation flag is off: names the flag
    │   ├── JobNotFound
    │   └── RolloutNotFound     no active rollout for that flag
    ├── StoreError              the database refused or is unusable; exit 1
    │   ├── ConstraintViolation a row broke NOT NULL, CHECK or a foreign key
    │   │   └── UniqueViolation carries SQLite's code or the SQLSTATE, and the constraint
    │   ├── ServiceUnavailable  a database or lock server unreachable, or refusing the login
    │   ├── EngineTimeout       an engine that stayed locked or silent past its bound
    │   ├── MissingExtra        an engine whose client is not installed: names the extra
    │   ├── CorruptDatabase
    │   ├── HomeNotUsable
    │   ├── DiskFull            SQLITE_FULL: the disk holding the database has no room left
    │   └── StaleWrite          a lock holder whose lease ran out tried to write
    │       └── StaleClaim      a worker whose job was taken back tried to write or call the AI
    ├── CatalogReadOnly         a catalog write while catalog_read_only_mode is on; exit 1
    ├── FileNotWritten          an output file could not be written; the target is as it was
    ├── EntityBusy              a delete while a job for the slug is on its way; exit 1
    ├── BudgetSpent             no new generation now: an AI budget or the pending-jobs cap
    ├── AIError                 the generator failed
    │   ├── TransientAIError    worth retrying; may carry the server's Retry-After
    │   │   ├── AIUnavailable   timed out, unreachable, or a 5xx answer
    │   │   │   └── AINoAnswer  no answer at all: unreachable or timed out
    │   │   ├── AIRateLimited   429: too many requests for now
    │   │   └── InvalidAIAnswer an answer that cannot be stored (the breaker ignores it)
    │   ├── AIRequestRefused    401/403/404 and the like: names the setting to fix
    │   └── CircuitOpen         the shared circuit breaker refuses AI calls for now
    └── DuplicateGeneration     a job met a row another job wrote first

The store turns ``sqlite3``, ``psycopg``, ``redis`` and ``filelock`` errors into
these; only the front ends translate them into exit codes or notifications.
"""

from __future__ import annotations

from typing import Self

from moviemind_lite.core.calls import AICall


class MovieMindError(Exception):
    """Root of every error MovieMind Lite raises on purpose."""


class InvalidInput(MovieMindError):
    """Input from a user that cannot be used as given."""


class InvalidSlug(InvalidInput):
    """A slug that does not match the slug rules."""


class SlugRejected(InvalidInput):
    """An unknown slug the confidence check refuses to generate for; carries its score."""

    def __init__(
        self, slug: str, confidence: float, reason: str, detail: str | None = None
    ) -> None:
        said = f"{reason}: {detail}" if detail else reason
        super().__init__(f"slug {slug!r} rejected: {said} (confidence {confidence:g})")
        self.slug = slug
        self.confidence = confidence
        self.reason = reason
        self.detail = detail


class UnknownLocale(InvalidInput):
    """A locale MovieMind does not write in."""


class InvalidContextTag(InvalidInput):
    """A context tag that does not match the context tag rules."""


class InvalidSetting(InvalidInput):
    """A configuration value (option or environment variable) that is unusable."""


class SuspectedInjection(InvalidInput):
    """A slug or catalog text that reads like instructions to the AI; refused before any call."""


class NotFound(MovieMindError):
    """Something asked for by name or id does not exist."""


class EntityNotFound(NotFound):
    """No movie or person with that slug."""


class GenerationOff(EntityNotFound):
    """No such entity, and its kind's generation flag is off; ``flag`` names that flag."""

    def __init__(self, message: str, flag: str) -> None:
        super().__init__(message)
        self.flag = flag


class JobNotFound(NotFound):
    """No job with that id."""


class StoreError(MovieMindError):
    """The database refused an operation or cannot be used."""


class ConstraintViolation(StoreError):
    """A row broke a constraint of the schema (NOT NULL, CHECK, UNIQUE, a foreign key)."""


class UniqueViolation(ConstraintViolation):
    """A row clashed with a UNIQUE constraint (SQLite extended code 2067, SQLSTATE 23505)."""

    def __init__(self, constraint: str, code: int | str = 2067) -> None:
        super().__init__(f"unique constraint failed: {constraint}")
        self.constraint = constraint
        self.code = code


class ServiceUnavailable(StoreError):
    """A database or lock server that cannot be reached or refuses to let MovieMind in."""


class EngineTimeout(StoreError):
    """An engine that stayed locked, or did not answer, longer than its bound; names it."""


class MissingExtra(StoreError):
    """An engine whose client library is not installed; names the extra that installs it."""


class CorruptDatabase(StoreError):
    """The database file is not a usable SQLite database."""


class HomeNotUsable(StoreError):
    """The home folder cannot be created or written."""


class DiskFull(StoreError):
    """The disk holding the database is full (SQLITE_FULL); the failed write left nothing."""


class StaleWrite(StoreError):
    """A write by a lock holder whose lease expired, refused by the fencing token."""


class StaleClaim(StaleWrite):
    """A worker whose claim on a job was taken back tried to write its rows or call the AI.

    ``step`` names where it was stopped (``persist``, ``before the AI call``).
    """

    def __init__(self, message: str, step: str) -> None:
        super().__init__(message)
        self.step = step


# Engine errors that pass: worth waiting for (with backoff), never worth ending a thread for.
ENGINE_FAULTS = (ServiceUnavailable, EngineTimeout, DiskFull)


class CatalogReadOnly(MovieMindError):
    """A catalog write refused because ``catalog_read_only_mode`` is on."""


class FileNotWritten(MovieMindError):
    """An output file could not be written (no room, no permission); the target is as it was."""


class EntityBusy(MovieMindError):
    """An entity that cannot be deleted now: a job for its slug is PENDING or IN_PROGRESS."""


class AIError(MovieMindError):
    """The AI generator failed; ``call`` is the call it made (``None``: it made none)."""

    call: AICall | None = None

    def with_call(self, call: AICall) -> Self:
        """This error, carrying the call that failed (to be recorded by the job)."""
        self.call = call
        return self


class TransientAIError(AIError):
    """An AI failure worth retrying (timeouts, rate limits, flaky upstream).

    ``retry_after_ms``, when the server said how long to wait, is the least
    time before the next attempt (the job's backoff applies if it is longer).
    """

    def __init__(self, message: str, retry_after_ms: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_ms = retry_after_ms


class AIUnavailable(TransientAIError):
    """The AI server timed out, could not be reached, or failed (5xx)."""


class AINoAnswer(AIUnavailable):
    """The AI server gave no answer at all: it could not be reached, or it timed out."""


class AIRateLimited(TransientAIError):
    """The AI server answered 429: too many requests; ``retry_after_ms`` says for how long."""


class InvalidAIAnswer(TransientAIError):
    """An AI answer that is malformed, off-schema or fails validation; never stored."""


class AIRequestRefused(AIError):
    """The AI server refused the request for good (bad key, unknown model, wrong URL)."""


class CircuitOpen(AIError):
    """The AI circuit breaker is open: calls fail fast until ``retry_at``."""

    def __init__(self, message: str, retry_at: str) -> None:
        super().__init__(message)
        self.retry_at = retry_at


class InvalidScope(InvalidInput):
    """A flag scope that is not of the form ``kind:value`` (e.g. ``user:42``)."""


class UnknownFlag(InvalidInput):
    """A feature flag name that is not registered."""


class FlagNotTogglable(InvalidInput):
    """A run-time change to a flag that cannot be changed at run time."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"flag {name!r} cannot be changed at run time: {reason}")
        self.name = name
        self.reason = reason


class DuplicateGeneration(MovieMindError):
    """A job found the row it was about to write already written by another job."""


class UnusableFile(InvalidInput):
    """A file refused before any use: missing, not a regular file, too big, name too long, taken."""


class InvalidCatalogFile(UnusableFile):
    """A catalog file unusable as a whole: missing, unknown format, bad header or JSON."""


class InvalidRolloutPlan(InvalidInput):
    """Rollout stages or guardrail limits that cannot be used."""


class RolloutAlreadyActive(InvalidInput):
    """A second active rollout of the same flag in the same environment."""


class RolloutNotFound(NotFound):
    """No active rollout of that flag in this environment."""


class BudgetSpent(MovieMindError):
    """No new generation job now: an hourly AI budget is spent or too many jobs are pending."""

    def __init__(self, message: str, retry_after_s: int, reason: str) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
        self.reason = reason


class QueueFull(BudgetSpent):
    """No new generation job now: the cap on pending jobs is reached."""

    def __init__(self, cap: int) -> None:
        super().__init__(
            f"{cap} generation jobs are already waiting; try again shortly",
            retry_after_s=30,
            reason="queue_full",
        )
