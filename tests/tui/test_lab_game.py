"""The Lab tab's step game (ctrl+g): a game played by keys breaks cache-lock, the duplicate is
counted as it happens, an unplayable move is refused, and the game saves as a schedule."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Input, OptionList, Static

from moviemind_lite.tui.app import MovieMindApp
from moviemind_lite.tui.lab_game import GameScreen
from tests.lab.test_game import BREAK_CACHE_LOCK
from tests.tui.driving import plain, run_app, spy_notifications, wait_until

AppFactory = Callable[..., MovieMindApp]


def game_screen(pilot: Pilot[None]) -> GameScreen:
    screen = pilot.app.screen
    assert isinstance(screen, GameScreen)
    return screen


async def settled(pilot: Pilot[None], screen: GameScreen) -> None:
    await wait_until(pilot, lambda: not screen.busy, "the game's answer", timeout=30)
    await pilot.pause()


async def play(pilot: Pilot[None], screen: GameScreen, step: str) -> None:
    """Play ``step`` by its number key, as listed among the moves."""
    assert screen.standing is not None
    moves = screen.standing["moves"]
    assert step in moves, f"{step} is not playable now: {moves}"
    await pilot.press(str(moves.index(step) + 1))
    await settled(pilot, screen)


def test_a_game_played_by_keys_breaks_cache_lock_and_saves_its_schedule(
    open_app: AppFactory, tmp_path: Path
) -> None:
    app = open_app("lab")
    notes = spy_notifications(app)
    saved = tmp_path / "played.json"

    async def scenario(pilot: Pilot[None]) -> None:
        await pilot.press("ctrl+g")
        screen = game_screen(pilot)
        await pilot.press("ctrl+n")
        await settled(pilot, screen)
        board = screen.query_one("#game-board-text", Static)
        status = screen.query_one("#game-status", Static)
        assert "A  waits at 'dispatch'" in plain(board)
        assert plain(status) == "your move: 2 possible · ctrl+f runs freely"
        # Enter plays the highlighted move (the first: A dispatch).
        assert screen.query_one("#game-moves", OptionList).has_focus
        await pilot.press("enter")
        await settled(pilot, screen)
        assert screen.standing is not None and screen.standing["played"] == ["A dispatch"]
        for step in BREAK_CACHE_LOCK[1:8]:
            await play(pilot, screen, step)
        # B has paid its call and not yet written: no duplicate yet.
        assert "AI calls 2" in plain(board) and "dup descr. 0" in plain(board)
        await play(pilot, screen, "B persist")
        assert "dup descr. 1" in plain(board)
        await play(pilot, screen, "B release")
        assert plain(status) == "game over: 1 duplicate description"
        assert "✗ 1 duplicate description" in plain(board)
        assert "moviemind race --strategy cache-lock --schedule" in plain(board)

        await pilot.press("ctrl+o")
        prompt_input = pilot.app.screen.query_one("#report-path", Input)
        prompt_input.value = str(saved)
        await pilot.press("enter")
        await wait_until(pilot, saved.exists, "the saved schedule")
        await pilot.press("escape")
        assert not isinstance(pilot.app.screen, GameScreen)

    run_app(app, scenario)
    assert notes.errors() == []
    written = json.loads(saved.read_text(encoding="utf-8"))
    assert written["strategy"] == "cache-lock"
    assert written["steps"] == list(BREAK_CACHE_LOCK)
    assert any("saved; replay it with: moviemind race" in note for note in notes.messages())


def test_a_move_that_cannot_happen_now_is_refused_and_bad_requests_are_one_line(
    open_app: AppFactory,
) -> None:
    app = open_app("lab")
    notes = spy_notifications(app)

    async def scenario(pilot: Pilot[None]) -> None:
        await pilot.press("ctrl+g")
        screen = game_screen(pilot)
        screen.query_one("#game-requests", Input).value = "9"
        await pilot.press("ctrl+n")
        status = screen.query_one("#game-status", Static)
        assert plain(status) == "✗ requests must be 2..6 in a game, got 9"
        screen.query_one("#game-requests", Input).value = "2"
        await pilot.press("ctrl+n")
        await settled(pilot, screen)
        # A key with no move of its number does nothing.
        await pilot.press("7")
        assert screen.standing is not None and screen.standing["played"] == []
        # ctrl+f lets every job run freely: the game ends without a step played.
        await pilot.press("ctrl+f")
        await settled(pilot, screen)
        assert plain(status).startswith("game over: ")

    run_app(app, scenario)
    assert notes.errors() == ["requests must be 2..6 in a game, got 9"]
