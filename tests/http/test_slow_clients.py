"""Slow and greedy clients cannot starve the others (a real server process, real sockets).

The probes' timeouts are generous on purpose: the assertion is that the probe
is answered at all, where before it waited forever or was refused.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx

from moviemind_lite.http.connections import connection_cap, listen_backlog
from tests.http.servers import LiveServer, live_server

PROBE_TIMEOUT_S = 10.0
PARTIAL_HEAD = b"GET /api/v1/health HTTP/1.1\r\nHost: localhost\r\n"
# Longer than a probe waits: only the connection cap can let the probes in.
NO_HEAD_TIMEOUT = {"MOVIEMIND_HEAD_TIMEOUT_S": "120"}


@contextmanager
def half_open(server: LiveServer, count: int) -> Iterator[list[socket.socket]]:
    """``count`` connections that never finish their request head (every other one sent
    part of it); closed when the block ends."""
    port = int(server.url.rsplit(":", 1)[1])
    with ExitStack() as stack:
        sockets = []
        for n in range(count):
            held = stack.enter_context(socket.create_connection(("127.0.0.1", port)))
            if n % 2:
                held.sendall(PARTIAL_HEAD)
            sockets.append(held)
        yield sockets


def probe(server: LiveServer) -> httpx.Response:
    started = time.perf_counter()
    answer = httpx.get(f"{server.url}/api/v1/health", timeout=PROBE_TIMEOUT_S)
    print(f"probe answered in {(time.perf_counter() - started) * 1000:.0f} ms")
    return answer


def test_a_probe_is_answered_beside_2000_half_open_connections(tmp_path: Path) -> None:
    with (
        live_server(tmp_path / "home", "--no-jobs", env=NO_HEAD_TIMEOUT) as server,
        half_open(server, 2000),
    ):
        assert probe(server).status_code == 200


def test_with_256_descriptors_300_half_open_connections_do_not_lock_others_out(
    tmp_path: Path,
) -> None:
    with (
        live_server(tmp_path / "home", "--no-jobs", env=NO_HEAD_TIMEOUT, fd_limit=256) as server,
        half_open(server, 300),
    ):
        answers = [probe(server) for _ in range(4)]
    assert [answer.status_code for answer in answers] == [200] * 4


def test_a_connection_that_never_sends_its_head_is_closed(tmp_path: Path) -> None:
    env = {"MOVIEMIND_HEAD_TIMEOUT_S": "0.3"}
    with live_server(tmp_path / "home", "--no-jobs", env=env) as server:
        with half_open(server, 2) as (silent, partial):
            for held in (silent, partial):
                # Waits for the server's own close (EOF), bounded by the socket timeout.
                held.settimeout(PROBE_TIMEOUT_S)
                assert held.recv(1024) == b""
        # A client that keeps its connection for its next request is not cut off by it.
        with httpx.Client(base_url=server.url, timeout=PROBE_TIMEOUT_S) as client:
            assert client.get("/api/v1/health").status_code == 200
            assert client.get("/api/v1/health").status_code == 200


def test_garbage_gets_a_json_400_with_the_security_headers_and_no_banner(tmp_path: Path) -> None:
    with live_server(tmp_path / "home", "--no-jobs") as server:
        port = int(server.url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=PROBE_TIMEOUT_S) as held:
            held.sendall(b"NOT HTTP AT ALL\r\n\r\n")
            raw = b""
            while chunk := held.recv(4096):
                raw += chunk
        head, _, body = raw.partition(b"\r\n\r\n")
        lines = head.decode().lower().splitlines()
        assert lines[0] == "http/1.1 400 bad request"
        assert "content-type: application/json" in lines
        assert "x-content-type-options: nosniff" in lines
        assert body == b'{"message": "Invalid HTTP request received."}'
        answer = httpx.get(f"{server.url}/api/v1/health", timeout=PROBE_TIMEOUT_S)
        assert "server" not in answer.headers


def test_the_connection_cap_stays_below_the_descriptor_limit() -> None:
    assert connection_cap(256) == 96
    assert connection_cap(20_000) == 17_500
    assert connection_cap(64) == 16
    assert (listen_backlog(256), listen_backlog(20_000)) == (80, 1250)
