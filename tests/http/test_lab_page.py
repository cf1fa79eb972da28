"""``/lab``: the page, its API's refusals (the command line's messages, never a 500), one race
at a time, stopping, the admin token, and nothing left running when the server stops."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from moviemind_lite.http import app as http_app
from moviemind_lite.http.app import create_app
from moviemind_lite.lab import live
from moviemind_lite.lab.live import LiveLab
from moviemind_lite.lab.race import RaceStopped
from moviemind_lite.lab.scratch import Servers
from moviemind_lite.lab.teaching import LESSONS
from tests.http.servers import open_app

ADMIN_TOKEN = "admin-token-for-tests-0123456789"
DEADLINE_S = 60.0


@contextmanager
def lab_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str] | None = None
) -> Iterator[tuple[TestClient, LiveLab]]:
    """A server in this process whose lab the test holds."""
    lab = LiveLab(Servers())
    monkeypatch.setattr(http_app, "lab_for", lambda settings: lab)
    app = open_app(tmp_path / "home", env)
    try:
        with TestClient(create_app(app, run_jobs=False), base_url="http://localhost") as client:
            yield client, lab
    finally:
        app.close()


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """Comparisons that last until released (or stopped): a race forced to be running."""
    release = threading.Event()

    def compare(*args: Any, stop: threading.Event, **kwargs: Any) -> list[Any]:
        while not release.wait(0.01):
            if stop.is_set():
                raise RaceStopped()
        return []

    monkeypatch.setattr(live, "run_compare", compare)
    yield release
    release.set()


def ended(lab: LiveLab) -> str:
    """Wait for the lab's race to end (a real thread: a deadline, not a sleep); its state."""
    race = lab.current()
    assert race.finished.wait(DEADLINE_S), "the race did not end"
    return race.state


def test_the_page_offers_every_lesson_and_fetches_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with lab_server(tmp_path, monkeypatch) as (client, _):
        page = client.get("/lab")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for name in LESSONS:
        assert f'<option value="{name}">' in page.text
    assert "src=" not in page.text and "http://" not in page.text.replace("http://127", "")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"lesson": "nope"}, "unknown lab scenario 'nope'; expected one of: thundering-herd"),
        ({"strategies": "none", "requests": 0}, "requests must be 1..100000, got 0"),
        ({"strategies": "none", "requests": 2, "slugs": 3}, "slugs must be 1..requests (2)"),
        ({"strategies": "none", "workers": 65}, "workers must be 1..64, got 65"),
        ({"strategies": "none", "fail_rate": 2}, "fail rate must be"),
        ({"strategies": "bogus"}, "unknown strategy 'bogus'"),
        ({"strategies": "none", "requests": "ten"}, "requests must be a number, got 'ten'"),
        ({"strategies": "none", "requests": 1.5}, "requests must be a whole number, got 1.5"),
        ({"strategies": "none", "arrival": "later"}, "arrival"),
        ({"strategies": "none", "keep": True}, "unknown field 'keep'"),
        ({"lesson": 3}, "lesson must be text, got 3"),
        ({"lesson": "fencing", "fast": "yes"}, "fast must be true or false"),
    ],
)
def test_bad_input_gets_the_command_lines_message_as_422(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: dict[str, Any], message: str
) -> None:
    with lab_server(tmp_path, monkeypatch) as (client, _):
        response = client.post("/lab/api/race", json=body)
    assert response.status_code == 422, response.text
    assert message in response.json()["error"]


def test_malformed_requests_are_4xx_never_500(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with lab_server(tmp_path, monkeypatch) as (client, _):
        assert client.get("/lab/api/race").status_code == 404
        assert client.delete("/lab/api/race").status_code == 404
        assert client.get("/lab/api/race/report").status_code == 404
        assert client.get("/lab/api/race?since=x").status_code == 422
        bad_json = client.post(
            "/lab/api/race", content=b"{", headers={"Content-Type": "application/json"}
        )
        assert bad_json.status_code == 400
        assert client.post("/lab/api/race", json=[1]).status_code == 422
        assert client.put("/lab/api/race", json={}).status_code == 405


def test_a_lesson_runs_to_its_check_and_its_report_downloads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with lab_server(tmp_path, monkeypatch) as (client, lab):
        started = client.post("/lab/api/race", json={"lesson": "the-original-bug", "fast": True})
        assert started.status_code == 202, started.text
        assert started.json()["command"] == "moviemind lab run the-original-bug --fast"
        assert ended(lab) == "done"
        status = client.get("/lab/api/race?since=0").json()
        report = client.get("/lab/api/race/report")
    assert status["check"]["passed"] is True
    assert [run["label"] for run in status["runs"]] == ["cache-lock", "cache-lock-recheck"]
    jobs = {(label, job) for label, job, _, _ in status["events"]}
    for run in status["runs"]:
        lanes = {job for label, job in jobs if label == run["label"]}
        assert len(lanes) == run["metrics"]["jobs_dispatched"]
    assert status["next"] == len(status["events"])
    # The page heard every phase the race's event sink told its timelines, in order.
    for result in lab.current().results:
        heard = [(job, phase) for label, job, phase, _ in status["events"] if label == result.label]
        told = [(job, str(phase)) for job, events in result.phases.items() for phase, _ in events]
        assert sorted(heard) == sorted(told)
    later = client.get(f"/lab/api/race?since={status['next']}").json()
    assert later["events"] == []
    assert report.status_code == 200
    assert report.headers["content-disposition"] == (
        'attachment; filename="moviemind-lab-the-original-bug.html"'
    )
    assert "Check PASSED" in report.text and 'class="lane"' in report.text


def test_one_race_at_a_time_and_a_stopped_race_ends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, held: threading.Event
) -> None:
    with lab_server(tmp_path, monkeypatch) as (client, lab):
        assert client.post("/lab/api/race", json={"strategies": "none"}).status_code == 202
        again = client.post("/lab/api/race", json={"lesson": "fencing"})
        assert again.status_code == 409
        assert again.json()["error"].startswith("a race is already running on this server")
        assert client.get("/lab/api/race/report").status_code == 409
        assert client.delete("/lab/api/race").status_code == 202
        assert ended(lab) == "stopped"
        assert client.get("/lab/api/race").json()["state"] == "stopped"
        assert client.delete("/lab/api/race").json() == {"error": "no race is running"}


def test_a_race_nobody_asks_about_is_stopped(held: threading.Event) -> None:
    now = [0.0]
    lab = LiveLab(Servers(), idle_s=5.0, clock=lambda: now[0])
    race = lab.start(live.parse_plan({"strategies": "none"}, Servers()))
    now[0] = 4.0
    lab.current()  # asked at 4: not idle yet at 8
    now[0] = 8.0
    assert not race.finished.wait(0.5) and not race.stop.is_set()
    now[0] = 9.5  # 5.5 s since anyone asked: the page is gone
    assert race.finished.wait(DEADLINE_S)
    assert race.state == "stopped"
    lab.close()
    assert not [t for t in threading.enumerate() if t.name in ("lab-race", "lab-watch")]


def test_stopping_the_server_stops_the_race(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, held: threading.Event
) -> None:
    with lab_server(tmp_path, monkeypatch) as (client, lab):
        assert client.post("/lab/api/race", json={"strategies": "none"}).status_code == 202
        race = lab.current()
    assert race.finished.is_set() and race.state == "stopped"


def test_the_api_needs_the_admin_token_when_not_local(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {"MOVIEMIND_ENV": "production", "MOVIEMIND_ADMIN_TOKEN": ADMIN_TOKEN}
    with lab_server(tmp_path, monkeypatch, env) as (client, _):
        assert client.get("/lab").status_code == 200
        for method in ("GET", "POST", "DELETE"):
            refused = client.request(method, "/lab/api/race", json={"lesson": "nope"})
            assert refused.status_code == 401, method
        assert client.get("/lab/api/race/report").status_code == 401
        admitted = client.post(
            "/lab/api/race", json={"lesson": "nope"}, headers={"X-Admin-Token": ADMIN_TOKEN}
        )
        assert admitted.status_code == 422
