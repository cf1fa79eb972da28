"""Keys, the admin token, hostile requests, health and the request log: in-process and live."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from moviemind_lite.cli import cli
from tests.http.conftest import KINDS, Served, serving
from tests.http.servers import open_app

ADMIN_TOKEN = "admin-token-for-tests-0123456789"
MOVIE_BODY = {"entity_type": "MOVIE", "entity_id": "the-matrix"}


@pytest.fixture(scope="module", params=KINDS)
def guarded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    """A server outside the local environment, with an admin token."""
    env = {"MOVIEMIND_ENV": "production", "MOVIEMIND_ADMIN_TOKEN": ADMIN_TOKEN}
    home = tmp_path_factory.mktemp(f"guarded-{request.param}")
    with serving(request.param, home, request, env) as it:
        yield it


# -- API keys ---------------------------------------------------------------------------


def test_generate_needs_a_key(served: Served) -> None:
    for headers, message in (
        ({}, "API key is required"),
        ({"X-API-Key": "mm_not-a-key"}, "Invalid API key"),
        ({"Authorization": "Basic abc"}, "API key is required"),
    ):
        response = served.client.post("/api/v1/generate", json=MOVIE_BODY, headers=headers)
        assert response.status_code == 401, headers
        assert response.json() == {"error": "Unauthorized", "message": message}
        assert response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize("header", ["X-API-Key", "X-RapidAPI-Key", "Authorization"])
def test_every_key_header_is_accepted(served: Served, header: str) -> None:
    value = f"Bearer {served.api_key}" if header == "Authorization" else served.api_key
    body = {"entity_type": "MOVIE", "slug": f"keyed-{uuid.uuid4().hex[:6]}-2020"}
    response = served.client.post("/api/v1/generate", json=body, headers={header: value})
    assert response.status_code == 202


def test_a_revoked_key_is_refused_at_once(served: Served) -> None:
    created = served.app.api_keys.create("short-lived")
    body = {"entity_type": "MOVIE", "slug": f"revoked-{uuid.uuid4().hex[:6]}-2020"}
    assert served.generate(body, **{"X-API-Key": created.secret}).status_code == 202
    served.app.api_keys.revoke(created.key.id)
    response = served.generate(body, **{"X-API-Key": created.secret})
    assert response.status_code == 401
    assert response.json()["message"] == "Expired or inactive API key"


def test_keys_cli_shows_the_secret_once(served: Served) -> None:
    runner = CliRunner()
    home = ["--home", str(served.home)]
    created = runner.invoke(cli, [*home, "keys", "create", "cli key", "--json"])
    assert created.exit_code == 0, created.output
    secret = json.loads(created.output)["secret"]
    listed = runner.invoke(cli, [*home, "keys", "list", "--json"])
    assert secret not in listed.output and "cli key" in listed.output
    key_id = json.loads(created.output)["id"]
    # Only the secret's SHA-256 is stored: no column holds the secret itself.
    row = served.app.database.query_one("SELECT * FROM api_keys WHERE id = ?", (key_id,))
    assert row is not None
    assert all(secret not in str(value) for value in row)
    assert row["secret_sha256"] == hashlib.sha256(secret.encode()).hexdigest()
    # A fixed slug: a random one with six digits reads as "random pattern" and gets 400.
    body = {"entity_type": "PERSON", "slug": "cli-key-holder"}
    assert served.generate(body, **{"X-API-Key": secret}).status_code == 202
    revoked = runner.invoke(cli, [*home, "keys", "revoke", key_id])
    assert revoked.exit_code == 0 and "revoked" in revoked.output
    assert served.generate(body, **{"X-API-Key": secret}).status_code == 401
    unknown = runner.invoke(cli, [*home, "keys", "revoke", "no-such-key"])
    assert unknown.exit_code == 1


# -- the admin token --------------------------------------------------------------------


def test_admin_endpoints_need_the_token_outside_local(guarded: Served) -> None:
    client = guarded.client
    for headers in ({}, {"X-Admin-Token": "wrong-token-0123456789"}, {"X-Admin-Token": ""}):
        for method, path, body in (
            ("GET", "/api/v1/admin/flags", None),
            ("POST", "/api/v1/admin/flags/ai_bio_generation", {"state": "off"}),
            ("DELETE", "/api/v1/admin/flags/ai_bio_generation", None),
        ):
            response = client.request(method, path, json=body, headers=headers)
            assert (response.status_code, response.json()) == (401, {"message": "Unauthorized"})
    assert guarded.app.flags.is_enabled("ai_bio_generation")
    token = {"X-Admin-Token": ADMIN_TOKEN}
    assert client.get("/api/v1/admin/flags", headers=token).status_code == 200
    bearer = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    assert client.get("/api/v1/admin/flags", headers=bearer).status_code == 200


def test_a_forced_flag_cannot_be_toggled(guarded: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    if guarded.kind == "live":
        pytest.skip("MOVIEMIND_FLAG_* is read by the process that evaluates the flag")
    monkeypatch.setenv("MOVIEMIND_FLAG_AI_BIO_GENERATION", "on")
    token = {"X-Admin-Token": ADMIN_TOKEN}
    listed = guarded.client.get("/api/v1/admin/flags", headers=token).json()["data"]
    bio = next(flag for flag in listed if flag["name"] == "ai_bio_generation")
    assert (bio["forced"], bio["togglable"]) == (True, False)
    response = guarded.client.post(
        "/api/v1/admin/flags/ai_bio_generation", json={"state": "off"}, headers=token
    )
    assert response.status_code == 422
    assert guarded.app.flags.is_enabled("ai_bio_generation")


# -- hostile requests -------------------------------------------------------------------


def test_bad_bodies_get_json_errors(served: Served) -> None:
    post = served.client.post
    headers = {"X-API-Key": served.api_key}
    bad_json = post(
        "/api/v1/generate",
        content=b'{"entity_type": "MOVIE",',
        headers={**headers, "Content-Type": "application/json"},
    )
    assert (bad_json.status_code, bad_json.json()) == (
        400,
        {"message": "The request body is not valid JSON."},
    )
    deep = post(
        "/api/v1/generate",
        content=b"[" * 30_000 + b"]" * 30_000,
        headers={**headers, "Content-Type": "application/json"},
    )
    assert deep.status_code == 400
    form = post(
        "/api/v1/generate",
        content=b"entity_type=MOVIE",
        headers={**headers, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert form.status_code == 415
    huge = post("/api/v1/generate", json={"slug": "x" * 70_000}, headers=headers)
    assert huge.status_code == 413
    assert "too large" in huge.json()["message"]

    def chunks() -> Iterator[bytes]:
        yield b'{"entity_type": "MOVIE", "slug": "'
        for _ in range(100):
            yield b"x" * 1024
        yield b'"}'

    chunked = post(
        "/api/v1/generate",
        content=chunks(),
        headers={**headers, "Content-Type": "application/json"},
    )
    assert chunked.status_code == 413
    not_an_object = post("/api/v1/generate", json=["MOVIE"], headers=headers)
    assert not_an_object.status_code == 422
    assert "body" in not_an_object.json()["errors"]
    empty = post("/api/v1/generate", headers=headers)
    assert empty.status_code == 422
    assert set(empty.json()["errors"]) == {"entity_type", "slug"}


def test_unknown_routes_and_methods(served: Served) -> None:
    missing = served.client.get("/api/v1/nothing-here")
    assert (missing.status_code, missing.json()) == (
        404,
        {"message": "The route api/v1/nothing-here could not be found."},
    )
    assert served.client.get("/").status_code == 404
    wrong = served.client.delete("/api/v1/movies")
    assert wrong.status_code == 405
    assert wrong.json()["message"].startswith("The DELETE method is not supported")
    assert "GET" in wrong.headers["Allow"]
    assert served.client.put("/api/v1/generate").status_code == 405
    assert served.client.patch("/api/v1/admin/flags/ai_bio_generation").status_code == 405
    head = served.client.head("/api/v1/movies/the-matrix-1999")
    assert head.status_code == 200 and head.content == b""


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/movies/%00",
        "/api/v1/movies/%F0%9F%8E%AC-2020",
        "/api/v1/movies/" + "a" * 300 + "-2020",
        "/api/v1/people/%2e%2e",
        "/api/v1/movies?page=99999999999999999999",
        "/api/v1/movies?q=%25_%5C",
        "/api/v1/jobs/%27%20OR%201%3D1",
    ],
)
def test_odd_inputs_never_500(served: Served, path: str) -> None:
    response = served.client.get(path)
    assert response.status_code < 500, response.text


# -- health -----------------------------------------------------------------------------


def test_health(served: Served) -> None:
    body = served.client.get("/api/v1/health").json()
    assert body["status"] == "healthy"
    assert body["checks"]["database"]["status"] == "ok"
    openai = body["checks"]["openai"]
    assert (openai["success"], openai["circuit"], openai["model"]) == (True, "closed", "mock-1")
    assert body["checks"]["instance"]["features"]["ai_description_generation"] is True


def test_health_is_degraded_while_the_ai_circuit_is_open(served: Served) -> None:
    failing = open_app(served.home, {"MOVIEMIND_BREAKER_THRESHOLD": "1"})
    try:
        failing.breaker.on_failure()
        response = served.client.get("/api/v1/health")
        assert (response.status_code, response.json()["status"]) == (200, "degraded")
        assert response.json()["checks"]["openai"]["circuit"] == "open"
    finally:
        served.app.breaker.on_success()
        failing.close()
    assert served.client.get("/api/v1/health").json()["status"] == "healthy"


def test_health_is_503_when_the_database_is_unusable(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    from starlette.testclient import TestClient

    from moviemind_lite.http.app import create_app

    home = tmp_path_factory.mktemp("broken")
    app = open_app(home)
    try:
        with TestClient(create_app(app, run_jobs=False), base_url="http://localhost") as client:
            assert client.get("/api/v1/health").status_code == 200
            for name in ("moviemind.db", "moviemind.db-wal", "moviemind.db-shm"):
                path = home / name
                if path.exists():
                    path.write_bytes(b"this is not a database" * 512)
            response = client.get("/api/v1/health")
            assert response.status_code == 503
            body = response.json()
            assert (body["status"], body["checks"]["database"]["status"]) == ("degraded", "error")
            other = client.get("/api/v1/movies/the-matrix-1999")
            assert other.status_code == 503 and "error" in other.json()
    finally:
        app.close()


# -- logs -------------------------------------------------------------------------------


def test_the_log_finds_what_one_request_caused(served: Served) -> None:
    request_id = str(uuid.uuid4())
    slug = f"logged-{uuid.uuid4().hex[:6]}-2021"
    response = served.client.get(f"/api/v1/movies/{slug}", headers={"X-Request-ID": request_id})
    assert response.headers["X-Request-ID"] == request_id
    result = CliRunner().invoke(
        cli, ["--home", str(served.home), "logs", "--grep", request_id, "--json"]
    )
    assert result.exit_code == 0
    records = [json.loads(line) for line in result.output.splitlines()]
    messages = {record["message"] for record in records}
    assert {"Job queued", "HTTP request"} <= messages
    assert all(record["request_id"] == request_id for record in records)
    queued = next(record for record in records if record["message"] == "Job queued")
    assert queued["job_id"] == response.json()["job_id"]


def test_the_served_document_is_docs_openapi_json(served: Served) -> None:
    from tests.http.openapi_check import document

    response = served.client.get("/api/v1/openapi.json")
    assert response.json() == document()
    assert response.json()["openapi"].startswith("3.1")


def test_read_only_catalog_serves_but_queues_nothing(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    if served.kind == "live":
        pytest.skip("MOVIEMIND_FLAG_* is read by the process that evaluates the flag")
    monkeypatch.setenv("MOVIEMIND_FLAG_CATALOG_READ_ONLY_MODE", "on")
    assert served.client.get("/api/v1/movies/the-matrix-1999").status_code == 200
    refused = served.client.get(f"/api/v1/movies/read-only-{uuid.uuid4().hex[:6]}-2020")
    assert refused.status_code == 503
    assert refused.json()["error"] == "Service unavailable"
    assert "read-only" in refused.json()["message"]
    posted = served.generate({"entity_type": "MOVIE", "slug": "the-matrix-1999"})
    assert posted.status_code == 503
