"""Batch generation: many slugs from a file, dispatched with staggering (seed 004).

A burst of jobs hits the AI and the database together; spacing the dispatch
(``linear:MS``) or spreading it at random (``random:MIN-MAX``) keeps the number
of jobs waiting for the AI low. Metadata rows (CSV, JSON, JSON Lines) are
written first through the bulk path; every slug then goes through the same
request path as ``show`` (two-level dispatch, the job body, the circuit
breaker), so a slug listed twice or already stored costs no AI call.
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from moviemind_lite.app.files.formats import CatalogFile, read_catalog_file
from moviemind_lite.app.generation import deferred
from moviemind_lite.app.inputs import open_input
from moviemind_lite.app.wiring import App
from moviemind_lite.core.domain import (
    EntityKind,
    describe_bad_slug,
    validate_context_tag,
    validate_locale,
)
from moviemind_lite.core.errors import DiskFull, InvalidInput, MovieMindError
from moviemind_lite.core.model import DONE, FAILED, Job
from moviemind_lite.core.numbers import MILLISECONDS

_STRUCTURED = {".csv", ".json", ".jsonl", ".ndjson"}
NOT_DISPATCHED = "not dispatched: the disk is full"
_STAGGER = re.compile(r"none|linear:(\d+(?:\.\d+)?)|random:(\d+(?:\.\d+)?)-(\d+(?:\.\d+)?)")


@dataclass(frozen=True)
class Stagger:
    """When each item of a batch is dispatched, relative to the start."""

    spec: str
    kind: str
    step_ms: float = 0.0
    low_ms: float = 0.0
    high_ms: float = 0.0

    def offsets_ms(self, count: int, seed: int = 0) -> list[float]:
        """The dispatch time of each of ``count`` items, in file order."""
        if self.kind == "linear":
            return [index * self.step_ms for index in range(count)]
        if self.kind == "random":
            rng = random.Random(seed)
            return [rng.uniform(self.low_ms, self.high_ms) for _ in range(count)]
        return [0.0] * count


def parse_stagger(spec: str) -> Stagger:
    """``none``, ``linear:MS`` or ``random:MIN-MAX``; anything else is bad input."""
    text = spec.strip()
    match = _STAGGER.fullmatch(text)
    if match is None:
        raise InvalidInput(
            f"invalid stagger {spec!r}; expected none, linear:MS or random:MIN-MAX (ms)"
        )
    numbers = [float(group) for group in match.groups() if group is not None]
    if not all(MILLISECONDS.holds(number) for number in numbers):
        raise InvalidInput(f"invalid stagger {spec!r}: MS must be {MILLISECONDS.description}")
    if text.startswith("linear"):
        return Stagger(spec, "linear", step_ms=numbers[0])
    if text.startswith("random"):
        low, high = numbers
        if low > high:
            raise InvalidInput(f"invalid stagger {spec!r}: MIN is above MAX")
        return Stagger(spec, "random", low_ms=low, high_ms=high)
    return Stagger(spec, "none")


@dataclass(frozen=True)
class BatchItem:
    """One slug to generate, with where it came from."""

    location: str
    slug: str


@dataclass
class BatchInput:
    """A batch file read: distinct valid slugs, and what was left out and why."""

    items: list[BatchItem] = field(default_factory=list)
    invalid: list[tuple[str, str]] = field(default_factory=list)
    duplicates: list[BatchItem] = field(default_factory=list)
    metadata: CatalogFile | None = None


def read_batch_file(path: Path, kind: EntityKind) -> BatchInput:
    """Read slugs from a text file (one per line) or a CSV / JSON / JSON Lines catalog.

    The file is opened by :func:`~moviemind_lite.app.inputs.open_input`: a
    FIFO, a device or a folder is refused at once, and a byte-order mark is
    skipped in every format.
    """
    batch = BatchInput()
    candidates: list[BatchItem] = []
    if path.suffix.lower() in _STRUCTURED:
        batch.metadata = read_catalog_file(path, kind)
        for section in batch.metadata.sections:
            candidates += [
                BatchItem(location, row["slug"])
                for location, row in zip(section.locations, section.rows, strict=True)
            ]
            batch.invalid += [(failure.location, failure.reason) for failure in section.failures]
    else:
        try:
            with open_input(path) as stream:
                lines = stream.read().splitlines()
        except UnicodeDecodeError:
            raise InvalidInput(f"{path.name} is not UTF-8 text") from None
        for number, line in enumerate(lines, start=1):
            slug = line.strip()
            if not slug or slug.startswith("#"):
                continue
            problem = describe_bad_slug(slug)
            if problem is not None:
                batch.invalid.append((f"line {number}", problem))
            else:
                candidates.append(BatchItem(f"line {number}", slug))
    seen: set[str] = set()
    for item in candidates:
        if item.slug in seen:
            batch.duplicates.append(item)
        else:
            seen.add(item.slug)
            batch.items.append(item)
    return batch


@dataclass
class BatchProgress:
    """Counters a progress bar shows while a batch runs."""

    total: int
    dispatched: int = 0
    done: int = 0
    failed: int = 0
    waiting: int = 0
    peak_waiting: int = 0
    ai_calls: int = 0
    elapsed_s: float = 0.0

    @property
    def ai_calls_per_s(self) -> float:
        """AI calls per second so far."""
        return self.ai_calls / self.elapsed_s if self.elapsed_s > 0 else 0.0


@dataclass
class BatchReport:
    """How a batch ended: per-result counts, failures with reasons, the peak queue."""

    total: int
    created: int = 0
    reused: int = 0
    other: dict[str, int] = field(default_factory=dict)
    failed: list[tuple[str, str]] = field(default_factory=list)
    deferred: list[str] = field(default_factory=list)
    invalid: list[tuple[str, str]] = field(default_factory=list)
    duplicates: int = 0
    ai_calls: int = 0
    peak_waiting: int = 0
    wall_ms: float = 0.0
    stopped: str | None = None
    """Why the batch stopped dispatching (a full disk), with what it created before."""

    @property
    def complete(self) -> bool:
        """Every distinct slug ended with its text and every line was usable."""
        return not (self.failed or self.deferred or self.invalid)

    def summary(self) -> str:
        """One line: ``created 180/200, reused 15, failed 5``."""
        parts = [f"created {self.created}/{self.total}", f"reused {self.reused}"]
        parts += [f"{name.replace('_', ' ')} {count}" for name, count in self.other.items()]
        parts.append(f"failed {len(self.failed)}")
        if self.deferred:
            parts.append(f"deferred {len(self.deferred)} (AI circuit open)")
        if self.invalid:
            parts.append(f"invalid lines {len(self.invalid)}")
        if self.duplicates:
            parts.append(f"duplicate lines {self.duplicates}")
        return ", ".join(parts)

    def to_json(self) -> dict[str, Any]:
        """Plain data for ``--json``."""
        return {
            "total": self.total,
            "created": self.created,
            "reused": self.reused,
            "other": self.other,
            "failed": [{"slug": slug, "reason": reason} for slug, reason in self.failed],
            "deferred": self.deferred,
            "invalid": [{"location": where, "reason": why} for where, why in self.invalid],
            "duplicates": self.duplicates,
            "ai_calls": self.ai_calls,
            "peak_waiting": self.peak_waiting,
            "wall_ms": round(self.wall_ms, 1),
            "stopped": self.stopped,
        }


def run_batch(
    app: App,
    kind: EntityKind,
    batch: BatchInput,
    *,
    locale: str | None = None,
    context_tag: str = "default",
    stagger: Stagger | None = None,
    workers: int = 8,
    seed: int = 0,
    on_progress: Callable[[BatchProgress], None] | None = None,
) -> BatchReport:
    """Generate every slug of ``batch``; never raises for a single slug's failure.

    A full disk stops the batch: the slugs not dispatched yet fail with the
    reason, jobs already running end as they can, and ``stopped`` says what
    was created before.
    """
    if workers < 1:
        raise InvalidInput(f"workers must be >= 1, got {workers}")
    validate_locale(app.settings.default_locale if locale is None else locale)
    validate_context_tag(context_tag)
    run = _BatchRun(app, batch, on_progress)
    if batch.metadata is not None:
        imported = app.catalog.import_file(batch.metadata, on_conflict="skip")
        if imported.stopped is not None:
            run.report.stopped = imported.stopped
            run.report.failed = [(item.slug, NOT_DISPATCHED) for item in batch.items]
            return run.report
    offsets = (stagger or parse_stagger("none")).offsets_ms(len(batch.items), seed)
    order = sorted(range(len(batch.items)), key=lambda index: offsets[index])
    futures: list[Future[None]] = []
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="batch") as pool:
        for index in order:
            item = batch.items[index]
            if run.full:
                run.ended(item, None, NOT_DISPATCHED, queued=False)
                continue
            delay = run.started + offsets[index] / 1000 - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            job_id = run.dispatch(kind, item, locale, context_tag)
            if job_id is not None:
                futures.append(pool.submit(run.finish, item, job_id))
                run.publish()
    for future in futures:
        future.result()
    return run.ended_report()


class _BatchRun:
    """One batch as it runs: its report and progress, updated from the pool's threads."""

    def __init__(
        self,
        app: App,
        batch: BatchInput,
        on_progress: Callable[[BatchProgress], None] | None,
    ) -> None:
        self.app = app
        self.on_progress = on_progress
        self.started = time.perf_counter()
        self.calls_before = app.calls.total()
        self.report = BatchReport(
            total=len(batch.items), invalid=list(batch.invalid), duplicates=len(batch.duplicates)
        )
        self.progress = BatchProgress(total=len(batch.items))
        self.lock = threading.Lock()
        self.full: list[DiskFull] = []

    def publish(self) -> None:
        """Tell the caller how far the batch is."""
        if self.on_progress is not None:
            self.progress.elapsed_s = time.perf_counter() - self.started
            self.progress.ai_calls = self.app.calls.total() - self.calls_before
            self.on_progress(self.progress)

    def dispatch(
        self, kind: EntityKind, item: BatchItem, locale: str | None, context_tag: str
    ) -> str | None:
        """Request ``item``; the id of the job to drive, or ``None`` when it is settled."""
        try:
            outcome = self.app.generation.request(
                kind, item.slug, locale=locale, context_tag=context_tag, wait=False
            )
        except MovieMindError as error:
            self.ended(item, None, error, queued=False)
            return None
        progress = self.progress
        with self.lock:
            progress.dispatched += 1
        if outcome.job is None:  # already stored: nothing to generate
            with self.lock:
                self.report.reused += 1
                progress.done += 1
            self.publish()
            return None
        with self.lock:
            progress.waiting += 1
            progress.peak_waiting = max(progress.peak_waiting, progress.waiting)
        return outcome.job.id

    def finish(self, item: BatchItem, job_id: str) -> None:
        """Drive ``item``'s job to its end (or its deferral) and count how it ended."""
        try:
            job = self.app.generation.drive(job_id, give_up=deferred)
        except MovieMindError as error:
            self.ended(item, None, error, queued=True)
            return
        self.ended(item, job, None, queued=True)

    def ended(
        self, item: BatchItem, job: Job | None, error: MovieMindError | str | None, *, queued: bool
    ) -> None:
        """Count how ``item`` ended: its job, or the error that stopped it."""
        report, progress = self.report, self.progress
        with self.lock:
            if isinstance(error, DiskFull):
                self.full.append(error)
            error = None if error is None else str(error)
            progress.waiting -= 1 if queued else 0
            if job is None or job.status == FAILED:
                report.failed.append((item.slug, error or (job.error if job else "") or ""))
                progress.failed += 1
            elif job.status == DONE:
                result = job.result or "done"
                if result == "created":
                    report.created += 1
                elif result == "reused_existing":
                    report.reused += 1
                else:
                    report.other[result] = report.other.get(result, 0) + 1
                progress.done += 1
            else:
                report.deferred.append(item.slug)
                progress.failed += 1
        self.publish()

    def ended_report(self) -> BatchReport:
        """The report once every job ended."""
        report = self.report
        if self.full:
            report.stopped = (
                f"{self.full[0]}: created {report.created} of {report.total} before the disk filled"
            )
        report.ai_calls = self.app.calls.total() - self.calls_before
        report.peak_waiting = self.progress.peak_waiting
        report.wall_ms = (time.perf_counter() - self.started) * 1000
        return report
