"""The contract's behavioural checks (research/moviemind-api-contract.md §1.10), run twice:
in-process and against a live ``moviemind serve``, every response validated against
docs/openapi.json. Checks that need data Lite does not have (TMDb, localized metadata)
are in docs/api.md instead; each test names the check it ports.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from moviemind_lite.core.domain import MOVIE, PERSON
from tests.http.conftest import Served

LEVELS = {"high", "medium", "low", "very_low"}


@contextmanager
def flag_off(served: Served, name: str) -> Iterator[None]:
    """Turn a flag off for the block (the server reads flags from the shared database)."""
    served.app.flags.set(name, False)
    try:
        yield
    finally:
        served.app.flags.clear(name)


_PEOPLE_TAKEN: set[tuple[str, str]] = set()


def a_person_without_bio(served: Served) -> str:
    """A sample person with no bio that no other test on this server has used."""
    people = served.client.get("/api/v1/people", params={"per_page": 100}).json()["data"]
    for person in people:
        key = (served.kind, str(person["slug"]))
        if person["bios_count"] == 0 and key not in _PEOPLE_TAKEN:
            _PEOPLE_TAKEN.add(key)
            return key[1]
    raise AssertionError("no person without a bio left")


def fresh_slug(prefix: str = "fresh") -> str:
    """A movie slug nobody has asked for yet (with a year: confidence 0.9)."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}-2024"


# -- 1, 2, 3: movie lists and show ------------------------------------------------------


def test_01_list_movies(served: Served) -> None:
    response = served.client.get("/api/v1/movies")
    assert response.status_code == 200
    body = response.json()
    assert body["data"]
    for item in body["data"]:
        assert {"id", "title", "release_year", "director", "descriptions_count"} <= set(item)
        assert isinstance(item["descriptions_count"], int)
        assert item["_links"]["self"]["href"] == f"{served.base}/api/v1/movies/{item['slug']}"
        assert isinstance(item["_links"]["people"], list)
        assert "descriptions" not in item
    assert body["pagination"]["current_page"] == 1
    assert body["pagination"]["per_page"] == 50
    linked = [item for item in body["data"] if item["_links"]["people"]]
    assert linked
    for item in linked:
        for link in item["_links"]["people"]:
            assert f"{served.base}/api/v1/people/" in link["href"] and link["title"]


def test_01_list_pages(served: Served) -> None:
    first = served.client.get("/api/v1/movies", params={"per_page": 5}).json()
    second = served.client.get("/api/v1/movies", params={"per_page": 5, "page": 2}).json()
    assert len(first["data"]) == len(second["data"]) == 5
    assert not {item["id"] for item in first["data"]} & {item["id"] for item in second["data"]}
    pagination = second["pagination"]
    assert pagination["has_previous_page"] and pagination["has_next_page"]
    assert pagination["total_pages"] == -(-pagination["total"] // 5)
    for bad in ({"per_page": "many"}, {"per_page": 0}, {"per_page": 101}, {"page": 0}):
        response = served.client.get("/api/v1/movies", params=bad)
        assert response.status_code == 422, bad
        assert set(response.json()["errors"]) == set(bad)


def test_02_search_is_case_insensitive(served: Served) -> None:
    counts = {
        len(served.client.get("/api/v1/movies", params={"q": q}).json()["data"])
        for q in ("matrix", "MATRIX", "Matrix")
    }
    assert counts == {1}
    nolan = served.client.get("/api/v1/movies", params={"q": "nolan"}).json()
    assert nolan["pagination"]["total"] >= 4  # q also searches the director


def test_03_show_movie(served: Served) -> None:
    response = served.client.get("/api/v1/movies/the-matrix-1999")
    assert response.status_code == 200
    body = response.json()
    assert body["slug"] == "the-matrix-1999" and body["title"] == "The Matrix"
    assert body["descriptions_count"] == len(body["descriptions"]) == 2
    assert body["_links"]["self"]["href"] == f"{served.base}/api/v1/movies/the-matrix-1999"
    generate = body["_links"]["generate"]
    assert generate["method"] == "POST"
    assert generate["body"] == {"entity_type": "MOVIE", "entity_id": "the-matrix-1999"}
    assert body["default_description"]["id"] == body["default_description_id"]
    assert {text["context_tag"] for text in body["descriptions"]} == {"DEFAULT"}
    assert {text["locale"] for text in body["descriptions"]} == {"en-US", "pl-PL"}
    links = body["_links"]["people"]
    assert links and all(link["href"].startswith(f"{served.base}/api/v1/people/") for link in links)
    neo = next(person for person in body["people"] if person["slug"] == "keanu-reeves")
    assert (neo["role"], neo["character_name"]) == ("actor", "Neo")
    for link in links:  # every link leads somewhere
        assert served.client.get(link["href"].removeprefix(served.base)).status_code in (200, 202)


def test_03_stored_movie_without_text_is_200_and_never_generates(served: Served) -> None:
    response = served.client.get("/api/v1/movies/memento-2000")
    assert response.status_code == 200
    assert response.json()["descriptions"] == []
    assert response.json()["descriptions_count"] == 0
    assert "default_description" not in response.json()
    assert not any(job.slug == "memento-2000" for job in served.app.jobs.list(limit=None))


# -- 5, 6, 8: description_id and locale -------------------------------------------------


def test_05_select_a_description(served: Served) -> None:
    outcome = served.app.generation.regenerate(MOVIE, "inception-2010", context_tag="critical")
    assert outcome.status == "done" and outcome.view is not None and outcome.view.text
    critical_id = outcome.view.text.id
    baseline_id = served.app.catalog.find(MOVIE, "inception-2010").baseline_id
    response = served.client.get(
        "/api/v1/movies/inception-2010", params={"description_id": critical_id}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["selected_description"]["id"] == critical_id
    assert body["selected_description"]["context_tag"] == "critical"
    assert body["default_description"]["id"] == baseline_id != critical_id


def test_06_bad_description_id(served: Served) -> None:
    response = served.client.get(
        "/api/v1/movies/the-matrix-1999", params={"description_id": "not-a-uuid"}
    )
    assert (response.status_code, response.json()) == (
        422,
        {"error": "Invalid description_id parameter"},
    )
    response = served.client.get(
        "/api/v1/movies/the-matrix-1999", params={"description_id": str(uuid.uuid4())}
    )
    assert (response.status_code, response.json()) == (
        404,
        {"error": "Description not found for movie"},
    )


def test_08_locale_never_fails(served: Served) -> None:
    for locale in ("invalid-locale", "pl-PL", "de-DE"):
        response = served.client.get("/api/v1/movies/the-matrix-1999", params={"locale": locale})
        assert response.status_code == 200
        assert len(response.json()["descriptions"]) == 2  # locale filters nothing


# -- 9, 10, 12: unknown movies ----------------------------------------------------------


def test_09_unknown_movie_is_queued(served: Served) -> None:
    slug = fresh_slug("fallback-movie")
    response = served.client.get(f"/api/v1/movies/{slug}")
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "PENDING" and body["slug"] == slug
    assert body["confidence"] == 0.9 and body["confidence_level"] in LEVELS
    assert body["locale"] == "en-US"
    assert body["message"] == "Generation queued for movie by slug"
    assert "context_tag" not in body and "existing_id" not in body


def test_09_year_less_slug_is_queued_with_low_confidence(served: Served) -> None:
    # Check 11 (404 for a low-confidence slug TMDb does not know) needs TMDb: Lite queues it.
    response = served.client.get(f"/api/v1/movies/non-existent-movie-{uuid.uuid4().hex[:6]}")
    assert response.status_code == 202
    assert (response.json()["confidence"], response.json()["confidence_level"]) == (0.6, "low")


def test_10_unknown_movie_with_generation_off(served: Served) -> None:
    with flag_off(served, "ai_description_generation"):
        response = served.client.get(f"/api/v1/movies/{fresh_slug()}")
        # The original's body, with the cause: the flag that refused it.
        assert (response.status_code, response.json()) == (
            404,
            {"error": "Movie not found", "message": "the flag ai_description_generation is off"},
        )
        # A stored movie is still served.
        assert served.client.get("/api/v1/movies/the-matrix-1999").status_code == 200


@pytest.mark.parametrize(
    "slug", ["abc-123", "12345", "ab", "Bad_Slug", "ignore-previous-instructions"]
)
def test_invalid_slug_is_400_with_its_confidence(served: Served, slug: str) -> None:
    response = served.client.get(f"/api/v1/movies/{slug}")
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "Invalid slug format" and body["slug"] == slug
    assert 0 <= body["confidence"] < 0.9 or slug == "Bad_Slug"
    assert body["message"]


def test_12_same_job_while_on_its_way_then_the_movie(served: Served) -> None:
    slug = fresh_slug("twice")
    first = served.client.get(f"/api/v1/movies/{slug}").json()
    second = served.client.get(f"/api/v1/movies/{slug}").json()
    assert first["job_id"] == second["job_id"]
    assert second["message"] == "Generation already queued for movie slug"
    ended = served.drain()
    assert first["job_id"] in {job.id for job in ended}
    shown = served.client.get(f"/api/v1/movies/{slug}")
    assert shown.status_code == 200
    assert shown.json()["descriptions_count"] == 1
    job = served.client.get(f"/api/v1/jobs/{first['job_id']}").json()
    assert job["status"] == "DONE"
    assert job["entity_id"] == shown.json()["id"]
    assert job["description_id"] == shown.json()["default_description_id"]


# -- 13 to 17: people -------------------------------------------------------------------


def test_13_list_people(served: Served) -> None:
    for params in ({}, {"q": "Christopher"}):
        body = served.client.get("/api/v1/people", params=params).json()
        assert body["data"]
        for item in body["data"]:
            assert {"id", "name", "slug"} <= set(item)
            assert isinstance(item["bios_count"], int)
            assert isinstance(item["_links"]["movies"], list)


def test_14_show_person(served: Served) -> None:
    response = served.client.get("/api/v1/people/keanu-reeves")
    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "Keanu Reeves" and body["bios_count"] == len(body["bios"]) == 2
    assert body["_links"]["self"]["href"] == f"{served.base}/api/v1/people/keanu-reeves"
    assert body["default_bio"]["id"] == body["default_bio_id"]
    links = body["_links"]["movies"]
    assert {link["href"] for link in links} >= {
        f"{served.base}/api/v1/movies/{slug}"
        for slug in ("the-matrix-1999", "speed-1994", "john-wick-2014")
    }
    assert {movie["title"] for movie in body["movies"]} >= {"The Matrix", "Speed", "John Wick"}


def test_15_select_a_bio(served: Served) -> None:
    outcome = served.app.generation.regenerate(PERSON, "christopher-nolan", context_tag="humorous")
    assert outcome.view is not None and outcome.view.text is not None
    alternative = outcome.view.text.id
    response = served.client.get("/api/v1/people/christopher-nolan", params={"bio_id": alternative})
    body = response.json()
    assert body["selected_bio"]["id"] == alternative
    assert body["default_bio"]["id"] == body["default_bio_id"] != alternative
    bad = served.client.get("/api/v1/people/christopher-nolan", params={"bio_id": "nope"})
    assert (bad.status_code, bad.json()) == (422, {"error": "Invalid bio_id parameter"})
    missing = served.client.get(
        "/api/v1/people/christopher-nolan", params={"bio_id": str(uuid.uuid4())}
    )
    assert (missing.status_code, missing.json()) == (404, {"error": "Bio not found for person"})


def test_16_stored_person_without_bio_is_queued(served: Served) -> None:
    slug = a_person_without_bio(served)
    person = served.app.catalog.find(PERSON, slug)
    response = served.client.get(f"/api/v1/people/{slug}")
    assert response.status_code == 202
    body = response.json()
    assert body["message"] == "Generation queued for person by slug"
    assert body["existing_id"] == person.id and body["bio_id"] is None
    assert served.client.get(f"/api/v1/people/{slug}").json()["job_id"] == body["job_id"]
    served.drain()
    assert served.client.get(f"/api/v1/people/{slug}").json()["bios_count"] == 1


def test_16_person_without_bio_and_generation_off(served: Served) -> None:
    slug = a_person_without_bio(served)
    with flag_off(served, "ai_bio_generation"):
        response = served.client.get(f"/api/v1/people/{slug}")
        assert (response.status_code, response.json()) == (
            404,
            {"error": "Person not found", "message": "the flag ai_bio_generation is off"},
        )


def test_17_unknown_people(served: Served) -> None:
    slug = f"someone-{uuid.uuid4().hex[:8]}"
    with flag_off(served, "ai_bio_generation"):
        assert served.client.get(f"/api/v1/people/{slug}").status_code == 404
    response = served.client.get(f"/api/v1/people/{slug}")
    assert response.status_code == 202
    assert (response.json()["confidence"], response.json()["confidence_level"]) == (0.85, "medium")


# -- 18 to 23: POST /generate -----------------------------------------------------------


def test_18_generate_movie_and_person(served: Served) -> None:
    slug = f"the-matrix-{uuid.uuid4().hex[:6]}"
    response = served.generate({"entity_type": "MOVIE", "entity_id": slug})
    assert response.status_code == 202
    body = response.json()
    assert {"job_id", "status", "message", "slug", "locale"} <= set(body)
    assert (body["status"], body["slug"], body["locale"]) == ("PENDING", slug, "en-US")
    person = served.generate(
        {"entity_type": "PERSON", "slug": f"new-person-{uuid.uuid4().hex[:6]}"}
    )
    assert person.status_code == 202


def test_18_generate_with_generation_off_is_403(served: Served) -> None:
    for entity_type, flag in (
        ("MOVIE", "ai_description_generation"),
        ("PERSON", "ai_bio_generation"),
    ):
        with flag_off(served, flag):
            response = served.generate({"entity_type": entity_type, "entity_id": "the-matrix"})
            assert (response.status_code, response.json()) == (
                403,
                {"error": "Feature not available"},
            )


def test_19_locale_and_context(served: Served) -> None:
    response = served.generate(
        {
            "entity_type": "MOVIE",
            "entity_id": fresh_slug(),
            "locale": "pl-PL",
            "context_tag": "modern",
        }
    )
    assert response.status_code == 202
    assert (response.json()["locale"], response.json()["context_tag"]) == ("pl-PL", "modern")
    job = served.app.jobs.get(response.json()["job_id"])
    assert (job.locale, job.context_tag) == ("pl-PL", "modern")


def test_20_existing_slug_regenerates(served: Served) -> None:
    movie = served.app.catalog.find(MOVIE, "spirited-away-2001")
    response = served.generate({"entity_type": "MOVIE", "entity_id": "spirited-away-2001"})
    assert response.status_code == 202
    body = response.json()
    assert body["existing_id"] == movie.id
    assert body["description_id"] == movie.baseline_id
    assert body["locale"] == "en-US"
    assert body["message"] == "Generation queued for existing movie slug"
    assert "error" not in body  # the original's stray "error" key on a 202 (§1.12)
    assert served.app.jobs.get(body["job_id"]).action == "regenerate"
    person = served.app.catalog.find(PERSON, "hayao-miyazaki")
    answer = served.generate({"entity_type": "PERSON", "slug": "hayao-miyazaki"}).json()
    assert (answer["existing_id"], answer["bio_id"]) == (person.id, person.baseline_id)
    served.drain()
    assert served.app.jobs.get(body["job_id"]).status == "DONE"
    texts = served.client.get("/api/v1/movies/spirited-away-2001").json()["descriptions"]
    assert len(texts) == 3  # the new text is an alternative: baseline locking is off


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"entity_type": "ACTOR", "entity_id": "the-matrix"}, "entity_type"),
        ({"entity_id": "the-matrix"}, "entity_type"),
        ({"entity_type": "TV_SERIES", "entity_id": "the-wire"}, "entity_type"),
        ({"entity_type": "MOVIE", "entity_id": 123}, "entity_id"),
        ({"entity_type": "MOVIE"}, "slug"),
        ({"entity_type": "MOVIE", "slug": "x" * 256}, "slug"),
        (
            {"entity_type": "MOVIE", "entity_id": "the-matrix", "context_tag": "invalid-tag"},
            "context_tag.0",
        ),
        (
            {"entity_type": "MOVIE", "entity_id": "the-matrix", "context_tag": "default"},
            "context_tag.0",
        ),
        (
            {"entity_type": "MOVIE", "entity_id": "the-matrix", "context_tag": ["modern", 7]},
            "context_tag.1",
        ),
        (
            {"entity_type": "MOVIE", "entity_id": "the-matrix", "context_tag": {"a": 1}},
            "context_tag",
        ),
        ({"entity_type": "MOVIE", "entity_id": "the-matrix", "locale": "xx-XX"}, "locale"),
    ],
)
def test_21_rejected_bodies(served: Served, body: dict[str, object], field: str) -> None:
    response = served.generate(body)
    assert response.status_code == 422
    assert field in response.json()["errors"]
    assert response.json()["message"]


def test_21_invalid_slug_is_400(served: Served) -> None:
    response = served.generate({"entity_type": "MOVIE", "slug": "abc-123"})
    assert response.status_code == 400
    assert response.json()["confidence"] == 0.4


def test_22_several_context_tags(served: Served) -> None:
    slug = fresh_slug("tags")
    tags = ["modern", "critical", "humorous"]
    response = served.generate({"entity_type": "MOVIE", "entity_id": slug, "context_tag": tags})
    assert response.status_code == 202
    body = response.json()
    assert len(set(body["job_ids"])) == 3 and len(body["jobs"]) == 3
    assert (body["status"], body["slug"], body["context_tags"], body["locale"]) == (
        "PENDING",
        slug,
        tags,
        "en-US",
    )
    assert [job["context_tag"] for job in body["jobs"]] == tags
    assert {served.app.jobs.get(job_id).context_tag for job_id in body["job_ids"]} == set(tags)
    single = served.generate({"entity_type": "MOVIE", "entity_id": slug, "context_tag": ["modern"]})
    assert single.json()["job_id"] == body["job_ids"][0]
    assert single.json()["context_tag"] == "modern"


@pytest.mark.parametrize("context", [[], None, "omitted", "DEFAULT"])
def test_22_no_context_is_one_default_job(served: Served, context: object) -> None:
    slug = fresh_slug("plain")
    body: dict[str, object] = {"entity_type": "MOVIE", "entity_id": slug}
    if context != "omitted":
        body["context_tag"] = context
    answer = served.generate(body).json()
    assert served.app.jobs.get(answer["job_id"]).context_tag == "default"
    assert answer.get("context_tag") == ("DEFAULT" if context == "DEFAULT" else None)
    # Lite has no null context: GET and POST share the one job of the default context.
    assert served.client.get(f"/api/v1/movies/{slug}").json()["job_id"] == answer["job_id"]


def test_23_same_key_same_job_other_tag_other_job(served: Served) -> None:
    for body in (
        {"entity_type": "MOVIE", "entity_id": fresh_slug("dedupe")},
        {"entity_type": "PERSON", "entity_id": f"dedupe-person-{uuid.uuid4().hex[:6]}"},
        {"entity_type": "MOVIE", "entity_id": "seven-samurai-1954"},  # stored: regenerate
    ):
        first, second = served.generate(body).json(), served.generate(body).json()
        assert first["job_id"] == second["job_id"], body
        assert second["message"].startswith("Generation already queued")
        modern = served.generate({**body, "context_tag": "modern"}).json()
        humorous = served.generate({**body, "context_tag": "humorous"}).json()
        assert len({first["job_id"], modern["job_id"], humorous["job_id"]}) == 3


def test_23_same_key_same_job_while_it_runs(served: Served) -> None:
    """A job already claimed by a worker (IN_PROGRESS) is joined, not doubled."""
    for body in (
        {"entity_type": "MOVIE", "entity_id": fresh_slug("running")},
        {"entity_type": "MOVIE", "entity_id": "seven-samurai-1954"},  # stored: regenerate
    ):
        first = served.generate(body).json()
        claimed = served.app.job_store.claim(first["job_id"], "w-test")
        assert claimed is not None and claimed.status == "IN_PROGRESS"
        second = served.generate(body).json()
        assert second["job_id"] == first["job_id"], body
        assert second["message"].startswith("Generation already queued")


# -- 24: jobs ---------------------------------------------------------------------------


def test_24_job_pending_done_and_unknown(served: Served) -> None:
    slug = fresh_slug("job")
    job_id = served.client.get(f"/api/v1/movies/{slug}").json()["job_id"]
    pending = served.client.get(f"/api/v1/jobs/{job_id}").json()
    assert (pending["status"], pending["entity"], pending["slug"]) == ("PENDING", "MOVIE", slug)
    assert pending["context_tag"] == "DEFAULT" and pending["locale"] == "en-US"
    served.drain()
    done = served.client.get(f"/api/v1/jobs/{job_id}").json()
    assert done["status"] == "DONE" and done["entity_id"] and done["description_id"]
    unknown = str(uuid.uuid4())
    response = served.client.get(f"/api/v1/jobs/{unknown}")
    assert (response.status_code, response.json()) == (
        404,
        {"job_id": unknown, "status": "UNKNOWN"},
    )
    malformed = served.client.get("/api/v1/jobs/not-a-job")
    assert (malformed.status_code, malformed.json()["status"]) == (404, "UNKNOWN")


def test_24_failed_job_has_a_structured_error(served: Served) -> None:
    slug = f"failing-person-{uuid.uuid4().hex[:6]}"
    job_id = served.client.get(f"/api/v1/people/{slug}").json()["job_id"]
    from tests.http.servers import open_app

    # A worker whose AI always fails, with no backoff, runs the job to FAILED.
    failing = open_app(
        served.home,
        {
            "MOVIEMIND_AI_FAIL_RATE": "1",
            "MOVIEMIND_JOB_BACKOFF_MS": "0",
            "MOVIEMIND_BREAKER_THRESHOLD": "1000",
        },
    )
    try:
        while served.app.jobs.get(job_id).status != "FAILED":
            list(failing.jobs.work(threads=1, once=True))
    finally:
        failing.close()
    served.app.breaker.on_success()  # leave the shared breaker clean for the other tests
    body = served.client.get(f"/api/v1/jobs/{job_id}").json()
    assert (body["status"], body["entity"]) == ("FAILED", "PERSON")
    error = body["error"]
    assert set(error) == {"type", "message", "technical_message", "user_message"}
    assert error["type"] == "AI_API_ERROR"
    assert "mock AI failed" in error["technical_message"]


# -- 25: admin flags --------------------------------------------------------------------


def test_25_admin_flags(served: Served) -> None:
    listed = served.client.get("/api/v1/admin/flags").json()
    assert listed["meta"]["scope_note"]
    for flag in listed["data"]:
        assert {"name", "active", "description", "category", "default", "togglable"} <= set(flag)
    names = {flag["name"]: flag for flag in listed["data"]}
    assert names["catalog_read_only_mode"]["togglable"] is False
    on = served.client.post("/api/v1/admin/flags/ai_description_generation", json={"state": "on"})
    assert on.status_code == 200
    assert (on.json()["name"], on.json()["active"], on.json()["state"]) == (
        "ai_description_generation",
        True,
        "on",
    )
    flag = "ai_generation_baseline_locking"  # Lite has no tmdb_verification
    assert served.client.post(f"/api/v1/admin/flags/{flag}", json={"state": "on"}).json()["active"]
    off = served.client.post(f"/api/v1/admin/flags/{flag}", json={"state": "off"})
    assert off.json()["active"] is False
    reset = served.client.delete(f"/api/v1/admin/flags/{flag}")
    assert reset.json() == {
        "message": f"Feature flag '{flag}' has been reset to its default value."
    }
    served.client.delete("/api/v1/admin/flags/ai_description_generation")


@pytest.mark.parametrize("name", ["unknown-feature", "catalog_read_only_mode"])
def test_25_flags_that_cannot_be_toggled_are_422(served: Served, name: str) -> None:
    response = served.client.post(f"/api/v1/admin/flags/{name}", json={"state": "on"})
    assert response.status_code == 422
    assert response.json()["errors"]["name"] == [
        f"The feature flag '{name}' cannot be toggled manually."
    ]
    reset = served.client.delete(f"/api/v1/admin/flags/{name}")
    assert reset.status_code == 422
    # Resetting a flag that does not exist says so (a Lite endpoint: no original wording).
    refusal = "does not exist" if name == "unknown-feature" else "cannot be toggled manually"
    assert reset.json()["errors"]["name"] == [f"The feature flag '{name}' {refusal}."]


@pytest.mark.parametrize("body", [{}, {"state": "maybe"}, {"state": 1}, ["on"]])
def test_25_bad_state_is_422(served: Served, body: object) -> None:
    response = served.client.post("/api/v1/admin/flags/ai_bio_generation", json=body)
    assert response.status_code == 422
    assert "state" in response.json()["errors"]


# -- 26: request ids and headers --------------------------------------------------------


def test_26_request_and_correlation_ids(served: Served) -> None:
    first = served.client.get("/api/v1/health")
    second = served.client.get("/api/v1/movies/not-a-route/extra")
    for response in (first, second):
        for header in ("X-Request-ID", "X-Correlation-ID"):
            uuid.UUID(response.headers[header])
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
        assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert first.headers["X-Request-ID"] != second.headers["X-Request-ID"]
    mine, theirs = str(uuid.uuid4()), str(uuid.uuid4())
    echoed = served.client.get(
        "/api/v1/health", headers={"X-Request-ID": mine, "X-Correlation-ID": theirs}
    )
    assert (echoed.headers["X-Request-ID"], echoed.headers["X-Correlation-ID"]) == (mine, theirs)
    replaced = served.client.get("/api/v1/health", headers={"X-Correlation-ID": "not-a-uuid"})
    assert replaced.headers["X-Correlation-ID"] != "not-a-uuid"
    uuid.UUID(replaced.headers["X-Correlation-ID"])
