"""The MovieMind Lite terminal UI: one Textual app, one tab per area.

:func:`make_app` builds it for ``moviemind tui``, the tests and the benchmark
alike. The app is a front end like the CLI: every tab calls the same
the application's use cases, from worker threads, and
shows what comes back.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import Any, ClassVar

from textual import on
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.widget import AwaitMount, Widget
from textual.widgets import (
    DataTable,
    Footer,
    Header,
    RichLog,
    Select,
    Switch,
    TabbedContent,
    TabPane,
    Tabs,
)

from moviemind_lite.app.wiring import App as Core
from moviemind_lite.app.wiring import build_app
from moviemind_lite.core.config import Settings, load_settings
from moviemind_lite.core.display import visible
from moviemind_lite.core.errors import InvalidSetting
from moviemind_lite.tui import TAB_IDS
from moviemind_lite.tui.catalog import CatalogPane
from moviemind_lite.tui.flags import FlagsPane
from moviemind_lite.tui.jobs import JobsPane
from moviemind_lite.tui.lab import LabPane
from moviemind_lite.tui.log import LogPane
from moviemind_lite.tui.pane import CorePane, WorkerThreads

TAB_TITLES = {
    "catalog": "1 Catalog",
    "jobs": "2 Jobs",
    "flags": "3 Flags",
    "log": "4 Log",
    "lab": "5 Lab",
}

# The widget that takes the keyboard when a tab is shown.
_FOCUS_ON_SHOW: dict[str, type[Widget] | None] = {
    "catalog": DataTable,
    "jobs": DataTable,
    "flags": Switch,
    "log": RichLog,
    "lab": Select,
}


class MovieMindApp(App[None]):
    """Catalog, jobs, flags, log and lab over one MovieMind home.

    Worker threads may still be inside the core when :meth:`run` (or
    ``run_test``) returns: whoever made the app calls :meth:`close` then,
    which waits for them before it closes the core.
    """

    TITLE = "MovieMind Lite"

    BINDINGS: ClassVar[list[BindingType]] = [
        *(
            Binding(str(number), f"show_tab('{tab}')", TAB_TITLES[tab][2:], show=False)
            for number, tab in enumerate(TAB_IDS, start=1)
        ),
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]

    CSS = """
    TabbedContent { height: 1fr; }
    TabbedContent > ContentSwitcher { height: 1fr; }
    TabPane { padding: 0; }
    """

    def __init__(
        self, core: Core, *, poll_interval: float = 1.0, start_tab: str = "catalog"
    ) -> None:
        if start_tab not in TAB_IDS:
            choices = ", ".join(TAB_IDS)
            raise InvalidSetting(f"unknown tab {start_tab!r}; expected one of: {choices}")
        if poll_interval <= 0:
            raise InvalidSetting(f"poll interval must be > 0 s, got {poll_interval:g}")
        super().__init__()
        self.core = core
        self.worker_threads = WorkerThreads()
        self.poll_interval = poll_interval
        self.start_tab = start_tab
        self.sub_title = f"environment {core.settings.environment}"
        self._built: dict[str, CorePane] = {}
        self._mounting: dict[str, AwaitMount] = {}

    def compose(self) -> ComposeResult:
        yield Header(icon="◆")
        with TabbedContent(initial=self.start_tab, id="tabs"):
            for tab in TAB_IDS:
                with TabPane(TAB_TITLES[tab], id=tab):
                    # The other tabs are built when first shown: opening on one
                    # tab does not pay for all five (half the start-up time).
                    if tab == self.start_tab:
                        yield self._build(tab)
        yield Footer()

    def _build(self, tab: str) -> CorePane:
        content: CorePane
        if tab == "catalog":
            content = CatalogPane(self.core, id="catalog-pane")
        elif tab == "jobs":
            content = JobsPane(self.core, poll_interval=self.poll_interval, id="jobs-pane")
        elif tab == "flags":
            content = FlagsPane(self.core, poll_interval=self.poll_interval, id="flags-pane")
        elif tab == "log":
            content = LogPane(self.core, id="log-pane")
        else:
            content = LabPane(self.core, id="lab-pane")
        self._built[tab] = content
        return content

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Textual's notification, always as plain text with controls spelled out.

        Messages quote slugs, job errors and what the user typed; markup in them
        is data (``markup`` is accepted and ignored: widgets pass ``True``).
        """
        super().notify(
            visible(message), title=visible(title), severity=severity, timeout=timeout, markup=False
        )

    def close(self) -> None:
        """After the app has run: wait for its worker threads, then close the core.

        Textual has cancelled the workers by now, and each looks at that
        between steps; a job being generated ends its AI call first.
        """
        self.worker_threads.close()
        self.core.close()

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """Textual's palette commands, plus one per tab."""
        yield from super().get_system_commands(screen)
        for tab in TAB_IDS:
            name = TAB_TITLES[tab][2:]
            yield SystemCommand(
                f"Show {name}",
                f"Switch to the {name} tab (key {TAB_TITLES[tab][0]})",
                partial(self.action_show_tab, tab),
            )

    async def on_mount(self) -> None:
        """Start on the chosen tab, with the keyboard in it."""
        await self._arrive(self.start_tab, from_key=True)

    async def action_show_tab(self, tab: str) -> None:
        """Show ``tab`` and give it the keyboard."""
        self.query_one("#tabs", TabbedContent).active = tab
        await self._arrive(tab, from_key=True)

    @on(TabbedContent.TabActivated)
    async def _tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id is not None:
            await self._arrive(event.pane.id)

    async def _arrive(self, tab: str, *, from_key: bool = False) -> None:
        pane = self.query_one(f"#{tab}", TabPane)
        tabs = self.query_one("#tabs", TabbedContent)
        if tab not in self._built:
            if not self.focused_in(pane) and not isinstance(self.focused, Tabs):
                # Let go of the keyboard while the tab is built: a focused widget
                # on a hidden tab hands the focus to a neighbour, which brings
                # its own tab back.
                self.set_focus(None)
            self._mounting[tab] = pane.mount(self._build(tab))
        if tab in self._mounting:
            await self._mounting[tab]
            self._mounting.pop(tab, None)
        if tabs.active != tab:
            return  # the user moved on while the tab was being built
        # Only the shown tab polls; the others rest until they come back.
        for name, content in self._built.items():
            if name == tab:
                if not content.shown:
                    content.show_tab()
            else:
                content.hide_tab()
        if self.focused_in(pane) or (isinstance(self.focused, Tabs) and not from_key):
            return  # already there, or moving along the tab strip with the arrows
        # Something on the shown tab must take the keyboard, for the same reason.
        target = _FOCUS_ON_SHOW.get(tab)
        found = pane.query(target) if target is not None else None
        if found:
            found.first().focus()
        else:
            tabs.query_one(Tabs).focus()

    def focused_in(self, pane: TabPane) -> bool:
        """Whether the keyboard is already somewhere inside ``pane``."""
        focused = self.focused
        return focused is not None and pane in focused.ancestors


def make_app(
    settings: Settings | None = None,
    *,
    poll_interval: float = 1.0,
    start_tab: str = "catalog",
) -> MovieMindApp:
    """The TUI over ``settings``' home (default: from ``MOVIEMIND_HOME``), core opened.

    Raises the core's errors (an unusable home, a bad setting) before any
    screen is drawn, so the CLI can report them on one line. Call
    ``app.close()`` once the app has run.
    """
    core = build_app(settings or load_settings())
    try:
        return MovieMindApp(core, poll_interval=poll_interval, start_tab=start_tab)
    except BaseException:
        core.close()
        raise
