"""Turning a request into a job: the one dispatch step every request takes.

Cheap reads come first, outside any write transaction (the request's
snapshot): a key whose job is already on its way (the strategy's ``peek``) or
whose text is stored needs no write at all. Only a request that may create a
job opens a write transaction,
looks again (the text may have landed, and the key's slot been freed, while it
waited for the lock: without this second look it would start a second job for
a key that is done) and lets the strategy dispatch; a requester that will run
the job itself claims it in that same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from moviemind_lite.core.domain import KINDS
from moviemind_lite.core.model import Entity, Job, JobRequest, Text
from moviemind_lite.pipeline.strategies.base import Strategy
from moviemind_lite.store import catalog
from moviemind_lite.store.db import Database, Tx
from moviemind_lite.store.jobs import JobStore
from moviemind_lite.store.slots import slot_key, take_turns

How = Literal["stored", "created", "joined"]


@dataclass(frozen=True)
class Dispatched:
    """Where a request ended: on stored text, on a new job, or on a job on its way."""

    how: How
    job: Job | None = None
    entity: Entity | None = None
    text: Text | None = None


def stored(database: Database | Tx, request: JobRequest) -> Dispatched | None:
    """The stored entity and text ``request`` asks for, or ``None`` if either is missing."""
    entity, text = catalog.find_with_baseline(
        database, KINDS[request.kind], request.slug, request.locale, request.context_tag
    )
    if entity is None or text is None:
        return None
    return Dispatched("stored", entity=entity, text=text)


def dispatch_request(
    database: Database,
    jobs: JobStore,
    strategy: Strategy,
    request: JobRequest,
    *,
    holder: Job | None,
    claim_for: str | None = None,
) -> Dispatched:
    """Join a job on its way, answer from the store, or let ``strategy`` dispatch.

    The caller has read what is stored for the key (and found no text) and
    ``holder``, the job holding the key's slot (:mod:`moviemind_lite.store.snapshots`).
    With ``claim_for`` (a worker id), a job this request creates is claimed
    for that worker in the dispatch transaction: one transaction fewer than
    claiming it afterwards, for a requester about to run it.
    """
    joined = strategy.peek(request, holder)
    if joined is not None:
        return Dispatched("joined", job=joined)
    with database.write() as tx:
        # The look and the decision take turns with the key's other dispatches and
        # with the end of its job (a job ending now would have its text unseen here).
        take_turns(tx, slot_key(request))
        found = stored(tx, request)
        if found is not None:
            return found
        dispatch = strategy.dispatch(tx, request, claim_for)
    return Dispatched("created" if dispatch.created else "joined", job=dispatch.job)


def create_job(
    database: Database,
    jobs: JobStore,
    request: JobRequest,
    strategy: str,
    *,
    claim_for: str | None = None,
    join_unfinished: bool = False,
) -> Dispatched:
    """A new job for ``request``, whatever else is on its way (a regeneration's "another").

    With ``claim_for``, the job is claimed for that worker in the same transaction.
    With ``join_unfinished``, an unfinished job for the same key (kind, slug, locale,
    context) is joined instead, decided in that transaction: the HTTP API's
    "unless an active job already holds the same key".
    """
    with database.write() as tx:
        if join_unfinished:
            # Two requests for the same key must not both find none and both insert.
            take_turns(tx, slot_key(request))
            job, created = jobs.insert_or_join(tx, request, strategy, claimed_by=claim_for)
            return Dispatched("created" if created else "joined", job=job)
        job = jobs.insert(tx, request, strategy, claimed_by=claim_for)
    return Dispatched("created", job=job)
