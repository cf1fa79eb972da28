"""What a request needs to know before it decides anything, read in one statement.

A request for a text first looks at the answer cache, the stored entity and
its baseline, the job holding the key's generation slot, and the version of
the flags and rollouts; one statement reads all of them, so a request that
ends on a stored answer or joins a job on its way costs one read (and, with
slots on Redis, one ``GET`` of the slot before it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from typing import Any

from moviemind_lite.core.domain import EntityKind
from moviemind_lite.core.model import Entity, Job, Text
from moviemind_lite.store.catalog import (
    TEXT_COLUMNS,
    entity_columns,
    entity_from_row,
    text_from_row,
)
from moviemind_lite.store.db import Database
from moviemind_lite.store.locking import Slots

_JOB_COLUMNS = tuple(Job.__dataclass_fields__)


@dataclass(frozen=True)
class RequestSnapshot:
    """A request's key as the store holds it now.

    ``answer`` is the cached answer (``None``: none cached); ``entity`` and
    ``text`` the stored entity and its baseline for the key's locale and
    context; ``holder`` the job holding the key's live slot (finished or not);
    ``state_version`` the counter every flag and rollout change moves.
    """

    answer: dict[str, Any] | None
    entity: Entity | None
    text: Text | None
    holder: Job | None
    state_version: int


_SLOT_ROW = (
    "LEFT JOIN generation_slots s ON s.key = :slot_key AND s.expires_at > :now "
    "LEFT JOIN jobs j ON j.id = s.job_id"
)
# The slot was read elsewhere (Redis): only its holder's row is joined.
_HOLDER_ROW = "LEFT JOIN jobs j ON j.id = :holder_id"


@cache
def _sql(kind: EntityKind, slots_in_database: bool) -> str:
    entity = ", ".join(f"e.{column} AS e_{column}" for column in entity_columns(kind))
    text = ", ".join(f"t.{column} AS t_{column}" for column in TEXT_COLUMNS)
    job = ", ".join(f"j.{column} AS j_{column}" for column in _JOB_COLUMNS)
    return (
        f"SELECT (SELECT answer FROM answer_cache WHERE key = :cache_key) AS cached_answer, "
        f"(SELECT version FROM state_version WHERE id = 1) AS state_version, "
        f"{entity}, {text}, {job} "
        "FROM (SELECT 1) AS request "
        f"LEFT JOIN {kind.table} e ON e.slug = :slug "
        f"LEFT JOIN {kind.text_table} t ON t.{kind.entity_fk} = e.id AND t.locale = :locale "
        "AND t.context_tag = :context_tag AND t.is_baseline = 1 "
        + (_SLOT_ROW if slots_in_database else _HOLDER_ROW)
    )


def request_snapshot(
    database: Database,
    slots: Slots,
    kind: EntityKind,
    slug: str,
    locale: str,
    context_tag: str,
    *,
    cache_key: str,
    slot_key: str,
) -> RequestSnapshot:
    """Everything a request for ``slug`` in ``locale`` and ``context_tag`` looks at first."""
    params: dict[str, Any] = {
        "cache_key": cache_key,
        "slug": slug,
        "locale": locale,
        "context_tag": context_tag,
    }
    if slots.in_database:
        params.update(slot_key=slot_key, now=slots.clock.stamp())
    else:
        params.update(holder_id=slots.holder_id(slot_key))
    row = database.query_one(_sql(kind, slots.in_database), params)
    assert row is not None  # the query always returns its one row
    answer = row["cached_answer"]
    holder = None
    if row["j_id"] is not None:
        holder = Job.from_row({column: row["j_" + column] for column in _JOB_COLUMNS})
    return RequestSnapshot(
        answer=json.loads(answer) if answer is not None else None,
        entity=entity_from_row(kind, row, "e_") if row["e_id"] is not None else None,
        text=text_from_row(row, "t_") if row["t_id"] is not None else None,
        holder=holder,
        state_version=int(row["state_version"] or 0),
    )
