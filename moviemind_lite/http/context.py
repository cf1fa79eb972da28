"""Request ids, correlation ids, security headers and one access-log line per request.

A plain ASGI middleware wrapped around the whole Starlette application, so
that every response carries the headers, server errors and unknown routes
included, and every log line written while a request is served (in any
thread) carries its ids (:func:`moviemind_lite.core.logs.request_scope`).
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from moviemind_lite.core.logs import request_scope

log = logging.getLogger("moviemind.http")

# Laravel's Str::isUuid: any version, hyphenated, either case.
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "SAMEORIGIN",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}


def client_uuid(value: bytes | None) -> str | None:
    """The client's id if it is a UUID, else ``None`` (a fresh one replaces it)."""
    if value is None:
        return None
    text = value.decode("latin-1").strip()
    return text if _UUID.fullmatch(text) else None


class RequestContext:
    """Give each HTTP request its ids and headers, and log how it ended."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        request_id = client_uuid(headers.get(b"x-request-id")) or str(uuid.uuid4())
        correlation_id = client_uuid(headers.get(b"x-correlation-id")) or str(uuid.uuid4())
        started = time.perf_counter()
        status = 500

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                response_headers = MutableHeaders(scope=message)
                response_headers["X-Request-ID"] = request_id
                response_headers["X-Correlation-ID"] = correlation_id
                for name, value in SECURITY_HEADERS.items():
                    response_headers[name] = value
            await send(message)

        with request_scope(request_id, correlation_id):
            try:
                await self.app(scope, receive, send_with_headers)
            finally:
                fields = {
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                }
                log.info("HTTP request", extra={"fields": fields})
