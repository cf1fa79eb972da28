"""Saving the Lab tab's last race as the HTML page ``--html`` writes (ctrl+o, then a path),
and the path prompt a played game's schedule is saved with."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Checkbox, Input, Label

from moviemind_lite.lab.lesson import LessonReport
from moviemind_lite.lab.race import RaceResult
from moviemind_lite.lab.report import compare_command, lessons_page, races_page
from moviemind_lite.lab.scratch import Servers
from moviemind_lite.tui.lab_form import RacePlan

DEFAULT_NAME = "moviemind-lab.html"


class ReportPrompt(ModalScreen[tuple[Path, bool] | None]):
    """Asks where to write the report; dismissed with (path, replace) or None."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    DEFAULT_CSS = """
    ReportPrompt { align: center middle; }
    ReportPrompt > Vertical {
        width: 72; height: auto; padding: 1 2;
        border: thick $accent; background: $surface;
    }
    ReportPrompt Input { margin-top: 1; }
    """

    def __init__(
        self,
        path: str = DEFAULT_NAME,
        title: str = "Save the race as an HTML page: its path, then enter",
    ) -> None:
        super().__init__()
        self.path = path
        self.heading = title

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.heading)
            yield Input(self.path, placeholder=DEFAULT_NAME, id="report-path")
            yield Checkbox("replace the file if it exists", id="report-force")

    @on(Input.Submitted)
    def _submit(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        force = self.query_one("#report-force", Checkbox).value
        self.dismiss((Path(text).expanduser(), force) if text else None)

    def action_cancel(self) -> None:
        """Close without saving."""
        self.dismiss(None)


def page_of(
    plan: RacePlan | None,
    results: tuple[RaceResult, ...],
    report: LessonReport | None,
    servers: Servers,
) -> dict[str, Any] | None:
    """The page of the pane's last race (None: nothing raced yet)."""
    if report is not None and plan is not None and plan.lesson is not None:
        command = f"moviemind lab run {plan.lesson.name}" + (" --fast" if plan.fast else "")
        return lessons_page([report], command, servers)
    if not results or plan is None:
        return None
    return races_page(results, compare_command(plan.strategies, plan.scenario), servers)
