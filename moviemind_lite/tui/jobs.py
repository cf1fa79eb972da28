"""The Jobs tab: a live queue dashboard over every process using the database.

The pane polls the database on a timer, in a worker thread, so it follows jobs
run by separate ``moviemind worker`` processes as well as this one's. The table
shows the newest :data:`PAGE_SIZE` jobs (of the chosen status); the counters
come from the jobs' ``stats()`` and cover every job, so ten thousand jobs cost
no more to show than two hundred.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import DataTable, Label, RichLog, Static
from textual.worker import Worker, get_current_worker

from moviemind_lite.app.wiring import App as Core
from moviemind_lite.core.display import visible
from moviemind_lite.core.errors import MovieMindError
from moviemind_lite.core.logs import format_record, read_log
from moviemind_lite.core.model import DONE, FAILED, IN_PROGRESS, PENDING, STATUSES, Job
from moviemind_lite.policy.stats import JobStats
from moviemind_lite.tui.cells import (
    LEVEL_STYLE,
    STATUS_LABEL,
    clip,
    format_ms,
    runtime_text,
    status_text,
)
from moviemind_lite.tui.pane import CorePane, in_thread

PAGE_SIZE = 200

# Most telling first: an 80-column terminal shows up to the result; the rest scrolls.
COLUMNS = ("status", "kind", "slug", "locale", "runtime", "att", "result", "worker", "id")

Row = tuple[str, ...]


def job_row(job: Job, now: datetime) -> Row:
    """The cells of one job, as plain strings shown as data (the status is styled when shown)."""
    return (
        job.status,
        job.kind,
        clip(visible(job.slug), 24),
        job.locale,
        runtime_text(job, now),
        f"{job.attempts}/{job.max_attempts}",
        job.result or (clip(visible(job.error or ""), 40) if job.status == FAILED else ""),
        clip(visible(job.worker_id or ""), 24),
        job.id,
    )


def counters_text(stats: JobStats) -> Text:
    """Queue depth per status, throughput and percentiles on two lines."""
    out = Text()
    for index, status in enumerate(STATUSES):
        if index:
            out.append("  ")
        out.append_text(status_text(status))
        out.append(f" {stats.queue.get(status, 0):,}")
    out.append("\n")
    out.append(f"{stats.jobs_per_minute_5m:g} jobs/min (5 m)", style="bold")
    out.append(f" · run p95 {format_ms(stats.runtime_p95_ms)}")
    out.append(f" · wait p95 {format_ms(stats.wait_p95_ms)}")
    circuit = stats.extra.get("ai_circuit")
    if circuit and circuit != "closed":
        out.append(f" · AI circuit {str(circuit).upper()}", style="bold red")
    return out


class JobLogScreen(ModalScreen[None]):
    """The log lines of one job, read in a worker thread; escape closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q", "close", "Close")]

    DEFAULT_CSS = """
    JobLogScreen { align: center middle; }
    JobLogScreen > Vertical {
        width: 95%; height: 90%; border: thick $accent; background: $surface;
    }
    JobLogScreen #job-log-title { height: 1; padding: 0 1; text-style: bold; }
    JobLogScreen RichLog { height: 1fr; }
    """

    class Loaded(Message, bubble=False):
        """The job's log lines, or why they could not be read."""

        def __init__(self, lines: list[Text], error: str | None = None) -> None:
            super().__init__()
            self.lines = lines
            self.error = error

    def __init__(self, core: Core, job_id: str) -> None:
        super().__init__()
        self.core = core
        self.job_id = job_id

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"log of job {self.job_id} (escape closes)", id="job-log-title")
            yield RichLog(id="job-log-lines", wrap=True, markup=False, highlight=False)

    def on_mount(self) -> None:
        """Read the lines without blocking the screen."""
        self._read()

    @in_thread(exclusive=True)
    def _read(self) -> None:
        try:
            lines = [
                Text(format_record(record), style=LEVEL_STYLE.get(str(record.get("level")), ""))
                for record in read_log(self.core.settings.log_path, job_id=self.job_id)
            ]
        except OSError as error:
            self.post_message(self.Loaded([], f"cannot read the log: {error}"))
            return
        self.post_message(self.Loaded(lines))

    def on_job_log_screen_loaded(self, message: JobLogScreen.Loaded) -> None:
        """Show the lines (or say there are none)."""
        lines = self.query_one("#job-log-lines", RichLog)
        if message.error is not None:
            self.notify(message.error, severity="error")
        if not message.lines:
            lines.write(Text("no log lines for this job", style="italic"))
        for line in message.lines:
            lines.write(line)

    def action_close(self) -> None:
        """Back to the jobs."""
        self.dismiss(None)


class JobsPane(CorePane):
    """Counters, a status filter and the newest jobs, refreshed on a timer."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "filter('')", "All"),
        Binding("p", "filter('PENDING')", "Pend"),
        Binding("i", "filter('IN_PROGRESS')", "Run"),
        Binding("d", "filter('DONE')", "Done"),
        Binding("f", "filter('FAILED')", "Fail"),
        Binding("r", "retry", "Retry"),
        Binding("l", "show_log", "Log"),
        Binding("c", "copy_id", "Copy id", show=False),  # the id line under the table says so
    ]

    DEFAULT_CSS = """
    JobsPane #jobs-counters { height: 2; padding: 0 1; }
    JobsPane #jobs-filter { height: 1; padding: 0 1; background: $boost; }
    JobsPane #jobs-table { height: 1fr; }
    JobsPane #jobs-selected { height: 1; padding: 0 1; background: $boost; }
    """

    class Polled(Message, bubble=False):
        """One look at the database: statistics and the newest jobs of a status."""

        def __init__(
            self,
            status: str | None,
            stats: JobStats | None,
            jobs: list[Job],
            now: datetime,
            error: str | None = None,
        ) -> None:
            super().__init__()
            self.status = status
            self.stats = stats
            self.jobs = jobs
            self.now = now
            self.error = error

    class RetryEnded(Message, bubble=False):
        """A retried job ran to its end here (or a worker process took it)."""

        def __init__(self, job: Job) -> None:
            super().__init__()
            self.job = job

    def __init__(self, core: Core, *, poll_interval: float = 1.0, id: str | None = None) -> None:
        super().__init__(core, id=id)
        self.poll_interval = poll_interval
        self.status: str | None = None
        self.total: int | None = None
        self._rows: list[tuple[str, Row]] = []
        self._poller: Worker[None] | None = None
        self._stale = False

    def compose(self) -> ComposeResult:
        yield Static("loading…", id="jobs-counters")
        yield Static("", id="jobs-filter")
        yield DataTable(id="jobs-table", cursor_type="row")
        # The id column is the last and is cut in a narrow terminal: the whole id
        # of the highlighted job is here, to select with the mouse or copy with c.
        yield Static("", id="jobs-selected")

    def on_mount(self) -> None:
        """Set the columns and start polling."""
        table = self.query_one("#jobs-table", DataTable)
        for column in COLUMNS:
            table.add_column(column, key=column)
        self._show_filter()
        self.set_interval(self.poll_interval, self._tick)

    def tab_shown(self) -> None:
        """Look at the database as soon as the tab is shown."""
        self.poll()

    def _tick(self) -> None:
        # A hidden tab need not read the database every second.
        if self.shown:
            self.poll()

    # -- polling ----------------------------------------------------------------------

    def poll(self) -> None:
        """Look at the database again, unless the last look is still under way."""
        if self._poller is not None and self._poller.is_running:
            # Under load a poll can outlast the interval; piling them up would
            # only queue more reads behind the slow one. Look again when it ends.
            self._stale = True
            return
        self._stale = False
        self._poller = self._poll(self.status)

    @in_thread(group="jobs-poll")
    def _poll(self, status: str | None) -> None:
        try:
            stats = self.core.jobs.stats()
            jobs = self.core.jobs.list(status=status, limit=PAGE_SIZE)
        except MovieMindError as error:
            # Shown on the counters line: a toast every second would bury the screen.
            self.post_message(self.Polled(status, None, [], datetime.now(UTC), str(error)))
            return
        self.post_message(self.Polled(status, stats, jobs, datetime.now(UTC)))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """When a poll ends, look again at once if something asked for it meanwhile."""
        # Textual also calls CorePane's handler (it dispatches along the MRO).
        if event.worker is self._poller and event.worker.is_finished and self._stale:
            self.poll()

    def on_jobs_pane_polled(self, message: JobsPane.Polled) -> None:
        """Update the counters and the table (only the rows that changed)."""
        if message.status != self.status:
            return  # polled before the filter changed
        counters = self.query_one("#jobs-counters", Static)
        if message.stats is None:
            counters.update(Text(f"cannot read jobs: {message.error}", style="bold red"))
            return
        counters.update(counters_text(message.stats))
        queue = message.stats.queue
        self.total = queue.get(self.status, 0) if self.status else sum(queue.values())
        self._show_filter()
        self._show_rows([(job.id, job_row(job, message.now)) for job in message.jobs])

    def _show_rows(self, rows: list[tuple[str, Row]]) -> None:
        if rows == self._rows:
            return
        table = self.query_one("#jobs-table", DataTable)
        old = dict(self._rows)
        same_order = [key for key, _ in rows] == [key for key, _ in self._rows]
        self._rows = rows
        if same_order:
            # The usual tick: the same jobs, some of them further along.
            for key, row in rows:
                if old[key] != row:
                    for column, before, after in zip(COLUMNS, old[key], row, strict=True):
                        if before != after:
                            table.update_cell(key, column, self._cell(column, after))
            return
        selected = self.selected_job_id()
        table.clear()
        for key, row in rows:
            table.add_row(
                *(self._cell(column, value) for column, value in zip(COLUMNS, row, strict=True)),
                key=key,
            )
        keys = [key for key, _ in rows]
        if selected in keys:
            table.move_cursor(row=keys.index(selected), scroll=False)
        self._show_selected()

    @staticmethod
    def _cell(column: str, value: str) -> Text:
        # Never a str: DataTable reads a str cell as markup.
        return status_text(value) if column == "status" else Text(value)

    def _show_filter(self) -> None:
        shown = STATUS_LABEL[self.status] if self.status else "all"
        line = Text()
        line.append("showing ", style="dim")
        line.append(shown, style="bold")
        if self.total is not None:
            line.append(f" · newest {min(PAGE_SIZE, self.total):,} of {self.total:,}")
        self.query_one("#jobs-filter", Static).update(line)

    # -- keys -------------------------------------------------------------------------

    def selected_job_id(self) -> str | None:
        """The id of the job under the cursor, if any."""
        table = self.query_one("#jobs-table", DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return str(key) if key is not None else None

    def action_filter(self, status: str) -> None:
        """Show only jobs of ``status`` (all when empty)."""
        chosen = status if status in (PENDING, IN_PROGRESS, DONE, FAILED) else None
        if chosen == self.status:
            return
        self.status = chosen
        self.total = None
        self._show_filter()
        self._show_rows([])
        self.poll()

    def action_retry(self) -> None:
        """Queue the selected FAILED job again and run it here."""
        job_id = self.selected_job_id()
        if job_id is None:
            self.notify("no job selected", severity="warning")
            return
        self._retry(job_id)

    @in_thread(group="jobs-retry")
    def _retry(self, job_id: str) -> None:
        worker = get_current_worker()
        with self.reporting():
            job = self.core.jobs.retry(job_id)
            self.post_message(self.RetryEnded(job))
            # Run it here, as `show` does; a worker process may claim it first,
            # in which case drive() just waits for that worker to finish.
            ended = self.core.generation.drive(job.id, give_up=lambda _job: worker.is_cancelled)
            self.post_message(self.RetryEnded(ended))

    def on_jobs_pane_retry_ended(self, message: JobsPane.RetryEnded) -> None:
        """Say where the retried job stands and refresh the table."""
        job = message.job
        if job.status == FAILED:
            self.notify(f"job {job.id} failed again: {job.error}", severity="error", timeout=8)
        elif job.status == PENDING:
            self.notify(f"job {job.id} queued again", timeout=3)
        else:
            self.notify(f"job {job.id}: {STATUS_LABEL[job.status]} ({job.result})", timeout=4)
        self.poll()

    @on(DataTable.RowSelected, "#jobs-table")
    def _row_selected(self) -> None:
        self.action_show_log()

    @on(DataTable.RowHighlighted, "#jobs-table")
    def _show_selected(self) -> None:
        job_id = self.selected_job_id()
        line = Text()
        if job_id is not None:
            line.append("job ", style="dim")
            line.append(job_id, style="bold")
            line.append(" · c copies the id · l shows its log", style="dim")
        self.query_one("#jobs-selected", Static).update(line)

    def action_copy_id(self) -> None:
        """Put the selected job's whole id on the clipboard (terminals that allow it)."""
        job_id = self.selected_job_id()
        if job_id is None:
            self.notify("no job selected", severity="warning")
            return
        self.app.copy_to_clipboard(job_id)
        self.notify(f"copied {job_id}", timeout=3)

    def action_show_log(self) -> None:
        """Open the selected job's log lines."""
        job_id = self.selected_job_id()
        if job_id is None:
            self.notify("no job selected", severity="warning")
            return
        self.app.push_screen(JobLogScreen(self.core, job_id))
