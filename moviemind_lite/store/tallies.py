"""Counts over a whole database: what a race left behind, read once it is over."""

from __future__ import annotations

from dataclasses import dataclass

from moviemind_lite.core.domain import EntityKind
from moviemind_lite.store.db import Database
from moviemind_lite.store.leases import STALE_WRITE
from moviemind_lite.store.locking import Slots


@dataclass(frozen=True)
class Tally:
    """Rows and jobs as a race left them."""

    entities_per_slug: dict[str, int]
    texts_per_slug: dict[str, int]
    texts: int
    failed_jobs: int
    stale_writes_refused: int
    unfinished_jobs: int
    retried_jobs: int
    open_slots: int
    ai_calls: int


def _count(database: Database, sql: str, params: tuple[object, ...] = ()) -> int:
    row = database.query_one(sql, params)
    return int(row[0]) if row else 0


def tally(database: Database, slots: Slots, kind: EntityKind) -> Tally:
    """Count the entities and texts of ``kind`` per slug, and the jobs by how they ended."""
    entities = {
        row[0]: int(row[1])
        for row in database.query(f"SELECT slug, count(*) FROM {kind.table} GROUP BY slug")
    }
    texts = {
        row[0]: int(row[1])
        for row in database.query(
            f"SELECT e.slug, count(t.id) FROM {kind.table} e "
            f"JOIN {kind.text_table} t ON t.{kind.entity_fk} = e.id GROUP BY e.slug"
        )
    }
    stale = f"{STALE_WRITE}%"
    return Tally(
        entities_per_slug=entities,
        texts_per_slug=texts,
        texts=_count(database, f"SELECT count(*) FROM {kind.text_table}"),
        failed_jobs=_count(
            database,
            "SELECT count(*) FROM jobs WHERE status = 'FAILED' AND error NOT LIKE ?",
            (stale,),
        ),
        # A strategy's fence fails its job; a job's own fence (its claim) counts a row.
        stale_writes_refused=_count(
            database, "SELECT count(*) FROM jobs WHERE status = 'FAILED' AND error LIKE ?", (stale,)
        )
        + _count(database, "SELECT count(*) FROM stale_writes"),
        unfinished_jobs=_count(
            database, "SELECT count(*) FROM jobs WHERE status IN ('PENDING', 'IN_PROGRESS')"
        ),
        retried_jobs=_count(database, "SELECT count(*) FROM jobs WHERE attempts > 1"),
        open_slots=slots.count_open(),
        ai_calls=_count(database, "SELECT count(*) FROM ai_calls"),
    )
