"""GET /metrics: prometheus_client's exposition, protected off loopback, summed over --workers."""

from __future__ import annotations

from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from moviemind_lite.http.edge import EdgeSettings
from tests.http.servers import live_server
from tests.http.test_edge import ADMIN_TOKEN, client_for


def samples(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Every sample by its name (``_total`` and ``_bucket`` kept), with its labels."""
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append((sample.labels, sample.value))
    return found


def value(found: dict[str, list[tuple[dict[str, str], float]]], name: str, **labels: str) -> float:
    return sum(
        v for got, v in found.get(name, []) if all(got.get(k) == w for k, w in labels.items())
    )


def test_metrics_count_requests_refusals_jobs_and_the_budget(tmp_path: Path) -> None:
    env = {"MOVIEMIND_RATE_LIMIT_SHOW": "2", "MOVIEMIND_AI_BUDGET_CLIENT": "1"}
    with client_for(tmp_path, EdgeSettings(), **env) as client:
        before = samples(client.get("/metrics").text)
        statuses = [
            client.get(f"/api/v1/movies/metric-film-{n}-2001").status_code for n in range(3)
        ]
        assert statuses == [202, 503, 429]
        answer = client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    found = samples(answer.text)
    route = "/api/v1/movies/{slug}"
    counted = "moviemind_http_requests_total"
    for status in ("202", "503", "429"):
        grew = value(found, counted, route=route, status=status) - value(
            before, counted, route=route, status=status
        )
        assert grew == 1, status
    assert value(found, "moviemind_http_rate_limited_total", route="show") >= 1
    assert value(found, "moviemind_ai_budget_refused_total", reason="client_budget") >= 1
    assert value(found, "moviemind_http_request_duration_seconds_count", route=route) >= 3
    assert value(found, "moviemind_queue_jobs", status="PENDING") == 1
    assert value(found, "moviemind_ai_budget_used_this_hour") == 1
    assert value(found, "moviemind_ai_circuit", state="closed") == 1
    assert "moviemind_ai_calls_total" in found and "moviemind_ai_tokens_total" in found


def test_metrics_need_the_admin_token_off_loopback(tmp_path: Path) -> None:
    exposed = EdgeSettings(bound_host="0.0.0.0", allowed_hosts=("localhost",))
    with client_for(tmp_path, exposed, MOVIEMIND_ADMIN_TOKEN=ADMIN_TOKEN) as client:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"X-Admin-Token": "wrong"}).status_code == 401
        assert client.get("/metrics", headers={"X-Admin-Token": ADMIN_TOKEN}).status_code == 200


def test_two_server_processes_share_one_limit_and_one_exposition(tmp_path: Path) -> None:
    env = {"MOVIEMIND_RATE_LIMIT_SHOW": "6"}
    with live_server(tmp_path / "home", "--no-jobs", "--workers", "2", env=env) as server:
        statuses = []
        for _ in range(12):
            # A connection per request: either process may accept it.
            answer = httpx.get(f"{server.url}/api/v1/movies/the-matrix-1999", timeout=30)
            statuses.append(answer.status_code)
        found = samples(httpx.get(f"{server.url}/metrics", timeout=30).text)
    assert statuses.count(200) == 6 and statuses.count(429) == 6
    route = "/api/v1/movies/{slug}"
    assert value(found, "moviemind_http_requests_total", route=route) == 12
    assert value(found, "moviemind_http_rate_limited_total", route="show") == 6
