"""Connections that cannot starve the server: a head timeout and a cap below the fd limit.

uvicorn closes a connection idle after a response (``timeout_keep_alive``)
but waits forever for a request head that never completes, and accepts
connections until ``accept()`` fails for want of file descriptors, after
which nobody is answered. :class:`GuardedH11Protocol` is its h11 protocol
with two additions:

- **Head timeout.** A connection that has not sent a whole request head
  within ``HEAD_TIMEOUT_S`` of connecting (or of its last response, or of
  the first byte of its next request) is closed.
- **Connection cap.** Past ``connection_cap()`` open connections in this
  process (below its ``RLIMIT_NOFILE``, leaving room for the database, the
  log and the thread pool), a new connection closes the oldest one that has
  no request under way, else itself. A slow client's connections go first;
  a client that sends its request at once is answered.

Requests h11 cannot parse (a garbled line, a head past its size limit) are
answered like every other error: ``{"message": ...}`` as JSON, with the
security headers, not uvicorn's bare text. ``moviemind serve`` passes the
class to uvicorn (``http=``).
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
from typing import Any, ClassVar

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from moviemind_lite.http.context import SECURITY_HEADERS

HEAD_TIMEOUT_S = 5.0
HEAD_TIMEOUT_VARIABLE = "MOVIEMIND_HEAD_TIMEOUT_S"
KEEP_ALIVE_S = 5.0
# Descriptors kept back from connections: database files, the log, the listening
# socket, the thread pool's connections.
MIN_RESERVED_FDS = 160


def _soft_limit() -> int:
    soft_limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    return 65_536 if soft_limit == resource.RLIM_INFINITY else soft_limit


def _reserved(soft_limit: int) -> int:
    return max(MIN_RESERVED_FDS, soft_limit // 8)


def connection_cap(soft_limit: int | None = None) -> int:
    """How many connections one process keeps open at most, under its descriptor limit."""
    soft_limit = _soft_limit() if soft_limit is None else soft_limit
    return max(16, soft_limit - _reserved(soft_limit))


def listen_backlog(soft_limit: int | None = None) -> int:
    """The listening socket's backlog: also how many connections asyncio accepts in one go,
    before the cap sees any of them, so it must fit in the descriptors kept back."""
    soft_limit = _soft_limit() if soft_limit is None else soft_limit
    return min(2048, _reserved(soft_limit) // 2)


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, with a head timeout and a cap on open connections."""

    cap = connection_cap()
    head_timeout_s = float(os.environ.get(HEAD_TIMEOUT_VARIABLE) or HEAD_TIMEOUT_S)
    # Every connection of this process, oldest first (dicts keep insertion order).
    _open: ClassVar[dict[GuardedH11Protocol, None]] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        GuardedH11Protocol._open[self] = None
        if len(GuardedH11Protocol._open) > self.cap:
            victim = next((c for c in GuardedH11Protocol._open if c.idle()), self)
            victim.drop()
            if victim is self:
                return
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        GuardedH11Protocol._open.pop(self, None)
        self._disarm_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._head_timer is None and self.idle():
            self._arm_head_timer()  # the first bytes of a next request: its head must follow
        super().data_received(data)
        if not self.idle():
            self._disarm_head_timer()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._disarm_head_timer()

    def idle(self) -> bool:
        """No request under way: none received yet, or the last one answered."""
        return self.cycle is None or self.cycle.response_complete

    def drop(self) -> None:
        """Close the connection now (the client sees it closed, no answer)."""
        GuardedH11Protocol._open.pop(self, None)
        self._disarm_head_timer()
        if not self.transport.is_closing():
            self.transport.close()

    def _arm_head_timer(self) -> None:
        self._disarm_head_timer()
        self._head_timer = self.loop.call_later(self.head_timeout_s, self._head_timed_out)

    def _disarm_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.idle():
            self.drop()

    def send_400_response(self, msg: str) -> None:
        """A request h11 refused: 400 as JSON with the security headers, then close."""
        body = json.dumps({"message": msg}).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
            *((name.encode(), value.encode()) for name, value in SECURITY_HEADERS.items()),
        ]
        for event in (
            h11.Response(status_code=400, headers=headers, reason=b"Bad Request"),
            h11.Data(data=body),
            h11.EndOfMessage(),
        ):
            self.transport.write(self.conn.send(event))
        self.transport.close()
