"""The flag scenarios: baseline locking and a staged rollout, driven through the application.

These lessons race no strategy against another: they drive the application
itself (its ``regenerate`` and ``request`` use cases), built by the same
composition root over a scratch home of their own, flipping a flag through its
:class:`~moviemind_lite.policy.flags.FlagService` and rolling one out through its
:class:`~moviemind_lite.policy.rollout.RolloutService`, and count what happened.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from moviemind_lite.app.generation import BASELINE_LOCKING_FLAG, GENERATION_FLAGS
from moviemind_lite.app.wiring import App, build_app
from moviemind_lite.core.config import AISettings, JobSettings, Settings
from moviemind_lite.core.domain import MOVIE
from moviemind_lite.core.errors import EntityNotFound
from moviemind_lite.lab.lesson import Check, LessonReport, Outcome
from moviemind_lite.lab.metrics import plural
from moviemind_lite.lab.race import PhaseWatcher, Progress, RaceStopped
from moviemind_lite.lab.scratch import (
    RaceThreads,
    Servers,
    scratch_home,
    scratch_logging,
    scratch_servers,
)
from moviemind_lite.policy.rollout import RolloutPlan

ROLLOUT_FLAG = GENERATION_FLAGS["movie"]
# Waits that only a hung run reaches: a concurrent regeneration is seconds at most.
_PATIENCE_S = 120.0


@contextmanager
def scratch_app(
    ai: AISettings,
    jobs: JobSettings,
    servers: Servers | None = None,
    busy_timeout_ms: int = 600_000,
) -> Iterator[tuple[App, RaceThreads]]:
    """The application over a new, empty scratch home (no sample catalog), deleted afterwards,
    on the engines ``servers`` name (a scratch schema and key prefix, dropped too).

    Also yields the run's threads: those it starts must join them, so that
    their log records go to the scratch home's log.
    """
    servers = servers or Servers()
    with (
        scratch_home(keep=False) as home,
        scratch_servers(servers, servers.backend, servers.locks) as scratch,
    ):
        settings = Settings(
            home=home,
            busy_timeout_ms=busy_timeout_ms,
            ai=ai,
            jobs=jobs,
            database_url=scratch.database_url,
            locks_url=scratch.locks_url,
        )
        with (
            scratch_logging(settings.log_path) as race,
            build_app(settings, load_sample=False) as app,
        ):
            yield app, race


def at_once(count: int, work: Callable[[int], None], race: RaceThreads | None = None) -> None:
    """Run ``work(0)`` .. ``work(count - 1)`` on as many threads (joining ``race``), together."""
    barrier = threading.Barrier(count)

    def run(index: int) -> None:
        if race is not None:
            race.add_current_thread()
        barrier.wait()
        work(index)

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(_PATIENCE_S)


def _tally(results: Counter[str]) -> str:
    return ", ".join(f"{result} x{count}" for result, count in sorted(results.items())) or "-"


# -- baseline-regenerate ------------------------------------------------------------------


@dataclass(frozen=True)
class Regenerated:
    """What concurrent regenerations of one movie left: its baseline and alternatives."""

    locking: bool
    regenerations: int
    ai_calls: int
    version_before: int
    version_after: int
    baseline_rewritten: bool
    alternatives: int
    results: Counter[str]
    # Whether an in-place rewrite took the baseline lock (off: the lesson's lost updates).
    lock: bool = True

    @property
    def lost_updates(self) -> int:
        """In-place rewrites whose version increment another rewrite overwrote."""
        if not self.locking:
            return 0
        return self.version_before + self.regenerations - self.version_after

    @property
    def as_promised(self) -> bool:
        """Off: one alternative per regeneration, baseline untouched. On: every rewrite
        counted in the version. In place without the lock: rewrites lost."""
        if self.locking and not self.lock:
            return self.alternatives == 0 and self.lost_updates > 0
        if self.locking:
            return self.alternatives == 0 and self.lost_updates == 0
        return (
            self.alternatives == self.regenerations
            and self.version_after == self.version_before
            and not self.baseline_rewritten
        )

    @property
    def summary(self) -> str:
        """The outcome in words."""
        if self.locking and not self.lock:
            return (
                f"version {self.version_before} + {self.regenerations} rewrites = "
                f"{self.version_after}: {plural(self.lost_updates, 'update')} lost"
            )
        if self.locking:
            return (
                f"one baseline, version {self.version_before} + {self.regenerations} = "
                f"{self.version_after}, {plural(self.alternatives, 'alternative')}, "
                f"{self.regenerations - 1} of {self.regenerations} paid texts overwritten"
            )
        state = "rewritten" if self.baseline_rewritten else "untouched"
        return (
            f"{plural(self.alternatives, 'alternative')}, baseline {state} "
            f"(version {self.version_after})"
        )

    @property
    def label(self) -> str:
        """The run's name: the flag's state, and the lock if it was left out."""
        if self.locking and not self.lock:
            return "in place, no lock"
        return f"baseline locking {'on' if self.locking else 'off'}"

    def outcome(self) -> Outcome:
        """This run as a table row."""
        return Outcome(
            self.label,
            (
                ("regenerations", str(self.regenerations)),
                ("AI calls", str(self.ai_calls)),
                ("baseline version", f"{self.version_before} -> {self.version_after}"),
                ("baseline", "rewritten" if self.baseline_rewritten else "untouched"),
                ("alternatives", str(self.alternatives)),
                ("job results", _tally(self.results)),
            ),
            self.summary,
            self.as_promised,
            {
                "flag": BASELINE_LOCKING_FLAG,
                "locking": self.locking,
                "baseline_lock": self.lock,
                "lost_updates": self.lost_updates,
                "regenerations": self.regenerations,
                "ai_calls": self.ai_calls,
                "baseline_version_before": self.version_before,
                "baseline_version_after": self.version_after,
                "baseline_rewritten": self.baseline_rewritten,
                "alternatives": self.alternatives,
                "job_results": dict(self.results),
            },
        )


@dataclass(frozen=True)
class BaselineRegenerate:
    """One movie regenerated many times at once, baseline locking off, then on."""

    name: str = "baseline-regenerate"
    title: str = "16 regenerations at once: appended, rewritten under a lock, and without it"
    explanation: str = (
        "One movie with its baseline description is regenerated sixteen times at once, "
        "as `moviemind movies regenerate` does, with the flag "
        "ai_generation_baseline_locking off and "
        "then on (set through the flag service). Off: every job appends an alternative "
        "(alternative_appended) and the baseline is left as it was. On: every job takes the "
        "narrow lock on that baseline and rewrites it in place (baseline_updated), one after "
        "another, writing the version it read + 1, so no increment is lost: version 1 + 16 = "
        "17, and no alternatives. Still, 15 of the 16 paid texts are overwritten by the next "
        "one: the lock orders the rewrites, it does not make them useful. The third run "
        "rewrites in place without the lock, the update the lock exists to prevent: jobs "
        "read the same version, each writes it + 1, and the version ends far below 17 (lost "
        "updates). The store could prevent it without any lock, with an optimistic write: "
        "UPDATE ... SET version = :read + 1 WHERE id = :id AND version = :read, and a retry "
        "when no row matched. On Redis the baseline lock is a key with a TTL and no fencing "
        "token: a rewrite that outlived the TTL could still lose an update."
    )
    slug: str = "lab-regenerate-2024"
    regenerations: int = 16
    latency_ms: float = 40.0
    fast_latency_ms: float = 5.0

    def commands(self, fast: bool = False) -> list[str]:
        """The flag change and the regeneration, by hand."""
        latency = self.fast_latency_ms if fast else self.latency_ms
        regenerate = (
            f"moviemind movies regenerate {self.slug} --ai-latency {latency:g} "
            f"# {self.regenerations} at once"
        )
        return [
            f"moviemind flags set {BASELINE_LOCKING_FLAG} off",
            regenerate,
            f"moviemind flags set {BASELINE_LOCKING_FLAG} on",
            regenerate,
            "# the third run, in place without the lock, is the lab's alone",
        ]

    def play(
        self,
        *,
        fast: bool = False,
        on_progress: Progress | None = None,
        on_phase: PhaseWatcher | None = None,
        stop: threading.Event | None = None,
        servers: Servers | None = None,
    ) -> LessonReport:
        """Regenerate at once with the flag off, then on; check each did what it promises.

        No job phases to watch here (``on_phase`` hears nothing); ``stop`` is
        looked at before each of the two runs.
        """
        latency = self.fast_latency_ms if fast else self.latency_ms
        runs = []
        # The unlocked run keeps the full latency: every job must read the baseline
        # before the first one writes it, or no update is there to lose.
        for locking, lock, run_latency in (
            (False, True, latency),
            (True, True, latency),
            (True, False, self.latency_ms),
        ):
            RaceStopped.check(stop)
            runs.append(
                self.regenerate_at_once(
                    locking, run_latency, on_progress, servers, baseline_lock=lock
                )
            )
        off, on, unlocked = runs
        return LessonReport(
            self,
            fast,
            (),
            tuple(run.outcome() for run in runs),
            Check(
                all(run.as_promised for run in runs),
                f"off: {off.summary}; on: {on.summary}; in place without the lock: "
                f"{unlocked.summary}",
            ),
        )

    def regenerate_at_once(
        self,
        locking: bool,
        latency_ms: float,
        on_progress: Progress | None = None,
        servers: Servers | None = None,
        *,
        baseline_lock: bool = True,
    ) -> Regenerated:
        """Generate the movie, set the flag, regenerate it ``regenerations`` times at once
        (``baseline_lock``: whether an in-place rewrite takes the baseline lock)."""
        label = f"baseline locking {'on' if locking else 'off'}"
        label += "" if baseline_lock else ", no lock"
        ai = AISettings(latency_ms=latency_ms, jitter_ms=0)
        jobs = JobSettings(poll_ms=5.0, baseline_lock=baseline_lock)
        with scratch_app(ai, jobs, servers) as (app, race):
            # The first request writes the baseline the regenerations rewrite.
            first = app.generation.request(MOVIE, self.slug)
            assert first.view is not None and first.view.text is not None
            before = first.view.text
            app.flags.set(BASELINE_LOCKING_FLAG, locking)
            results: Counter[str] = Counter()
            lock = threading.Lock()

            def regenerate(index: int) -> None:
                outcome = app.generation.regenerate(MOVIE, self.slug)
                job = outcome.job
                ending = (job.result or job.status) if job is not None else outcome.status
                with lock:
                    results[ending] += 1
                    done = sum(results.values())
                if on_progress is not None:
                    on_progress(label, done, self.regenerations)

            at_once(self.regenerations, regenerate, race)
            texts = app.catalog.texts(first.view.entity)
            after = next(text for text in texts if text.id == before.id)
            return Regenerated(
                locking,
                self.regenerations,
                app.calls.total() - 1,
                before.version,
                after.version,
                # The mock writes the same words for the same request: a rewrite
                # shows in the version and in which job wrote the text.
                (after.version, after.job_id) != (before.version, before.job_id),
                sum(1 for text in texts if not text.is_baseline),
                results,
                baseline_lock,
            )


# -- canary-rollback -------------------------------------------------------------------


@dataclass(frozen=True)
class RolledOut:
    """How one staged rollout under traffic ended."""

    label: str
    fail_rate: float
    requests: int
    outside: int
    jobs: int
    failed_jobs: int
    stages: tuple[int, ...]
    reached: int
    status: str
    reason: str | None
    flag_on: bool

    @property
    def summary(self) -> str:
        """The ending in words."""
        how = self.status.replace("_", " ")
        return f"{how} at {self.reached}%" + (f": {self.reason}" if self.reason else "")

    def outcome(self, expected: str) -> Outcome:
        """This run as a table row; ``expected`` is the status the run should end with."""
        reached = [stage for stage in self.stages if stage <= self.reached]
        return Outcome(
            self.label,
            (
                ("AI fail rate", f"{self.fail_rate:g}"),
                ("requests", str(self.requests)),
                ("outside the stage", str(self.outside)),
                ("jobs", str(self.jobs)),
                ("failed jobs", str(self.failed_jobs)),
                ("stages reached", " -> ".join(f"{stage}%" for stage in reached)),
                ("flag now", "on" if self.flag_on else "off"),
            ),
            self.summary,
            self.status == expected,
            {
                "flag": ROLLOUT_FLAG,
                "ai_fail_rate": self.fail_rate,
                "requests": self.requests,
                "outside_the_stage": self.outside,
                "jobs": self.jobs,
                "failed_jobs": self.failed_jobs,
                "stages": list(self.stages),
                "reached": self.reached,
                "status": self.status,
                "reason": self.reason,
                "flag_on": self.flag_on,
            },
        )


@dataclass(frozen=True)
class CanaryRollback:
    """A staged rollout of ``ai_description_generation`` under traffic: failing AI, then healthy."""

    name: str = "canary-rollback"
    title: str = "A staged rollout rolls itself back when the AI fails, completes when it does not"
    explanation: str = (
        "ai_description_generation is rolled out in stages (10% -> 50% -> 100% of slugs) "
        "through the rollout service, while requests for new movies keep coming: a slug "
        "outside the stage's percentage is refused (generation is off for it), one inside "
        "becomes a job. Each stage waits for 10 jobs under the flag. In the first run the "
        "AI fails 80% of the time, so jobs fail after their retries; the second failure "
        "already makes the 10% error-rate limit certain to break, and the guard turns the "
        "flag off at once (rolled_back, with its reason). In the second run the AI is "
        "healthy and the rollout walks through every stage to completed at 100%."
    )
    stages: tuple[int, ...] = (10, 50, 100)
    min_jobs: int = 10
    max_error_rate: float = 0.1
    failing_rate: float = 0.8
    latency_ms: float = 5.0
    fast_latency_ms: float = 1.0
    # More requests than a healthy rollout needs (about 13 per job at 10%).
    max_requests: int = 2000

    def plan(self) -> RolloutPlan:
        """The rollout's stages and guardrails."""
        return RolloutPlan(
            self.stages,
            min_jobs=self.min_jobs,
            max_error_rate=self.max_error_rate,
            max_p95_ms=10_000,
        )

    def commands(self, fast: bool = False) -> list[str]:
        """The rollout and its traffic, by hand."""
        stages = ",".join(str(stage) for stage in self.stages)
        return [
            f"moviemind rollout start {ROLLOUT_FLAG} --stages {stages} --min-jobs "
            f"{self.min_jobs} --max-error-rate {self.max_error_rate:g}",
            f"moviemind movies show NEW-SLUG --ai-fail-rate {self.failing_rate:g} "
            "# for many new slugs",
            "moviemind rollout status",
        ]

    def play(
        self,
        *,
        fast: bool = False,
        on_progress: Progress | None = None,
        on_phase: PhaseWatcher | None = None,
        stop: threading.Event | None = None,
        servers: Servers | None = None,
    ) -> LessonReport:
        """Roll out under a failing AI, then under a healthy one; check how each ended.

        No job phases to watch here (``on_phase`` hears nothing); ``stop`` is
        looked at before each request.
        """
        latency = self.fast_latency_ms if fast else self.latency_ms
        failing = self.roll_out(
            "AI failing often", self.failing_rate, latency, on_progress, stop, servers
        )
        healthy = self.roll_out("healthy AI", 0.0, latency, on_progress, stop, servers)
        passed = (
            failing.status == "rolled_back"
            and not failing.flag_on
            and healthy.status == "completed"
            and healthy.reached == self.stages[-1]
        )
        return LessonReport(
            self,
            fast,
            (),
            (failing.outcome("rolled_back"), healthy.outcome("completed")),
            Check(
                passed,
                f"failing AI: {failing.summary}, flag {'on' if failing.flag_on else 'off'}; "
                f"healthy AI: {healthy.summary} after {plural(healthy.jobs, 'job')}",
            ),
        )

    def roll_out(
        self,
        label: str,
        fail_rate: float,
        latency_ms: float,
        on_progress: Progress | None = None,
        stop: threading.Event | None = None,
        servers: Servers | None = None,
    ) -> RolledOut:
        """Start the rollout and send requests for new slugs until it ends."""
        # The breaker would defer the failing jobs instead of failing them; this
        # lesson is about the rollout's guard, so the breaker stays out of it.
        ai = AISettings(
            latency_ms=latency_ms, jitter_ms=0, fail_rate=fail_rate, breaker_threshold=1_000_000
        )
        with scratch_app(ai, JobSettings(backoff_ms=1.0, poll_ms=2.0), servers) as (app, _race):
            app.rollouts.start(ROLLOUT_FLAG, self.plan())
            requests = outside = jobs = failed = 0
            while requests < self.max_requests and app.rollouts.active(ROLLOUT_FLAG):
                RaceStopped.check(stop)
                requests += 1
                try:
                    outcome = app.generation.request(MOVIE, f"canary-film-{requests:05d}")
                except EntityNotFound:
                    outside += 1  # generation is off for this slug at this stage
                    continue
                jobs += 1
                failed += outcome.status == "failed"
                if on_progress is not None:
                    on_progress(label, requests, self.max_requests)
            report = next(
                report for report in app.rollouts.status() if report.rollout.flag == ROLLOUT_FLAG
            )
            return RolledOut(
                label,
                fail_rate,
                requests,
                outside,
                jobs,
                failed,
                self.stages,
                report.rollout.percentage,
                report.rollout.status,
                report.rollout.reason,
                app.flags.is_enabled(ROLLOUT_FLAG),
            )


BASELINE_REGENERATE = BaselineRegenerate()
CANARY_ROLLBACK = CanaryRollback()
