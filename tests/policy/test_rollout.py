"""Staged rollouts: plans, verdicts, real jobs moving stages, rollbacks, the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from itertools import count
from pathlib import Path

import pytest

from moviemind_lite.app.generation import BASELINE_LOCKING_FLAG, GENERATION_FLAGS
from moviemind_lite.app.wiring import App, build_app
from moviemind_lite.core.config import JobSettings, Settings
from moviemind_lite.core.domain import MOVIE, PERSON
from moviemind_lite.core.errors import (
    EntityNotFound,
    FlagNotTogglable,
    InvalidRolloutPlan,
    RolloutAlreadyActive,
    RolloutNotFound,
    UniqueViolation,
    UnknownFlag,
)
from moviemind_lite.core.logs import read_log
from moviemind_lite.core.model import CREATED, Job, JobOutcome, JobRequest
from moviemind_lite.policy.rollout import (
    DEFAULT_MAX_ERROR_RATE,
    DEFAULT_MAX_P95_MS,
    DEFAULT_MIN_JOBS,
    GUARD_ACTOR,
    JOBS_UNDER_FLAG,
    Rollout,
    RolloutPlan,
    RolloutService,
    StageReading,
    in_rollout,
    judge,
    parse_stages,
)
from moviemind_lite.store.jobs import JobStore
from tests.helpers import Herd, flag_tables

DESCRIPTIONS = "ai_description_generation"


pytestmark = pytest.mark.usefixtures("engines", "as_tester")


_numbers = count()


def fresh_slugs(flag: str, below: int, how_many: int) -> list[str]:
    """New slugs inside a ``below``% rollout of ``flag`` (never handed out twice)."""
    found: list[str] = []
    while len(found) < how_many:
        slug = f"rollout-film-{next(_numbers)}"
        if in_rollout(flag, slug, below):
            found.append(slug)
    return found


def outside_slug(flag: str, percentage: int) -> str:
    while True:
        slug = f"rollout-film-{next(_numbers)}"
        if not in_rollout(flag, slug, percentage):
            return slug


def failing_settings(settings: Settings) -> Settings:
    """Every AI call fails, on the first attempt, without opening the circuit."""
    return settings.with_ai(fail_rate=1.0, breaker_threshold=1000).with_jobs(max_attempts=1)


def request_movies(app: App, slugs: list[str], status: str = "done") -> None:
    for slug in slugs:
        assert app.generation.request(MOVIE, slug).status == status, slug


def current(app: App, flag: str = DESCRIPTIONS) -> Rollout:
    reports = [r for r in app.rollouts.status() if r.rollout.flag == flag]
    return reports[0].rollout


def rollout_events(app: App) -> list[tuple[str, str, dict[str, object]]]:
    rows = app.database.query(
        "SELECT kind, actor, data FROM events WHERE kind LIKE 'rollout.%' ORDER BY at, id"
    )
    return [(row[0], row[1], json.loads(row[2])) for row in rows]


def plan(*stages: int, **limits: float) -> RolloutPlan:
    return RolloutPlan(stages, **limits)  # type: ignore[arg-type]


def a_rollout(stage_index: int = 0, min_jobs: int = 4, **limits: float) -> Rollout:
    return Rollout(
        id="r",
        flag=DESCRIPTIONS,
        environment="local",
        stages=(5, 25, 100),
        stage_index=stage_index,
        min_jobs=min_jobs,
        max_error_rate=limits.get("max_error_rate", 0.25),
        max_p95_ms=limits.get("max_p95_ms", 100.0),
        status="active",
        reason=None,
        started_by="tester",
        started_at="2025-01-01T00:00:00.000Z",
        stage_started_at="2025-01-01T00:00:00.000Z",
        updated_at="2025-01-01T00:00:00.000Z",
        ended_at=None,
    )


def assert_flag_off_with_event_and_log(
    app: App, ended: Rollout, *, stage: int, percentage: int
) -> None:
    value = app.flags.evaluate(DESCRIPTIONS, f"slug:{fresh_slugs(DESCRIPTIONS, 10, 1)[0]}")
    assert (value.enabled, value.source) == (False, "stored")
    assert app.flags.describe(DESCRIPTIONS).changes[0].actor == GUARD_ACTOR
    kind, who, data = rollout_events(app)[-1]
    assert (kind, who) == ("rollout.rolled_back", GUARD_ACTOR)
    assert (data["stage"], data["percentage"], data["reason"]) == (stage, percentage, ended.reason)
    lines = [r for r in read_log(app.settings.log_path) if r["message"] == "Rollout rolled back"]
    assert len(lines) == 1
    line = lines[0]
    assert (line["flag"], line["stage"], line["percentage"]) == (DESCRIPTIONS, stage, percentage)
    assert line["reason"] == ended.reason
    assert line["error_rate"] == data["error_rate"]
    assert line["p95_ms"] == data["p95_ms"]
    # Nothing further happens to an ended rollout.
    assert app.rollouts.evaluate(DESCRIPTIONS) is None


@pytest.fixture
def store(app: App) -> JobStore:
    return JobStore(app.database, JobSettings(backoff_ms=0))


def claimed(store: JobStore, slug: str) -> Job:
    job = store.create(JobRequest("movie", slug, "en-US", "default"), "two-level")
    taken = store.claim(job.id, "test/worker")
    assert taken is not None
    return taken


def snapshot(app: App) -> list[list[tuple[object, ...]]]:
    return flag_tables(app.database)


EVALUATE_IN_A_PROCESS = """
import sys, time
from pathlib import Path
from moviemind_lite.policy.rollout import RolloutService
from moviemind_lite.core.config import load_settings
from moviemind_lite.store.db import open_database

home, flag = Path(sys.argv[1]), sys.argv[2]
database = open_database(load_settings(home).database)
service = RolloutService(database, "local", actor="process")
while not (home / "go").exists():
    time.sleep(0.005)
print(service.evaluate(flag).action)
"""


def test_parse_stages_reads_increasing_percentages() -> None:
    assert parse_stages("5,25,100") == (5, 25, 100)
    assert parse_stages(" 1, 2 ,100") == (1, 2, 100)
    assert parse_stages("100") == (100,)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("25,5", "stages must be strictly increasing, got 25,5"),
        ("5,5,100", "stages must be strictly increasing, got 5,5,100"),
        ("0,5", "stages must be between 1 and 100, got 0"),
        ("5,101", "stages must be between 1 and 100, got 101"),
        ("5,x", "stages must be whole percentages separated by commas"),
        ("5,,25", "stages must be whole percentages separated by commas"),
        ("", "stages must be whole percentages separated by commas"),
        ("5.5", "stages must be whole percentages separated by commas"),
        ("-5,5", "stages must be whole percentages separated by commas"),
        ("²", "stages must be whole percentages separated by commas"),
    ],
)
def test_parse_stages_refuses_bad_stages(text: str, message: str) -> None:
    with pytest.raises(InvalidRolloutPlan, match=message):
        parse_stages(text)


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        ({"min_jobs": -1}, "min jobs must be >= 0, got -1"),
        ({"max_error_rate": 1.5}, "max error rate must be between 0 and 1, got 1.5"),
        ({"max_error_rate": -0.1}, "max error rate must be between 0 and 1, got -0.1"),
        ({"max_error_rate": float("nan")}, "max error rate must be between 0 and 1"),
        ({"max_p95_ms": 0}, "max p95 must be a number of ms > 0, got 0"),
        ({"max_p95_ms": -3}, "max p95 must be a number of ms > 0, got -3"),
        ({"max_p95_ms": float("inf")}, "max p95 must be a number of ms > 0, got inf"),
    ],
)
def test_plans_refuse_bad_limits(limits: dict[str, float], message: str) -> None:
    with pytest.raises(InvalidRolloutPlan, match=message):
        plan(5, 100, **limits)


def test_plan_defaults() -> None:
    assert plan(5) == RolloutPlan((5,), 20, 0.05, 2000.0)
    assert (DEFAULT_MIN_JOBS, DEFAULT_MAX_ERROR_RATE, DEFAULT_MAX_P95_MS) == (20, 0.05, 2000.0)


def test_judge_holds_until_min_jobs_then_advances_or_completes() -> None:
    assert judge(a_rollout(), StageReading(3, 0, 500.0)).action == "hold"
    assert judge(a_rollout(), StageReading(3, 0, 500.0)).reason == "3 of 4 jobs observed"
    assert judge(a_rollout(), StageReading(4, 1, 100.0)).action == "advance"
    assert judge(a_rollout(stage_index=2), StageReading(9, 0, 1.0)).action == "complete"
    # With no minimum, an empty stage passes at once.
    assert judge(a_rollout(min_jobs=0), StageReading(0, 0, None)).action == "advance"


def test_judge_rolls_back_on_a_breach() -> None:
    verdict = judge(a_rollout(), StageReading(4, 2, 10.0))
    assert (verdict.action, verdict.reason) == ("roll_back", "error rate 0.5 > 0.25")
    verdict = judge(a_rollout(), StageReading(5, 0, 100.5))
    assert (verdict.action, verdict.reason) == ("roll_back", "p95 100.5 ms > 100 ms")
    both = judge(a_rollout(), StageReading(4, 4, 300.0))
    assert both.reason == "error rate 1 > 0.25; p95 300 ms > 100 ms"


def test_judge_rolls_back_early_once_failures_alone_exceed_the_rate_at_min_jobs() -> None:
    # 1 of the 4 jobs needed may fail (0.25); a second failure decides it now.
    assert judge(a_rollout(), StageReading(1, 1, 10.0)).action == "hold"
    early = judge(a_rollout(), StageReading(2, 2, 10.0))
    assert early.action == "roll_back"
    assert early.reason == ("2 failed of 2 jobs: the error rate at 4 jobs would exceed 0.25")
    # A slow p95 is not judged on fewer than min_jobs jobs.
    assert judge(a_rollout(), StageReading(3, 0, 9_999.0)).action == "hold"


def test_jobs_under_each_flag_follow_the_request_path() -> None:
    for kind, flag in GENERATION_FLAGS.items():
        assert JOBS_UNDER_FLAG[flag].kind == kind
        assert JOBS_UNDER_FLAG[flag].action is None
    assert JOBS_UNDER_FLAG[BASELINE_LOCKING_FLAG].action == "regenerate"
    assert JOBS_UNDER_FLAG[BASELINE_LOCKING_FLAG].kind is None


def test_start_sets_the_first_percentage_and_records_the_rollout(app: App) -> None:
    step = app.rollouts.start(DESCRIPTIONS, plan(5, 25, 100, min_jobs=3))
    assert step.action == "started"
    assert (step.rollout.status, step.rollout.stage, step.rollout.percentage) == ("active", 1, 5)
    state = app.flags.describe(DESCRIPTIONS)
    assert (state.percentage, state.changes[0].actor) == (5, "tester")
    assert [kind for kind, _, _ in rollout_events(app)] == ["rollout.started"]
    assert app.rollouts.active(DESCRIPTIONS) == step.rollout


def test_start_refuses_and_changes_nothing(app: App) -> None:
    app.rollouts.start(DESCRIPTIONS, plan(5, 25, 100))
    before = snapshot(app)
    with pytest.raises(RolloutAlreadyActive, match=r"already has an active rollout in local"):
        app.rollouts.start(DESCRIPTIONS, plan(50, 100))
    with pytest.raises(FlagNotTogglable):
        app.rollouts.start("catalog_read_only_mode", plan(5))
    with pytest.raises(UnknownFlag, match="expected one of: ai_description_generation"):
        app.rollouts.start("nope", plan(5))
    with pytest.raises(RolloutNotFound):
        app.rollouts.advance("ai_bio_generation")
    assert snapshot(app) == before


def test_the_schema_allows_one_active_rollout_per_flag_and_environment(app: App) -> None:
    app.rollouts.start(DESCRIPTIONS, plan(5, 100))
    row = app.database.query_one("SELECT * FROM rollouts")
    assert row is not None
    copy = dict(row) | {"id": "another"}
    columns = ", ".join(copy)
    marks = ", ".join("?" for _ in copy)
    with pytest.raises(UniqueViolation), app.database.write() as conn:
        conn.execute(f"INSERT INTO rollouts ({columns}) VALUES ({marks})", list(copy.values()))
    # Another environment, or an ended rollout, is fine.
    with app.database.write() as conn:
        conn.execute(
            f"INSERT INTO rollouts ({columns}) VALUES ({marks})",
            list((copy | {"environment": "staging"}).values()),
        )
    staging = RolloutService(app.database, "staging", actor="tester")
    assert staging.abort(DESCRIPTIONS).rollout.status == "aborted"
    assert app.rollouts.active(DESCRIPTIONS) is not None


def test_a_healthy_rollout_advances_stage_by_stage_and_completes(app: App) -> None:
    app.rollouts.start(DESCRIPTIONS, plan(10, 50, 100, min_jobs=2, max_p95_ms=60_000))
    first, second = fresh_slugs(DESCRIPTIONS, 10, 2)
    request_movies(app, [first])
    # A person job is not under the description flag, and a slug outside 10% is not generated.
    assert app.generation.request(PERSON, "rollout-person-one").status == "done"
    with pytest.raises(EntityNotFound, match="generation is off"):
        app.generation.request(MOVIE, outside_slug(DESCRIPTIONS, 10))
    assert (current(app).stage, app.rollouts.reading(current(app)).jobs) == (1, 1)
    request_movies(app, [second])
    assert (current(app).stage, current(app).percentage) == (2, 50)
    assert app.flags.describe(DESCRIPTIONS).percentage == 50
    # The jobs that judged stage 1 are not counted again in stage 2.
    assert app.rollouts.reading(current(app)).jobs == 0
    request_movies(app, fresh_slugs(DESCRIPTIONS, 50, 2))
    assert (current(app).stage, current(app).percentage) == (3, 100)
    request_movies(app, fresh_slugs(DESCRIPTIONS, 100, 2))
    ended = current(app)
    assert (ended.status, ended.percentage, ended.reason) == ("completed", 100, "guardrails held")
    assert app.flags.is_enabled(DESCRIPTIONS)
    assert app.flags.describe(DESCRIPTIONS).percentage == 100
    assert [(kind, who) for kind, who, _ in rollout_events(app)] == [
        ("rollout.started", "tester"),
        ("rollout.advanced", GUARD_ACTOR),
        ("rollout.advanced", GUARD_ACTOR),
        ("rollout.completed", GUARD_ACTOR),
    ]
    advanced = [r for r in read_log(app.settings.log_path) if r["message"] == "Rollout advanced"]
    assert [(r["previous_percentage"], r["percentage"]) for r in advanced] == [(10, 50), (50, 100)]


def test_failures_roll_back_as_soon_as_the_rate_at_min_jobs_is_certain(
    app: App, settings: Settings
) -> None:
    app.rollouts.start(
        DESCRIPTIONS, plan(10, 50, 100, min_jobs=4, max_error_rate=0.25, max_p95_ms=60_000)
    )
    good, bad_one, bad_two = fresh_slugs(DESCRIPTIONS, 10, 3)
    request_movies(app, [good])
    with build_app(failing_settings(settings)) as failing:
        request_movies(failing, [bad_one], status="failed")
        assert current(app).status == "active"  # 1 failure of 4 is still allowed
        request_movies(failing, [bad_two], status="failed")
    ended = current(app)
    assert ended.status == "rolled_back"
    assert ended.reason == "2 failed of 3 jobs: the error rate at 4 jobs would exceed 0.25"
    assert_flag_off_with_event_and_log(app, ended, stage=1, percentage=10)


def test_an_error_rate_over_the_limit_at_min_jobs_rolls_back(app: App, settings: Settings) -> None:
    app.rollouts.start(DESCRIPTIONS, plan(10, 100, min_jobs=2, max_error_rate=0.4))
    app.rollouts.advance(DESCRIPTIONS)  # to 100%: any new slug is under the flag
    request_movies(app, fresh_slugs(DESCRIPTIONS, 100, 1))
    with build_app(failing_settings(settings)) as failing:
        request_movies(failing, fresh_slugs(DESCRIPTIONS, 100, 1), status="failed")
    ended = current(app)
    assert (ended.status, ended.reason) == ("rolled_back", "error rate 0.5 > 0.4")
    assert_flag_off_with_event_and_log(app, ended, stage=2, percentage=100)


def test_a_slow_p95_rolls_back(settings: Settings) -> None:
    with build_app(settings.with_ai(latency_ms=30)) as slow:
        slow.rollouts.start(DESCRIPTIONS, plan(10, 100, min_jobs=2, max_p95_ms=5))
        first, second = fresh_slugs(DESCRIPTIONS, 10, 2)
        request_movies(slow, [first])
        assert current(slow).status == "active"  # p95 is not judged on one job
        request_movies(slow, [second])
        ended = current(slow)
        assert ended.status == "rolled_back"
        assert ended.reason is not None and ended.reason.startswith("p95 ")
        assert ended.reason.endswith(" ms > 5 ms")
        assert_flag_off_with_event_and_log(slow, ended, stage=1, percentage=10)


def test_retried_and_deferred_jobs_count_only_once_they_end(app: App, store: JobStore) -> None:
    app.rollouts.start(DESCRIPTIONS, plan(10, 100, min_jobs=5))
    retried, deferred = fresh_slugs(DESCRIPTIONS, 10, 2)
    job = claimed(store, retried)
    sent_back = store.fail(job, "flaky", retryable=True)
    assert sent_back is not None and sent_back.status == "PENDING"
    later = claimed(store, deferred)
    assert store.defer(later, "circuit open", "2000-01-01T00:00:00.000Z") is not None
    app.rollouts.on_job_finished(sent_back)
    assert app.rollouts.reading(current(app)) == StageReading(0, 0, None)
    again = store.claim(job.id, "test/worker")
    assert again is not None
    done = store.complete(again, JobOutcome(CREATED))
    assert done is not None
    reading = app.rollouts.reading(current(app))
    assert (reading.jobs, reading.failed) == (1, 0)


def test_concurrent_evaluations_advance_one_stage_only(app: App, store: JobStore) -> None:
    app.rollouts.start(DESCRIPTIONS, plan(10, 50, 100, min_jobs=3))
    for slug in fresh_slugs(DESCRIPTIONS, 10, 3):
        assert store.complete(claimed(store, slug), JobOutcome(CREATED)) is not None
    herd = Herd(6)
    actions: list[str] = []

    def evaluate(index: int) -> None:
        service = RolloutService(app.database, "local", actor="tester")
        herd.start(index)
        step = service.evaluate(DESCRIPTIONS)
        assert step is not None
        actions.append(step.action)

    herd.run(evaluate)
    assert sorted(actions) == ["advanced"] + ["held"] * 5
    assert (current(app).stage, app.flags.describe(DESCRIPTIONS).percentage) == (2, 50)


def test_advance_by_hand_then_abort_then_start_again(app: App) -> None:
    app.rollouts.start(DESCRIPTIONS, plan(5, 25, 100))
    step = app.rollouts.advance(DESCRIPTIONS)
    assert (step.action, step.previous_percentage, step.rollout.percentage) == ("advanced", 5, 25)
    assert step.reason == "advanced by hand by tester"
    assert app.flags.describe(DESCRIPTIONS).percentage == 25
    aborted = app.rollouts.abort(DESCRIPTIONS)
    assert (aborted.rollout.status, aborted.rollout.reason) == ("aborted", "aborted by tester")
    assert not app.flags.is_enabled(DESCRIPTIONS, "slug:the-matrix-1999")
    with pytest.raises(RolloutNotFound, match="no active rollout of ai_description_generation"):
        app.rollouts.abort(DESCRIPTIONS)
    app.rollouts.start(DESCRIPTIONS, plan(100))
    assert app.rollouts.advance(DESCRIPTIONS).action == "completed"
    assert [r.rollout.status for r in app.rollouts.status()] == ["completed", "aborted"]
    assert [kind for kind, _, _ in rollout_events(app)] == [
        "rollout.started",
        "rollout.advanced",
        "rollout.aborted",
        "rollout.started",
        "rollout.completed",
    ]


def test_processes_evaluating_at_once_advance_one_stage_only(
    app: App, store: JobStore, home: Path
) -> None:
    app.rollouts.start(DESCRIPTIONS, plan(10, 50, 100, min_jobs=2))
    for slug in fresh_slugs(DESCRIPTIONS, 10, 2):
        assert store.complete(claimed(store, slug), JobOutcome(CREATED)) is not None
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", EVALUATE_IN_A_PROCESS, str(home), DESCRIPTIONS],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    (home / "go").touch()
    actions = sorted(process.communicate(timeout=60)[0].strip() for process in processes)
    assert actions == ["advanced", "held", "held"]
    assert (current(app).stage, app.flags.describe(DESCRIPTIONS).percentage) == (2, 50)
