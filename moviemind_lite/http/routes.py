"""The endpoints: parse, call one use case, shape the answer.

Endpoints that only read are plain functions, which Starlette runs on its
thread pool (the core is synchronous, one SQLite connection per thread).
Endpoints with a JSON body are coroutines only to read it, capped, then hand
the rest to the thread pool too.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from moviemind_lite.app.api import Queued
from moviemind_lite.app.wiring import App
from moviemind_lite.core.domain import LOCALES, MOVIE, PERSON, EntityKind
from moviemind_lite.core.errors import (
    BudgetSpent,
    EntityNotFound,
    FlagNotTogglable,
    GenerationOff,
    InvalidInput,
    JobNotFound,
    SlugRejected,
    UnknownFlag,
)
from moviemind_lite.http import shapes
from moviemind_lite.http.edge import LOOPBACK_REQUEST_KEY, PUBLIC_URL_KEY
from moviemind_lite.http.errors import (
    RETRY_AFTER_S,
    ValidationFailed,
    Validator,
    error,
    framework_error,
    label,
)
from moviemind_lite.http.limits import budget_spent, client_id, rate_limited, take
from moviemind_lite.http.openapi import openapi_document

log = logging.getLogger("moviemind.http")

MAX_BODY_BYTES = 64 * 1024
PER_PAGE_DEFAULT = 50
PER_PAGE_MAX = 100
ENTITY_TYPES = ("MOVIE", "PERSON", "TV_SERIES", "TV_SHOW")
CONTEXT_TAGS = ("DEFAULT", "modern", "critical", "humorous")
SLUG_MAX_LENGTH = 255

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_WHOLE_NUMBER = re.compile(r"-?[0-9]{1,20}")
_NOT_FOUND = {"movie": "Movie not found", "person": "Person not found"}


def moviemind(request: Request) -> App:
    """The application this server runs over."""
    app: App = request.app.state.moviemind
    return app


def base_url(request: Request) -> str:
    """The configured public URL, else the scheme and (allowed) host the client used."""
    public: str | None = request.scope.get(PUBLIC_URL_KEY)
    return public if public is not None else str(request.base_url).rstrip("/")


class BodyProblem(Exception):
    """A request body that cannot be read as JSON (too large, wrong type, malformed)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


async def read_json(request: Request) -> Any:
    """The request's JSON body (``{}`` when there is none), read at most ``MAX_BODY_BYTES``."""
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
        raise BodyProblem(413, f"The request body is too large (at most {MAX_BODY_BYTES} bytes).")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise BodyProblem(
                413, f"The request body is too large (at most {MAX_BODY_BYTES} bytes)."
            )
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        return {}
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise BodyProblem(415, "Send the request body as JSON (Content-Type: application/json).")
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        raise BodyProblem(400, "The request body is not valid JSON.") from None


def _int_param(check: Validator, request: Request, name: str, default: int, top: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    # ASCII digits only (an empty value is no integer either): int() also takes fullwidth
    # digits, "+5" and "1_0".
    if _WHOLE_NUMBER.fullmatch(raw) is None:
        check.add(name, f"The {label(name)} field must be an integer.")
        return default
    value = int(raw)
    if not 1 <= value <= top:
        check.add(name, f"The {label(name)} field must be between 1 and {top}.")
    return value


# -- catalog ----------------------------------------------------------------------


def list_movies(request: Request) -> Response:
    """``GET /api/v1/movies``."""
    return _list(request, MOVIE)


def list_people(request: Request) -> Response:
    """``GET /api/v1/people``."""
    return _list(request, PERSON)


def _list(request: Request, kind: EntityKind) -> Response:
    check = Validator()
    page = _int_param(check, request, "page", 1, 1_000_000)
    per_page = _int_param(check, request, "per_page", PER_PAGE_DEFAULT, PER_PAGE_MAX)
    check.check()
    found = moviemind(request).api.page(kind, request.query_params.get("q"), page, per_page)
    return JSONResponse(shapes.page_body(base_url(request), found))


def show_movie(request: Request) -> Response:
    """``GET /api/v1/movies/{slug}``."""
    return _show(request, MOVIE)


def show_person(request: Request) -> Response:
    """``GET /api/v1/people/{slug}``."""
    return _show(request, PERSON)


def _show(request: Request, kind: EntityKind) -> Response:
    slug = request.path_params["slug"]
    parameter = f"{kind.text_noun}_id"
    # The original ignores an empty id, as if it had not been sent.
    selected_id = request.query_params.get(parameter) or None
    if selected_id is not None and _UUID.fullmatch(selected_id) is None:
        return error(422, f"Invalid {parameter} parameter")
    client: str | None = getattr(request.state, "client", None)
    try:
        answer = moviemind(request).api.show(kind, slug, client)
    except SlugRejected as rejected:
        return _invalid_slug(rejected)
    except GenerationOff as off:
        # The original's body, and the cause in its own key.
        return error(404, _NOT_FOUND[kind.name], message=f"the flag {off.flag} is off")
    except EntityNotFound:
        return error(404, _NOT_FOUND[kind.name])
    except BudgetSpent as spent:
        return budget_spent(spent)
    if isinstance(answer, Queued):
        return JSONResponse(shapes.queued_body(answer, None, regenerating=False), status_code=202)
    selected = None
    if selected_id is not None:
        selected = next((text for text in answer.texts if text.id == selected_id), None)
        if selected is None:
            return error(404, f"{kind.text_noun.capitalize()} not found for {kind.name}")
    return JSONResponse(shapes.show_body(base_url(request), answer, selected))


def _invalid_slug(rejected: SlugRejected) -> Response:
    extra: dict[str, Any] = {}
    if rejected.detail is not None:
        # The message stays the original's exact text; what matched goes to the log and here.
        log.warning(
            "Slug refused as prompt injection",
            extra={"fields": {"slug": rejected.slug, "detail": rejected.detail}},
        )
        extra["detail"] = rejected.detail
    return error(
        400,
        "Invalid slug format",
        message=rejected.reason,
        confidence=rejected.confidence,
        slug=rejected.slug,
        **extra,
    )


# -- generation -------------------------------------------------------------------


def presented_key(request: Request) -> str | None:
    """The API key sent as ``X-API-Key``, ``X-RapidAPI-Key`` or ``Authorization: Bearer``."""
    for header in ("x-api-key", "x-rapidapi-key"):
        value = request.headers.get(header)
        if value:
            return value.strip()
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return None


_KEY_REFUSALS = {
    "missing": "API key is required",
    "invalid": "Invalid API key",
    "inactive": "Expired or inactive API key",
}


@dataclass(frozen=True)
class GenerateRequest:
    """A valid ``POST /generate`` body."""

    kind: EntityKind
    slug: str
    locale: str
    asked_tags: list[str | None]
    sent_tags: Any


def parse_generate(body: Any) -> GenerateRequest:
    """Validate a ``POST /generate`` body the way ``GenerateRequest`` does (422 otherwise)."""
    check = Validator()
    if not isinstance(body, dict):
        check.add("body", "The request body must be a JSON object.")
        check.check()
    entity_type = body.get("entity_type")
    if entity_type is None or entity_type == "":
        check.add("entity_type", "The entity type field is required.")
    elif not isinstance(entity_type, str) or entity_type not in ENTITY_TYPES:
        check.add("entity_type", "The selected entity type is invalid.")
    elif entity_type not in shapes.ENTITY_TYPES.values():
        check.add("entity_type", "MovieMind Lite generates for MOVIE and PERSON only.")
    slug: str | None = None
    for field in ("slug", "entity_id"):
        value = body.get(field)
        if value is None or value == "":
            continue
        if not isinstance(value, str):
            check.add(field, f"The {label(field)} field must be a string.")
        elif len(value) > SLUG_MAX_LENGTH:
            check.add(field, f"The {label(field)} field must not be greater than 255 characters.")
        elif slug is None:
            slug = value
    if slug is None and not any(field in check.errors for field in ("slug", "entity_id")):
        check.add("slug", "The slug field is required when entity id is not present.")
    locale = body.get("locale")
    if locale is not None and (not isinstance(locale, str) or locale not in LOCALES):
        check.add("locale", "The selected locale is invalid.")
    sent = body.get("context_tag")
    tags: list[Any]
    if sent is None or sent == []:
        tags = [None]
    elif isinstance(sent, str):
        tags = [sent]
    elif isinstance(sent, list):
        tags = list(sent)
    else:
        check.add("context_tag", "The context tag field must be a string or an array.")
        tags = []
    for index, tag in enumerate(tags):
        if tag is not None and (not isinstance(tag, str) or tag not in CONTEXT_TAGS):
            check.add(f"context_tag.{index}", f"The selected context_tag.{index} is invalid.")
    check.check()
    assert isinstance(entity_type, str) and slug is not None
    kind = MOVIE if entity_type == "MOVIE" else PERSON
    return GenerateRequest(kind, slug, locale or "en-US", tags, sent)


async def generate(request: Request) -> Response:
    """``POST /api/v1/generate``: rate-limited, needs an API key; one job per context tag."""
    app = moviemind(request)
    key = presented_key(request)

    def counted() -> tuple[str, Response | None, dict[str, str]]:
        verdict = app.api_keys.check(key)
        client = client_id(request, key, verdict)
        refusal, headers = take(app, "generate", client)
        return verdict, refusal, {"client": client, **headers}

    verdict, refusal, headers = await run_in_threadpool(counted)
    if refusal is not None:
        return refusal
    client = headers.pop("client")
    if verdict != "ok":
        return error(
            401,
            "Unauthorized",
            message=_KEY_REFUSALS[verdict],
            headers={"WWW-Authenticate": "Bearer"},
        )
    try:
        body = await read_json(request)
    except BodyProblem as problem:
        return framework_error(problem.status, problem.message)
    parsed = parse_generate(body)
    response = await run_in_threadpool(_generate, app, parsed, client)
    response.headers.update(headers)
    return response


def _generate(app: App, parsed: GenerateRequest, client: str) -> Response:
    contexts = [shapes.context_tag_in(tag) for tag in parsed.asked_tags]
    try:
        results = app.api.generate(parsed.kind, parsed.slug, parsed.locale, contexts, client)
    except EntityNotFound:
        return error(403, "Feature not available")
    except SlugRejected as rejected:
        return _invalid_slug(rejected)
    except BudgetSpent as spent:
        return budget_spent(spent)
    bodies = [
        shapes.queued_body(queued, asked, regenerating=queued.existing is not None)
        for queued, asked in zip(results, parsed.asked_tags, strict=True)
    ]
    if len(bodies) == 1:
        return JSONResponse(bodies[0], status_code=202)
    body = shapes.multi_body(parsed.slug, parsed.locale, parsed.sent_tags, bodies)
    return JSONResponse(body, status_code=202)


# -- jobs and health --------------------------------------------------------------


def show_job(request: Request) -> Response:
    """``GET /api/v1/jobs/{id}``: 404 ``UNKNOWN`` for an id that is not a job's."""
    job_id = request.path_params["job_id"]
    try:
        job = moviemind(request).api.job(job_id)
    except (JobNotFound, InvalidInput):
        return JSONResponse({"job_id": job_id, "status": "UNKNOWN"}, status_code=404)
    return JSONResponse(shapes.job_body(job))


def health(request: Request) -> Response:
    """``GET /api/v1/health``: 503 when the database cannot be used."""
    app = moviemind(request)
    report = app.api.health()
    features = (
        {state.flag.name: state.value.enabled for state in app.flags.list_states()}
        if report.database_ok
        else {}
    )
    return JSONResponse(
        shapes.health_body(report, features), status_code=200 if report.database_ok else 503
    )


def ready(request: Request) -> Response:
    """``GET /api/v1/health/ready``: each engine's state and latency; 503 when one is down."""
    states = moviemind(request).ready()
    ok = all(state.ok for state in states)
    body = {
        "status": "ready" if ok else "not ready",
        "checks": {state.role: state.to_json() for state in states},
    }
    headers = None if ok else {"Retry-After": str(RETRY_AFTER_S)}
    return JSONResponse(body, status_code=200 if ok else 503, headers=headers)


def openapi(request: Request) -> Response:
    """``GET /api/v1/openapi.json``: the document this server answers by."""
    return Response(openapi_document(), media_type="application/json")


# -- admin ------------------------------------------------------------------------


def admin_refusal(request: Request) -> Response | None:
    """401 unless the request carries the admin token.

    The one exception: in the ``local`` environment, a server bound to loopback
    answers a request that came to a loopback name (a page served from another
    name, DNS rebinding included, still needs the token).
    """
    settings = moviemind(request).settings
    if settings.environment == "local" and request.scope.get(LOOPBACK_REQUEST_KEY, False):
        return None
    return None if has_admin_token(request) else framework_error(401, "Unauthorized")


def has_admin_token(request: Request) -> bool:
    """Whether the request carries the admin token (``X-Admin-Token`` or ``Bearer``)."""
    token = request.headers.get("x-admin-token")
    if token is None:
        scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
        token = credentials.strip() if scheme.lower() == "bearer" else None
    expected = moviemind(request).settings.admin_token
    return bool(token and expected and hmac.compare_digest(token.encode(), expected.encode()))


def _cannot_toggle(name: str) -> Response:
    message = f"The feature flag '{name}' cannot be toggled manually."
    return ValidationFailed({"name": [message]}).response()


def list_flags(request: Request) -> Response:
    """``GET /api/v1/admin/flags``."""
    refusal = admin_refusal(request)
    if refusal is not None:
        return refusal
    flags = moviemind(request).api.admin_flags()
    return JSONResponse(
        {
            "data": [shapes.admin_flag_item(flag) for flag in flags],
            "meta": {"scope_note": shapes.SCOPE_NOTE},
        }
    )


async def flag(request: Request) -> Response:
    """``POST`` (set) or ``DELETE`` (reset) ``/api/v1/admin/flags/{name}``."""
    if request.method == "DELETE":
        return await run_in_threadpool(reset_flag, request)
    return await set_flag(request)


async def set_flag(request: Request) -> Response:
    """``POST /api/v1/admin/flags/{name}`` with ``{"state": "on"|"off"}``."""
    refusal = await run_in_threadpool(admin_refusal, request)
    if refusal is not None:
        return refusal
    try:
        body = await read_json(request)
    except BodyProblem as problem:
        return framework_error(problem.status, problem.message)
    check = Validator()
    state = body.get("state") if isinstance(body, dict) else None
    if state is None or state == "":
        check.add("state", "The state field is required.")
    elif state not in ("on", "off"):
        check.add("state", "The selected state is invalid.")
    check.check()
    name = request.path_params["name"]
    return await run_in_threadpool(_set_flag, moviemind(request), name, str(state))


def _set_flag(app: App, name: str, state: str) -> Response:
    try:
        flag = app.api.toggle_flag(name, state == "on")
    except (UnknownFlag, FlagNotTogglable):
        # The original's words for both (its feature test 25).
        return _cannot_toggle(name)
    return JSONResponse(
        {
            "name": name,
            "active": flag.state.value.enabled,
            "message": f"Feature flag '{name}' updated.",
            "state": state,
        }
    )


def reset_flag(request: Request) -> Response:
    """``DELETE /api/v1/admin/flags/{name}``: back to the registered default (422 if unknown)."""
    refusal = admin_refusal(request)
    if refusal is not None:
        return refusal
    name = request.path_params["name"]
    try:
        moviemind(request).api.reset_flag(name)
    except UnknownFlag:
        message = f"The feature flag '{name}' does not exist."
        return ValidationFailed({"name": [message]}).response()
    except FlagNotTogglable:
        return _cannot_toggle(name)
    return JSONResponse({"message": f"Feature flag '{name}' has been reset to its default value."})


ROUTES = [
    Route("/api/v1/movies", rate_limited("search", presented_key)(list_movies), methods=["GET"]),
    Route(
        "/api/v1/movies/{slug}", rate_limited("show", presented_key)(show_movie), methods=["GET"]
    ),
    Route("/api/v1/people", rate_limited("search", presented_key)(list_people), methods=["GET"]),
    Route(
        "/api/v1/people/{slug}", rate_limited("show", presented_key)(show_person), methods=["GET"]
    ),
    Route("/api/v1/generate", generate, methods=["POST"]),
    Route("/api/v1/jobs/{job_id}", show_job, methods=["GET"]),
    Route("/api/v1/health", health, methods=["GET"]),
    Route("/api/v1/health/ready", ready, methods=["GET"]),
    Route("/api/v1/openapi.json", openapi, methods=["GET"]),
    Route("/api/v1/admin/flags", list_flags, methods=["GET"]),
    Route("/api/v1/admin/flags/{name}", flag, methods=["POST", "DELETE"]),
]
