"""Identifiers and timestamps (ADR-008).

UUID v7 for rows and jobs (time-ordered, so ids sort by creation), v4 for lock
owner tokens (unguessable), v5 for deterministic keys such as a generation
slot (the same request always maps to the same key).
"""

from __future__ import annotations

import re
import time
import uuid
from datetime import UTC, datetime

import uuid_utils

from moviemind_lite.core.errors import InvalidInput

# A fixed namespace so v5 keys are stable across machines and releases.
KEY_NAMESPACE = uuid.UUID("6f1c4c8e-3b52-4f53-9f0e-5d2b8b7a1c11")
# The same namespace for uuid_utils, whose uuid5 gives the same keys ten times faster.
_KEY_NAMESPACE = uuid_utils.UUID(str(KEY_NAMESPACE))
# The last whole second formatted, and its text: most stamps fall in the same second.
_second: tuple[int, str] = (-1, "")

_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def looks_like_id(value: str) -> bool:
    """Whether ``value`` is written as a row or job id is (a lowercase UUID)."""
    return _ID.fullmatch(value) is not None


def validate_job_id(job_id: str) -> str:
    """Return ``job_id`` if it looks like a job id, else raise ``InvalidInput``."""
    if not looks_like_id(job_id):
        raise InvalidInput(f"{job_id!r} is not a job id (expected a UUID such as 0199...)")
    return job_id


def new_id() -> str:
    """A new UUID v7 for a row or a job."""
    return str(uuid_utils.uuid7())


def new_owner_token() -> str:
    """A new random UUID v4 identifying one holder of a lock."""
    return str(uuid.uuid4())


def key_id(*parts: str) -> str:
    """The deterministic UUID v5 of ``parts`` (joined with a separator no slug contains)."""
    return str(uuid_utils.uuid5(_KEY_NAMESPACE, "\x1f".join(parts)))


def format_epoch(seconds: float) -> str:
    """A Unix time as a stored timestamp: fixed-width UTC ISO-8601 with milliseconds,
    so timestamps compare as strings."""
    global _second
    # Milliseconds truncated, after a microsecond's allowance for the float's
    # error: 1800000000.009 is 1800000000.00899... and must not read as .008.
    whole, millis = divmod(int(seconds * 1000 + 0.001), 1000)
    known = _second
    if known[0] != whole:
        known = (whole, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)))
        _second = known
    return f"{known[1]}.{millis:03d}Z"


def format_timestamp(moment: datetime) -> str:
    """An aware datetime as a stored timestamp (see :func:`format_epoch`)."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def now() -> str:
    """The current time as a stored timestamp."""
    return format_epoch(time.time())


def after(milliseconds: float, since: float | None = None) -> str:
    """The stored timestamp ``milliseconds`` after ``since`` (a Unix time; default: now)."""
    return format_epoch((time.time() if since is None else since) + milliseconds / 1000)


def parse_timestamp(value: str) -> datetime:
    """The aware datetime of a stored timestamp."""
    # fromisoformat (C, understands "Z" since 3.11) is ~20x faster than strptime.
    return datetime.fromisoformat(value)


def elapsed_ms(start: str, end: str) -> float:
    """Milliseconds from stored timestamp ``start`` to stored timestamp ``end``."""
    return (parse_timestamp(end) - parse_timestamp(start)).total_seconds() * 1000
