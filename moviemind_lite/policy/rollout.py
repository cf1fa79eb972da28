"""Staged flag rollouts: percentages that grow while guardrails hold (seed 003).

A rollout moves a flag through percentage stages (``5 → 25 → 100``). Each
stage watches the jobs *under the flag*: jobs finished since the stage
started, of the kinds and actions the flag affects, whose slug is inside the
stage's percentage (``within_percentage(flag, "slug:" + slug, percentage)``,
the rule :class:`~moviemind_lite.policy.flags.FlagService` uses for that scope).

Once ``min_jobs`` of them have finished, the stage is judged:

- error rate (FAILED / finished) ``<= max_error_rate`` and p95 job time
  (``finished_at - started_at`` of its last attempt, failed jobs included)
  ``<= max_p95_ms``: the rollout advances to the next stage, or ends
  ``completed`` after the last one (the flag stays at that percentage);
- otherwise the flag is turned off at once and the rollout ends
  ``rolled_back``, with the reason in the events table and the log.

One rule does not wait for ``min_jobs``: when the failures seen so far already
exceed the allowed rate *of* ``min_jobs`` (``failed / min_jobs >
max_error_rate``), the verdict at ``min_jobs`` is certain, so the rollback
happens now. A job counts by its state as it ends for good: a job sent back to
retry or deferred by the circuit breaker is PENDING, not finished.

Every process that runs jobs evaluates as its jobs end (``JobRunner``'s
``on_finished``); each evaluation is one write transaction that reads the
rollout and holds its row, so two processes never both advance the same stage.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from moviemind_lite.core.clock import SYSTEM_CLOCK, Clock
from moviemind_lite.core.errors import (
    FlagNotTogglable,
    InvalidRolloutPlan,
    MovieMindError,
    RolloutAlreadyActive,
    RolloutNotFound,
    UniqueViolation,
)
from moviemind_lite.core.model import Job
from moviemind_lite.policy.flag_registry import flag_named
from moviemind_lite.policy.flags import FlagService, current_user, within_percentage
from moviemind_lite.policy.stats import percentile
from moviemind_lite.store.db import Database, Reader, Tx
from moviemind_lite.store.events import record_event
from moviemind_lite.store.rollouts import (
    EndStatus,
    Rollout,
    active_rollout,
    active_rollouts,
    advance_stage,
    end_rollout,
    ended_rollouts,
    finished_jobs,
    insert_rollout,
    lock_active_rollout,
)

log = logging.getLogger("moviemind.rollout")

Action = Literal["started", "held", "advanced", "completed", "rolled_back", "aborted"]

DEFAULT_MIN_JOBS = 20
DEFAULT_MAX_ERROR_RATE = 0.05
DEFAULT_MAX_P95_MS = 2000.0
# Who automatic advances and rollbacks are attributed to in the audit trail.
GUARD_ACTOR = "rollout-guard"
EVENT_PREFIX = "rollout."


@dataclass(frozen=True)
class JobFilter:
    """Which jobs a flag affects: one kind, one action, or (both ``None``) every job."""

    kind: str | None = None
    action: str | None = None

    def matches(self, job: Job) -> bool:
        """Whether ``job`` is of the kind and action this filter watches."""
        return (self.kind is None or job.kind == self.kind) and (
            self.action is None or job.action == self.action
        )


# Kept in step with ``app.generation.GENERATION_FLAGS`` and ``BASELINE_LOCKING_FLAG``
# (a test checks it): rollout sits beside flags, below the services it serves.
JOBS_UNDER_FLAG: dict[str, JobFilter] = {
    "ai_description_generation": JobFilter(kind="movie"),
    "ai_bio_generation": JobFilter(kind="person"),
    "ai_generation_baseline_locking": JobFilter(action="regenerate"),
}


def jobs_under(flag: str) -> JobFilter:
    """The jobs whose health judges a rollout of ``flag`` (every job for other flags)."""
    return JOBS_UNDER_FLAG.get(flag, JobFilter())


def in_rollout(flag: str, slug: str, percentage: int) -> bool:
    """Whether ``slug`` is inside a ``percentage`` rollout of ``flag``."""
    return within_percentage(flag, f"slug:{slug}", percentage)


# -- the plan ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RolloutPlan:
    """Validated stages and guardrail limits of a rollout."""

    stages: tuple[int, ...]
    min_jobs: int = DEFAULT_MIN_JOBS
    max_error_rate: float = DEFAULT_MAX_ERROR_RATE
    max_p95_ms: float = DEFAULT_MAX_P95_MS

    def __post_init__(self) -> None:
        validate_stages(self.stages)
        if isinstance(self.min_jobs, bool) or not isinstance(self.min_jobs, int):
            raise InvalidRolloutPlan(f"min jobs must be a whole number, got {self.min_jobs!r}")
        if self.min_jobs < 0:
            raise InvalidRolloutPlan(f"min jobs must be >= 0, got {self.min_jobs}")
        if not 0.0 <= self.max_error_rate <= 1.0:
            raise InvalidRolloutPlan(
                f"max error rate must be between 0 and 1, got {self.max_error_rate:g}"
            )
        if not (math.isfinite(self.max_p95_ms) and self.max_p95_ms > 0):
            raise InvalidRolloutPlan(f"max p95 must be a number of ms > 0, got {self.max_p95_ms:g}")


def parse_stages(text: str) -> tuple[int, ...]:
    """Read ``5,25,100`` as stages; refuse anything but increasing whole numbers in 1..100."""
    items = [item.strip() for item in text.split(",")]
    if not all(item.isdigit() and item.isascii() for item in items):
        raise InvalidRolloutPlan(
            f"stages must be whole percentages separated by commas (e.g. 5,25,100), got {text!r}"
        )
    return validate_stages(tuple(int(item) for item in items))


def validate_stages(stages: Sequence[int]) -> tuple[int, ...]:
    """Return ``stages`` if they are strictly increasing whole numbers in 1..100."""
    if not stages:
        raise InvalidRolloutPlan("a rollout needs at least one stage, e.g. 5,25,100")
    for stage in stages:
        if isinstance(stage, bool) or not isinstance(stage, int):
            raise InvalidRolloutPlan(f"stages must be whole percentages, got {stage!r}")
        if not 1 <= stage <= 100:
            raise InvalidRolloutPlan(f"stages must be between 1 and 100, got {stage}")
    if any(later <= earlier for earlier, later in itertools.pairwise(stages)):
        shown = ",".join(str(stage) for stage in stages)
        raise InvalidRolloutPlan(f"stages must be strictly increasing, got {shown}")
    return tuple(stages)


# -- rollouts, readings, verdicts ---------------------------------------------------------


def watches(rollout: Rollout, job: Job) -> bool:
    """Whether ``job`` is one of the jobs under the flag at ``rollout``'s current stage."""
    return jobs_under(rollout.flag).matches(job) and in_rollout(
        rollout.flag, job.slug, rollout.percentage
    )


@dataclass(frozen=True)
class StageReading:
    """The jobs under the flag in one stage: how many, how many failed, how slow."""

    jobs: int
    failed: int
    p95_ms: float | None

    @property
    def error_rate(self) -> float | None:
        """FAILED / finished, or ``None`` before any job finished."""
        return round(self.failed / self.jobs, 4) if self.jobs else None


@dataclass(frozen=True)
class Verdict:
    """What the guardrails say about a stage: hold, advance, complete or roll back."""

    action: Literal["hold", "advance", "complete", "roll_back"]
    reason: str | None = None


def judge(rollout: Rollout, reading: StageReading) -> Verdict:
    """The guardrails' verdict on ``reading`` at ``rollout``'s current stage."""
    breaches = []
    if reading.jobs >= rollout.min_jobs:
        rate = reading.error_rate
        if rate is not None and rate > rollout.max_error_rate:
            breaches.append(f"error rate {rate:g} > {rollout.max_error_rate:g}")
        if reading.p95_ms is not None and reading.p95_ms > rollout.max_p95_ms:
            breaches.append(f"p95 {reading.p95_ms:g} ms > {rollout.max_p95_ms:g} ms")
    elif reading.failed / rollout.min_jobs > rollout.max_error_rate:
        # min_jobs > 0 here. The rate at min_jobs can only be this high or higher.
        breaches.append(
            f"{reading.failed} failed of {reading.jobs} jobs: the error rate at "
            f"{rollout.min_jobs} jobs would exceed {rollout.max_error_rate:g}"
        )
    if breaches:
        return Verdict("roll_back", "; ".join(breaches))
    if reading.jobs < rollout.min_jobs:
        return Verdict("hold", f"{reading.jobs} of {rollout.min_jobs} jobs observed")
    return Verdict("complete" if rollout.last_stage else "advance")


@dataclass(frozen=True)
class RolloutReport:
    """A rollout with the reading of its current (or last) stage: one line of ``status``."""

    rollout: Rollout
    reading: StageReading

    def to_json(self) -> dict[str, Any]:
        """The ``rollout status --json`` object."""
        rollout, reading = self.rollout, self.reading
        return {
            "id": rollout.id,
            "flag": rollout.flag,
            "environment": rollout.environment,
            "status": rollout.status,
            "stages": list(rollout.stages),
            "stage": rollout.stage,
            "percentage": rollout.percentage,
            "jobs_observed": reading.jobs,
            "jobs_failed": reading.failed,
            "min_jobs": rollout.min_jobs,
            "error_rate": reading.error_rate,
            "max_error_rate": rollout.max_error_rate,
            "p95_ms": reading.p95_ms,
            "max_p95_ms": rollout.max_p95_ms,
            "reason": rollout.reason,
            "started_by": rollout.started_by,
            "started_at": rollout.started_at,
            "stage_started_at": rollout.stage_started_at,
            "ended_at": rollout.ended_at,
        }


@dataclass(frozen=True)
class RolloutStep:
    """What one start, evaluation, advance or abort did; ``rollout`` is as it now stands."""

    action: Action
    rollout: Rollout
    reading: StageReading
    previous_percentage: int | None = None
    reason: str | None = None


# -- the service ------------------------------------------------------------------------


def _next_tick(clock: Clock) -> str:
    """A timestamp later than that of every job finished before this transaction began.

    Timestamps have millisecond resolution: waiting for the millisecond to
    turn means a job that finished just before a stage started is not counted
    in that stage too, and one that finishes just after is. (On a fake clock
    the caller must advance it by a millisecond.)
    """
    first = clock.stamp()
    while (stamp := clock.stamp()) == first:
        clock.sleep(0.0002)
    return stamp


class RolloutService:
    """Staged rollouts of one environment over one database.

    ``actor`` is who starts, advances and aborts are attributed to (default:
    the OS user); automatic advances and rollbacks are attributed to
    :data:`GUARD_ACTOR`.
    """

    def __init__(
        self,
        database: Database,
        environment: str,
        *,
        actor: str | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.database = database
        # Stamps the stages; the guardrails count the jobs the job table's clock stamped since.
        self.clock = clock
        self.environment = environment
        self._actor = actor
        # Whether a rollout was active, as read at one state version.
        self._active_at: tuple[int, bool] | None = None

    @property
    def actor(self) -> str:
        """Who changes made by hand through this service are attributed to."""
        return self._actor or current_user()

    def any_active(self, at_version: int) -> bool:
        """Whether any rollout is active in this environment at state version ``at_version``.

        Every rollout change moves the state version, so the answer read once
        holds until it moves: jobs under no rollout cost no query here.
        """
        known = self._active_at
        if known is None or known[0] != at_version:
            known = (at_version, bool(active_rollouts(self.database, self.environment)))
            self._active_at = known
        return known[1]

    # -- reading ------------------------------------------------------------------------

    def active(self, flag: str) -> Rollout | None:
        """The active rollout of ``flag`` here, if any."""
        flag_named(flag)
        return active_rollout(self.database, flag, self.environment)

    def status(self, limit: int = 10) -> list[RolloutReport]:
        """Active rollouts, then the ``limit`` most recent ended ones, with their readings."""
        rollouts = active_rollouts(self.database, self.environment) + ended_rollouts(
            self.database, self.environment, limit
        )
        return [
            RolloutReport(rollout, self._reading(self.database, rollout)) for rollout in rollouts
        ]

    def reading(self, rollout: Rollout) -> StageReading:
        """The jobs under the flag in ``rollout``'s current (or, once ended, last) stage."""
        return self._reading(self.database, rollout)

    # -- changing -----------------------------------------------------------------------

    def start(self, flag: str, plan: RolloutPlan) -> RolloutStep:
        """Start rolling ``flag`` out: set it to the first stage's percentage and record it."""
        registered = flag_named(flag)
        if not registered.togglable:
            raise FlagNotTogglable(registered.name, registered.reason or "it is fixed at run time")
        actor = self.actor
        try:
            with self.database.write() as tx:
                existing = lock_active_rollout(tx, flag, self.environment)
                if existing is not None:
                    raise self._already_active(flag, existing)
                rollout = insert_rollout(
                    tx,
                    flag=flag,
                    environment=self.environment,
                    stages=plan.stages,
                    min_jobs=plan.min_jobs,
                    max_error_rate=plan.max_error_rate,
                    max_p95_ms=plan.max_p95_ms,
                    started_by=actor,
                    at=_next_tick(self.clock),
                )
                self._flags(tx, actor).set_percentage(flag, rollout.percentage)
                step = RolloutStep("started", rollout, StageReading(0, 0, None))
                self._record(tx, step, actor)
        except UniqueViolation:
            # Another process started one between our check and insert (the index held).
            raise self._already_active(flag) from None
        self._log(step)
        return step

    def evaluate(self, flag: str) -> RolloutStep | None:
        """Judge the current stage of ``flag``'s rollout and act on the verdict.

        One write transaction holding the rollout's row: a concurrent
        evaluation waits, then sees the stage this one left. ``None`` when no rollout is active.
        """
        flag_named(flag)
        with self.database.write() as tx:
            rollout = lock_active_rollout(tx, flag, self.environment)
            if rollout is None:
                return None
            reading = self._reading(tx, rollout)
            verdict = judge(rollout, reading)
            if verdict.action == "hold":
                return RolloutStep("held", rollout, reading, reason=verdict.reason)
            if verdict.action == "roll_back":
                step = self._end(tx, rollout, reading, "rolled_back", verdict.reason, GUARD_ACTOR)
            else:
                step = self._next_stage(tx, rollout, reading, GUARD_ACTOR)
        self._log(step)
        return step

    def advance(self, flag: str) -> RolloutStep:
        """Move ``flag``'s rollout to its next stage by hand (after the last: ``completed``)."""
        flag_named(flag)
        with self.database.write() as tx:
            rollout = self._require_active(tx, flag)
            reading = self._reading(tx, rollout)
            step = self._next_stage(tx, rollout, reading, self.actor, by_hand=True)
        self._log(step)
        return step

    def abort(self, flag: str) -> RolloutStep:
        """End ``flag``'s rollout ``aborted`` and turn the flag off."""
        flag_named(flag)
        with self.database.write() as tx:
            rollout = self._require_active(tx, flag)
            reading = self._reading(tx, rollout)
            step = self._end(
                tx, rollout, reading, "aborted", f"aborted by {self.actor}", self.actor
            )
        self._log(step)
        return step

    def on_job_finished(self, job: Job) -> None:
        """Runner listener: evaluate every active rollout that ``job`` is under.

        A busy database or any other refusal is logged, not raised: the job has
        already ended, and the next job to end evaluates again.
        """
        if not job.finished:
            return  # sent back to retry, or deferred: it counts when it ends for good
        try:
            # A plain read first, so jobs under no rollout never take the write lock.
            for rollout in active_rollouts(self.database, self.environment):
                if watches(rollout, job):
                    self.evaluate(rollout.flag)
        except MovieMindError as error:
            log.warning(
                "Rollout evaluation failed",
                extra={"fields": {"job_id": job.id, "error": str(error)}},
            )

    # -- internals ----------------------------------------------------------------------

    def _flags(self, tx: Tx, actor: str) -> FlagService:
        # Called inside ``tx`` on this thread: the service's writes join it,
        # so a stage change and its flag change commit together.
        return FlagService(self.database, self.environment, actor=actor)

    def _require_active(self, tx: Tx, flag: str) -> Rollout:
        rollout = lock_active_rollout(tx, flag, self.environment)
        if rollout is None:
            raise RolloutNotFound(f"no active rollout of {flag} in {self.environment}")
        return rollout

    def _already_active(self, flag: str, rollout: Rollout | None = None) -> RolloutAlreadyActive:
        where = ""
        if rollout is not None:
            where = f" (stage {rollout.stage}/{len(rollout.stages)}, {rollout.percentage}%)"
        return RolloutAlreadyActive(
            f"{flag} already has an active rollout in {self.environment}{where}; "
            "advance or abort it first"
        )

    def _reading(self, reader: Reader, rollout: Rollout) -> StageReading:
        which = jobs_under(rollout.flag)
        jobs = [
            job
            for job in finished_jobs(
                reader,
                since=rollout.stage_started_at,
                until=rollout.ended_at,
                kind=which.kind,
                action=which.action,
            )
            if in_rollout(rollout.flag, job.slug, rollout.percentage)
        ]
        durations = [job.duration_ms for job in jobs if job.duration_ms is not None]
        failed = sum(1 for job in jobs if job.failed)
        return StageReading(len(jobs), failed, percentile(durations, 0.95))

    def _next_stage(
        self,
        tx: Tx,
        rollout: Rollout,
        reading: StageReading,
        actor: str,
        *,
        by_hand: bool = False,
    ) -> RolloutStep:
        reason = f"advanced by hand by {actor}" if by_hand else None
        if rollout.last_stage:
            return self._end(tx, rollout, reading, "completed", reason or "guardrails held", actor)
        advanced = advance_stage(tx, rollout.id, _next_tick(self.clock))
        self._flags(tx, actor).set_percentage(advanced.flag, advanced.percentage)
        step = RolloutStep("advanced", advanced, reading, rollout.percentage, reason)
        self._record(tx, step, actor)
        return step

    def _end(
        self,
        tx: Tx,
        rollout: Rollout,
        reading: StageReading,
        status: EndStatus,
        reason: str | None,
        actor: str,
    ) -> RolloutStep:
        ended = end_rollout(tx, rollout.id, status, reason)
        if status != "completed":
            self._flags(tx, actor).set(ended.flag, False)
        step = RolloutStep(status, ended, reading, reason=reason)
        self._record(tx, step, actor)
        return step

    def _record(self, tx: Tx, step: RolloutStep, actor: str) -> None:
        record_event(
            tx,
            kind=EVENT_PREFIX + step.action,
            subject=step.rollout.flag,
            actor=actor,
            at=step.rollout.updated_at,
            data=_fields(step),
        )

    def _log(self, step: RolloutStep) -> None:
        log.info(f"Rollout {step.action.replace('_', ' ')}", extra={"fields": _fields(step)})


def _fields(step: RolloutStep) -> dict[str, Any]:
    """What an event and a log line say about ``step``."""
    rollout, reading = step.rollout, step.reading
    return {
        "rollout_id": rollout.id,
        "flag": rollout.flag,
        "environment": rollout.environment,
        "stage": rollout.stage,
        "percentage": rollout.percentage,
        "previous_percentage": step.previous_percentage,
        "jobs": reading.jobs,
        "failed": reading.failed,
        "error_rate": reading.error_rate,
        "p95_ms": reading.p95_ms,
        "reason": step.reason,
    }
