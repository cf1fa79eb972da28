"""Rate limits and the AI budget as a client meets them: the original's headers, 429 and 503."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from moviemind_lite.app.limits import load_factor
from moviemind_lite.core.clock import FakeClock
from moviemind_lite.core.config import LimitSettings
from moviemind_lite.store.jobs import count_by_status
from tests.http.conftest import Served, serving

RATE_LIMITED_BODY = {
    "error": "Too many requests",
    "message": "Rate limit exceeded. Please try again later.",
}


@pytest.fixture
def limited(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Served]:
    """An in-process server with the settings the test passes (indirect parametrization),
    on a fake clock: no allowance comes back while a test runs."""
    env: dict[str, str] = request.param
    with serving("inprocess", tmp_path / "home", request, env, FakeClock()) as served:
        yield served


def jobs_made(served: Served) -> int:
    return sum(count_by_status(served.app.database).values())


@pytest.mark.parametrize("limited", [dict(MOVIEMIND_RATE_LIMIT_SHOW="20")], indirect=True)
def test_anonymous_gets_for_new_slugs_make_at_most_the_limit_of_jobs(limited: Served) -> None:
    answers = [limited.client.get(f"/api/v1/movies/new-film-{n}-2020") for n in range(200)]
    assert [answer.status_code for answer in answers] == [202] * 20 + [429] * 180
    assert jobs_made(limited) == 20
    assert answers[0].headers["X-RateLimit-Limit"] == "20"
    assert answers[0].headers["X-RateLimit-Remaining"] == "19"
    assert answers[19].headers["X-RateLimit-Remaining"] == "0"
    refused = answers[20]
    body = refused.json()
    assert {key: body[key] for key in RATE_LIMITED_BODY} == RATE_LIMITED_BODY
    # 20 a minute: one more every 3 s.
    assert body["retry_after"] == 3 and refused.headers["Retry-After"] == "3"
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    assert refused.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    "limited", [dict(MOVIEMIND_RATE_LIMIT_SHOW="2", MOVIEMIND_RATE_LIMIT_SEARCH="2")], indirect=True
)
def test_admin_health_and_jobs_are_not_limited(limited: Served) -> None:
    for _ in range(5):
        for path in ("/api/v1/health", "/api/v1/admin/flags", "/api/v1/openapi.json"):
            answer = limited.client.get(path)
            assert answer.status_code == 200, path
            assert "X-RateLimit-Limit" not in answer.headers
    assert [limited.client.get("/api/v1/movies").status_code for _ in range(3)] == [200, 200, 429]
    assert limited.client.get("/api/v1/movies/the-matrix-1999").status_code == 200


@pytest.mark.parametrize("limited", [dict(MOVIEMIND_RATE_LIMIT_SHOW="2")], indirect=True)
def test_each_api_key_has_its_own_bucket_and_an_invalid_one_counts_as_the_address(
    limited: Served,
) -> None:
    path = "/api/v1/movies/the-matrix-1999"
    keyed = {"X-API-Key": limited.api_key}
    other = limited.app.api_keys.create("other").secret
    assert [limited.client.get(path).status_code for _ in range(3)] == [200, 200, 429]
    assert [limited.client.get(path, headers=keyed).status_code for _ in range(3)] == [
        200,
        200,
        429,
    ]
    assert limited.client.get(path, headers={"X-API-Key": other}).status_code == 200
    # A made-up key is no way around the address's bucket.
    assert limited.client.get(path, headers={"X-API-Key": "mm_made-up"}).status_code == 429


@pytest.mark.parametrize("limited", [dict(MOVIEMIND_RATE_LIMIT_GENERATE="2")], indirect=True)
def test_generate_is_limited_per_key_before_the_key_is_refused(limited: Served) -> None:
    body = {"entity_type": "MOVIE", "slug": "the-matrix-1999"}
    assert [limited.generate(body).status_code for _ in range(3)] == [202, 202, 429]
    anonymous = [limited.client.post("/api/v1/generate", json=body) for _ in range(3)]
    assert [answer.status_code for answer in anonymous] == [401, 401, 429]


@pytest.mark.parametrize("limited", [dict(MOVIEMIND_AI_BUDGET_CLIENT="3")], indirect=True)
def test_a_clients_budget_counts_new_jobs_only(limited: Served) -> None:
    first = limited.client.get("/api/v1/movies/paid-film-2001")
    # Joining the job on its way is free, however often.
    joined = [limited.client.get("/api/v1/movies/paid-film-2001") for _ in range(5)]
    assert {answer.json()["job_id"] for answer in joined} == {first.json()["job_id"]}
    more = [limited.client.get(f"/api/v1/movies/paid-film-{year}") for year in (2002, 2003, 2004)]
    assert [answer.status_code for answer in more] == [202, 202, 503]
    spent = more[2]
    assert spent.json()["reason"] == "client_budget"
    assert int(spent.headers["Retry-After"]) >= 1
    assert jobs_made(limited) == 3
    # Another client (an API key) has its own budget.
    keyed = limited.client.get(
        "/api/v1/movies/paid-film-2004", headers={"X-API-Key": limited.api_key}
    )
    assert keyed.status_code == 202
    assert limited.app.budget.usage().service_used == 4


@pytest.mark.parametrize("limited", [dict(MOVIEMIND_MAX_PENDING_JOBS="2")], indirect=True)
def test_past_the_pending_cap_a_new_generation_gets_503_and_nothing_is_queued(
    limited: Served,
) -> None:
    assert limited.client.get("/api/v1/movies/queued-film-2001").status_code == 202
    assert limited.generate({"entity_type": "MOVIE", "slug": "queued-film-2002"}).status_code == 202
    full = limited.client.get("/api/v1/movies/queued-film-2003")
    assert full.status_code == 503 and full.json()["reason"] == "queue_full"
    assert full.headers["Retry-After"] == "30"
    refused = limited.generate({"entity_type": "MOVIE", "slug": "queued-film-2004"})
    assert refused.status_code == 503
    assert jobs_made(limited) == 2
    # Joining a queued job still works.
    assert limited.client.get("/api/v1/movies/queued-film-2001").status_code == 202
    usage = limited.app.budget.usage()
    assert (usage.pending, usage.max_pending, usage.service_used) == (2, 2, 2)
    limited.drain()
    assert limited.client.get("/api/v1/movies/queued-film-2003").status_code == 202


def test_limits_shrink_as_the_queue_fills() -> None:
    assert [load_factor(pending, 100) for pending in (0, 24, 25, 50, 75, 100, 10_000)] == [
        1.0,
        1.0,
        0.75,
        0.5,
        0.25,
        0.25,
        0.25,
    ]
    assert load_factor(5, 0) == 1.0


@pytest.mark.parametrize(
    "limited",
    [dict(MOVIEMIND_RATE_LIMIT_SHOW="120", MOVIEMIND_MAX_PENDING_JOBS="4")],
    indirect=True,
)
def test_the_show_limit_shrinks_with_pending_jobs(limited: Served) -> None:
    assert limited.app.limits.limit("show", pending=0) == 120
    assert limited.app.limits.limit("show", pending=2) == 60
    assert limited.app.limits.limit("show", pending=4) == 30
    assert LimitSettings().show_per_minute == 120
    assert (LimitSettings().search_per_minute, LimitSettings().generate_per_minute) == (100, 10)


@pytest.mark.parametrize("limited", [dict(MOVIEMIND_RATE_LIMIT_SHOW="2")], indirect=True)
def test_an_allowance_comes_back_after_retry_after(limited: Served) -> None:
    path = "/api/v1/movies/the-matrix-1999"
    assert [limited.client.get(path).status_code for _ in range(3)] == [200, 200, 429]
    refused = limited.client.get(path)
    assert refused.headers["Retry-After"] == "30"
    clock = limited.app.clock
    assert isinstance(clock, FakeClock)
    clock.advance(29.9)
    assert limited.client.get(path).status_code == 429
    clock.advance(0.1)
    answer = limited.client.get(path)
    assert answer.status_code == 200 and answer.headers["X-RateLimit-Remaining"] == "0"
