"""The contract's JSON bodies, built from the use cases' plain values.

Field names and enum spellings follow the original service (``release_year``,
``descriptions[]``, ``MOVIE``, ``GENERATED``, ``DEFAULT``); ``docs/api.md``
lists where Lite's bodies differ and why.
"""

from __future__ import annotations

from typing import Any

from moviemind_lite.app.api import (
    AdminFlag,
    EntityPage,
    Health,
    Queued,
    StoredEntity,
    job_failure,
)
from moviemind_lite.core.domain import DEFAULT_CONTEXT, MOVIE, PERSON, EntityKind
from moviemind_lite.core.ids import now
from moviemind_lite.core.model import DONE, FAILED, IN_PROGRESS, Credit, Entity, Job, Text
from moviemind_lite.core.slugs import score_slug

API = "/api/v1"
ENTITY_TYPES = {"movie": "MOVIE", "person": "PERSON"}
SCOPE_NOTE = (
    "Only the global value of each flag is shown and changed here. Per-scope overrides and "
    "percentage rollouts are Lite extras, managed with `moviemind flags` and `moviemind rollout`."
)


def context_tag_out(tag: str) -> str:
    """Lite's ``default`` context is the contract's ``DEFAULT``; the others are spelled alike."""
    return "DEFAULT" if tag == DEFAULT_CONTEXT else tag


def context_tag_in(tag: str | None) -> str:
    """The contract's ``DEFAULT`` (and no context at all) is Lite's ``default``."""
    return DEFAULT_CONTEXT if tag in (None, "DEFAULT") else tag


def text_brief(text: Text) -> dict[str, Any]:
    """A text as ``default_description`` in a list item."""
    return {
        "id": text.id,
        "locale": text.locale,
        "text": text.text,
        "context_tag": context_tag_out(text.context_tag),
        "origin": text.origin.upper(),
        "ai_model": text.ai_model,
    }


def text_full(text: Text) -> dict[str, Any]:
    """A text as an item of ``descriptions`` / ``bios`` (with Lite's version and baseline mark)."""
    return {
        **text_brief(text),
        "created_at": text.created_at,
        "updated_at": text.updated_at,
        "version": text.version,
        "is_baseline": text.is_baseline,
    }


def entity_url(base: str, kind: EntityKind, slug: str) -> str:
    """The absolute URL of an entity's show endpoint."""
    return f"{base}{API}/{kind.plural}/{slug}"


def _credit_extras(credit: Credit) -> dict[str, Any]:
    extras = {"character_name": credit.character_name, "billing_order": credit.billing_order}
    return {name: value for name, value in extras.items() if value is not None}


def credited(base: str, credits: list[Credit], other: EntityKind) -> tuple[list[Any], list[Any]]:
    """The entities at the other end of ``credits`` (a movie's people, a person's movies),
    and the links to them."""
    items, links = [], []
    for credit in credits:
        if other.name == "person":
            entity_id, slug, label_key, label = (
                credit.person_id,
                credit.person_slug,
                "name",
                credit.person_name,
            )
        else:
            entity_id, slug, label_key, label = (
                credit.movie_id,
                credit.movie_slug,
                "title",
                credit.movie_title,
            )
        items.append(
            {
                "id": entity_id,
                label_key: label,
                "slug": slug,
                "role": credit.role,
                "character_name": credit.character_name,
            }
        )
        links.append(
            {
                "href": entity_url(base, other, slug),
                "title": label,
                "role": credit.role,
                **_credit_extras(credit),
            }
        )
    return items, links


def entity_item(
    base: str, entity: Entity, text_count: int, baseline: Text | None, credits: list[Credit]
) -> dict[str, Any]:
    """A movie or person as an item of its list (and the core of its show body)."""
    facts = entity.facts
    kind = entity.kind
    stamps = {"created_at": entity.created_at, "updated_at": entity.updated_at}
    self_link = {"href": entity_url(base, kind, entity.slug)}
    if kind.name == "movie":
        people, people_links = credited(base, credits, PERSON)
        return {
            "id": entity.id,
            "title": facts["title"],
            "slug": entity.slug,
            "release_year": facts["year"],
            "director": facts["director"],
            "genres": list(facts["genres"] or []),
            "default_description_id": entity.baseline_id,
            **stamps,
            "descriptions_count": text_count,
            **({"default_description": text_brief(baseline)} if baseline else {}),
            "people": people,
            "_links": {
                "self": self_link,
                "generate": {
                    "href": f"{base}{API}/generate",
                    "method": "POST",
                    # The slug, not the UUID the original puts here: /generate reads
                    # entity_id as a slug, so the link works as sent.
                    "body": {"entity_type": "MOVIE", "entity_id": entity.slug},
                },
                "people": people_links,
            },
        }
    movies, movie_links = credited(base, credits, MOVIE)
    return {
        "id": entity.id,
        "name": facts["name"],
        "slug": entity.slug,
        "birth_date": facts["birth_date"],
        "birthplace": facts["birthplace"],
        "default_bio_id": entity.baseline_id,
        **stamps,
        "bios_count": text_count,
        "movies": movies,
        **({"default_bio": text_full(baseline)} if baseline else {}),
        "_links": {"self": self_link, "movies": movie_links},
    }


def page_body(base: str, page: EntityPage) -> dict[str, Any]:
    """``GET /movies`` or ``/people``: the items and the pagination block."""
    items = [
        entity_item(
            base,
            entity,
            page.text_counts.get(entity.id, 0),
            page.baselines.get(entity.baseline_id) if entity.baseline_id else None,
            page.credits.get(entity.id, []),
        )
        for entity in page.entities
    ]
    return {
        "data": items,
        "pagination": {
            "current_page": page.page,
            "per_page": page.per_page,
            "total_pages": page.total_pages,
            "total": page.total,
            "has_next_page": page.page < page.total_pages,
            "has_previous_page": page.page > 1,
        },
    }


def show_body(base: str, stored: StoredEntity, selected: Text | None) -> dict[str, Any]:
    """``GET /movies/{slug}`` or ``/people/{slug}``: the item with every text."""
    kind = stored.entity.kind
    body = entity_item(base, stored.entity, len(stored.texts), stored.baseline, stored.credits)
    body["descriptions" if kind.name == "movie" else "bios"] = [
        text_full(text) for text in stored.texts
    ]
    if selected is not None:
        body[f"selected_{kind.text_noun}"] = text_full(selected)
    return body


def queued_body(queued: Queued, asked_context: str | None, *, regenerating: bool) -> dict[str, Any]:
    """The 202 body of a request that ended on a job."""
    kind = queued.kind
    if not queued.created:
        message = f"Generation already queued for {kind.name} slug"
    elif regenerating:
        message = f"Generation queued for existing {kind.name} slug"
    else:
        message = f"Generation queued for {kind.name} by slug"
    body: dict[str, Any] = {
        "job_id": queued.job.id,
        "status": queued.job.status,
        "message": message,
        "slug": queued.slug,
        "confidence": queued.verdict.confidence,
        "confidence_level": queued.verdict.level,
        "locale": queued.locale,
    }
    if queued.existing is not None:
        body["existing_id"] = queued.existing.id
        body[f"{kind.text_noun}_id"] = queued.existing.baseline_id
    if asked_context is not None:
        body["context_tag"] = asked_context
    return body


def job_body(job: Job) -> dict[str, Any]:
    """``GET /jobs/{id}``: the job as the contract reports it."""
    kind_name = job.kind
    body: dict[str, Any] = {
        "job_id": job.id,
        "status": job.status,
        "entity": ENTITY_TYPES[kind_name],
        "slug": job.slug,
        "requested_slug": job.slug,
        "confidence": score_slug(kind_name, job.slug).confidence,
        "locale": job.locale,
        "context_tag": context_tag_out(job.context_tag),
    }
    noun = "description" if kind_name == "movie" else "bio"
    if job.status == DONE:
        body.update(id=job.entity_id, entity_id=job.entity_id)
        body[f"{noun}_id"] = job.text_id
    elif job.status == FAILED:
        failure = job_failure(job)
        body["error"] = {
            "type": failure.type,
            "message": failure.message,
            "technical_message": failure.technical_message,
            "user_message": failure.user_message,
        }
    return body


def multi_body(
    slug: str, locale: str, asked: list[Any], bodies: list[dict[str, Any]]
) -> dict[str, Any]:
    """The 202 body of ``POST /generate`` with several context tags."""
    statuses = {body["status"] for body in bodies}
    return {
        "job_ids": [body["job_id"] for body in bodies],
        "status": IN_PROGRESS if statuses == {IN_PROGRESS} else "PENDING",
        "message": "Generation queued for multiple context tags",
        "slug": slug,
        "context_tags": asked,
        "locale": locale,
        "jobs": bodies,
    }


def health_body(health: Health, features: dict[str, bool]) -> dict[str, Any]:
    """``GET /health``: the database, the AI circuit, the queue and this process."""
    circuit = health.circuit
    openai: dict[str, Any] = {
        "success": health.ai_ok,
        "model": health.ai_model,
        "circuit": circuit.state if circuit else "unknown",
        "consecutive_failures": circuit.consecutive_failures if circuit else None,
        "open_until": circuit.open_until if circuit else None,
        "message": (
            "AI calls go through"
            if health.ai_ok
            else "AI circuit open: jobs wait until it closes"
            if circuit
            else "AI circuit unknown: the database cannot be read"
        ),
    }
    status = "healthy" if health.database_ok and health.ai_ok else "degraded"
    return {
        "status": status,
        "timestamp": now(),
        "checks": {
            "database": {
                "status": "ok" if health.database_ok else "error",
                "message": health.database_message,
            },
            "openai": openai,
            "jobs": health.jobs,
            "instance": {
                "instance_id": f"pid-{health.pid}",
                "status": "healthy",
                "features": features,
            },
        },
    }


def admin_flag_item(flag: AdminFlag) -> dict[str, Any]:
    """One flag in ``GET /admin/flags``."""
    return {
        "name": flag.state.flag.name,
        "active": flag.state.value.enabled,
        "description": flag.state.flag.description,
        "category": flag.category,
        "default": flag.state.flag.default,
        "togglable": flag.togglable,
        "forced": flag.forced,
    }
