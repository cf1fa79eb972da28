"""What a front end running races in its own threads needs: stopping them, watching them,
and a log that stays where it belongs (the race's lines in the scratch home, the app's in its own).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from moviemind_lite.app.wiring import build_app
from moviemind_lite.core.config import load_settings
from moviemind_lite.core.logs import ROOT_LOGGER, configure_logging, read_log
from moviemind_lite.lab.race import Progress, RaceStopped, run_compare, run_race
from moviemind_lite.lab.scenario import Arrival, Scenario
from moviemind_lite.lab.scratch import scratch_logging
from moviemind_lite.lab.teaching import run_lesson
from moviemind_lite.lab.timeline import ENDED, QUEUED

FAST = Scenario(requests=6, slugs=2, workers=3, latency_ms=5, jitter_ms=0)
app_log = logging.getLogger("moviemind.app-under-test")


@pytest.fixture
def app_log_path(tmp_path: Path) -> Iterator[Path]:
    """The moviemind logger writing to an app's log, as ``build_app`` leaves it."""
    logger = logging.getLogger(ROOT_LOGGER)
    saved = (list(logger.handlers), logger.level, logger.propagate)
    path = tmp_path / "app.log"
    configure_logging(path)
    yield path
    for handler in logger.handlers:
        if handler not in saved[0]:
            handler.close()
    logger.handlers[:] = saved[0]
    logger.setLevel(saved[1])
    logger.propagate = saved[2]


def messages(path: Path) -> list[str]:
    """The messages of a JSON log."""
    return [str(record["message"]) for record in read_log(path)]


def test_a_stop_set_before_the_race_stops_it_at_once(scratch_parent: Path) -> None:
    stop = threading.Event()
    stop.set()
    with pytest.raises(RaceStopped) as stopped:
        run_race(FAST, "two-level", stop=stop)
    assert stopped.value.finished == ()
    assert list(scratch_parent.iterdir()) == []


def test_a_stop_set_during_a_long_race_ends_it_promptly(scratch_parent: Path) -> None:
    # A thousand requests, one every 20 ms: twenty seconds if nobody stops it.
    scenario = Scenario(
        requests=1000, slugs=1000, workers=4, latency_ms=1, jitter_ms=0,
        arrival=Arrival("spread", 20),
    )  # fmt: skip
    stop = threading.Event()
    answered: list[int] = []

    def progress(label: str, count: int, total: int) -> None:
        answered.append(count)
        if count >= 5:
            stop.set()  # from a race thread, as a key press would from another

    jobs: set[str] = set()
    with pytest.raises(RaceStopped, match="stopped"):
        run_race(
            scenario,
            "none",
            on_progress=progress,
            on_phase=lambda label, job_id, phase, at: jobs.add(job_id),
            stop=stop,
        )
    # Stopped early: the requests after the stop were never issued (a request
    # every 20 ms, every one a job of its own, would have made a thousand).
    assert max(answered) >= 5
    assert 5 <= len(jobs) < scenario.requests // 2
    assert list(scratch_parent.iterdir()) == []


def stop_at(label: str) -> tuple[threading.Event, Progress]:
    """A stop event, and a progress callback that sets it when run ``label`` reports."""
    stop = threading.Event()

    def progress(reported: str, count: int, total: int) -> None:
        if reported == label:
            stop.set()

    return stop, progress


def test_a_stopped_compare_hands_back_the_strategies_that_finished() -> None:
    stop, progress = stop_at("unique-index")
    with pytest.raises(RaceStopped) as stopped:
        run_compare(FAST, ["two-level", "unique-index", "none"], progress, stop=stop)
    assert [result.label for result in stopped.value.finished] == ["two-level"]
    assert stopped.value.finished[0].correct


def test_a_stopped_lesson_raises_with_its_finished_runs() -> None:
    stop, progress = stop_at("cache-lock-recheck")
    with pytest.raises(RaceStopped) as stopped:
        run_lesson("the-original-bug", fast=True, on_progress=progress, stop=stop)
    assert [result.label for result in stopped.value.finished] == ["cache-lock"]


def test_the_phase_watcher_hears_every_phase_as_it_happens() -> None:
    heard: list[tuple[str, str, str, float]] = []
    lock = threading.Lock()

    def watch(label: str, job_id: str, phase: str, at: float) -> None:
        with lock:
            heard.append((label, job_id, phase, at))

    result = run_race(FAST, "cache-lock-recheck", label="recheck", on_phase=watch)
    assert {label for label, *_ in heard} == {"recheck"}
    by_job: dict[str, list[tuple[str, float]]] = {}
    for _, job_id, phase, at in sorted(heard, key=lambda event: event[3]):
        by_job.setdefault(job_id, []).append((phase, at))
    assert by_job == result.phases
    assert all(events[0][0] == QUEUED and events[-1][0] == ENDED for events in by_job.values())


def test_a_timeline_redrawn_at_another_width_keeps_its_rows() -> None:
    result = run_race(FAST, "unique-index")
    narrow = result.timeline_drawn(20)
    assert [(row.label, row.ending, row.job_id) for row in narrow] == [
        (row.label, row.ending, row.job_id) for row in result.timeline
    ]
    assert all(len(row.bar) == 20 and row.bar.strip() for row in narrow)
    assert result.timeline_drawn(len(result.timeline[0].bar)) == result.timeline


def test_a_race_in_a_thread_keeps_the_apps_log_whole(app_log_path: Path) -> None:
    # The app keeps logging from its own thread while a worker thread races.
    racing = threading.Event()
    results = []

    def race() -> None:
        results.append(
            run_race(FAST.changed(keep=True), "two-level", on_progress=lambda *_: racing.set())
        )

    worker = threading.Thread(target=race)
    worker.start()
    assert racing.wait(10)
    app_log.info("App line during the race")
    worker.join(30)
    app_log.info("App line after the race")

    (result,) = results
    assert result.kept_home is not None
    app_lines = messages(app_log_path)
    assert app_lines == ["App line during the race", "App line after the race"]
    race_lines = messages(result.kept_home / "logs" / "moviemind.log")
    assert "Job queued and claimed" in race_lines and "Job done" in race_lines
    assert not any(line.startswith("App line") for line in race_lines)
    # Everything is as it was: one handler, no filter left behind.
    (handler,) = logging.getLogger(ROOT_LOGGER).handlers
    assert handler.filters == []


def test_opening_an_app_inside_a_race_leaves_the_outer_log_alone(
    app_log_path: Path, tmp_path: Path
) -> None:
    # The flag lessons open a App on their scratch home inside the race's logging.
    logger = logging.getLogger(ROOT_LOGGER)
    (outer,) = logger.handlers
    scratch = load_settings(tmp_path / "scratch-home")
    scratch.home.mkdir()
    (scratch.home / "logs").mkdir()
    with scratch_logging(scratch.log_path) as race:
        with build_app(scratch, load_sample=False):
            assert outer in logger.handlers
            logging.getLogger("moviemind.lab-test").info("Race line")
        elsewhere = threading.Thread(target=lambda: app_log.info("App line"))
        elsewhere.start()
        elsewhere.join()
        assert race.includes(threading.get_ident())
    assert not race.includes(threading.get_ident())
    assert logger.handlers == [outer]
    assert messages(scratch.log_path) == ["Race line"]
    assert messages(app_log_path) == ["App line"]


def test_race_lines_from_processes_mode_stay_in_the_scratch_log(app_log_path: Path) -> None:
    result = run_race(FAST.changed(mode="processes", workers=2, keep=True), "two-level")
    assert result.correct and result.kept_home is not None
    assert "Job done" in messages(result.kept_home / "logs" / "moviemind.log")
    assert messages(app_log_path) == []


def test_log_records_of_a_dead_members_ident_are_not_the_races(tmp_path: Path) -> None:
    with scratch_logging(tmp_path / "race.log") as race:
        idents: list[int] = []

        def join() -> None:
            race.add_current_thread()
            idents.append(threading.get_ident())

        member = threading.Thread(target=join)
        member.start()
        member.join()
        assert not race.includes(idents[0])  # dead: its ident may go to anyone now
