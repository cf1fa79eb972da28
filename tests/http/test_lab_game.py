"""``/lab/api/game``: the page's step game breaks cache-lock step by step, refuses what cannot
be played in one line (422, never a 500), hands out what was played as a schedule, and
leaves nothing running when a new game starts or the server stops."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.http.test_lab_page import lab_server
from tests.lab.test_game import BREAK_CACHE_LOCK


def test_a_game_played_over_http_breaks_cache_lock_and_counts_the_damage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with lab_server(tmp_path, monkeypatch) as (client, _lab):
        assert client.get("/lab/api/game").status_code == 404
        started = client.post("/lab/api/game", json={"strategy": "cache-lock", "requests": 2})
        assert started.status_code == 202, started.text
        assert started.json()["moves"] == ["A dispatch", "B dispatch"]
        seen = []
        for step in BREAK_CACHE_LOCK:
            answer = client.post("/lab/api/game/step", json={"step": step})
            assert answer.status_code == 200, answer.text
            seen.append(answer.json())
        dups = [standing["damage"]["duplicate_descriptions"] for standing in seen]
        assert dups == [0, 0, 0, 0, 0, 0, 0, 0, 1, 1]
        assert seen[-1]["verdict"] == "1 duplicate description" and seen[-1]["over"]
        saved = client.get("/lab/api/game/schedule")
        assert saved.status_code == 200
        assert 'filename="cache-lock-played.json"' in saved.headers["content-disposition"]
        assert saved.json()["steps"] == list(BREAK_CACHE_LOCK)
        assert saved.json()["strategy"] == "cache-lock"


def test_bad_games_and_steps_are_one_line_422s(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with lab_server(tmp_path, monkeypatch) as (client, _lab):
        for body, message in (
            ({"strategy": "fastest"}, "unknown strategy 'fastest'"),
            ({"strategy": "none", "requests": 40}, "requests must be 2..6 in a game, got 40"),
            ({"strategy": "none", "requests": "2"}, "requests must be a whole number, got '2'"),
            ({"strategy": "none", "speed": 1}, "unknown field 'speed'"),
        ):
            answer = client.post("/lab/api/game", json=body)
            assert answer.status_code == 422 and message in answer.json()["error"], answer.text
        assert client.post("/lab/api/game/step", json={"step": "A dispatch"}).status_code == 404
        assert client.post("/lab/api/game", json={"strategy": "two-level"}).status_code == 202
        for body, message in (
            ({"step": "A persist"}, "'A persist' cannot be played now: A waits at 'dispatch'"),
            ({"step": "A frob"}, "unknown phase 'frob'"),
            ({"step": 3}, 'send {"step": "A dispatch"}'),
        ):
            answer = client.post("/lab/api/game/step", json=body)
            assert answer.status_code == 422 and message in answer.json()["error"], answer.text
        answer = client.post(
            "/lab/api/game/step",
            content=b"{not json",
            headers={"Content-Type": "application/json"},
        )
        assert answer.status_code in (400, 422) and "\n" not in answer.json()["error"]
        # The game goes on after its refusals.
        answer = client.post("/lab/api/game/step", json={"step": "A dispatch"})
        assert answer.status_code == 200 and answer.json()["played"] == ["A dispatch"]


def test_a_new_game_stops_the_one_before_and_the_server_stops_the_last(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with lab_server(tmp_path, monkeypatch) as (client, lab):
        client.post("/lab/api/game", json={"strategy": "cache-lock"})
        first = lab.games.current()
        client.post("/lab/api/game/step", json={"step": "A dispatch"})
        client.post("/lab/api/game", json={"strategy": "two-level"})
        # Stopped, its race over: no thread of it left waiting at the gate.
        assert first.finished.is_set() and first.gate.over
        second = lab.games.current()
        assert second is not first and second.plan.strategy == "two-level"
        client.post("/lab/api/game/step", json={"step": "A dispatch"})
    assert second.finished.is_set() and second.gate.over
