"""What MovieMind talks about: entity kinds, slugs, locales and context tags.

Movies and people travel through the same code; an :class:`EntityKind` names
the tables and columns that differ between them so nothing else has to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

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
