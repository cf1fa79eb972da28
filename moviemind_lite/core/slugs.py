"""How much an unknown slug looks like a real title or name: the confidence check.

Before a job is queued for a slug nobody has stored, MovieMind scores it the
way the original service's ``SlugValidator`` does, so that an API client gets
the same ``confidence`` and ``confidence_level`` for the same slug. The rules,
first match wins:

movies
    prompt injection or shorter than 3 characters: invalid, 0.0; a year from
    1888 to next year + 1 anywhere: valid, 0.9; a ``ab-123`` pattern: invalid,
    0.4; only digits: invalid, 0.1; letters, digits and hyphens, 5 characters
    or more: valid, 0.6; anything else: invalid, 0.3.
people
    prompt injection or shorter than 3 characters: invalid, 0.0; a ``ab-123``
    pattern or only digits: invalid, 0.1; 2 to 4 words: valid, 0.85; one word
    of 5 characters or more: valid, 0.6; anything else: invalid, 0.3.

Lite adds its own slug syntax on top (lower-case words joined by single
hyphens, see :func:`~moviemind_lite.core.domain.describe_bad_slug`): a slug
that breaks it is invalid whatever its score, since nothing could be stored
under it. Prompt injection is judged by
:func:`~moviemind_lite.core.injection.injection_reason`, the one detector.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from moviemind_lite.core.domain import KindName, describe_bad_slug
from moviemind_lite.core.injection import injection_reason

FIRST_FILM_YEAR = 1888
# The original service's message, asserted exactly by its tests; what matched goes elsewhere.
INJECTION_REASON = "Potential prompt injection detected"

_YEAR = re.compile(r"\b(18[89]\d|19\d{2}|20[0-3]\d)\b")
_SUSPICIOUS = re.compile(r"\b[a-z]{1,3}-\d{2,}\b", re.IGNORECASE)
_DIGITS = re.compile(r"\d+")
_TITLE_CHARACTERS = re.compile(r"[a-z0-9-]+", re.IGNORECASE)


@dataclass(frozen=True)
class SlugVerdict:
    """Whether an unknown slug may become a job, how confident that is, and why."""

    slug: str
    valid: bool
    confidence: float
    reason: str
    detail: str | None = None
    """Why a slug reads like prompt injection (the ``reason`` is the original's fixed text)."""

    @property
    def level(self) -> str:
        """``high`` (>= 0.9), ``medium`` (>= 0.7), ``low`` (>= 0.5) or ``very_low``."""
        return confidence_level(self.confidence)


def confidence_level(confidence: float | None) -> str:
    """The label of a confidence score (``unknown`` for none)."""
    if confidence is None:
        return "unknown"
    if confidence >= 0.9:
        return "high"
    if confidence >= 0.7:
        return "medium"
    if confidence >= 0.5:
        return "low"
    return "very_low"


def score_slug(kind: KindName, slug: str, *, this_year: int | None = None) -> SlugVerdict:
    """Score ``slug`` as the slug of an unknown movie or person (see the module docstring)."""
    verdict = _score(kind, slug, this_year or datetime.now(UTC).year)
    problem = describe_bad_slug(slug)
    if verdict.valid and problem is not None:
        return SlugVerdict(slug, False, verdict.confidence, problem)
    return verdict


def _score(kind: KindName, slug: str, this_year: int) -> SlugVerdict:
    injection = injection_reason(slug)
    if injection is not None:
        return SlugVerdict(slug, False, 0.0, INJECTION_REASON, injection)
    if len(slug) < 3:
        return SlugVerdict(slug, False, 0.0, "Slug too short (minimum 3 characters)")
    if kind == "movie":
        return _score_movie(slug, this_year)
    return _score_person(slug)


def _score_movie(slug: str, this_year: int) -> SlugVerdict:
    year = _YEAR.search(slug)
    if year is not None and FIRST_FILM_YEAR <= int(year.group(1)) <= this_year + 2:
        return SlugVerdict(slug, True, 0.9, "Slug contains valid year format (title-year)")
    if _SUSPICIOUS.search(slug):
        return SlugVerdict(slug, False, 0.4, "Slug format suspicious (random pattern detected)")
    if _DIGITS.fullmatch(slug):
        return SlugVerdict(slug, False, 0.1, "Slug contains only digits")
    if _TITLE_CHARACTERS.fullmatch(slug) and len(slug) >= 5:
        return SlugVerdict(slug, True, 0.6, "Slug looks like a title but no year detected")
    return SlugVerdict(slug, False, 0.3, "Slug does not match expected movie slug format")


def _score_person(slug: str) -> SlugVerdict:
    if _SUSPICIOUS.search(slug):
        return SlugVerdict(slug, False, 0.1, "Slug format suspicious (random pattern detected)")
    if _DIGITS.fullmatch(slug):
        return SlugVerdict(slug, False, 0.1, "Slug contains only digits")
    words = slug.split("-")
    if 2 <= len(words) <= 4:
        return SlugVerdict(slug, True, 0.85, "Slug matches name format (2-4 words)")
    if len(words) == 1 and len(slug) >= 5:
        return SlugVerdict(slug, True, 0.6, "Slug is a single word (possible mononym)")
    return SlugVerdict(slug, False, 0.3, "Slug does not match expected person slug format")
