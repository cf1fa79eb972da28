"""Validate real responses against docs/openapi.json (the document the server serves).

Every response the HTTP tests receive goes through :func:`check_response`: a
documented operation must answer with a documented status code and a body
that matches the schema given for it. Responses to undocumented routes (the
404 and 405 tests) are only checked for the framework error shape.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import httpx
from jsonschema import Draft202012Validator

DOCUMENT_PATH = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


@cache
def document() -> dict[str, Any]:
    """The OpenAPI document, parsed once."""
    loaded: dict[str, Any] = json.loads(DOCUMENT_PATH.read_text(encoding="utf-8"))
    return loaded


@cache
def _templates() -> list[tuple[re.Pattern[str], str]]:
    found = []
    for template in document()["paths"]:
        pattern = re.escape(template)
        pattern = re.sub(r"\\\{[a-z_]+\\\}", "[^/]+", pattern)
        found.append((re.compile(pattern), template))
    # Literal paths first, so /movies never matches a template meant for /movies/{slug}.
    return sorted(found, key=lambda item: item[1].count("{"))


def operation_path(path: str) -> str | None:
    """The documented path template ``path`` belongs to, or ``None``."""
    return next((template for pattern, template in _templates() if pattern.fullmatch(path)), None)


def _pointer(*parts: str) -> str:
    return "#/" + "/".join(part.replace("~", "~0").replace("/", "~1") for part in parts)


def check_response(response: httpx.Response) -> None:
    """Assert ``response`` is one the document allows for its request."""
    request = response.request
    template = operation_path(request.url.path)
    body = response.json() if response.content else None
    if (
        response.status_code == 404
        and template is not None
        and body == {"message": body.get("message")}
    ):
        template = None  # an unknown route that only looks like a documented one
    method = "get" if request.method == "HEAD" else request.method.lower()
    if template is None or method not in document()["paths"][template]:
        assert response.status_code in (404, 405), (request.method, request.url.path)
        assert isinstance(body, dict) and set(body) == {"message"}, body
        return
    responses = document()["paths"][template][method]["responses"]
    status = str(response.status_code)
    assert status in responses, f"{request.method} {template} answered undocumented {status}"
    assert response.headers["content-type"].startswith("application/json")
    if request.method == "HEAD":
        return
    pointer = _pointer("paths", template, method, "responses", status, "content")
    schema = {**document(), "$ref": pointer + "/application~1json/schema"}
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(body), key=str)
    assert not errors, f"{request.method} {request.url.path} {status}: {errors[0].message}"
