"""The server on a network: allowed hosts, trusted proxies, links, the admin rule, CORS."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from moviemind_lite.core.errors import InvalidSetting
from moviemind_lite.http.app import create_app
from moviemind_lite.http.edge import EdgeSettings, edge_settings, host_name
from tests.http.servers import open_app

ROUTES = (
    ("GET", "/api/v1/movies"),
    ("GET", "/api/v1/movies/the-matrix-1999"),
    ("GET", "/api/v1/people/keanu-reeves"),
    ("POST", "/api/v1/generate"),
    ("GET", "/api/v1/jobs/00000000-0000-0000-0000-000000000000"),
    ("GET", "/api/v1/health"),
    ("GET", "/api/v1/openapi.json"),
    ("GET", "/api/v1/admin/flags"),
    ("POST", "/api/v1/admin/flags/ai_bio_generation"),
    ("DELETE", "/api/v1/admin/flags/ai_bio_generation"),
    ("GET", "/no/such/route"),
)
ADMIN_TOKEN = "admin-token-for-tests-0123456789"


@contextmanager
def client_for(
    home: Path, edge: EdgeSettings, base_url: str = "http://localhost", **env: str
) -> Iterator[TestClient]:
    app = open_app(home, env)
    try:
        with TestClient(create_app(app, run_jobs=False, edge=edge), base_url=base_url) as client:
            yield client
    finally:
        app.close()


def test_a_host_that_is_not_allowed_gets_400_on_every_route(tmp_path: Path) -> None:
    with client_for(tmp_path, EdgeSettings()) as client:
        for method, path in ROUTES:
            answer = client.request(method, path, headers={"Host": "evil.example"})
            assert answer.status_code == 400, (method, path)
            assert answer.json() == {"message": "Invalid host header."}
            assert answer.headers["X-Content-Type-Options"] == "nosniff"
        for host in ("localhost", "localhost:8000", "127.0.0.1:8000", "[::1]:8000"):
            assert client.get("/api/v1/health", headers={"Host": host}).status_code == 200


def test_allowed_hosts_replace_the_loopback_names(tmp_path: Path) -> None:
    edge = EdgeSettings(allowed_hosts=("api.example", "*.films.example"))
    with client_for(tmp_path, edge, base_url="http://api.example") as client:
        assert client.get("/api/v1/health").status_code == 200
        for host, status in (("eu.films.example", 200), ("films.example", 400), ("localhost", 400)):
            assert client.get("/api/v1/health", headers={"Host": host}).status_code == status


def test_admin_needs_the_token_unless_local_loopback_bound_and_asked_by_a_loopback_name(
    tmp_path: Path,
) -> None:
    flags = "/api/v1/admin/flags"
    both = EdgeSettings(allowed_hosts=("localhost", "api.example"))
    with client_for(tmp_path / "a", both, MOVIEMIND_ADMIN_TOKEN=ADMIN_TOKEN) as client:
        assert client.get(flags).status_code == 200
        # Same server, reached by another name (a rebinding page's): the token is needed.
        assert client.get(flags, headers={"Host": "api.example"}).status_code == 401
        token = {"Host": "api.example", "X-Admin-Token": ADMIN_TOKEN}
        assert client.get(flags, headers=token).status_code == 200
    exposed = EdgeSettings(bound_host="0.0.0.0", allowed_hosts=("localhost",))
    with client_for(tmp_path / "b", exposed, MOVIEMIND_ADMIN_TOKEN=ADMIN_TOKEN) as client:
        assert client.get(flags).status_code == 401
        assert client.post(flags + "/ai_bio_generation", json={"state": "off"}).status_code == 401
        assert client.delete(flags + "/ai_bio_generation").status_code == 401


def test_forwarded_headers_are_believed_from_trusted_proxies_only(tmp_path: Path) -> None:
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    env = {"MOVIEMIND_RATE_LIMIT_SEARCH": "1"}
    with client_for(tmp_path / "a", EdgeSettings(), **env) as client:
        first = client.get("/api/v1/movies", headers=forwarded)
        assert first.json()["data"][0]["_links"]["self"]["href"].startswith("http://localhost/")
        # The forged address is not a bucket of its own.
        other = {**forwarded, "X-Forwarded-For": "203.0.113.10"}
        assert client.get("/api/v1/movies", headers=other).status_code == 429
    # Starlette's test client connects from "testclient".
    trusted = EdgeSettings(forwarded_allow_ips=("testclient",))
    with client_for(tmp_path / "b", trusted, **env) as client:
        first = client.get("/api/v1/movies", headers=forwarded)
        assert first.json()["data"][0]["_links"]["self"]["href"].startswith("https://localhost/")
        other = {**forwarded, "X-Forwarded-For": "203.0.113.10, testclient"}
        assert client.get("/api/v1/movies", headers=other).status_code == 200
        # The trusted hop is passed over: the chain counted against 203.0.113.10.
        alone = {**forwarded, "X-Forwarded-For": "203.0.113.10"}
        assert client.get("/api/v1/movies", headers=alone).status_code == 429
        assert client.get("/api/v1/movies", headers=forwarded).status_code == 429


def test_links_come_from_the_public_url(tmp_path: Path) -> None:
    edge = EdgeSettings(public_url="https://films.example/mm")
    with client_for(tmp_path, edge) as client:
        show = client.get("/api/v1/movies/the-matrix-1999").json()
    assert (
        show["_links"]["self"]["href"] == "https://films.example/mm/api/v1/movies/the-matrix-1999"
    )


def test_cors_as_the_original_service(tmp_path: Path) -> None:
    origin = {"Origin": "https://app.example"}
    preflight = {**origin, "Access-Control-Request-Method": "POST"}
    with client_for(tmp_path / "a", EdgeSettings()) as client:
        answer = client.get("/api/v1/movies", headers=origin)
        assert answer.headers["Access-Control-Allow-Origin"] == "*"
        assert "X-RateLimit-Remaining" in answer.headers["Access-Control-Expose-Headers"]
        asked = client.options(
            "/api/v1/generate",
            headers={**preflight, "Access-Control-Request-Headers": "x-api-key, content-type"},
        )
        assert asked.status_code == 200
        assert asked.headers["Access-Control-Allow-Origin"] == "*"
        assert "POST" in asked.headers["Access-Control-Allow-Methods"]
        assert "x-api-key" in asked.headers["Access-Control-Allow-Headers"].lower()
        # Only /api/*; an OPTIONS that is no preflight is still 405.
        assert client.options("/api/v1/movies").status_code == 405
    only = EdgeSettings(cors_origins=("https://app.example",))
    with client_for(tmp_path / "b", only) as client:
        allowed = client.get("/api/v1/movies", headers=origin)
        assert allowed.headers["Access-Control-Allow-Origin"] == "https://app.example"
        stranger = client.get("/api/v1/movies", headers={"Origin": "https://evil.example"})
        assert "Access-Control-Allow-Origin" not in stranger.headers
        refused = client.options(
            "/api/v1/generate", headers={**preflight, "Origin": "https://evil.example"}
        )
        assert refused.status_code == 400
    with client_for(tmp_path / "c", EdgeSettings(cors_origins=())) as client:
        assert (
            "Access-Control-Allow-Origin"
            not in client.get("/api/v1/movies", headers=origin).headers
        )


def test_edge_settings_from_the_environment() -> None:
    settings = edge_settings(
        {
            "MOVIEMIND_ALLOWED_HOSTS": "API.example, localhost",
            "MOVIEMIND_FORWARDED_ALLOW_IPS": "10.0.0.0/8",
            "MOVIEMIND_PUBLIC_URL": "https://films.example/",
            "MOVIEMIND_CORS_ORIGINS": "none",
            "MOVIEMIND_SERVE_HOST": "0.0.0.0",
        }
    )
    assert settings.allowed_hosts == ("api.example", "localhost")
    assert settings.trusts("10.1.2.3") and not settings.trusts("192.168.0.1")
    assert settings.public_url == "https://films.example"
    assert settings.cors_origins == ()
    assert not settings.loopback_bound
    assert edge_settings({}).cors_origins == ("*",)
    for bad in ({"MOVIEMIND_PUBLIC_URL": "films.example"}, {"MOVIEMIND_CORS_ORIGINS": "app"}):
        with pytest.raises(InvalidSetting):
            edge_settings(bad)
    assert [host_name(h) for h in ("A.example:80", "[::1]:8000", "::1", "x")] == [
        "a.example",
        "::1",
        "::1",
        "x",
    ]
