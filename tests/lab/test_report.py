"""The HTML report: drawn from the races' data, a lane per job, the marks that matter, small."""

from __future__ import annotations

import re
from dataclasses import replace
from html.parser import HTMLParser

from markupsafe import escape

from moviemind_lite.lab import report
from moviemind_lite.lab.race import RaceResult
from moviemind_lite.lab.teaching import run_lesson
from moviemind_lite.lab.timeline import ENDED, GENERATING, LOCKED, PAUSED, PERSISTING, QUEUED
from moviemind_lite.store.leases import STALE_WRITE
from tests.engines import Engines, lab_servers
from tests.lab.made_races import crowd, job_id, made_race, plain_job


def page(*results: RaceResult, title: str = "races") -> str:
    data = report.report_data(
        title,
        [report.races_section(title, results, ["moviemind compare"])],
        report.engines_used(results),
    )
    return report.render_html(data)


class Lanes(HTMLParser):
    """The lanes (and groups) of each run's timeline, and every mark, in page order."""

    def __init__(self) -> None:
        super().__init__()
        self.runs: list[dict[str, object]] = []
        self.outside: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        classes = (values.get("class") or "").split()
        if tag == "article" and "run" in classes:
            self.runs.append({"strategy": values["data-strategy"], "lanes": [], "groups": 0})
        elif tag == "g" and "lane" in classes:
            lanes = self.runs[-1]["lanes"]
            assert isinstance(lanes, list)
            lanes.append({"job": values["data-job"], "phases": [], "marks": []})
        elif tag == "g" and "group" in classes:
            self.runs[-1]["groups"] = int(str(self.runs[-1]["groups"])) + 1
        elif tag in ("rect", "polygon", "path", "circle") and self.runs:
            lanes = self.runs[-1]["lanes"]
            assert isinstance(lanes, list)
            name = next((c for c in classes if c.startswith(("p-", "m-"))), "")
            if lanes and name.startswith("p-"):
                lanes[-1]["phases"].append(name[2:])
            elif lanes and name.startswith("m-"):
                lanes[-1]["marks"].append(name[2:])
        for name, value in attrs:
            if name in ("src", "href") or (value or "").startswith(("http:", "https:", "//")):
                self.outside.append(f"{tag} {name}={value}")


def lanes_of(html: str) -> Lanes:
    parsed = Lanes()
    parsed.feed(html)
    return parsed


def test_every_job_gets_one_lane_with_its_phases_in_order() -> None:
    race = crowd(100, 10)
    parsed = lanes_of(page(race))
    (run,) = parsed.runs
    lanes = run["lanes"]
    assert isinstance(lanes, list)
    assert [lane["job"] for lane in lanes] == [job_id(i) for i in range(100)]
    assert lanes[0]["phases"] == ["queued", "waiting", "locked", "generating", "persisting"]
    assert run["groups"] == 0


def test_the_second_writer_of_a_slug_is_marked_as_the_duplicate_not_the_first() -> None:
    race = made_race(
        [
            plain_job("race-movie-001", "created", 0.0),
            plain_job("race-movie-001", "alternative_appended", 0.001, waited=0.2),
            plain_job("race-movie-001", "reused_existing", 0.002, waited=0.3),
            plain_job("race-movie-002", "created", 0.003),
        ],
        strategy="cache-lock",
    )
    lanes = lanes_of(page(race)).runs[0]["lanes"]
    assert isinstance(lanes, list)
    assert [lane["marks"] for lane in lanes] == [[], ["duplicate"], [], []]


def test_requests_that_joined_a_job_are_drawn_on_its_lane() -> None:
    race = made_race([plain_job("race-movie-001", "created", 0.0)], joined=[(0, 0.02), (0, 0.05)])
    (lane,) = lanes_of(page(race)).runs[0]["lanes"]  # type: ignore[misc]
    assert lane["marks"] == ["join", "join"]
    assert report.timeline_data(race)["jobs"][0]["marks"] == [
        {"kind": "join", "at": 20.0},
        {"kind": "join", "at": 50.0},
    ]


def _setnx(second_locked_at: float) -> RaceResult:
    first = (
        "race-movie-001",
        STALE_WRITE,
        [(QUEUED, 0.0), (LOCKED, 0.01), (GENERATING, 0.01), (PAUSED, 0.11), (ENDED, 0.4)],
    )
    second = (
        "race-movie-001",
        "created",
        [
            (QUEUED, 0.05),
            (LOCKED, second_locked_at),
            (GENERATING, second_locked_at),
            (PERSISTING, second_locked_at + 0.1),
            (ENDED, second_locked_at + 0.11),
        ],
    )
    return made_race([first, second], strategy="setnx")


def test_a_stale_write_refused_and_the_lease_that_let_a_second_holder_in_are_marked() -> None:
    lanes = lanes_of(page(_setnx(0.2))).runs[0]["lanes"]
    assert isinstance(lanes, list)
    assert [lane["marks"] for lane in lanes] == [["stale"], ["lease"]]
    assert report.timeline_data(_setnx(0.2))["jobs"][1]["marks"] == [{"kind": "lease", "at": 200.0}]


def test_a_holder_that_takes_the_key_after_the_first_ended_is_no_lease_expiry() -> None:
    lanes = lanes_of(page(_setnx(0.5))).runs[0]["lanes"]
    assert isinstance(lanes, list)
    assert [lane["marks"] for lane in lanes] == [["stale"], []]


def test_each_run_carries_what_json_prints_for_it() -> None:
    race = crowd(3, 1)
    data = report.run_data(race)
    assert {key: data[key] for key in race.to_json()} == race.to_json()
    assert data["timeline"]["jobs"][0]["phases"][0] == ["queued", 0.0, 10.0, 1]


def test_ten_thousand_jobs_under_every_strategy_draw_grouped_lanes_under_two_megabytes() -> None:
    strategies = ("none", "cache-lock", "cache-lock-recheck", "unique-index")
    strategies += ("for-update", "setnx", "two-level")
    races = [crowd(10_000, 100, strategy=name) for name in strategies]
    html = page(*races)
    assert len(html.encode()) < 2_000_000, len(html.encode())
    parsed = lanes_of(html)
    assert [run["strategy"] for run in parsed.runs] == list(strategies)
    for run in parsed.runs:
        assert run["lanes"] == []
        assert run["groups"] == report.GROUP_LANES


def test_a_hundred_jobs_draw_every_lane_and_the_limit_is_where_grouping_starts() -> None:
    at_limit = lanes_of(page(crowd(report.DETAIL_LIMIT, 10))).runs[0]
    over = lanes_of(page(crowd(report.DETAIL_LIMIT + 1, 10))).runs[0]
    assert len(at_limit["lanes"]) == report.DETAIL_LIMIT  # type: ignore[arg-type]
    assert over["lanes"] == [] and over["groups"] == report.GROUP_LANES


def test_the_page_fetches_nothing_and_shows_text_rather_than_obeying_it() -> None:
    hostile = '<script>alert("x")</script><img src=http://example.com/x>'
    race = made_race([plain_job("race-movie-001", "created", 0.0)], label=hostile)
    html = page(race, title=hostile)
    parsed = lanes_of(html)
    assert parsed.outside == []
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert len(re.findall(r"<script>", html)) == 1  # the page's own, inline
    assert not re.search(r"@import|url\((?!#)", html)


def test_a_played_lesson_shows_its_explanation_check_and_commands() -> None:
    played = run_lesson("fencing", fast=True)
    data = report.report_data(
        "fencing",
        [report.lesson_section(played, "moviemind lab run fencing --fast --html f.html")],
        report.engines_used(played.races),
    )
    html = report.render_html(data)
    verdict = "PASSED" if played.check.passed else "FAILED"
    assert f"<strong>Check {verdict}</strong>: {escape(played.check.message)}" in html
    assert escape(played.lesson.explanation) in html
    assert "$ moviemind lab run fencing --fast --html f.html" in html
    for command in played.lesson.commands(True):
        assert f"$ {command}" in html
    drawn = lanes_of(html).runs
    assert [run["strategy"] for run in drawn] == [race.strategy for race in played.races]
    # The marks agree with what the race counted, whichever way this run went.
    for run, result in zip(drawn, played.races, strict=True):
        lanes = run["lanes"]
        assert isinstance(lanes, list) and len(lanes) == len(result.timeline)
        marks = [mark for lane in lanes for mark in lane["marks"]]
        assert marks.count("stale") == result.metrics.stale_writes_rejected
        assert ("duplicate" in marks) == (result.metrics.duplicate_descriptions > 0)
    assert data["engines"][0]["name"] == "SQLite" and data["engines"][0]["version"]


def test_the_engines_are_named_with_the_versions_their_servers_report() -> None:
    servers = lab_servers(Engines("postgres", "redis"))
    race = crowd(2, 1)
    on_servers = replace(race, scenario=race.scenario.changed(backend="postgres", locks="redis"))
    engines = report.engines_used([on_servers], servers)
    assert [engine.name for engine in engines] == ["PostgreSQL", "Redis"]
    postgres, redis = (engine.version for engine in engines)
    assert re.match(r"\d+\.\d+", postgres) and re.fullmatch(r"\d+\.\d+\.\d+", redis)
    assert f"PostgreSQL {postgres}" in page_of_engines(engines)


def page_of_engines(engines: list[report.Engine]) -> str:
    data = report.report_data("engines", [], engines)
    return report.render_html(data)
