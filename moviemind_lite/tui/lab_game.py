"""Play the scheduler (ctrl+g on the Lab tab): pick the next job to advance, try to break a
strategy, and watch the damage counted as it happens.

The game is :class:`~moviemind_lite.lab.game.StepGame`: a race of a few
requests for one slug whose every job waits at each boundary (dispatch,
lock, generate, persist, release) until the learner plays its step. Enter
plays the highlighted move (or 1-9 the move of that number), ctrl+f lets
every job run freely to its end, ctrl+n starts a new game, ctrl+o saves what
was played as a schedule file that ``moviemind race --schedule`` replays,
escape closes (and stops the game). Starting and each step run in thread
workers; their answers come back as messages.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, Select, Static
from textual.widgets.option_list import Option

from moviemind_lite.core.config import Settings
from moviemind_lite.core.errors import InvalidInput, MovieMindError
from moviemind_lite.lab.game import GAME_DAMAGE, HARMFUL, GamePlan, StepGame, save_schedule
from moviemind_lite.lab.race import TEACHING_ORDER
from moviemind_lite.lab.scratch import Servers
from moviemind_lite.tui.lab_report import ReportPrompt
from moviemind_lite.tui.pane import in_thread


def damage_text(damage: dict[str, int]) -> Text:
    """``jobs 2 · AI calls 2 · ... · dup descr. 1``, the harm in red once above zero."""
    out = Text("damage: ", style="bold")
    for index, (key, label) in enumerate(GAME_DAMAGE):
        if index:
            out.append(" · ", style="dim")
        value = damage.get(key, 0)
        out.append(f"{label} {value}", style="bold red" if key in HARMFUL and value else "")
    return out


def standing_text(standing: dict[str, Any]) -> Text:
    """The jobs and where each is, the steps played, and how the game ended (if it did)."""
    out = Text()
    out.append(f"{standing['strategy']}", style="bold")
    out.append(f" · {standing['requests']} requests for one slug\n\n")
    for job in standing["jobs"]:
        out.append(f"  {job['name']}  ", style="bold")
        out.append(f"{job['where']}\n")
    out.append("\n")
    out.append_text(damage_text(standing["damage"]))
    played = standing["played"]
    out.append(f"\nplayed: {', '.join(played) if played else 'nothing yet'}\n", style="dim")
    if standing.get("message"):
        out.append(f"\n{standing['message']}\n", style="bold yellow")
    if standing.get("error"):
        out.append(f"\n✗ {standing['error']}\n", style="bold red")
    verdict = standing.get("verdict")
    if verdict is not None:
        correct = bool(standing.get("correct"))
        out.append(
            f"\n{'✓' if correct else '✗'} {verdict}\n",
            style="bold green" if correct else "bold red",
        )
        out.append(
            f"\nctrl+o saves what you played; replay it with\n$ {standing['command']}\n",
            style="dim",
        )
    return out


class GameScreen(ModalScreen[None]):
    """The step game: a strategy, its requests, the moves, the damage."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        Binding("ctrl+n", "new_game", "New game"),
        Binding("ctrl+f", "let_run", "Run freely"),
        Binding("ctrl+o", "save", "Save schedule"),
        *(Binding(str(number), f"play_number({number})", show=False) for number in range(1, 10)),
    ]

    DEFAULT_CSS = """
    GameScreen { align: center middle; }
    GameScreen > Vertical {
        width: 90%; height: 90%; padding: 0 1;
        border: thick $accent; background: $surface;
    }
    GameScreen #game-top { height: 1; }
    GameScreen #game-strategy { width: 1fr; }
    GameScreen #game-requests { width: 8; }
    GameScreen #game-top Label { padding: 0 1; }
    GameScreen #game-top Button { margin: 0 0 0 1; min-width: 7; }
    GameScreen #game-status { height: 1; background: $boost; padding: 0 1; }
    GameScreen #game-moves { height: 8; }
    GameScreen #game-board { height: 1fr; }
    """

    class Stood(Message, bubble=False):
        """Where the game stands, after a start, a step or a run to the end."""

        def __init__(self, standing: dict[str, Any], refused: str | None = None) -> None:
            super().__init__()
            self.standing = standing
            self.refused = refused

    class Refused(Message, bubble=False):
        """The game could not start, or a step was refused before the game began."""

        def __init__(self, error: str) -> None:
            super().__init__()
            self.error = error

    def __init__(self, settings: Settings, strategy: str = "cache-lock") -> None:
        super().__init__()
        self.settings = settings
        self.strategy = strategy if strategy in TEACHING_ORDER else "cache-lock"
        self.game: StepGame | None = None
        self.standing: dict[str, Any] | None = None
        self.busy = False

    def compose(self) -> ComposeResult:
        with Vertical():
            with Horizontal(id="game-top"):
                yield Label("strategy")
                yield Select(
                    [(name, name) for name in TEACHING_ORDER],
                    value=self.strategy,
                    allow_blank=False,
                    compact=True,
                    id="game-strategy",
                )
                yield Label("requests")
                yield Input("2", compact=True, id="game-requests")
                yield Button("Start", compact=True, id="game-start", variant="primary")
            yield Static("", id="game-status")
            yield OptionList(id="game-moves")
            with VerticalScroll(id="game-board"):
                yield Static("", id="game-board-text")

    def on_mount(self) -> None:
        """Say how to play."""
        self._status(Text("ctrl+n (or Start) begins a game", style="bold"))
        self.query_one("#game-board-text", Static).update(
            Text(
                "Play the scheduler: every job of the race waits at each boundary (dispatch, "
                "lock, generate, persist, release) until you pick it. Try to break the "
                "strategy: two descriptions for one slug, a failed job. Enter plays the "
                "highlighted move, 1-9 the move of that number, ctrl+f lets every job run "
                "freely to its end, ctrl+o saves what you played, escape closes.",
                style="italic",
            )
        )

    def _status(self, text: Text) -> None:
        self.query_one("#game-status", Static).update(text)

    # -- starting ---------------------------------------------------------------------

    @on(Button.Pressed, "#game-start")
    @on(Input.Submitted, "#game-requests")
    def action_new_game(self) -> None:
        """Stop the current game, if any, and start one with the chosen strategy."""
        if self.busy:
            return
        strategy = str(self.query_one("#game-strategy", Select).value)
        text = self.query_one("#game-requests", Input).value.strip()
        try:
            if not text.isdigit():
                raise InvalidInput(f"requests: {text!r} is not a whole number")
            plan = GamePlan(strategy, int(text))
        except InvalidInput as error:
            self._status(Text(f"✗ {error}", style="bold red"))
            self.notify(str(error), title="cannot play", severity="error", timeout=6)
            return
        self.busy = True
        self._status(Text(f"starting a game of {strategy}…", style="bold yellow"))
        self._start(plan, self.game)

    @in_thread(group="lab-game", exclusive=True)
    def _start(self, plan: GamePlan, previous: StepGame | None) -> None:
        if previous is not None:
            previous.stop()
        try:
            game = StepGame(plan, servers=Servers.from_settings(self.settings)).start()
        except MovieMindError as error:
            self.post_message(self.Refused(str(error)))
            return
        self.game = game
        self.post_message(self.Stood(game.standing()))

    # -- playing ----------------------------------------------------------------------

    @on(OptionList.OptionSelected, "#game-moves")
    def _move_chosen(self, event: OptionList.OptionSelected) -> None:
        self._play(str(event.option.id))

    def action_play_number(self, number: int) -> None:
        """Play the move listed with ``number``."""
        moves = self.standing["moves"] if self.standing else []
        if 1 <= number <= len(moves):
            self._play(moves[number - 1])

    def _play(self, step: str) -> None:
        game = self.game
        if game is None or self.busy:
            return
        self.busy = True
        self._status(Text(f"playing {step}…", style="bold yellow"))
        self._step(game, step)

    @in_thread(group="lab-game", exclusive=True)
    def _step(self, game: StepGame, step: str) -> None:
        try:
            standing = game.play(step)
        except MovieMindError as error:
            self.post_message(self.Stood(game.standing(), refused=str(error)))
            return
        self.post_message(self.Stood(standing))

    def action_let_run(self) -> None:
        """Let every job run freely to its end."""
        game = self.game
        if game is None or self.busy:
            return
        self.busy = True
        self._status(Text("every job runs freely to its end…", style="bold yellow"))
        self._run_freely(game)

    @in_thread(group="lab-game", exclusive=True)
    def _run_freely(self, game: StepGame) -> None:
        self.post_message(self.Stood(game.let_run()))

    def on_game_screen_stood(self, message: GameScreen.Stood) -> None:
        """Show where the game stands; its moves become the list to pick from."""
        self.busy = False
        standing = self.standing = message.standing
        moves = self.query_one("#game-moves", OptionList)
        moves.clear_options()
        moves.add_options(
            [
                Option(f"{number}  {move}", id=move)
                for number, move in enumerate(standing["moves"], 1)
            ]
        )
        if standing["moves"]:
            moves.highlighted = 0
            moves.focus()
        self.query_one("#game-board-text", Static).update(standing_text(standing))
        if message.refused is not None:
            self._status(Text(f"✗ {message.refused}", style="bold red"))
            self.notify(message.refused, title="not now", severity="warning", timeout=6)
        elif standing.get("verdict") is not None:
            correct = bool(standing.get("correct"))
            self._status(
                Text(
                    f"game over: {standing['verdict']}",
                    style="bold green" if correct else "bold red",
                )
            )
        elif standing["over"]:
            self._status(Text("the gate is open: every job runs to its end", style="bold"))
        else:
            self._status(Text(f"your move: {len(standing['moves'])} possible · ctrl+f runs freely"))

    def on_game_screen_refused(self, message: GameScreen.Refused) -> None:
        """The game could not start."""
        self.busy = False
        self._status(Text(f"✗ {message.error}", style="bold red"))
        self.notify(message.error, title="cannot play", severity="error", timeout=8)

    # -- saving and closing -----------------------------------------------------------

    def action_save(self) -> None:
        """Ask for a path, then write what was played as a schedule file."""
        game = self.game
        if game is None or not game.gate.replayed:
            self.notify("nothing played yet (ctrl+n starts a game)", severity="warning")
            return

        def chosen(answer: tuple[Path, bool] | None) -> None:
            if answer is not None and game is not None:
                self._save(game, *answer)

        self.app.push_screen(
            ReportPrompt(
                f"{game.plan.strategy}-played.json",
                "Save what you played as a schedule file: its path, then enter",
            ),
            chosen,
        )

    @in_thread(group="lab-game-save")
    def _save(self, game: StepGame, path: Path, force: bool) -> None:
        try:
            save_schedule(path, game, self.settings, force=force)
        except MovieMindError as error:
            self.app.call_from_thread(
                self.notify, str(error), title="not saved", severity="error", timeout=8
            )
            return
        self.app.call_from_thread(
            self.notify, f"saved; replay it with: {game.command(str(path))}", timeout=8
        )

    def action_close(self) -> None:
        """Close the game (it stops: its jobs run to their end)."""
        self.dismiss(None)

    def on_unmount(self) -> None:
        """Stop the game without waiting: its gate opens, its race ends on its own."""
        if self.game is not None:
            self.game.abandon()
