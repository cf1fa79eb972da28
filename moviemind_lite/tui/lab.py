"""The Lab tab: the race lab (:mod:`moviemind_lite.lab`) in the terminal UI.

For now a placeholder; the pane is self-contained (it gets the core and owns
everything it shows) so filling it in touches this module only.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from moviemind_lite.services import MovieMind
from moviemind_lite.tui.pane import CorePane


class LabPane(CorePane):
    """Races the locking strategies side by side; not available in the TUI yet."""

    DEFAULT_CSS = """
    LabPane { align: center middle; }
    LabPane #lab-placeholder {
        width: 64; height: auto; padding: 1 2; border: round $primary;
    }
    """

    def __init__(self, core: MovieMind, *, id: str | None = None) -> None:
        super().__init__(core, id=id)

    def compose(self) -> ComposeResult:
        message = Text()
        message.append("Race lab: not available here yet\n\n", style="bold")
        message.append(
            "This tab will race the same generation requests under each locking "
            "strategy and show the damage side by side: jobs, AI calls, duplicate "
            "descriptions, failed jobs, latency and a verdict.\n\n"
        )
        message.append("Meanwhile, from a shell: ", style="dim")
        message.append("moviemind lab list · moviemind race · moviemind compare")
        yield Static(message, id="lab-placeholder")
