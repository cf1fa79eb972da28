"""A race or a lesson as one self-contained HTML page: timelines, damage and cost, the check.

The page is built in two steps, both here. :func:`report_data` turns races
and lessons into plain data: for each run, the structure ``--json`` prints
(strategy, engines, scenario, metrics, correct) plus its ``timeline`` (each
job's phases in milliseconds from the race's start, and the marks worth
seeing: the requests that joined a job, duplicate rows, stale writes refused,
a lease that expired under its holder). :func:`render_html` draws that data
through the Jinja2 templates beside this module (autoescaped: a label or an
error text is shown, never obeyed). The page fetches nothing: its CSS, its
script and its SVG are inline, so it opens from disk and prints on paper.

A race of up to :data:`DETAIL_LIMIT` jobs draws one lane per job; a bigger
one draws :data:`GROUP_LANES` lanes of consecutive jobs (in the order they
were queued), each showing per time step the phase most of its jobs were in,
and a density chart of how many jobs were in each phase, so 10,000 jobs stay
readable in a page far under 2 MB.
"""

from __future__ import annotations

import sqlite3
from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import jinja2

from moviemind_lite.app.outputs import open_output
from moviemind_lite.core.config import Settings
from moviemind_lite.lab.lesson import LessonReport
from moviemind_lite.lab.race import RaceResult
from moviemind_lite.lab.scenario import Scenario
from moviemind_lite.lab.scratch import Servers
from moviemind_lite.lab.timeline import (
    ENDED,
    GENERATING,
    KILLED,
    LOCKED,
    PAUSED,
    PERSISTING,
    QUEUED,
    WAITING,
)
from moviemind_lite.store import db, locking
from moviemind_lite.store.leases import STALE_WRITE

# The phases a lane shows, in the terminal legend's order, with the words the page uses.
PHASES: tuple[tuple[str, str], ...] = (
    (QUEUED, "queued"),
    (WAITING, "waiting for a lock"),
    (LOCKED, "holding the lock"),
    (GENERATING, "generating (AI call)"),
    (PAUSED, "paused"),
    (PERSISTING, "persisting"),
    (KILLED, "killed"),
)
# The phases in which a job holds its key (a lock, a lease): a second job entering
# LOCKED for the same slug meanwhile got in because the first one's lease ran out.
_HOLDING = frozenset({LOCKED, GENERATING, PAUSED, PERSISTING, KILLED})
# Endings of a job that wrote rows: a second writer of a slug wrote a duplicate.
_WROTE = frozenset({"created", "alternative_appended"})

# Jobs drawn one lane each up to this many; beyond, lanes of grouped jobs.
DETAIL_LIMIT = 400
GROUP_LANES = 40
TIME_STEPS = 120

# Marks on a lane: (kind, words) in the legend's order.
MARKS: tuple[tuple[str, str], ...] = (
    ("join", "a request joined this job"),
    ("duplicate", "wrote a duplicate row"),
    ("stale", "stale write refused (fencing)"),
    ("lease", "lease expired: a second holder got in"),
)


def _ms(moment: float, start: float) -> float:
    return round((moment - start) * 1000, 1)


def _slug(label: str) -> str:
    # Timeline labels are "<slug> <last 4 of the job id>".
    return label.rsplit(" ", 1)[0]


def _spans(
    events: Sequence[tuple[str, float]], start: float, end: float
) -> list[tuple[str, float, float, int]]:
    """(phase, from ms, to ms, attempt) for every phase the job was in; attempts count AI calls."""
    spans, attempt = [], 1
    generated = False
    for (phase, since), (_, until) in pairwise([*events, (ENDED, end)]):
        if phase == ENDED:
            continue
        if phase == GENERATING:
            attempt += 1 if generated else 0
            generated = True
        spans.append((phase, _ms(since, start), _ms(max(until, since), start), attempt))
    return spans


def _lease_expiries(
    phases: dict[str, list[tuple[str, float]]], slug_of: dict[str, str]
) -> dict[str, float]:
    """Jobs that took a slug's key while an earlier holder still held it: when they did."""
    windows: dict[str, list[tuple[float, float, str]]] = defaultdict(list)
    entries: list[tuple[float, str, str]] = []
    for job, events in phases.items():
        slug = slug_of.get(job, job)
        for (phase, since), (_, until) in pairwise([*events, (ENDED, float("inf"))]):
            if phase in _HOLDING:
                windows[slug].append((since, until, job))
            if phase == LOCKED:
                entries.append((since, job, slug))
    # Per slug, over its holding windows by start: the latest end so far and the
    # latest end of another job, so each entry asks "was someone else holding?" at once.
    starts: dict[str, list[float]] = {}
    tops: dict[str, list[tuple[tuple[float, str], tuple[float, str]]]] = {}
    for slug, held in windows.items():
        held.sort()
        first, second = (-1.0, ""), (-1.0, "")
        prefix = []
        for _, until, job in held:
            if job == first[1]:
                first = max(first, (until, job))
            elif until > first[0]:
                first, second = (until, job), first
            elif until > second[0]:
                second = (until, job)
            prefix.append((first, second))
        starts[slug], tops[slug] = [since for since, _, _ in held], prefix
    found: dict[str, float] = {}
    for at, job, slug in sorted(entries):
        before = bisect_left(starts.get(slug, []), at)
        if job in found or before == 0:
            continue
        first, second = tops[slug][before - 1]
        if (first if first[1] != job else second)[0] > at:
            found[job] = at
    return found


def timeline_data(result: RaceResult) -> dict[str, Any]:
    """Every job of a race: its phases and marks, in ms from the race's start, queued order."""
    start, end = result.window
    rows = {row.job_id: row for row in result.timeline}
    slug_of = {job: _slug(row.label) for job, row in rows.items()}
    joins: dict[str, list[float]] = defaultdict(list)
    for request in result.requests:
        if request.dispatch == "joined" and request.job_id is not None:
            joins[request.job_id].append(_ms(request.arrived_at, start))
    expiries = _lease_expiries(result.phases, slug_of) if result.strategy == "setnx" else {}
    writers: Counter[str] = Counter()
    jobs = []
    for row in result.timeline:
        job = row.job_id
        events = result.phases.get(job, [])
        if not events:
            continue
        marks: list[dict[str, Any]] = [{"kind": "join", "at": at} for at in joins.get(job, [])]
        ended_at = _ms(events[-1][1], start)
        if row.ending in _WROTE:
            writers[slug_of[job]] += 1
            if writers[slug_of[job]] > 1:
                marks.append({"kind": "duplicate", "at": ended_at})
        if row.ending == STALE_WRITE:
            marks.append({"kind": "stale", "at": ended_at})
        if job in expiries:
            marks.append({"kind": "lease", "at": _ms(expiries[job], start)})
        jobs.append(
            {
                "id": job,
                "slug": slug_of[job],
                "label": row.label,
                "ending": row.ending,
                "phases": [list(span) for span in _spans(events, start, end)],
                "marks": marks,
            }
        )
    return {"span_ms": result.span_ms, "jobs": jobs}


def run_data(result: RaceResult) -> dict[str, Any]:
    """One race: what ``--json`` prints for it, its verdict, the ideal and its timeline."""
    return {
        "label": result.label,
        "strategy": result.strategy,
        **result.to_json(),
        "verdict": result.metrics.verdict,
        "ideal_ms": result.ideal_ms,
        "timeline": timeline_data(result),
    }


def race_command(strategy: str, scenario: Scenario) -> str:
    """The ``moviemind race`` command that reruns one strategy's race."""
    options = scenario.as_options()
    return f"moviemind race --strategy {strategy}" + (f" {options}" if options else "")


def compare_command(strategies: Sequence[str], scenario: Scenario) -> str:
    """The ``moviemind compare`` command that reruns the comparison."""
    options = scenario.as_options()
    return f"moviemind compare --strategies {','.join(strategies)}" + (
        f" {options}" if options else ""
    )


@dataclass(frozen=True)
class Engine:
    """An engine a report's races ran on, with the version it reported (when known)."""

    name: str
    version: str

    def to_json(self) -> dict[str, str]:
        """``{"name": ..., "version": ...}``."""
        return {"name": self.name, "version": self.version}


_ENGINE_NAMES = {
    "sqlite": "SQLite",
    "postgres": "PostgreSQL",
    "file": "lock files",
    "redis": "Redis",
}


def engines_used(results: Iterable[RaceResult], servers: Servers | None = None) -> list[Engine]:
    """The engines the races ran on, with their versions: SQLite's (the library's),
    PostgreSQL's and Redis's (asked of the servers ``servers`` names, when a race used them)."""
    used: list[str] = []
    for result in results:
        for kind in (result.scenario.backend, result.scenario.locks):
            if kind not in used:
                used.append(kind)
    versions = {"sqlite": sqlite3.sqlite_version}
    if "postgres" in used and servers is not None and servers.database_url is not None:
        database = db.open_database(servers.database_url)
        try:
            row = database.query_one("SHOW server_version")
            versions["postgres"] = str(row[0]) if row is not None else ""
        finally:
            database.close()
    if "redis" in used and servers is not None and servers.locks_url is not None:
        versions["redis"] = locking.server_version(servers.locks_url)
    return [Engine(_ENGINE_NAMES[kind], versions.get(kind, "")) for kind in used]


def races_section(
    title: str, results: Sequence[RaceResult], commands: Sequence[str]
) -> dict[str, Any]:
    """A section of plain races (``race``, ``compare``): no explanation, no check."""
    return {
        "name": "",
        "title": title,
        "explanation": "",
        "check": None,
        "commands": list(commands),
        "runs": [run_data(result) for result in results],
        "outcomes": [],
    }


def lesson_section(report: LessonReport, command: str) -> dict[str, Any]:
    """A played lesson: ``lab run --json``'s structure, its explanation, commands and runs."""
    data = report.to_json()
    return {
        "name": data["name"],
        "title": f"{data['name']}: {data['title']}",
        "explanation": report.lesson.explanation,
        "check": {"passed": data["passed"], "message": data["check"]},
        "commands": [command, *report.lesson.commands(report.fast)],
        "runs": [run_data(result) for result in report.races],
        "outcomes": [outcome.to_json() for outcome in report.outcomes],
    }


def report_data(
    title: str,
    sections: Sequence[dict[str, Any]],
    engines: Sequence[Engine],
) -> dict[str, Any]:
    """The whole page's data: a title, the engines, and the sections (races or lessons)."""
    return {
        "title": title,
        "engines": [engine.to_json() for engine in engines],
        "sections": list(sections),
    }


def races_page(
    results: Sequence[RaceResult], command: str, servers: Servers | None = None
) -> dict[str, Any]:
    """The page of a race or a comparison: ``command`` reruns it; with several strategies,
    each one's own ``moviemind race`` command follows."""
    commands = [command]
    if len(results) > 1:
        commands += [race_command(result.strategy, result.scenario) for result in results]
    title = "MovieMind race lab: " + ", ".join(result.label for result in results)
    return report_data(
        title, [races_section(title, results, commands)], engines_used(results, servers)
    )


def lessons_page(
    reports: Sequence[LessonReport], command: str, servers: Servers | None = None
) -> dict[str, Any]:
    """The page of played lessons: one section each; ``command`` reruns them all (one
    lesson), or each section names its own ``moviemind lab run`` (several)."""
    sections = [
        lesson_section(
            played,
            command
            if len(reports) == 1
            else f"moviemind lab run {played.lesson.name}" + (" --fast" if played.fast else ""),
        )
        for played in reports
    ]
    title = (
        f"MovieMind lesson {reports[0].lesson.name}: {reports[0].lesson.title}"
        if len(reports) == 1
        else "MovieMind race lab: " + ", ".join(played.lesson.name for played in reports)
    )
    races = [race for played in reports for race in played.races]
    return report_data(title, sections, engines_used(races, servers))


# -- drawing -------------------------------------------------------------------------------

# The SVG's coordinate system: a label column, then the plot.
_LABEL_W = 190
_PLOT_W = 760
_LANE_H = 12
_LANE_GAP = 3


def _x(at_ms: float, span_ms: float) -> float:
    return round(_LABEL_W + _PLOT_W * at_ms / max(span_ms, 1e-9), 1)


def _ticks(span_ms: float, count: int = 5) -> list[dict[str, Any]]:
    return [
        {"x": _x(span_ms * step / count, span_ms), "label": f"{span_ms * step / count:,.0f} ms"}
        for step in range(count + 1)
    ]


def _detailed_lanes(timeline: dict[str, Any]) -> list[dict[str, Any]]:
    span = timeline["span_ms"]
    lanes = []
    for index, job in enumerate(timeline["jobs"]):
        y = index * (_LANE_H + _LANE_GAP)
        bars = [
            {
                "phase": phase,
                "x": _x(since, span),
                "w": max(round(_x(until, span) - _x(since, span), 1), 0.8),
                "since": since,
                "until": until,
                "attempt": attempt,
            }
            for phase, since, until, attempt in job["phases"]
        ]
        marks = [{**mark, "x": _x(mark["at"], span)} for mark in job["marks"]]
        attempts = max((bar["attempt"] for bar in bars), default=1)
        lanes.append({**job, "y": y, "bars": bars, "marks_drawn": marks, "attempts": attempts})
    return lanes


def _phase_at_steps(job: dict[str, Any], span: float, steps: int) -> list[str | None]:
    """The phase a job was in at the middle of each time step (None: not yet queued, or ended)."""
    cells: list[str | None] = [None] * steps
    width = max(span, 1e-9) / steps
    for phase, since, until, _ in job["phases"]:
        first = max(0, int(since / width))
        last = min(steps - 1, int(until / width))
        for step in range(first, last + 1):
            middle = (step + 0.5) * width
            if since <= middle < until or (first == last and cells[step] is None):
                cells[step] = phase
    return cells


def _grouped(timeline: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Lanes of consecutive jobs, and the density of jobs per phase over time."""
    jobs, span, steps = timeline["jobs"], timeline["span_ms"], TIME_STEPS
    count = min(len(jobs), GROUP_LANES)
    bounds = [len(jobs) * lane // count for lane in range(count + 1)]
    density: dict[str, list[int]] = {phase: [0] * steps for phase, _ in PHASES}
    lanes = []
    step_w = _PLOT_W / steps
    for number, (first, after) in enumerate(pairwise(bounds)):
        group = jobs[first:after]
        counts: list[Counter[str]] = [Counter() for _ in range(steps)]
        for job in group:
            for step, phase in enumerate(_phase_at_steps(job, span, steps)):
                if phase is not None:
                    counts[step][phase] += 1
                    density.setdefault(phase, [0] * steps)[step] += 1
        bars: list[dict[str, Any]] = []
        for step, in_step in enumerate(counts):
            if not in_step:
                continue
            phase = in_step.most_common(1)[0][0]
            # Four levels of strength, so that neighbouring steps merge into one bar.
            level = min(4, 1 + int(4 * sum(in_step.values()) / (len(group) + 1)))
            x = round(_LABEL_W + step * step_w, 1)
            if (
                bars
                and bars[-1]["phase"] == phase
                and bars[-1]["level"] == level
                and (bars[-1]["step"] == step - 1)
            ):
                bars[-1]["w"] = round(x + step_w - bars[-1]["x"], 1)
                bars[-1]["step"] = step
                continue
            bars.append(
                {"phase": phase, "level": level, "x": x, "w": round(step_w, 1), "step": step}
            )
        marks = Counter(mark["kind"] for job in group for mark in job["marks"])
        lanes.append(
            {
                "y": number * (_LANE_H + _LANE_GAP),
                "first": first + 1,
                "last": first + len(group),
                "slugs": len({job["slug"] for job in group}),
                "bars": bars,
                "marks": dict(marks),
            }
        )
    return lanes, _stacked(density, steps)


def _stacked(density: dict[str, list[int]], steps: int) -> list[dict[str, Any]]:
    """One closed path per phase: jobs in that phase over time, stacked in legend order."""
    height = 90.0
    totals = [sum(counts[step] for counts in density.values()) for step in range(steps)]
    top = max(max(totals, default=0), 1)
    below = [0] * steps
    paths = []
    step_w = _PLOT_W / steps
    for phase, _ in PHASES:
        counts = density.get(phase, [0] * steps)
        if not any(counts):
            continue
        upper = [below[step] + counts[step] for step in range(steps)]

        def y(value: int) -> float:
            return round(height - height * value / top, 1)

        points = [f"{_LABEL_W + (s + 0.5) * step_w:.1f},{y(upper[s])}" for s in range(steps)]
        points += [
            f"{_LABEL_W + (s + 0.5) * step_w:.1f},{y(below[s])}" for s in reversed(range(steps))
        ]
        paths.append({"phase": phase, "d": "M" + " L".join(points) + " Z", "peak": max(counts)})
        below = upper
    return paths


def _bars(rows: Sequence[tuple[str, float]], reference: float | None = None) -> dict[str, Any]:
    """A small horizontal bar chart: one bar per strategy, an optional reference line."""
    scale = max([value for _, value in rows] + [reference or 0.0, 1e-9])
    return {
        "rows": [
            {"label": label, "value": value, "w": round(250 * value / scale, 1)}
            for label, value in rows
        ],
        "reference": None if reference is None else round(250 * reference / scale, 1),
        "reference_value": reference,
    }


def _charts(runs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Damage and cost of every run side by side: one chart per question."""
    if not runs:
        return []
    m = [(run["label"], run["metrics"]) for run in runs]
    slugs = max(run["scenario"]["slugs"] for run in runs)
    ideal = max(run["ideal_ms"] for run in runs)
    cards: list[dict[str, Any]] = [
        {
            "title": "AI calls (paid)",
            "note": f"line: the minimum, one per slug ({slugs})",
            "chart": _bars([(label, x["ai_calls"]) for label, x in m], float(slugs)),
            "unit": "",
        },
        {
            "title": "Duplicate rows (damage)",
            "note": "duplicate movies + duplicate descriptions; 0 is right",
            "chart": _bars(
                [(label, x["duplicate_movies"] + x["duplicate_descriptions"]) for label, x in m]
            ),
            "unit": "",
            "damage": True,
        },
        {
            "title": "Failed jobs (damage)",
            "note": "0 is right",
            "chart": _bars([(label, x["failed_jobs"]) for label, x in m]),
            "unit": "",
            "damage": True,
        },
        {
            "title": "Wall time",
            "note": f"line: the ideal, one AI call per slug, workers at a time ({ideal:,.0f} ms)",
            "chart": _bars([(label, x["wall_ms"]) for label, x in m], ideal),
            "unit": " ms",
        },
        {
            "title": "Request latency p50",
            "note": "arrival to answer",
            "chart": _bars([(label, x["latency_ms"]["p50"]) for label, x in m]),
            "unit": " ms",
        },
        {
            "title": "Request latency p95",
            "note": "arrival to answer",
            "chart": _bars([(label, x["latency_ms"]["p95"]) for label, x in m]),
            "unit": " ms",
        },
        {
            "title": "Request latency max",
            "note": "arrival to answer",
            "chart": _bars([(label, x["latency_ms"]["max"]) for label, x in m]),
            "unit": " ms",
        },
    ]
    return [{"damage": False, **card} for card in cards]


def _drawn_run(run: dict[str, Any]) -> dict[str, Any]:
    timeline = run["timeline"]
    jobs = len(timeline["jobs"])
    detailed = jobs <= DETAIL_LIMIT
    density: list[dict[str, Any]] = []
    if detailed:
        lanes = _detailed_lanes(timeline)
    else:
        lanes, density = _grouped(timeline)
    height = max(len(lanes), 1) * (_LANE_H + _LANE_GAP)
    marks = Counter(mark["kind"] for job in timeline["jobs"] for mark in job["marks"])
    return {
        **run,
        "detailed": detailed,
        "jobs": jobs,
        "lanes": lanes,
        "density": density,
        "height": height,
        "ticks": _ticks(timeline["span_ms"]),
        "mark_counts": dict(marks),
    }


_ENVIRONMENT = jinja2.Environment(
    loader=jinja2.PackageLoader("moviemind_lite.lab", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def render_html(data: dict[str, Any]) -> str:
    """The page for :func:`report_data`'s data: one string, nothing to fetch."""
    sections = [
        {
            **section,
            "drawn": [_drawn_run(run) for run in section["runs"]],
            "charts": _charts(section["runs"]),
        }
        for section in data["sections"]
    ]
    return _ENVIRONMENT.get_template("report.html.j2").render(
        title=data["title"],
        engines=data["engines"],
        sections=sections,
        phases=PHASES,
        marks=MARKS,
        geometry={"label_w": _LABEL_W, "plot_w": _PLOT_W, "lane_h": _LANE_H},
        detail_limit=DETAIL_LIMIT,
    )


def write_report(path: Path, data: dict[str, Any], settings: Settings, *, force: bool) -> None:
    """Write the page to ``path`` the way every file a user names is written (never clobbered
    without ``force``)."""
    page = render_html(data)
    with open_output(path, settings, force=force) as file:
        file.write(page)
