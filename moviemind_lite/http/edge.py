"""The server's edge on a network: trusted proxies, allowed hosts, CORS.

An ASGI middleware inside :class:`~moviemind_lite.http.context.RequestContext`
(so what it answers carries the ids and security headers too) and around the
Starlette application:

1. **Proxies.** ``X-Forwarded-For`` and ``X-Forwarded-Proto`` are read only
   from a peer listed in ``--forwarded-allow-ips`` (``MOVIEMIND_FORWARDED_ALLOW_IPS``,
   default: none); then the client address (what rate limits count) and the
   scheme are the proxy's word, else the socket's.
2. **Hosts.** A request whose ``Host`` is not an allowed name gets 400, so a
   DNS-rebinding page cannot talk to a server on loopback. Allowed: the
   names in ``--allowed-hosts`` (``MOVIEMIND_ALLOWED_HOSTS``), else the
   loopback names when the server is bound to loopback (else the bound
   address). ``*`` allows any name (behind a proxy that checks it).
3. **Links** are built from ``--public-url`` (``MOVIEMIND_PUBLIC_URL``) when
   set, else from the allowed ``Host`` the request came to.
4. **CORS** as the original service's ``HandleCors``: on ``/api/*`` only,
   origins ``*`` by default (``MOVIEMIND_CORS_ORIGINS``, comma-separated, or
   ``none``), any method and header, with a working preflight.

The settings reach every server process through the environment, as
:func:`moviemind_lite.http.app.serve_options` does its own.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from moviemind_lite.core.errors import InvalidSetting
from moviemind_lite.http.errors import framework_error

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
PUBLIC_URL_KEY = "moviemind.public_url"
LOOPBACK_REQUEST_KEY = "moviemind.loopback_request"
EXPOSED_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "Retry-After", "X-Request-ID")


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address) is reachable from this machine only."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def host_name(header: str) -> str:
    """The name in a ``Host`` header, without its port, lower case (``[::1]:80`` → ``::1``)."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1 : header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


@dataclass(frozen=True)
class EdgeSettings:
    """Where the server listens and whom it believes: hosts, proxies, links, CORS."""

    bound_host: str = "127.0.0.1"
    allowed_hosts: tuple[str, ...] = ()
    forwarded_allow_ips: tuple[str, ...] = ()
    public_url: str | None = None
    cors_origins: tuple[str, ...] = ("*",)

    @property
    def loopback_bound(self) -> bool:
        """Whether the listening socket is reachable from this machine only."""
        return is_loopback(self.bound_host)

    def hosts(self) -> tuple[str, ...]:
        """The names a request's ``Host`` may be."""
        if self.allowed_hosts:
            return self.allowed_hosts
        if self.loopback_bound:
            return LOOPBACK_NAMES
        return (host_name(self.bound_host), *LOOPBACK_NAMES)

    def allows_host(self, header: str | None) -> bool:
        """Whether a request that came with ``Host: header`` may be answered."""
        allowed = self.hosts()
        if "*" in allowed:
            return True
        if header is None or not header.strip():
            return False
        name = host_name(header)
        return any(
            name == host or (host.startswith("*.") and name.endswith(host[1:])) for host in allowed
        )

    def trusts(self, peer: str | None) -> bool:
        """Whether ``peer`` is a proxy whose ``X-Forwarded-*`` headers are believed."""
        if peer is None:
            return False
        if "*" in self.forwarded_allow_ips:
            return True
        try:
            address = ipaddress.ip_address(peer)
        except ValueError:
            return peer in self.forwarded_allow_ips
        for allowed in self.forwarded_allow_ips:
            try:
                if address in ipaddress.ip_network(allowed, strict=False):
                    return True
            except ValueError:
                continue
        return False


def _names(raw: str | None) -> tuple[str, ...]:
    return tuple(part.strip().lower() for part in (raw or "").split(",") if part.strip())


def edge_settings(env: Mapping[str, str] | None = None) -> EdgeSettings:
    """The edge's settings from ``MOVIEMIND_*`` (what ``moviemind serve`` passes down)."""
    env = os.environ if env is None else env
    public_url = (env.get("MOVIEMIND_PUBLIC_URL") or "").strip().rstrip("/") or None
    if public_url is not None:
        parts = urlsplit(public_url)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
            raise InvalidSetting(
                f"MOVIEMIND_PUBLIC_URL={public_url!r}: expected http(s)://host[:port][/path]"
            )
    origins_raw = env.get("MOVIEMIND_CORS_ORIGINS")
    origins = ("*",) if origins_raw is None or not origins_raw.strip() else _names(origins_raw)
    if origins == ("none",):
        origins = ()
    for origin in origins:
        if origin != "*" and urlsplit(origin).scheme not in ("http", "https"):
            raise InvalidSetting(
                f"MOVIEMIND_CORS_ORIGINS: {origin!r} is not an origin (https://host[:port], "
                "* or none)"
            )
    return EdgeSettings(
        bound_host=(env.get("MOVIEMIND_SERVE_HOST") or "127.0.0.1").strip(),
        allowed_hosts=_names(env.get("MOVIEMIND_ALLOWED_HOSTS")),
        forwarded_allow_ips=_names(env.get("MOVIEMIND_FORWARDED_ALLOW_IPS")),
        public_url=public_url,
        cors_origins=origins,
    )


class NetworkEdge:
    """Believe proxies only when trusted, refuse unknown hosts, answer CORS on ``/api/*``."""

    def __init__(self, app: ASGIApp, settings: EdgeSettings) -> None:
        self.app = app
        self.settings = settings
        self.cors: ASGIApp | None = None
        if settings.cors_origins:
            self.cors = CORSMiddleware(
                app,
                allow_origins=list(settings.cors_origins),
                allow_methods=["*"],
                allow_headers=["*"],
                expose_headers=list(EXPOSED_HEADERS),
            )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {name: value for name, value in scope["headers"]}
        peer = scope.get("client")
        if peer is not None and self.settings.trusts(peer[0]):
            scope = self._forwarded(scope, headers, peer)
        raw_host = headers.get(b"host")
        host = raw_host.decode("latin-1") if raw_host is not None else None
        if not self.settings.allows_host(host):
            response = framework_error(400, "Invalid host header.")
            await response(scope, receive, send)
            return
        scope[LOOPBACK_REQUEST_KEY] = (
            self.settings.loopback_bound and host is not None and is_loopback(host_name(host))
        )
        if self.settings.public_url is not None:
            scope[PUBLIC_URL_KEY] = self.settings.public_url
        if self.cors is not None and scope["path"].startswith("/api/"):
            await self.cors(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _forwarded(self, scope: Scope, headers: dict[bytes, bytes], peer: tuple[str, int]) -> Scope:
        scope = dict(scope)
        proto = headers.get(b"x-forwarded-proto", b"").decode("latin-1").strip().lower()
        if proto in ("http", "https"):
            scope["scheme"] = proto
        chain = headers.get(b"x-forwarded-for", b"").decode("latin-1")
        hops = [hop.strip() for hop in chain.split(",") if hop.strip()]
        # The client is the last hop no trusted proxy added: read from the right.
        for hop in reversed(hops):
            if not self.settings.trusts(hop):
                scope["client"] = (hop, 0)
                break
        else:
            if hops:
                scope["client"] = (hops[0], 0)
        return scope
