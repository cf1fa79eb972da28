"""Play the scheduler: a game is a schedule whose next step comes from the learner.

The steps the learner plays move the real pipeline one boundary at a time,
the damage is counted as it happens, a step that cannot be played now is one
line, an abandoned game releases its gate, and what was played replays with
``race --schedule`` to the same metrics.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from moviemind_lite.core.errors import InvalidInput
from moviemind_lite.lab.game import GamePlan, StepGame
from moviemind_lite.lab.schedule import ScheduleError
from tests.cli.conftest import run
from tests.engines import BOTH_ENDS, Engines, lab_servers

# The order that breaks cache-lock: B looks the slug up before A has written,
# waits for the lock A holds, and never looks again.
BREAK_CACHE_LOCK = (
    "A dispatch",
    "B dispatch",
    "A lock",
    "A generate",
    "B lock",
    "A persist",
    "A release",
    "B generate",
    "B persist",
    "B release",
)


def play_all(game: StepGame, steps: tuple[str, ...]) -> list[dict[str, object]]:
    """Each step played in turn; where the game stood after each."""
    return [game.play(step) for step in steps]


def test_a_played_game_breaks_cache_lock_and_counts_the_duplicate_as_it_happens() -> None:
    game = StepGame(GamePlan("cache-lock", 2)).start()
    try:
        first = game.gate.standing()
        assert first["moves"] == ["A dispatch", "B dispatch"]
        seen = play_all(game, BREAK_CACHE_LOCK)
    finally:
        game.stop()
    by_step = dict(zip(BREAK_CACHE_LOCK, seen, strict=True))
    # B parks on the lock A holds: A's persist is the only move left.
    assert by_step["B lock"]["moves"] == ["A persist"]
    assert {"name": "B", "where": "waits for the lock (another job has it)"} in by_step["B lock"][
        "jobs"
    ]
    # The damage, step by step: one paid call, then a second; one text, then a duplicate.
    calls = [standing["damage"]["ai_calls"] for standing in seen]  # type: ignore[index]
    dups = [standing["damage"]["duplicate_descriptions"] for standing in seen]  # type: ignore[index]
    assert calls == [0, 0, 0, 1, 1, 1, 1, 2, 2, 2]
    assert dups == [0, 0, 0, 0, 0, 0, 0, 0, 1, 1]
    last = seen[-1]
    assert last["over"] and last["verdict"] == "1 duplicate description"
    assert last["played"] == list(BREAK_CACHE_LOCK)


def test_the_fixed_strategy_cannot_be_broken_by_the_same_order() -> None:
    game = StepGame(GamePlan("cache-lock-recheck", 2)).start()
    try:
        seen = play_all(game, BREAK_CACHE_LOCK[:7])
        # B looked again once it had the lock: it found A's text, no call to make.
        assert seen[-1]["moves"] == ["B release"]
        last = game.play("B release")
        assert last["over"] and last["correct"]
        assert last["damage"]["ai_calls"] == 1  # type: ignore[index]
        with pytest.raises(ScheduleError, match="'B generate': the game is over"):
            game.play("B generate")
    finally:
        game.stop()


def test_a_step_that_cannot_be_played_now_is_one_line_and_the_game_goes_on() -> None:
    game = StepGame(GamePlan("two-level", 2)).start()
    try:
        with pytest.raises(ScheduleError) as refused:
            game.play("A persist")
        assert str(refused.value) == (
            "'A persist' cannot be played now: A waits at 'dispatch'; "
            "playable: A dispatch, B dispatch"
        )
        with pytest.raises(ScheduleError, match="there is no C; the requests of this game are A"):
            game.play("C dispatch")
        with pytest.raises(ScheduleError, match="unknown phase 'frob'"):
            game.play("A frob")
        # two-level takes no lock: A's first boundary after dispatch is generate.
        assert game.play("A dispatch")["moves"] == ["A generate", "B dispatch"]
        # B joins A's job at dispatch (the slot): nothing of its own to move.
        standing = game.play("B dispatch")
        assert {"name": "B", "where": "joined job A"} in standing["jobs"]  # type: ignore[operator]
        assert standing["moves"] == ["A generate"]
    finally:
        game.stop()


def test_an_abandoned_game_opens_its_gate_and_its_race_ends() -> None:
    game = StepGame(GamePlan("cache-lock", 3), idle_s=0.5).start()
    game.play("A dispatch")
    # Nobody plays again: the gate opens, every job runs to its end (bounded wait).
    assert game.finished.wait(30), "the abandoned game's race never ended"
    standing = game.standing()
    assert standing["over"] and "nobody played for 0.5 s" in str(standing["message"])
    assert standing["error"] is None and standing["verdict"] is not None
    with pytest.raises(ScheduleError, match="the game is over"):
        game.play("B dispatch")


def test_a_stopped_game_leaves_no_thread_behind() -> None:
    game = StepGame(GamePlan("cache-lock", 2)).start()
    game.play("A dispatch")
    game.play("A lock")
    game.stop()
    assert game.finished.is_set() and not game._thread.is_alive()
    assert game.standing()["over"]


def test_a_bad_game_is_refused_in_one_line() -> None:
    with pytest.raises(InvalidInput, match="unknown strategy 'fastest'"):
        GamePlan("fastest")
    with pytest.raises(InvalidInput, match=r"requests must be 2\.\.6 in a game, got 9"):
        GamePlan("none", 9)


def test_the_game_played_replays_with_race_schedule_to_the_same_metrics(tmp_path: Path) -> None:
    game = StepGame(GamePlan("cache-lock", 2)).start()
    try:
        last = play_all(game, BREAK_CACHE_LOCK)[-1]
    finally:
        game.stop()
    saved = tmp_path / "cache-lock-played.json"
    saved.write_text(json.dumps(game.schedule()), encoding="utf-8")
    assert game.command(str(saved)).startswith("moviemind race --strategy cache-lock --schedule")
    result = run("race", "--strategy", "cache-lock", "--schedule", str(saved), "--json")
    assert result.exit_code == 0, result.output
    replayed = json.loads(result.stdout)["metrics"]
    damage = dict(last["damage"])  # type: ignore[call-overload]
    assert damage.pop("jobs") == replayed["jobs_dispatched"] == 2
    assert {key: replayed[key] for key in damage} == damage
    assert damage["duplicate_descriptions"] == 1


@pytest.mark.parametrize("engines", BOTH_ENDS, ids=lambda engines: engines.id)
def test_the_same_game_breaks_cache_lock_on_both_engine_pairs(engines: Engines) -> None:
    game = StepGame(GamePlan("cache-lock", 2), servers=lab_servers(engines)).start()
    try:
        last = play_all(game, BREAK_CACHE_LOCK)[-1]
    finally:
        game.stop()
    assert game.result is not None
    assert (game.result.scenario.backend, game.result.scenario.locks) == (
        engines.database,
        engines.locks,
    )
    assert last["verdict"] == "1 duplicate description"
    assert last["damage"]["ai_calls"] == 2  # type: ignore[index]
