"""Turning a request into a job: the one dispatch step ``show`` and the lab share.

Cheap reads come first, outside any write transaction: a key whose job is
already on its way (the strategy's ``peek``) or whose text is stored needs no
write at all. Only a request that may create a job opens ``BEGIN IMMEDIATE``,
looks again (another request may have just written the text) and lets the
strategy dispatch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from moviemind_lite.core.domain import KINDS
from moviemind_lite.core.model import Entity, Job, JobRequest, Text
from moviemind_lite.pipeline.strategies.base import Strategy
from moviemind_lite.store import catalog
from moviemind_lite.store.db import Database

How = Literal["stored", "created", "joined"]


@dataclass(frozen=True)
class Dispatched:
    """Where a request ended: on stored text, on a new job, or on a job on its way."""

    how: How
    job: Job | None = None
    entity: Entity | None = None
    text: Text | None = None


def _stored(database: Database, request: JobRequest) -> Dispatched | None:
    kind = KINDS[request.kind]
    entity = catalog.find_entity(database, kind, request.slug)
    if entity is None:
        return None
    text = catalog.find_baseline(database, kind, entity.id, request.locale, request.context_tag)
    return Dispatched("stored", entity=entity, text=text) if text is not None else None


def dispatch_request(
    database: Database,
    strategy: Strategy,
    request: JobRequest,
    on_created: Callable[[Job], Job | None] | None = None,
) -> Dispatched:
    """Answer from the store, join a job on its way, or let ``strategy`` dispatch.

    ``on_created`` runs inside the dispatch transaction on a job this request
    created, e.g. to claim it for the requester that is about to run it (one
    transaction fewer than claiming it afterwards); what it returns replaces
    the job in the answer.
    """
    joined = strategy.peek(request)
    if joined is not None:
        return Dispatched("joined", job=joined)
    stored = _stored(database, request)
    if stored is not None:
        return stored
    with database.write() as conn:
        # Looked up again inside the transaction: the text may have just landed.
        kind = KINDS[request.kind]
        entity = catalog.find_entity(conn, kind, request.slug)
        if entity is not None:
            text = catalog.find_baseline(conn, kind, entity.id, request.locale, request.context_tag)
            if text is not None:
                return Dispatched("stored", entity=entity, text=text)
        dispatch = strategy.dispatch(conn, request)
        job: Job | None = dispatch.job
        if dispatch.created and on_created is not None:
            job = on_created(dispatch.job) or dispatch.job
    return Dispatched("created" if dispatch.created else "joined", job=job, entity=entity)
