"""32 threads ask for the same unknown slug at once: one job, one AI call, one row each.

Each race runs several rounds with distinct slugs so that a pass means more
than one lucky interleaving; movies and people go through the same pipeline.
"""

from __future__ import annotations

import pytest

from moviemind_lite.app.views import RequestOutcome
from moviemind_lite.app.wiring import App, build_app
from moviemind_lite.core.config import Settings
from moviemind_lite.core.domain import MOVIE, PERSON, EntityKind
from moviemind_lite.core.model import CREATED, DONE
from tests.helpers import entity_rows, run_together

pytestmark = pytest.mark.usefixtures("engines")

THREADS = 32
ROUNDS = [(MOVIE, f"race-movie-{n}-2001") for n in range(4)] + [(PERSON, "race-person-ada")]


def key(kind: EntityKind, slug: str) -> str:
    return f"{kind.name}:{slug}:en-US:default"


def job_that_answered(outcome: RequestOutcome) -> str:
    """The job behind an answer: the request's job, or the one that wrote the stored text."""
    if outcome.job is not None:
        return outcome.job.id
    assert outcome.view is not None and outcome.view.text is not None
    assert outcome.view.text.job_id is not None
    return outcome.view.text.job_id


def assert_one_of_everything(app: App, kind: EntityKind, slug: str) -> str:
    """One job (DONE, one attempt), one AI call, one entity, one text; the job id."""
    jobs = [job for job in app.jobs.list(limit=None) if job.slug == slug]
    assert len(jobs) == 1
    (job,) = jobs
    assert (job.status, job.result, job.attempts) == (DONE, CREATED, 1)
    assert app.calls.counts().get(key(kind, slug)) == 1
    assert entity_rows(app.database, kind, slug) == (1, 1)
    return job.id


@pytest.fixture
def fast(settings: Settings) -> Settings:
    """Settings with a short, fixed AI latency: long enough for the threads to overlap."""
    return settings.with_ai(latency_ms=50, jitter_ms=0)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("apps", ["one-shared-app", "an-app-per-thread"])
def test_waiting_requests_for_one_slug_make_one_job(fast: Settings, apps: str) -> None:
    with build_app(fast) as app:
        for kind, slug in ROUNDS:

            def ask(index: int, kind: EntityKind = kind, slug: str = slug) -> RequestOutcome:
                if apps == "one-shared-app":
                    return app.generation.request(kind, slug, timeout_s=30)
                with build_app(fast) as own:
                    return own.generation.request(kind, slug, timeout_s=30)

            outcomes = run_together(ask, THREADS)
            job_id = assert_one_of_everything(app, kind, slug)
            assert {outcome.status for outcome in outcomes} == {"done"}
            assert {job_that_answered(outcome) for outcome in outcomes} == {job_id}
            texts = {o.view.text.text for o in outcomes if o.view and o.view.text}
            assert len(texts) == 1
        # Nothing else was generated along the way.
        assert app.calls.total() == len(ROUNDS)
        assert app.locks.slots.count_open() == 0


@pytest.mark.timeout(60)
@pytest.mark.parametrize("apps", ["one-shared-app", "an-app-per-thread"])
def test_queued_requests_for_one_slug_get_one_job_id(settings: Settings, apps: str) -> None:
    with build_app(settings.with_ai(latency_ms=0, jitter_ms=0)) as app:
        for kind, slug in ROUNDS:

            def ask(index: int, kind: EntityKind = kind, slug: str = slug) -> RequestOutcome:
                if apps == "one-shared-app":
                    return app.generation.request(kind, slug, wait=False)
                with build_app(app.settings) as own:
                    return own.generation.request(kind, slug, wait=False)

            outcomes = run_together(ask, THREADS)
            statuses = sorted(outcome.status for outcome in outcomes)
            assert statuses == ["in_progress"] * (THREADS - 1) + ["queued"]
            job_ids = {outcome.job.id for outcome in outcomes if outcome.job}
            assert len(job_ids) == 1
            (job_id,) = job_ids
            assert key(kind, slug) not in app.calls.counts()  # nobody ran it yet
            assert app.generation.drive(job_id, timeout_s=30).status == DONE
            assert assert_one_of_everything(app, kind, slug) == job_id
