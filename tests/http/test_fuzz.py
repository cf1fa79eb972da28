"""A bounded schemathesis run against a live server and docs/openapi.json.

Every documented operation gets a few generated requests (schema-valid and
not), sent over TCP to ``moviemind serve`` on loopback, and every check
schemathesis has runs on each answer (``--checks all``): no 5xx, no
undocumented status, content type or shape, no schema-valid request refused
(but for the refusals ``schemathesis.toml`` names), no invalid one accepted.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.config import SchemathesisConfig

from tests.http.openapi_check import DOCUMENT_PATH
from tests.http.servers import LiveServer, live_server, open_app

EXAMPLES_PER_OPERATION = 12
# The same configuration `st run` reads in the checkout.
CONFIG_PATH = DOCUMENT_PATH.parents[1] / "schemathesis.toml"

schema = schemathesis.openapi.from_path(
    DOCUMENT_PATH, config=SchemathesisConfig.from_path(CONFIG_PATH)
)


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
    case.call_and_validate(base_url=server.url, headers={"X-API-Key": key}, timeout=30)
