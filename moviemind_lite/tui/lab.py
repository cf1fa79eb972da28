"""The Lab tab: the race lab (:mod:`moviemind_lite.lab`) in the terminal UI.

Choose a named scenario (played as ``moviemind lab run`` plays it, with its
explanation and automatic check) or ``custom`` and set the options (raced as
``moviemind compare`` races them); ctrl+r runs it. The race runs in a thread
worker. The lab calls back from its own threads, for every answer and every
phase a job enters; those callbacks only add to a :class:`RaceFeed` under a
lock and, when it was empty, post one :class:`LabPane.News` message, so a
1000-request race sends the screen a few messages a second, not thousands.
The pane takes the news on the event loop and redraws: a live timeline per
run while racing, then the comparison table with the verdicts, a chart of AI
calls and wall time, and the scenario's explanation with its check.

ctrl+g opens the step game (:mod:`.lab_game`): play the scheduler, one job
step at a time, on the race's own gate.

ctrl+s stops a race: the worker is cancelled, and its cancellation event is
the race's ``stop``; leaving the app cancels it the same way, so quitting
never waits for more than the jobs already running.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Horizontal, VerticalScroll
from textual.message import Message
from textual.timer import Timer
from textual.widgets import (
    Button,
    Checkbox,
    ContentSwitcher,
    DataTable,
    Input,
    Label,
    Select,
    Static,
)
from textual.worker import Worker, get_current_worker

from moviemind_lite.app.wiring import App as Core
from moviemind_lite.core.errors import InvalidInput, MovieMindError
from moviemind_lite.lab.lesson import Lesson, LessonReport
from moviemind_lite.lab.race import RaceResult, RaceStopped, run_compare
from moviemind_lite.lab.report import write_report
from moviemind_lite.lab.scratch import Servers
from moviemind_lite.lab.teaching import LESSONS, RaceLesson, run_lesson
from moviemind_lite.lab.timeline import LEGEND
from moviemind_lite.tui.lab_drawing import (
    RACE_COLUMNS,
    ROWS_PER_RUN,
    LiveRun,
    bar_width,
    chart_text,
    check_text,
    legend,
    outcome_cells,
    race_cells,
    timeline_lines,
    verdict_text,
)
from moviemind_lite.tui.lab_form import (
    CUSTOM,
    SWITCHES,
    TEXT_FIELDS,
    RacePlan,
    custom_plan,
    form_switches,
    form_texts,
    lesson_strategies,
    named_plan,
)
from moviemind_lite.tui.lab_game import GameScreen
from moviemind_lite.tui.lab_report import ReportPrompt, page_of
from moviemind_lite.tui.pane import CorePane, in_thread

VIEWS = ("about", "timeline", "results")
# At most this often the screen takes what the race's threads reported.
DRAIN_S = 0.1
# How often a running race's timeline is redrawn (its bars grow with time).
TICK_S = 0.25
FALLBACK_WIDTH = 76

PhaseEvent = tuple[str, str, str, float]


class RaceFeed:
    """What the race's threads report, kept until the screen takes it.

    :meth:`phase` and :meth:`progress` are the lab's callbacks: they run on
    the race's threads, append under a lock and return; the first report
    after the screen's last :meth:`take` also calls ``announce`` (which posts
    a message), so at most one announcement waits at any time.
    """

    def __init__(self, announce: Callable[[], None]) -> None:
        self._announce = announce
        self._lock = threading.Lock()
        self._events: list[PhaseEvent] = []
        self._progress: dict[str, tuple[int, int]] = {}
        self._announced = False

    def phase(self, label: str, job_id: str, phase: str, at: float) -> None:
        """A job of run ``label`` entered ``phase`` (the lab's ``on_phase``)."""
        with self._lock:
            self._events.append((label, job_id, phase, at))
            announce, self._announced = not self._announced, True
        if announce:
            self._announce()

    def progress(self, label: str, answered: int, total: int) -> None:
        """Run ``label`` has ``answered`` of ``total`` answers (the lab's ``on_progress``)."""
        with self._lock:
            # Answers are counted on many threads: a late report never goes back.
            before = self._progress.get(label, (0, total))[0]
            self._progress[label] = (max(before, answered), total)
            announce, self._announced = not self._announced, True
        if announce:
            self._announce()

    def take(self) -> tuple[list[PhaseEvent], dict[str, tuple[int, int]]]:
        """Everything reported since the last call (for the screen, on the event loop)."""
        with self._lock:
            events, self._events = self._events, []
            progress, self._progress = self._progress, {}
            self._announced = False
        return events, progress


class Tick(Checkbox):
    """A compact check box whose box says its state: ``X`` when ticked, empty when not."""

    @property
    def BUTTON_INNER(self) -> str:  # type: ignore[override]
        """Textual draws this inside the box; colour alone would say on or off."""
        return "X" if self.value else " "


class LabPane(CorePane):
    """A scenario, its options, Run; then the race live, and its results side by side."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+r", "run", "Run"),
        Binding("ctrl+s", "stop", "Stop"),
        Binding("ctrl+t", "next_view", "View"),
        Binding("ctrl+o", "save_report", "Save report"),
        Binding("ctrl+g", "play_game", "Play"),
    ]

    DEFAULT_CSS = """
    LabPane #lab-top { height: 1; }
    LabPane #lab-scenario { width: 1fr; }
    LabPane #lab-top Checkbox { margin: 0 1; }
    LabPane #lab-top Button { margin: 0 0 0 1; min-width: 7; }
    LabPane #lab-form {
        height: 3;
        grid-size: 8;
        grid-columns: auto 1fr auto 1fr auto 1fr auto 1fr;
        grid-rows: 1;
    }
    LabPane #lab-form Label { padding: 0 1; }
    LabPane #lab-strategies { column-span: 3; }
    LabPane #lab-switches { height: 1; }
    LabPane #lab-switches Checkbox { margin: 0 1; }
    LabPane #lab-units { width: 1fr; text-align: right; padding: 0 1; color: $text-muted; }
    LabPane #lab-status { height: 1; padding: 0 1; background: $boost; }
    LabPane #lab-views { height: 1; padding: 0 1; }
    LabPane #lab-output { height: 1fr; }
    LabPane #lab-output > VerticalScroll { height: 1fr; }
    LabPane #lab-output Static { padding: 0 1; }
    LabPane #lab-table { height: auto; max-height: 12; }
    """

    class News(Message, bubble=False):
        """The race's threads reported something: take it from the feed."""

        def __init__(self, generation: int) -> None:
            super().__init__()
            self.generation = generation

    class RaceEnded(Message, bubble=False):
        """A race's worker is done: with results, stopped, refused, or crashed (a bug)."""

        def __init__(
            self,
            generation: int,
            *,
            results: tuple[RaceResult, ...] = (),
            report: LessonReport | None = None,
            stopped: bool = False,
            error: str | None = None,
        ) -> None:
            super().__init__()
            self.generation = generation
            self.results = results
            self.report = report
            self.stopped = stopped
            self.error = error

    def __init__(self, core: Core, *, id: str | None = None) -> None:
        super().__init__(core, id=id)
        self.generation = 0
        self.racing = False
        self.view = "about"
        self.plan: RacePlan | None = None
        self.runs: dict[str, LiveRun] = {}
        self.results: tuple[RaceResult, ...] = ()
        self.report: LessonReport | None = None
        self._feed: RaceFeed | None = None
        self._worker: Worker[None] | None = None
        self._started = 0.0
        self._elapsed = 0.0
        self._taken_at = 0.0
        self._take_timer: Timer | None = None
        self._ticker: Timer | None = None

    # -- layout -----------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        first = next(iter(LESSONS.values()))
        options = [(f"{lesson.name} · {lesson.title}", lesson.name) for lesson in LESSONS.values()]
        options.append(("custom · your own options below", CUSTOM))
        with Horizontal(id="lab-top"):
            yield Select(
                options, value=first.name, allow_blank=False, compact=True, id="lab-scenario"
            )
            yield Tick("fast", compact=True, id="lab-fast", tooltip="the reduced variant")
            yield Button("Run", compact=True, id="lab-run", variant="primary")
            yield Button("Stop", compact=True, id="lab-stop", disabled=True)
        scenario = first.scenario if isinstance(first, RaceLesson) else None
        texts = form_texts(scenario) if scenario is not None else {}
        with Grid(id="lab-form", disabled=True):
            yield Label("strategies")
            yield Input(lesson_strategies(first) or "all", compact=True, id="lab-strategies")
            for field in TEXT_FIELDS:
                yield Label(field.label)
                yield Input(texts.get(field.name, ""), compact=True, id=f"lab-{field.name}")
        switches = form_switches(scenario) if scenario is not None else {}
        with Horizontal(id="lab-switches", disabled=True):
            for name, label in SWITCHES:
                yield Tick(label, switches.get(name, False), compact=True, id=f"lab-{name}")
            yield Static("times in ms", id="lab-units")
        yield Static("", id="lab-status")
        yield Static("", id="lab-views")
        with ContentSwitcher(initial="lab-about", id="lab-output"):
            with VerticalScroll(id="lab-about"):
                yield Static("", id="lab-about-text")
            with VerticalScroll(id="lab-timeline"):
                yield Static("", id="lab-timeline-text")
            with VerticalScroll(id="lab-results"):
                yield DataTable(id="lab-table", cursor_type="row", zebra_stripes=True)
                yield Static("", id="lab-chart")
                yield Static("", id="lab-explanation")

    def on_mount(self) -> None:
        """Describe the chosen scenario; get the redraw timer ready (paused until a race)."""
        self._ticker = self.set_interval(TICK_S, self._tick, pause=True)
        self._show_choice()
        self._show_views()
        self.query_one("#lab-timeline-text", Static).update(
            Text("No race yet: ctrl+r runs the chosen scenario.", style="italic")
        )
        self.query_one("#lab-explanation", Static).update(
            Text("No results yet: ctrl+r runs the chosen scenario.", style="italic")
        )

    def on_unmount(self) -> None:
        """Stop a race still running (the app is closing)."""
        if self._worker is not None:
            self._worker.cancel()

    # -- choosing -----------------------------------------------------------------------

    def chosen(self) -> Lesson | None:
        """The named scenario chosen, or ``None`` for custom."""
        value = self.query_one("#lab-scenario", Select).value
        return LESSONS.get(str(value))

    @on(Select.Changed, "#lab-scenario")
    def _scenario_changed(self) -> None:
        lesson = self.chosen()
        if isinstance(lesson, RaceLesson):
            self._fill_form(lesson)
        self._show_choice()
        if not self.racing:
            self.show_view("about")

    def _fill_form(self, lesson: RaceLesson) -> None:
        self.query_one("#lab-strategies", Input).value = lesson_strategies(lesson)
        for name, text in form_texts(lesson.scenario).items():
            self.query_one(f"#lab-{name}", Input).value = text
        for name, ticked in form_switches(lesson.scenario).items():
            self.query_one(f"#lab-{name}", Checkbox).value = ticked

    def _show_choice(self) -> None:
        lesson = self.chosen()
        if not self.racing:
            self._enable_form()
        about = Text()
        if lesson is None:
            about.append("custom: your own race\n", style="bold")
            about.append(
                "Each strategy listed (comma-separated, or all) races the scenario set above, "
                "as `moviemind compare` races it, each in a scratch home of its own. Times are "
                "in ms; arrival is burst or spread:MS; kill holder needs processes. The "
                "options start from the last named scenario chosen.\n\n"
            )
        else:
            about.append(f"{lesson.name}: {lesson.title}\n", style="bold")
            about.append(lesson.explanation + "\n\n")
            if isinstance(lesson, RaceLesson):
                runs = ", ".join(run.label for run in lesson.runs)
                about.append(f"runs: {runs}\n", style="dim")
            about.append(f"$ moviemind lab run {lesson.name}\n", style="dim")
        about.append(f"\ntimeline: {LEGEND}\n", style="dim")
        self.query_one("#lab-about-text", Static).update(about)
        if not self.racing:
            self._set_status(self._ready_text())

    def _ready_text(self) -> Text:
        lesson = self.chosen()
        out = Text("ready: ", style="bold")
        if lesson is None:
            out.append("ctrl+r races the options above")
        else:
            out.append(f"ctrl+r plays {lesson.name}")
            out.append(" · custom to change the options", style="dim")
        return out

    def _enable_form(self) -> None:
        custom = self.chosen() is None
        self.query_one("#lab-scenario", Select).disabled = self.racing
        self.query_one("#lab-fast", Checkbox).disabled = self.racing or custom
        self.query_one("#lab-form", Grid).disabled = self.racing or not custom
        self.query_one("#lab-switches", Horizontal).disabled = self.racing or not custom
        self.query_one("#lab-run", Button).disabled = self.racing
        self.query_one("#lab-stop", Button).disabled = not self.racing

    def plan_from_form(self) -> RacePlan:
        """What Run would race now; ``InvalidInput`` names the first bad box."""
        lesson = self.chosen()
        if lesson is not None:
            return named_plan(lesson, self.query_one("#lab-fast", Checkbox).value)
        texts = {f.name: self.query_one(f"#lab-{f.name}", Input).value for f in TEXT_FIELDS}
        switches = {name: self.query_one(f"#lab-{name}", Checkbox).value for name, _ in SWITCHES}
        return custom_plan(self.query_one("#lab-strategies", Input).value, texts, switches)

    # -- views --------------------------------------------------------------------------

    def show_view(self, view: str) -> None:
        """Show the about, timeline or results view (the keyboard follows, if it was there)."""
        output = self.query_one("#lab-output", ContentSwitcher)
        focused = self.app.focused
        follow = focused is None or output in focused.ancestors
        self.view = view
        output.current = f"lab-{view}"
        self._show_views()
        if view == "timeline":
            self._show_timeline()
        if follow:
            self._focus_view()

    def _focus_view(self) -> None:
        table = self.query_one("#lab-table", DataTable)
        if self.view == "results" and table.row_count:
            table.focus()
        else:
            self.query_one(f"#lab-{self.view}", VerticalScroll).focus()

    def action_next_view(self) -> None:
        """Show the next view: about, timeline, results."""
        self.show_view(VIEWS[(VIEWS.index(self.view) + 1) % len(VIEWS)])

    def _show_views(self) -> None:
        out = Text("view ", style="dim")
        for name in VIEWS:
            if name == self.view:
                out.append(f"[{name}]", style="bold reverse")
            else:
                out.append(f" {name} ")
            out.append(" ")
        out.append(" ctrl+t next view", style="dim")
        self.query_one("#lab-views", Static).update(out)

    def _set_status(self, text: Text) -> None:
        self.query_one("#lab-status", Static).update(text)

    # -- running ------------------------------------------------------------------------

    @on(Button.Pressed, "#lab-run")
    def action_run(self) -> None:
        """Check the options and start the race in a worker thread."""
        if self.racing:
            self.notify("a race is already running (ctrl+s stops it)", severity="warning")
            return
        try:
            plan = self.plan_from_form()
        except InvalidInput as error:
            self._set_status(Text(f"✗ {error}", style="bold red"))
            self.notify(str(error), title="cannot race", severity="error", timeout=6)
            return
        self.generation += 1
        self.plan = plan
        self.racing = True
        self.results, self.report = (), None
        self.runs = {label: LiveRun(label) for label in plan.labels}
        generation = self.generation

        def announce() -> None:
            self.post_message(self.News(generation))

        self._feed = RaceFeed(announce)
        self._started = time.monotonic()
        self._clear_results()
        # The keyboard goes to the timeline before the form it may be in is disabled.
        self.show_view("timeline")
        self._focus_view()
        self._enable_form()
        self._show_running()
        if self._ticker is not None:
            self._ticker.resume()
        self._worker = self._race(plan, self._feed, generation)

    @in_thread(exclusive=True, group="lab-race")
    def _race(self, plan: RacePlan, feed: RaceFeed, generation: int) -> None:
        # Cancelling the worker (ctrl+s, or the app closing) sets this event.
        stop = get_current_worker().cancelled_event
        ended = self.RaceEnded(generation, error="the race ended on an unexpected error")
        # Races run on the engines the user's URLs chose, in scratch schemas and prefixes.
        servers = Servers.from_settings(self.core.settings)
        try:
            if plan.lesson is not None:
                report = run_lesson(
                    plan.lesson.name,
                    fast=plan.fast,
                    on_progress=feed.progress,
                    on_phase=feed.phase,
                    stop=stop,
                    servers=servers,
                )
                ended = self.RaceEnded(generation, results=report.races, report=report)
            else:
                results = run_compare(
                    plan.scenario.changed(
                        backend=servers.backend,
                        locks=servers.locks,
                        ai_model_path=servers.ai_model_path,
                    ),
                    list(plan.strategies),
                    feed.progress,
                    on_phase=feed.phase,
                    stop=stop,
                    servers=servers,
                )
                ended = self.RaceEnded(generation, results=tuple(results))
        except RaceStopped as stopped:
            ended = self.RaceEnded(generation, results=stopped.finished, stopped=True)
        except MovieMindError as error:
            ended = self.RaceEnded(generation, error=str(error))
        finally:
            # Also after a bug (which the worker's error handler reports): the
            # screen must learn that the race is over.
            self.post_message(ended)

    def action_stop(self) -> None:
        """Stop the running race (jobs already running finish first)."""
        if not self.racing or self._worker is None:
            self.notify("no race is running", severity="warning", timeout=3)
            return
        self._worker.cancel()
        self._set_status(Text("stopping… (jobs already running finish first)", style="bold yellow"))

    @on(Button.Pressed, "#lab-stop")
    def _stop_pressed(self) -> None:
        self.action_stop()

    def action_play_game(self) -> None:
        """Open the step game (play the scheduler), on the first strategy listed if any."""
        first = self.query_one("#lab-strategies", Input).value.split(",")[0].strip()
        self.app.push_screen(GameScreen(self.core.settings, first or "cache-lock"))

    def action_save_report(self) -> None:
        """Ask for a path, then write the last race as the page ``--html`` writes."""
        servers = Servers.from_settings(self.core.settings)
        data = page_of(self.plan, self.results, self.report, servers)
        if self.racing or data is None:
            self.notify("no finished race to save yet (ctrl+r runs one)", severity="warning")
            return

        def chosen(answer: tuple[Path, bool] | None) -> None:
            if answer is not None:
                self._write_report(data, *answer)

        self.app.push_screen(ReportPrompt(), chosen)

    @in_thread(group="lab-report")
    def _write_report(self, data: dict[str, Any], path: Path, force: bool) -> None:
        try:
            write_report(path, data, self.core.settings, force=force)
        except MovieMindError as error:
            self.app.call_from_thread(
                self.notify, str(error), title="not saved", severity="error", timeout=8
            )
            return
        self.app.call_from_thread(self.notify, f"saved the report to {path}", timeout=5)

    def on_lab_pane_news(self, message: LabPane.News) -> None:
        """Take what the race reported, at most every :data:`DRAIN_S`."""
        if message.generation != self.generation or self._take_timer is not None:
            return
        wait = DRAIN_S - (time.monotonic() - self._taken_at)
        if wait <= 0:
            self._take()
        else:
            self._take_timer = self.set_timer(wait, self._take)

    def _take(self) -> None:
        self._take_timer = None
        self._taken_at = time.monotonic()
        if self._feed is None:
            return
        events, progress = self._feed.take()
        for label, job_id, phase, at in events:
            self._run(label).add(job_id, phase, at)
        for label, (answered, total) in progress.items():
            run = self._run(label)
            run.answered, run.total = max(run.answered, answered), total
        if self.racing:
            self._show_running()

    def _run(self, label: str) -> LiveRun:
        if label not in self.runs:
            self.runs[label] = LiveRun(label)
        return self.runs[label]

    def _tick(self) -> None:
        if self.racing:
            self._show_running()

    def _show_running(self) -> None:
        elapsed = time.monotonic() - self._started
        started = [run for run in self.runs.values() if run.started]
        out = Text("running ", style="bold yellow")
        if started:
            current = started[-1]
            out.append(f"{current.label} ({len(started)}/{max(len(self.runs), len(started))})")
            if current.total:
                out.append(f": {current.answered}/{current.total} answered")
        else:
            out.append(self.plan.name if self.plan is not None else "")
        out.append(f" · {elapsed:.1f} s · ctrl+s stops")
        self._set_status(out)
        if self.view == "timeline":
            self._show_timeline()

    def on_lab_pane_race_ended(self, message: LabPane.RaceEnded) -> None:
        """Show the results (or why there are none) and give the form back."""
        if message.generation != self.generation:
            return
        self._take()
        self._elapsed = time.monotonic() - self._started
        self.racing = False
        if self._ticker is not None:
            self._ticker.pause()
        self.results, self.report = message.results, message.report
        self._enable_form()
        if message.error is not None:
            self._set_status(Text(f"✗ {message.error}", style="bold red"))
            self.notify(message.error, title="race failed", severity="error", timeout=8)
            self._show_timeline()
            return
        self._show_results()
        correct = sum(result.correct for result in message.results)
        if message.stopped:
            status = Text(f"stopped after {self._elapsed:.1f} s", style="bold yellow")
            status.append(f": {len(message.results)} run(s) finished")
            self._set_status(status)
            self.notify("race stopped", timeout=3)
            self.show_view("results" if message.results else "timeline")
            return
        status = Text(f"done in {self._elapsed:.1f} s", style="bold")
        if message.results:
            status.append(f": {correct} of {len(message.results)} correct")
        if message.report is not None:
            status.append(" · ")
            passed = message.report.check.passed
            status.append(
                "check PASSED" if passed else "check FAILED",
                style="bold green" if passed else "bold red",
            )
        self._set_status(status)
        self.show_view("results")
        if message.report is not None and not message.report.check.passed:
            self.notify(
                f"{message.report.lesson.name} did not show what it should: "
                f"{message.report.check.message}",
                severity="warning",
                timeout=8,
            )

    # -- drawing ------------------------------------------------------------------------

    def _text_width(self) -> int:
        # Measured on the switcher, which is always shown (a hidden view has no
        # width yet): less the texts' padding and a scroll bar.
        width = self.query_one("#lab-output", ContentSwitcher).content_region.width - 4
        return width if width > 0 else FALLBACK_WIDTH

    def _show_timeline(self) -> None:
        width = self._text_width()
        now = time.monotonic()
        finished = {result.label: result for result in self.results}
        out = legend()
        out.append("\n")
        if not self.runs:
            out.append("\nNo race yet: ctrl+r runs the chosen scenario.\n", style="italic")
        for run in self.runs.values():
            out.append("\n")
            out.append(run.label, style="bold")
            result = finished.get(run.label)
            if result is not None:
                metrics = result.metrics
                out.append(f" · {metrics.requests} requests · {metrics.wall_ms:.0f} ms · ")
                out.append_text(verdict_text(metrics.verdict, metrics.correct))
                out.append("\n")
                columns = bar_width(width, [row.ending for row in result.timeline])
                drawn = result.timeline_drawn(columns)
                out.append_text(
                    timeline_lines(drawn[:ROWS_PER_RUN], max(0, len(drawn) - ROWS_PER_RUN))
                )
                continue
            if not run.started:
                out.append(" · waiting to start\n", style="dim")
                continue
            if run.total:
                out.append(f" · {run.answered}/{run.total} answered")
            if not self.racing:
                out.append(" · stopped", style="bold yellow")
            out.append("\n")
            rows, hidden = run.rows(width, now)
            out.append_text(timeline_lines(rows, hidden))
        self.query_one("#lab-timeline-text", Static).update(out)

    def _clear_results(self) -> None:
        table = self.query_one("#lab-table", DataTable)
        table.clear(columns=True)
        self.query_one("#lab-chart", Static).update("")
        self.query_one("#lab-explanation", Static).update(
            Text("The race is running: ctrl+t shows its timeline.", style="italic")
        )

    def _show_results(self) -> None:
        table = self.query_one("#lab-table", DataTable)
        table.clear(columns=True)
        report = self.report
        if report is not None and report.outcomes:
            table.add_column("run", key="run")
            table.add_column("verdict", key="verdict")
            for header, _ in report.outcomes[0].cells:
                table.add_column(header)
            for outcome in report.outcomes:
                table.add_row(
                    outcome.label,
                    verdict_text(outcome.verdict, outcome.as_expected),
                    *outcome_cells(outcome),
                    key=outcome.label,
                )
        elif self.results:
            table.add_column("strategy", key="strategy")
            table.add_column("verdict", key="verdict")
            for header, _ in RACE_COLUMNS:
                table.add_column(header, key=header)
            for result in self.results:
                metrics = result.metrics
                table.add_row(
                    result.label,
                    verdict_text(metrics.verdict, metrics.correct),
                    *race_cells(metrics),
                    key=result.label,
                )
        self._show_chart()
        self.query_one("#lab-explanation", Static).update(self._explanation())
        self._show_timeline()

    def _show_chart(self) -> None:
        labelled = [(result.label, result.metrics) for result in self.results]
        chart = self.query_one("#lab-chart", Static)
        chart.update(chart_text(labelled, self._text_width()) if labelled else "")

    def _explanation(self) -> Text:
        plan = self.plan
        out = Text()
        if self.report is not None:
            out.append_text(check_text(self.report.check))
            out.append("\n\n")
            lesson = self.report.lesson
            out.append(f"{lesson.name}: {lesson.title}\n", style="bold")
            out.append(lesson.explanation + "\n")
        elif self.results:
            correct = sum(result.correct for result in self.results)
            out.append(f"{correct} of {len(self.results)} strategies correct", style="bold")
            out.append(" (one movie and one description per slug, no failed job)\n")
        else:
            out.append("No run finished.\n", style="italic")
        if plan is not None:
            out.append(f"\n$ {plan.command()}\n", style="dim")
        return out

    def on_resize(self) -> None:
        """Redraw the bars for the new width."""
        if self.runs:
            self._show_timeline()
        if self.results:
            self._show_chart()
