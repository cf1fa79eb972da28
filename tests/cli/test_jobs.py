"""The generation path on the command line: show, regenerate, jobs, worker.

Exact output and exit codes, with the mock AI set to answer at once.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from moviemind_lite.ai.base import GenerationRequest, guess_facts
from moviemind_lite.ai.mock import MockGenerator
from moviemind_lite.app.wiring import build_app
from moviemind_lite.core.config import load_settings
from moviemind_lite.core.domain import KindName
from moviemind_lite.core.model import Job
from tests.cli.conftest import run

# A job id no job has: fixed, as it names tests (every xdist worker must collect the same).
UNKNOWN_JOB = "01a25306-6914-7703-9009-4f73bf2cba24"


@pytest.fixture(autouse=True)
def instant_ai(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    """No AI latency, and retries without backoff, so every job ends at once."""
    monkeypatch.setenv("MOVIEMIND_AI_LATENCY_MS", "0")
    monkeypatch.setenv("MOVIEMIND_AI_JITTER_MS", "0")
    monkeypatch.setenv("MOVIEMIND_JOB_BACKOFF_MS", "0")


def jobs_in_home() -> list[Job]:
    with build_app(load_settings()) as app:
        return app.jobs.list(limit=None)


def only_job() -> Job:
    (job,) = jobs_in_home()
    return job


def mock_text(kind: KindName, slug: str, locale: str = "en-US", context: str = "default") -> str:
    """The text the mock writes for a slug the catalog does not know."""
    request = GenerationRequest(kind, slug, locale, context, guess_facts(kind, slug))
    return MockGenerator(load_settings().ai).compose(request)


# -- show: generating an unknown slug ------------------------------------------------------


def test_show_unknown_movie_generates_it_and_prints_it() -> None:
    result = run("movies", "show", "the-quiet-harbour-1987")
    assert result.exit_code == 0, result.output
    job = only_job()
    assert result.output.splitlines() == [
        "The Quiet Harbour (1987)",
        "slug: the-quiet-harbour-1987",
        "",
        *mock_text("movie", "the-quiet-harbour-1987").splitlines(),
        "",
        "[en-US · default · v1 · generated]",
        f"job {job.id}: created",
    ]
    assert (job.status, job.result, job.attempts) == ("DONE", "created", 1)
    again = run("movies", "show", "the-quiet-harbour-1987")
    assert again.exit_code == 0
    # Served from the database now: same text, no job line.
    assert again.output.splitlines() == result.output.splitlines()[:-1]
    assert len(jobs_in_home()) == 1


def test_show_unknown_person_in_another_locale_and_context() -> None:
    result = run("people", "show", "ada-lovelace-1815", "--locale", "pl-PL", "--context", "modern")
    assert result.exit_code == 0, result.output
    job = only_job()
    assert result.output.splitlines() == [
        "Ada Lovelace",
        "slug: ada-lovelace-1815",
        "",
        *mock_text("person", "ada-lovelace-1815", "pl-PL", "modern").splitlines(),
        "",
        "[pl-PL · modern · v1 · generated]",
        f"job {job.id}: created",
    ]


def test_no_wait_queues_once_and_hands_the_same_job_to_the_next_request() -> None:
    first = run("movies", "show", "the-quiet-harbour-1987", "--no-wait")
    job = only_job()
    assert (first.exit_code, first.output) == (0, f"queued {job.id}\n")
    second = run("movies", "show", "the-quiet-harbour-1987", "--no-wait")
    assert (second.exit_code, second.output) == (0, f"in progress {job.id}\n")
    assert only_job().status == "PENDING"

    worker = run("worker", "--once")
    assert worker.stderr.startswith("worker started on ")
    assert (worker.exit_code, worker.stdout) == (
        0,
        f"DONE {job.id}\nworker stopped (idle): 1 done, 0 failed, 0 to retry, 0 lost\n",
    )
    shown = run("movies", "show", "the-quiet-harbour-1987", "--no-wait")
    assert shown.exit_code == 0
    assert shown.output.splitlines()[-1] == "[en-US · default · v1 · generated]"


def test_show_json_generated_queued_and_in_progress() -> None:
    queued = run("people", "show", "ada-lovelace-1815", "--no-wait", "--json")
    job = only_job()
    assert queued.exit_code == 0
    assert json.loads(queued.stdout) == {"status": "queued", "job_id": job.id, "person": None}
    in_progress = run("people", "show", "ada-lovelace-1815", "--no-wait", "--json")
    assert json.loads(in_progress.stdout) == {
        "status": "in_progress",
        "job_id": job.id,
        "person": None,
    }

    generated = run("movies", "show", "the-quiet-harbour-1987", "--json")
    assert generated.exit_code == 0, generated.output
    shown = json.loads(generated.stdout)
    assert set(shown) == {"status", "job_id", "movie"}
    movie_job = next(j for j in jobs_in_home() if j.kind == "movie")
    assert (shown["status"], shown["job_id"]) == ("done", movie_job.id)
    movie = shown["movie"]
    assert (movie["slug"], movie["title"], movie["year"]) == (
        "the-quiet-harbour-1987",
        "The Quiet Harbour",
        1987,
    )
    assert movie["id"] == movie_job.entity_id
    description = movie["description"]
    assert description["id"] == movie_job.text_id
    assert description["text"] == mock_text("movie", "the-quiet-harbour-1987")
    assert (description["origin"], description["ai_model"], description["is_baseline"]) == (
        "generated",
        "mock-1",
        True,
    )


# -- regenerate ------------------------------------------------------------------------------


def test_regenerate_appends_an_alternative_next_to_the_baseline() -> None:
    before = run("movies", "show", "the-matrix-1999")
    result = run("movies", "regenerate", "the-matrix-1999")
    assert result.exit_code == 0, result.output
    job = only_job()
    lines = result.output.splitlines()
    assert lines[:2] == before.output.splitlines()[:2]
    assert lines[-2:] == [
        "[en-US · default · v1 · generated · alternative]",
        f"job {job.id}: alternative_appended",
    ]
    assert (job.action, job.status, job.result) == ("regenerate", "DONE", "alternative_appended")
    # The baseline is untouched: show still prints the curated text.
    assert run("movies", "show", "the-matrix-1999").output == before.output
    with build_app(load_settings()) as app:
        texts = app.database.query(
            "SELECT d.origin, d.is_baseline FROM descriptions d JOIN movies m ON d.movie_id = m.id "
            "WHERE m.slug = 'the-matrix-1999' AND d.locale = 'en-US' AND d.context_tag = 'default' "
            "ORDER BY d.is_baseline DESC"
        )
        assert [tuple(row) for row in texts] == [("curated", 1), ("generated", 0)]


def test_regenerate_without_waiting_queues_a_job() -> None:
    result = run("movies", "regenerate", "the-matrix-1999", "--no-wait", "--locale", "de-DE")
    job = only_job()
    assert (result.exit_code, result.output) == (0, f"queued {job.id}\n")
    assert (job.action, job.locale, job.status) == ("regenerate", "de-DE", "PENDING")


# -- jobs list / show / wait / retry ---------------------------------------------------------


def test_jobs_list() -> None:
    empty = run("jobs", "list")
    assert (empty.exit_code, empty.output) == (0, "No jobs.\n")
    run("movies", "show", "the-quiet-harbour-1987")
    run("people", "show", "ada-lovelace-1815", "--no-wait")
    done, pending = sorted(jobs_in_home(), key=lambda job: job.status)
    listed = run("jobs", "list")
    assert listed.exit_code == 0
    rows = [line.split() for line in listed.output.splitlines()]
    assert rows[0][:4] == ["id", "status", "kind", "slug"]
    assert [row[:4] for row in rows[1:]] == [
        [pending.id, "PENDING", "person", "ada-lovelace-1815"],
        [done.id, "DONE", "movie", "the-quiet-harbour-1987"],
    ]
    as_json = run("jobs", "list", "--status", "done", "--json")
    assert as_json.exit_code == 0
    assert json.loads(as_json.stdout) == [done.to_json()]


def test_jobs_show() -> None:
    run("movies", "show", "the-quiet-harbour-1987")
    job = only_job()
    shown = run("jobs", "show", job.id)
    assert shown.exit_code == 0
    lines = shown.output.splitlines()
    assert lines[0] == f"          id: {job.id}"
    assert "      status: DONE" in lines and "      result: created" in lines
    assert "    attempts: 1" in lines and "       error: " in lines
    as_json = run("jobs", "show", job.id, "--json")
    assert (as_json.exit_code, json.loads(as_json.stdout)) == (0, job.to_json())


def test_jobs_wait_exit_codes() -> None:
    run("movies", "show", "the-quiet-harbour-1987")
    done = only_job()
    waited = run("jobs", "wait", done.id)
    assert (waited.exit_code, waited.output) == (0, f"DONE {done.id} created\n")

    run("people", "show", "ada-lovelace-1815", "--no-wait")
    pending = next(job for job in jobs_in_home() if job.status == "PENDING")
    timed_out = run("jobs", "wait", pending.id, "--timeout", "0.05")
    assert (timed_out.exit_code, timed_out.output) == (
        1,
        f"PENDING {pending.id}\nError: job {pending.id} is still PENDING after 0.05 s\n",
    )
    as_json = run("jobs", "wait", done.id, "--json")
    assert json.loads(as_json.stdout)["status"] == "DONE"


def test_failed_generation_then_retry() -> None:
    slug = "the-flaky-film"
    error = f"mock AI failed for movie:{slug}:en-US:default (fail rate 1)"
    failed = run("movies", "show", slug, "--ai-fail-rate", "1")
    job = only_job()
    assert (failed.exit_code, failed.output) == (
        1,
        f"Error: job {job.id} failed after 3 attempt(s): {error}\n",
    )
    assert (job.status, job.attempts, job.error) == ("FAILED", 3, error)

    shown = run("jobs", "show", job.id)
    assert shown.exit_code == 0
    assert "      status: FAILED" in shown.output.splitlines()
    assert f"       error: {error}" in shown.output.splitlines()
    waited = run("jobs", "wait", job.id)
    assert (waited.exit_code, waited.output) == (
        1,
        f"FAILED {job.id}\nError: job {job.id} failed: {error}\n",
    )

    retried = run("jobs", "retry", job.id)
    assert (retried.exit_code, retried.output) == (0, f"queued {job.id}\n")
    assert run("jobs", "retry", job.id).exit_code == 2  # PENDING now, not FAILED
    worked = run("worker", "--once")
    assert worked.exit_code == 0
    assert worked.stdout.splitlines() == [
        f"DONE {job.id}",
        "worker stopped (idle): 1 done, 0 failed, 0 to retry, 0 lost",
    ]
    assert run("jobs", "wait", job.id).output == f"DONE {job.id} created\n"
    assert run("movies", "show", slug).output.splitlines()[0] == "The Flaky Film"


def test_failed_generation_as_json() -> None:
    failed = run("movies", "show", "the-flaky-film", "--ai-fail-rate", "1", "--json")
    job = only_job()
    assert failed.exit_code == 1
    error = "mock AI failed for movie:the-flaky-film:en-US:default (fail rate 1)"
    assert json.loads(failed.stdout) == {
        "status": "failed",
        "job_id": job.id,
        "movie": None,
        "error": error,
    }
    assert failed.stderr == f"Error: job {job.id} failed after 3 attempt(s): {error}\n"


def test_retry_of_a_job_that_did_not_fail_is_refused() -> None:
    run("movies", "show", "the-quiet-harbour-1987")
    job = only_job()
    result = run("jobs", "retry", job.id)
    assert (result.exit_code, result.output) == (
        2,
        f"Error: job {job.id} is DONE; only FAILED jobs can be retried\n",
    )


# -- bad input: one line, no traceback, nothing changed --------------------------------------


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["movies", "show", "Bad_Slug"], 2, "Error: invalid slug 'Bad_Slug'"),
        (["movies", "show", "-"], 2, "Error: invalid slug '-'"),
        (["people", "show", "Ada Lovelace"], 2, "Error: invalid slug 'Ada Lovelace'"),
        (["movies", "show", "alien", "--locale", "xx-XX"], 2, "Error: unknown locale 'xx-XX'"),
        (["movies", "show", "alien", "--context", "nope"], 2, "Error: unknown context tag 'nope'"),
        (["movies", "show", "alien", "--timeout", "-1"], 2, "Error: Invalid value for '--timeout'"),
        (["movies", "show", "alien", "--ai-fail-rate", "2"], 2, "Error: Invalid value for"),
        (["movies", "regenerate", "Bad_Slug"], 2, "Error: invalid slug 'Bad_Slug'"),
        (["movies", "regenerate", "no-such-movie"], 1, "Error: no movie with slug 'no-such-movie'"),
        (["people", "regenerate", "nobody"], 1, "Error: no person with slug 'nobody'"),
        (["movies", "regenerate", "the-matrix-1999", "--locale", "xx"], 2, "Error: unknown locale"),
        (["jobs", "show", "not-a-job"], 2, "Error: 'not-a-job' is not a job id"),
        (["jobs", "show", UNKNOWN_JOB], 1, f"Error: no job with id {UNKNOWN_JOB}"),
        (["jobs", "wait", "42"], 2, "Error: '42' is not a job id"),
        (["jobs", "wait", UNKNOWN_JOB], 1, f"Error: no job with id {UNKNOWN_JOB}"),
        (["jobs", "retry", UNKNOWN_JOB.upper()], 2, "Error: "),
        (["jobs", "retry", UNKNOWN_JOB], 1, f"Error: no job with id {UNKNOWN_JOB}"),
        (["jobs", "list", "--status", "LOST"], 2, "Error: Invalid value for '--status'"),
        (["jobs", "list", "--limit", "-1"], 2, "Error: Invalid value for '--limit'"),
        (["worker", "--threads", "-1"], 2, "Error: Invalid value for '--threads'"),
        (["worker", "--threads", "0"], 2, "Error: Invalid value for '--threads'"),
        (["worker", "--max-jobs", "0"], 2, "Error: Invalid value for '--max-jobs'"),
        (["worker", "--ai-latency", "-5"], 2, "Error: Invalid value for '--ai-latency'"),
    ],
)
def test_bad_input_gets_one_line_and_changes_nothing(
    args: list[str], code: int, message: str
) -> None:
    result = run(*args)
    assert result.exit_code == code, result.output
    assert result.output.startswith(message)
    assert result.output.count("\n") == 1
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)
    assert jobs_in_home() == []
