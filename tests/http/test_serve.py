"""``moviemind serve`` itself: what it refuses, and the jobs it runs (or leaves to workers)."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from moviemind_lite.cli import cli
from moviemind_lite.cli.serve import exposure_problem, is_loopback
from tests.http.servers import live_server, open_app, server_env

DEADLINE_S = 30.0


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("localhost", True),
        ("::1", True),
        ("[::1]", True),
        ("0.0.0.0", False),
        ("192.168.1.5", False),
        ("example.com", False),
    ],
)
def test_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_exposure_rules() -> None:
    token = "t" * 20
    assert exposure_problem("127.0.0.1", "local", None, False) is None
    assert "MOVIEMIND_ADMIN_TOKEN and an API key" in str(
        exposure_problem("0.0.0.0", "production", None, False)
    )
    assert "an API key" in str(exposure_problem("0.0.0.0", "production", token, False))
    assert "MOVIEMIND_ENV=local" in str(exposure_problem("0.0.0.0", "local", token, True))
    assert exposure_problem("0.0.0.0", "production", token, True) is None


def test_serve_refuses_a_public_address_on_one_line(home: Path) -> None:
    result = CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0", "--port", "0"])
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0
    assert "refusing to listen on 0.0.0.0" in result.output


def test_serve_refuses_bad_settings_on_one_line(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MOVIEMIND_ADMIN_TOKEN", "short")
    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code == 2
    assert "MOVIEMIND_ADMIN_TOKEN" in result.output


def wait_for(url: str, status: int) -> httpx.Response:
    """GET ``url`` until it answers ``status`` (a generous deadline, no timing asserted)."""
    deadline = time.monotonic() + DEADLINE_S
    while True:
        response = httpx.get(url, timeout=10)
        if response.status_code == status or time.monotonic() > deadline:
            return response
        time.sleep(0.05)  # polling a real server process (bounded by a deadline)


def test_the_server_runs_jobs_by_default(tmp_path: Path) -> None:
    home = tmp_path / "jobs"
    with live_server(home, "--threads", "2", env={"MOVIEMIND_AI_LATENCY_MS": "50"}) as server:
        slug = f"served-{uuid.uuid4().hex[:6]}-2022"
        queued = httpx.get(f"{server.url}/api/v1/movies/{slug}")
        assert queued.status_code == 202
        shown = wait_for(f"{server.url}/api/v1/movies/{slug}", 200)
        assert shown.status_code == 200 and shown.json()["descriptions_count"] == 1
        job = httpx.get(f"{server.url}/api/v1/jobs/{queued.json()['job_id']}").json()
        assert job["status"] == "DONE"
    # uvicorn shuts down cleanly on SIGTERM, then re-raises it (exit status -15).
    assert "Application shutdown complete" in server.log_tail()


def test_no_jobs_leaves_them_to_a_worker_process(tmp_path: Path) -> None:
    home = tmp_path / "workers"
    with live_server(home, "--no-jobs") as server:
        slug = f"worked-{uuid.uuid4().hex[:6]}-2022"
        job_id = httpx.get(f"{server.url}/api/v1/movies/{slug}").json()["job_id"]
        app = open_app(home)
        try:
            assert app.jobs.get(job_id).status == "PENDING"
        finally:
            app.close()
        worker = subprocess.run(
            [sys.executable, "-m", "moviemind_lite", "worker", "--once"],
            env=server_env(home),
            capture_output=True,
            text=True,
            timeout=DEADLINE_S,
        )
        assert worker.returncode == 0, worker.stderr
        assert f"DONE {job_id}" in worker.stdout
        assert httpx.get(f"{server.url}/api/v1/movies/{slug}").status_code == 200


def test_serving_off_loopback_needs_the_allowed_hosts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MOVIEMIND_ENV", "production")
    monkeypatch.setenv("MOVIEMIND_ADMIN_TOKEN", "admin-token-for-tests-0123456789")
    assert CliRunner().invoke(cli, ["keys", "create", "k"]).exit_code == 0
    result = CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0", "--port", "0"])
    assert result.exit_code == 2
    assert "--allowed-hosts" in result.output
    bad = CliRunner().invoke(cli, ["serve", "--public-url", "films.example", "--port", "0"])
    assert bad.exit_code == 2 and "MOVIEMIND_PUBLIC_URL" in bad.output
