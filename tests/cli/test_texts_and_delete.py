"""Every text of an entity can be listed and shown; an entity can be deleted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from moviemind_lite.app.wiring import build_app
from moviemind_lite.core.config import Settings
from moviemind_lite.core.domain import MOVIE
from moviemind_lite.core.ids import new_id
from moviemind_lite.store import answer_cache
from tests.cli.conftest import assert_one_line_error, run
from tests.helpers import count

MATRIX = "the-matrix-1999"


def texts_json(slug: str, plural: str = "movies") -> list[dict[str, object]]:
    result = run(plural, "texts", slug, "--json")
    assert result.exit_code == 0, result.output
    listed: list[dict[str, object]] = json.loads(result.stdout)
    return listed


def alternative_id() -> str:
    assert run("movies", "regenerate", MATRIX, "--locale", "pl-PL").exit_code == 0
    (alternative,) = [text for text in texts_json(MATRIX) if not text["is_baseline"]]
    return str(alternative["id"])


def test_texts_lists_baselines_and_the_alternatives_regenerate_wrote() -> None:
    text_id = alternative_id()
    listed = texts_json(MATRIX)
    assert [(t["locale"], t["context_tag"], t["is_baseline"]) for t in listed] == [
        ("en-US", "default", True),
        ("pl-PL", "default", True),
        ("pl-PL", "default", False),
    ]
    human = run("movies", "texts", MATRIX)
    assert human.exit_code == 0
    lines = human.stdout.splitlines()
    assert lines[0].split() == [
        "id", "locale", "context", "version", "origin", "role", "updated", "text"
    ]  # fmt: skip
    assert lines[3].split()[:6] == [text_id, "pl-PL", "default", "1", "generated", "alternative"]
    assert lines[-1] == "3 descriptions"


def test_show_text_id_prints_an_alternative_and_never_generates() -> None:
    text_id = alternative_id()
    jobs_before = run("jobs", "list", "--json").stdout
    shown = run("movies", "show", MATRIX, "--text-id", text_id)
    assert shown.exit_code == 0, shown.output
    assert shown.stdout.splitlines()[0] == "The Matrix (1999)"
    assert shown.stdout.splitlines()[-1] == "[pl-PL · default · v1 · generated · alternative]"
    as_json = json.loads(run("movies", "show", MATRIX, "--text-id", text_id, "--json").stdout)
    assert as_json["movie"]["description"]["id"] == text_id
    assert (as_json["status"], as_json["job_id"]) == ("done", None)
    assert run("jobs", "list", "--json").stdout == jobs_before


def test_people_have_texts_too() -> None:
    listed = texts_json("keanu-reeves", "people")
    assert {text["locale"] for text in listed} == {"en-US", "pl-PL"}
    shown = run("people", "show", "keanu-reeves", "--text-id", str(listed[1]["id"]))
    assert shown.exit_code == 0
    assert shown.stdout.splitlines()[-1] == "[pl-PL · default · v1 · curated]"


@pytest.mark.parametrize(
    ("args", "code", "text"),
    [
        (["movies", "texts", "no-such-film"], 1, "no movie with slug 'no-such-film'"),
        (["movies", "texts", "Bad Slug"], 2, "invalid slug 'Bad Slug'"),
        (
            ["movies", "show", MATRIX, "--text-id", "x'; DROP TABLE movies; --"],
            2,
            "is not a description id (`moviemind movies texts the-matrix-1999` lists them)",
        ),
        (
            ["movies", "show", MATRIX, "--text-id", new_id()],
            1,
            "the-matrix-1999 has no description",
        ),
        (
            ["movies", "show", MATRIX, "--text-id", new_id(), "--locale", "pl-PL"],
            2,
            "--text-id names one stored text: --locale and --context do not apply",
        ),
        (
            ["movies", "show", MATRIX, "--text-id", new_id(), "--context", "modern"],
            2,
            "--text-id names one stored text",
        ),
    ],
)
def test_bad_text_requests(home: Path, args: list[str], code: int, text: str) -> None:
    run("init")
    before = (home / "moviemind.db").read_bytes()
    assert_one_line_error(run(*args), code, text)
    assert (home / "moviemind.db").read_bytes() == before


def test_a_text_of_another_movie_is_not_found() -> None:
    other = texts_json("inception-2010")[0]["id"]
    assert_one_line_error(
        run("movies", "show", MATRIX, "--text-id", str(other)), 1, "has no description with id"
    )


# -- delete ---------------------------------------------------------------------------------


def test_delete_takes_the_texts_and_the_cached_answers_and_keeps_the_jobs(
    settings: Settings,
) -> None:
    assert run("movies", "show", "matrix").exit_code == 0  # the typo that made a movie
    assert run("movies", "show", "matrix").exit_code == 0  # answered from the cache
    with build_app(settings) as app:
        entity = app.catalog.find(MOVIE, "matrix")
        (job,) = app.jobs.list()
        assert (job.entity_id, job.text_id) != (None, None)
        key = answer_cache.cache_key(MOVIE, "matrix", "en-US", "default")
        assert answer_cache.lookup(app.database, key) is not None

    result = run("movies", "delete", "matrix", "--yes")
    assert (result.exit_code, result.output) == (
        0,
        "Deleted movie matrix (Matrix) with 1 description; 1 job keeps its history without it\n",
    )
    with build_app(settings) as app:
        database = app.database
        assert count(database, "SELECT count(*) FROM movies WHERE slug = 'matrix'") == 0
        sql = "SELECT count(*) FROM descriptions WHERE movie_id = ?"
        assert count(database, sql, (entity.id,)) == 0
        assert answer_cache.lookup(database, key) is None
        kept = app.jobs.get(job.id)
        assert (kept.status, kept.result, kept.slug) == ("DONE", "created", "matrix")
        assert (kept.entity_id, kept.text_id) == (None, None)
    assert_one_line_error(run("movies", "show", "matrix", "--text-id", str(job.text_id)), 1, "")


def test_delete_without_yes_refuses_off_a_terminal_and_asks_on_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run("init")
    refused = run("people", "delete", "keanu-reeves")
    assert_one_line_error(
        refused, 2, "people delete asks before it deletes: add --yes to delete without asking"
    )
    monkeypatch.setattr("moviemind_lite.cli.entities.stdin_is_terminal", lambda: True)
    kept = run("people", "delete", "keanu-reeves", input="n\n")
    assert kept.exit_code == 1
    assert "Delete person keanu-reeves (Keanu Reeves) and its 2 bios? [y/N]" in kept.output
    assert run("people", "show", "keanu-reeves").exit_code == 0
    gone = run("people", "delete", "keanu-reeves", input="y\n")
    assert gone.exit_code == 0
    assert gone.stdout.endswith("Deleted person keanu-reeves (Keanu Reeves) with 2 bios\n")
    assert_one_line_error(run("people", "texts", "keanu-reeves"), 1, "no person with slug")


def test_delete_waits_for_a_job_on_its_way_and_honours_read_only_mode(home: Path) -> None:
    assert run("movies", "regenerate", MATRIX, "--no-wait").exit_code == 0
    (job,) = json.loads(run("jobs", "list", "--json").stdout)
    before = (home / "moviemind.db").read_bytes()
    assert_one_line_error(
        run("movies", "delete", MATRIX, "--yes"),
        1,
        f"cannot delete movie 'the-matrix-1999': job {job['id']} for it is PENDING; "
        f"wait for it (moviemind jobs wait {job['id']}) and delete again",
        exact=True,
    )
    read_only = {"MOVIEMIND_FLAG_CATALOG_READ_ONLY_MODE": "on"}
    assert_one_line_error(
        run("movies", "delete", "inception-2010", "--yes", env=read_only),
        1,
        "the catalog is read-only (catalog_read_only_mode is on): "
        "cannot delete movie 'inception-2010'",
        exact=True,
    )
    assert (home / "moviemind.db").read_bytes() == before
