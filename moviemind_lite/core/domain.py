"""What MovieMind talks about: entity kinds, slugs, locales and context tags.

Movies and people travel through the same code; an :class:`EntityKind` names
the tables and columns that differ between them so nothing else has to.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from moviemind_lite.core.errors import InvalidContextTag, InvalidInput, InvalidSlug, UnknownLocale

LOCALES: tuple[str, ...] = ("pl-PL", "en-US", "de-DE", "fr-FR", "es-ES")
CONTEXT_TAGS: tuple[str, ...] = ("default", "modern", "critical", "humorous")
DEFAULT_CONTEXT = "default"
SLUG_MAX_LENGTH = 255

OnConflict = Literal["skip", "update"]
"""What an import does with a row whose slug is stored: pass over it or update its facts."""
ON_CONFLICT_CHOICES: tuple[OnConflict, ...] = ("skip", "update")

_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")

KindName = Literal["movie", "person"]


@dataclass(frozen=True)
class EntityKind:
    """Where one kind of entity and its texts live, and what they are called."""

    name: KindName
    plural: str
    table: str
    text_table: str
    text_noun: str
    entity_fk: str
    baseline_column: str
    label_column: str
    fields: tuple[str, ...]


MOVIE = EntityKind(
    name="movie",
    plural="movies",
    table="movies",
    text_table="descriptions",
    text_noun="description",
    entity_fk="movie_id",
    baseline_column="default_description_id",
    label_column="title",
    fields=("title", "year", "director", "genres"),
)

PERSON = EntityKind(
    name="person",
    plural="people",
    table="people",
    text_table="bios",
    text_noun="bio",
    entity_fk="person_id",
    baseline_column="default_bio_id",
    label_column="name",
    fields=("name", "birth_date", "birthplace"),
)

KINDS: dict[str, EntityKind] = {MOVIE.name: MOVIE, PERSON.name: PERSON}


def kind_named(name: str) -> EntityKind:
    """The kind called ``name`` ("movie" or "person", singular or plural)."""
    for kind in KINDS.values():
        if name in (kind.name, kind.plural):
            return kind
    raise InvalidInput(f"unknown kind {name!r}; expected one of: movie, person")


def describe_bad_slug(slug: str) -> str | None:
    """Why ``slug`` is not a valid slug, or ``None`` when it is."""
    if not slug:
        return "slug is empty"
    if len(slug) > SLUG_MAX_LENGTH:
        return f"slug is {len(slug)} characters long; at most {SLUG_MAX_LENGTH} allowed"
    if _SLUG.fullmatch(slug) is None:
        return (
            f"invalid slug {slug!r}: use lowercase ASCII letters and digits "
            "separated by single hyphens, e.g. the-matrix-1999"
        )
    return None


def validate_slug(slug: str) -> str:
    """Return ``slug`` if it is valid, else raise :class:`InvalidSlug`."""
    problem = describe_bad_slug(slug)
    if problem is not None:
        raise InvalidSlug(problem)
    return slug


def validate_locale(locale: str) -> str:
    """Return ``locale`` if MovieMind writes in it, else raise :class:`UnknownLocale`."""
    if locale not in LOCALES:
        raise UnknownLocale(f"unknown locale {locale!r}; expected one of: {', '.join(LOCALES)}")
    return locale


def validate_context_tag(tag: str) -> str:
    """Return ``tag`` if it is a known context tag, else raise :class:`InvalidContextTag`."""
    if tag not in CONTEXT_TAGS:
        raise InvalidContextTag(
            f"unknown context tag {tag!r}; expected one of: {', '.join(CONTEXT_TAGS)}"
        )
    return tag


# -- the rules a catalog row keeps ------------------------------------------------------

GENRE_SEPARATOR = "|"
YEAR_MIN, YEAR_MAX = 1870, 2100
"""Movie years accepted: from the first motion pictures to a generous future."""
MAX_TEXT_CHARS = 500
"""The longest title, name, director, birthplace or genre imported (the longest real title is
about 200 characters)."""
MAX_GENRES = 20
"""The most genres a movie may list."""

_PARTIAL_DATE = re.compile(r"([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2}))?)?")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_SHOWN_VALUE_CHARS = 60

FieldCheck = Callable[[Any, list[str]], Any]
"""A field's check: its value, or ``None`` with what is wrong added to the list."""


def _cut(text: str) -> str:
    """A value shown in a reason, cut short when long."""
    if len(text) > _SHOWN_VALUE_CHARS:
        return f"{text[: _SHOWN_VALUE_CHARS - 1]}…"
    return text


def check_text_field(value: Any, name: str, problems: list[str]) -> str | None:
    """Trimmed text of at most MAX_TEXT_CHARS characters with no control character."""
    if value is None:
        return None
    if not isinstance(value, str):
        problems.append(f"{name} must be text, got {_cut(json.dumps(value, default=str))}")
        return None
    text = value.strip()
    if len(text) > MAX_TEXT_CHARS:
        problems.append(f"{name} is {len(text):,} characters long; at most {MAX_TEXT_CHARS}")
        return None
    control = _CONTROL.search(text)
    if control is not None:
        hint = "; is a quote left open?" if control.group() in "\r\n" else ""
        problems.append(f"{name} contains a control character (U+{ord(control.group()):04X}){hint}")
        return None
    return text or None


def check_year(value: Any, problems: list[str]) -> int | None:
    """A year from YEAR_MIN to YEAR_MAX, typed (JSON) or written (CSV)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    text = value.strip() if isinstance(value, str) else ""
    if text.isascii() and text.isdigit() and len(text) <= 4:
        year = int(text)
    elif isinstance(value, int) and not isinstance(value, bool):
        year = value
    else:
        problems.append(f"year {_cut(repr(value))} is not a whole number")
        return None
    if not YEAR_MIN <= year <= YEAR_MAX:
        problems.append(f"year {year} is outside {YEAR_MIN}-{YEAR_MAX}")
        return None
    return year


def check_birth_date(value: Any, problems: list[str]) -> str | None:
    """A date written YYYY, YYYY-MM or YYYY-MM-DD whose given parts exist."""
    text = check_text_field(value, "birth_date", problems)
    if text is None:
        return None
    match = _PARTIAL_DATE.fullmatch(text)
    if match is not None:
        year, month, day = (int(part) if part else 1 for part in match.groups())
        try:
            # Check the parts that are given; a bare year or year-month is fine.
            date(year, month, day)
        except ValueError:
            match = None
    if match is None:
        problems.append(f"birth_date {text!r} is not YYYY, YYYY-MM or YYYY-MM-DD")
        return None
    return text


def check_genres(value: Any, problems: list[str]) -> list[str]:
    """At most MAX_GENRES genres, a list or GENRE_SEPARATOR-separated text."""
    if value is None:
        return []
    if isinstance(value, str):
        items: list[Any] = value.split(GENRE_SEPARATOR)
    elif isinstance(value, list):
        items = value
    else:
        problems.append(f"genres must be a list or {GENRE_SEPARATOR!r}-separated text")
        return []
    if len(items) > MAX_GENRES:
        problems.append(f"{len(items):,} genres; at most {MAX_GENRES}")
        return []
    genres: list[str] = []
    for item in items:
        if not isinstance(item, str):
            problems.append(f"genre {_cut(json.dumps(item, default=str))} is not text")
            continue
        genre = check_text_field(item, "genre", problems)
        if genre is not None and GENRE_SEPARATOR in genre:
            # It could not survive a CSV export, where the separator splits genres.
            problems.append(f"genre {genre!r} contains {GENRE_SEPARATOR!r}")
            continue
        if genre is not None:
            genres.append(genre)
    return genres


def validate_row(kind: EntityKind, raw: Mapping[str, Any]) -> tuple[dict[str, Any] | None, str]:
    """The row to store for ``raw`` (slug plus facts), or ``None`` and every reason why not.

    Values may be typed (JSON) or text (CSV): ``year`` may be ``1999`` or
    ``"1999"``, ``genres`` a list or ``"Action|Drama"``; empty text is missing.
    """
    problems: list[str] = []
    slug = raw.get("slug")
    if not isinstance(slug, str):
        problems.append("slug is missing" if slug is None else "slug must be text")
    else:
        slug = slug.strip()
        problem = describe_bad_slug(slug)
        if problem is not None:
            problems.append(problem)
    row: dict[str, Any] = {"slug": slug}
    for name in kind.fields:
        value = raw.get(name)
        check = FIELD_CHECKS.get(name)
        row[name] = (
            check_text_field(value, name, problems) if check is None else check(value, problems)
        )
    if row[kind.label_column] is None and not any(
        problem.startswith(kind.label_column) for problem in problems
    ):
        problems.append(f"{kind.label_column} is required")
    if problems:
        return None, "; ".join(problems)
    return row, ""


# The fields with a rule of their own; every other field is text (check_text_field).
FIELD_CHECKS: dict[str, FieldCheck] = {
    "year": check_year,
    "genres": check_genres,
    "birth_date": check_birth_date,
}
