"""A bounded schemathesis run against a live server and docs/openapi.json.

Every documented operation gets a few generated requests (schema-valid and
not), sent over TCP to ``moviemind serve`` on loopback: no answer may be a
5xx, carry an undocumented status or content type, or break its schema.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.http.openapi_check import DOCUMENT_PATH
from tests.http.servers import LiveServer, live_server, open_app

EXAMPLES_PER_OPERATION = 12
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]

schema = schemathesis.openapi.from_path(DOCUMENT_PATH)


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, str]]:
    home = tmp_path_factory.mktemp("fuzzed")
    app = open_app(home)
    key = app.api_keys.create("fuzz").secret
    app.close()
    with live_server(home, "--no-jobs") as server:
        yield server, key


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_the_live_server_keeps_its_document(
    case: schemathesis.Case, fuzzed: tuple[LiveServer, str]
) -> None:
    server, key = fuzzed
    assert server.url.startswith("http://127.0.0.1:")  # loopback only
    case.call_and_validate(
        base_url=server.url, headers={"X-API-Key": key}, checks=CHECKS, timeout=30
    )
