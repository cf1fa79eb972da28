"""The OpenAPI 3.1 document of what this server answers: ``docs/openapi.json``.

One copy only: a source checkout reads ``docs/openapi.json``; a wheel carries
the same file as ``moviemind_lite/http/openapi.json`` (see pyproject.toml).
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path


@cache
def openapi_document() -> bytes:
    """The document's bytes, read once."""
    packaged = resources.files("moviemind_lite.http").joinpath("openapi.json")
    if packaged.is_file():
        return packaged.read_bytes()
    return (Path(__file__).resolve().parents[2] / "docs" / "openapi.json").read_bytes()
