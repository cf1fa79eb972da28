"""The contract's three error shapes, and the handlers that make every failure one of them.

1. application errors: ``{"error": "...", ...}`` (404 not found, 400 invalid slug, 403, 401);
2. validation errors, Laravel's 422: ``{"message": "...", "errors": {"field": ["..."]}}``;
3. framework errors (unknown route, wrong method, body too large, bad JSON,
   server error): ``{"message": "..."}``.

No traceback ever reaches a client: an unexpected exception is logged and
answered with a bare 500 ``{"message": "Server Error"}``.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from moviemind_lite.core.errors import (
    ENGINE_FAULTS,
    CatalogReadOnly,
    MovieMindError,
    StoreError,
)

log = logging.getLogger("moviemind.http")

# How long a client is told to wait after an engine failed (the 503's Retry-After).
RETRY_AFTER_S = 5


def error(
    status: int, text: str, *, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    """An application error: ``{"error": text, ...extra}``."""
    return JSONResponse({"error": text, **extra}, status_code=status, headers=headers)


def framework_error(
    status: int, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    """A framework-level error: ``{"message": message}``."""
    return JSONResponse({"message": message}, status_code=status, headers=headers)


class ValidationFailed(Exception):
    """A request whose parameters or body break the endpoint's rules (a 422)."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(errors)
        self.errors = errors

    def response(self) -> JSONResponse:
        """Laravel's body: the first message (and how many more), then every field's."""
        messages = [message for field in self.errors.values() for message in field]
        first = messages[0]
        rest = len(messages) - 1
        if rest:
            first += f" (and {rest} more error{'s' if rest > 1 else ''})"
        return JSONResponse({"message": first, "errors": self.errors}, status_code=422)


class Validator:
    """Collects Laravel-style messages field by field; :meth:`check` raises them all."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        """Record one message for ``field``."""
        self.errors.setdefault(field, []).append(message)

    def check(self) -> None:
        """Raise :class:`ValidationFailed` if any message was recorded."""
        if self.errors:
            raise ValidationFailed(self.errors)


def label(field: str) -> str:
    """How Laravel names a field in a message: ``entity_type`` reads ``entity type``."""
    return field.replace("_", " ") if "." not in field else field


async def on_validation(request: Request, exc: Exception) -> Response:
    """422 with the collected messages."""
    assert isinstance(exc, ValidationFailed)
    return exc.response()


async def on_http_exception(request: Request, exc: Exception) -> Response:
    """Unknown routes and methods, as Laravel words them."""
    assert isinstance(exc, HTTPException)
    path = request.url.path.lstrip("/")
    if exc.status_code == 404:
        return framework_error(404, f"The route {path} could not be found.")
    if exc.status_code == 405:
        allowed = (exc.headers or {}).get("Allow", "")
        return framework_error(
            405,
            f"The {request.method} method is not supported for route {path}. "
            f"Supported methods: {allowed}.",
            headers=dict(exc.headers or {}),
        )
    return framework_error(exc.status_code, exc.detail, headers=dict(exc.headers or {}))


async def on_core_error(request: Request, exc: Exception) -> Response:
    """A core error no endpoint expected: 503 for a refused write or an unusable store."""
    assert isinstance(exc, MovieMindError)
    if isinstance(exc, CatalogReadOnly):
        return error(503, "Service unavailable", message=str(exc))
    if isinstance(exc, ENGINE_FAULTS):
        # The message names the engine and where it is (URLs never carry their password),
        # without the hint about settings, which is for the operator's log.
        log.error("Engine unavailable", extra={"fields": {"error": str(exc)}})
        named = str(exc).split(" (check ")[0]
        return error(
            503,
            "Service unavailable",
            message=f"{named}. Try again shortly.",
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )
    if isinstance(exc, StoreError):
        log.error("Store error", extra={"fields": {"error": str(exc)}})
        return error(503, "Service unavailable", message="The database cannot be used right now.")
    log.error("Unexpected core error", extra={"fields": {"error": repr(exc)}})
    return framework_error(500, "Server Error")


async def on_server_error(request: Request, exc: Exception) -> Response:
    """Anything else: logged with its traceback, answered without it."""
    log.error("Server error", exc_info=exc)
    return framework_error(500, "Server Error")
