"""The rows of one kind read from a catalog file: the valid ones to write, the rest reported."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from moviemind_lite.core.domain import (
    MOVIE,
    PERSON,
    SLUG_MAX_LENGTH,
    EntityKind,
    validate_row,
)
from moviemind_lite.core.errors import InvalidCatalogFile
from moviemind_lite.store.bulk import RowFailure

_TEXT_LISTS = {MOVIE.name: "descriptions", PERSON.name: "bios"}


def columns(kind: EntityKind) -> tuple[str, ...]:
    """The fields of a catalog file of ``kind``, in file order."""
    return ("slug", *kind.fields)


def ignored_fields(kind: EntityKind) -> frozenset[str]:
    """Fields a file may carry that import accepts and does not store."""
    return frozenset({"id", _TEXT_LISTS[kind.name]})


@dataclass
class ParsedRows:
    """The rows of one kind read from a file: valid ones to write, invalid ones reported."""

    kind: EntityKind
    rows: list[dict[str, Any]] = field(default_factory=list)
    numbers: list[int] = field(default_factory=list)
    """The 1-based data-row number of each valid row, for ordering failures."""
    locations: list[str] = field(default_factory=list)
    failures: list[RowFailure] = field(default_factory=list)
    total: int = 0
    ignored: set[str] = field(default_factory=set)

    def refuse(self, location: str, reason: str, slug: str | None = None) -> None:
        """Count one row that will not be written, and say why."""
        self.total += 1
        self.failures.append(RowFailure(self.total, location, slug, reason))

    def add(self, location: str, raw: Any, *, check_fields: bool = True) -> None:
        """Validate one raw row (a mapping, or anything else a file may hold).

        ``check_fields=False`` when the names were checked once already (a CSV header).
        """
        if not isinstance(raw, Mapping):
            self.refuse(location, "not an object with named fields")
            return
        if check_fields:
            self.check_fields(location, raw.keys())
        row, reason = validate_row(self.kind, raw)
        if row is None:
            slug = raw.get("slug")
            usable = isinstance(slug, str) and len(slug) <= SLUG_MAX_LENGTH
            self.refuse(location, reason, slug if usable else None)
            return
        self.accept(location, row)

    def accept(self, location: str, row: dict[str, Any]) -> None:
        """Count one valid row, to be written."""
        self.total += 1
        self.rows.append(row)
        self.numbers.append(self.total)
        self.locations.append(location)

    def check_fields(self, location: str, names: Any) -> None:
        """Raise :class:`InvalidCatalogFile` for a field this kind does not have."""
        known = columns(self.kind)
        ignorable = ignored_fields(self.kind)
        unknown = [name for name in names if name not in known and name not in ignorable]
        if unknown:
            hint = ""
            other = PERSON if self.kind is MOVIE else MOVIE
            if all(name in columns(other) for name in unknown):
                hint = f" (is it a file of {other.plural}? use --kind {other.plural})"
            raise InvalidCatalogFile(
                f"{location}: unknown field{'s' if len(unknown) > 1 else ''} "
                f"{', '.join(repr(name) for name in unknown)} for {self.kind.plural}; "
                f"expected: {', '.join(known)}{hint}"
            )
        self.ignored.update(name for name in names if name in ignorable)
