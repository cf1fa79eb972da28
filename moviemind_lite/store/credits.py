"""Credits: which person directed or played in which movie, read for many entities at once."""

from __future__ import annotations

from moviemind_lite.core.model import Credit
from moviemind_lite.store.db import Database, Row

_SELECT = (
    "SELECT credits.*, movies.slug AS movie_slug, movies.title AS movie_title, "
    "people.slug AS person_slug, people.name AS person_name FROM credits "
    "JOIN movies ON movies.id = credits.movie_id JOIN people ON people.id = credits.person_id "
)
# Directors first, then the cast by billing order.
_ORDER = " ORDER BY credits.role = 'actor', coalesce(credits.billing_order, 999), people.name"


def _credit(row: Row) -> Credit:
    return Credit(
        row["movie_id"],
        row["movie_slug"],
        row["movie_title"],
        row["person_id"],
        row["person_slug"],
        row["person_name"],
        row["role"],
        row["character_name"],
        row["billing_order"],
    )


def credits_of(database: Database, column: str, ids: list[str]) -> dict[str, list[Credit]]:
    """The credits of each movie (``column="movie_id"``) or person (``"person_id"``) in ``ids``."""
    if column not in ("movie_id", "person_id"):
        raise ValueError(f"not a credits column: {column!r}")
    found: dict[str, list[Credit]] = {}
    if not ids:
        return found
    rows = database.query(
        f"{_SELECT}WHERE credits.{column} IN ({', '.join('?' for _ in ids)}){_ORDER}", ids
    )
    for row in rows:
        found.setdefault(row[column], []).append(_credit(row))
    return found
