"""Same origin only, and bounded (shell): what keeps a web page elsewhere, or a name that
resolves to this machine, from reading or acting on the ground server, and what bounds the web
port's connections.

Every request passes ``guard_middleware`` before any handler runs:

- **Host** must be an address this server answers on: an IP address or ``localhost`` (with
  the port the connection came in on), the ``--host`` name given to ``make_app``, or the host
  of an ``--allow-origin`` URL. Anything else (``Host: evil.example``, DNS rebinding) is 403.
- **Origin**, when the browser sends one (every cross-origin request, every websocket
  handshake), must be the server's own (``http://`` + the Host; the loopback names of one port
  count as one) or an ``--allow-origin`` one; else 403.
- **State-changing** requests (POST, PUT, PATCH, DELETE) need ``Content-Type:
  application/json`` and the header ``X-CSRF-Token`` equal to the token of their session
  cookie; ``GET /api/session`` (``touchdown.ground.auth``) sets the cookie ``td_session_PORT``
  (HttpOnly, SameSite=Strict; PORT the one the server listens on: cookies ignore ports, so two
  servers on one host keep their sessions apart) and answers ``{"csrf_token": ...}``. The token
  is an HMAC of the session id under a key made at start: nothing is stored for a session
  nobody signed in to (no table a stranger can fill), and a restart ends every session. Their
  handlers get ``BODY_TIMEOUT_S`` (a body of at most ``BODY_MAX`` octets must arrive in that
  time). Who is signed in, and what their role allows, is ``touchdown.ground.auth``'s.

A refusal is ``{"error": message, "refused": "host" | "origin" | "csrf"}``: only ``csrf`` is
cured by asking ``/api/session`` again.

``errors_middleware`` turns an unexpected exception into a one-line JSON 500 (the traceback
goes to the log, not to the client). ``CappedSite`` listens like aiohttp's ``TCPSite`` but
answers a connection beyond ``max_connections`` with a 503 and closes it at once.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import logging
import re
import secrets
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from yarl import URL

from touchdown.ground.http import dumps, error, json_response

log = logging.getLogger("touchdown.ground")

SESSION_COOKIE = "td_session"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
BODY_MAX = 64 * 1024  # octets: the largest request body (operator actions are small JSON)
BODY_TIMEOUT_S = 10.0  # s to send a request body in
WEB_KEEPALIVE_S = 15.0  # s an HTTP connection may idle (or dawdle over its headers) before closing
WEB_MAX_CONNECTIONS = 64  # open web connections at once (websockets included); more are refused
DEFAULT_PORTS = {"http": 80, "https": 443}
_SESSION_ID = re.compile(r"[A-Za-z0-9_-]{43}")  # secrets.token_urlsafe(32)
_HOST = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::([0-9]{1,5}))?")
_WILDCARD = {"", "0.0.0.0", "::", "[::]"}
_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _name(host: str) -> str:
    """A host name or IP address compared as the server compares them: lower case, no IPv6
    brackets, no trailing dot, IP addresses in their canonical form."""
    host = host.strip().lower().removeprefix("[").removesuffix("]").rstrip(".")
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return host


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def is_loopback(host: str) -> bool:
    """Whether a listening address admits only this machine (127.0.0.0/8, ::1, localhost)."""
    name = _name(host)
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def parse_origin(url: str) -> tuple[str, str, int]:
    """``(scheme, host, port)`` of an origin URL (``http``/``https`` and a host, an optional
    port, nothing else); ValueError saying what is wrong."""
    try:
        u = URL(url.strip())
    except ValueError:
        raise ValueError(f"{url!r} is not a URL") from None
    if u.scheme not in DEFAULT_PORTS:
        raise ValueError(f"{url!r} must start with http:// or https://")
    if not u.host:
        raise ValueError(f"{url!r} names no host")
    if u.raw_user or u.raw_password or u.raw_path not in ("", "/") or u.raw_query_string \
            or u.raw_fragment:
        raise ValueError(f"{url!r} must be only scheme://host[:port] (no path, query or user)")
    return u.scheme, _name(u.host), u.port or DEFAULT_PORTS[u.scheme]


def _split_host(value: str) -> tuple[str, int | None] | None:
    """(name, port or None) of a Host header; None when it is not one."""
    m = _HOST.fullmatch(value.strip())
    if m is None:
        return None
    port = None if m.group(2) is None else int(m.group(2))
    return _name(m.group(1)), port


@dataclass
class WebStats:
    """What the web port has refused or dropped (``/api/link`` ``server``)."""

    clients_dropped: int = 0  # websocket clients closed because they did not read
    connections_refused: int = 0  # connections beyond max_connections
    max_connections: int | None = None  # None: not capped (a test server)
    open_connections: Callable[[], int] = field(default=lambda: 0, repr=False)


class Guard:
    """Which hosts and origins a server serves, and its CSRF tokens."""

    def __init__(self, allow_origins: Iterable[str] = (), host: str | None = None) -> None:
        self.allowed = {parse_origin(u) for u in allow_origins}
        name = None if host is None else _name(host)
        self.host_name = None if name is None or name in _WILDCARD or _is_ip(name) else name
        self.stats = WebStats()
        self._key = secrets.token_bytes(32)

    # ------------------------------------------------------------ sessions

    def token(self, session_id: str) -> str:
        """The CSRF token of a session."""
        return hmac.new(self._key, session_id.encode(), hashlib.sha256).hexdigest()

    @staticmethod
    def cookie_name(request: web.Request) -> str:
        """The session cookie's name on this server: ``td_session_PORT``, PORT the one the
        request came in on (``td_session`` when it cannot be told)."""
        local = request.transport.get_extra_info("sockname") if request.transport else None
        return f"{SESSION_COOKIE}_{local[1]}" if isinstance(local, tuple) else SESSION_COOKIE

    def session_id(self, request: web.Request) -> str | None:
        """The request's session id (None: no cookie, or not one this server makes)."""
        sid = request.cookies.get(self.cookie_name(request))
        return sid if sid is not None and _SESSION_ID.fullmatch(sid) else None

    def set_session(self, request: web.Request, response: web.StreamResponse,
                    sid: str | None = None) -> str:
        """Give the response's client session ``sid`` (None: a new one); returns it."""
        sid = sid or secrets.token_urlsafe(32)
        response.set_cookie(self.cookie_name(request), sid, httponly=True, samesite="Strict",
                            path="/")
        response.headers["Cache-Control"] = "no-store"
        return sid

    # ------------------------------------------------------------ checks (None: passes)

    def check_host(self, request: web.Request) -> str | None:
        value = request.headers.get("Host")
        if value is None:
            return "the request has no Host header; send one (every browser does)"
        parsed = _split_host(value)
        local = request.transport.get_extra_info("sockname") if request.transport else None
        port = local[1] if isinstance(local, tuple) else None
        if parsed is not None:
            name, given = parsed
            if (name == "localhost" or _is_ip(name) or name == self.host_name) and (
                    port is None or (given or DEFAULT_PORTS["http"]) == port):
                return None
            for _, allowed, allowed_port in self.allowed:
                if name == allowed and given in (None, allowed_port):
                    return None
        here = f"http://127.0.0.1:{port}/" if port is not None else "its address"
        return (f"Host {value[:100]!r} is not an address this server answers on; browse to "
                f"{here} (or this machine's IP address), or start `touchdown ground` with "
                f"--allow-origin http://{value[:100]} to serve that name")

    def check_origin(self, request: web.Request) -> str | None:
        origin = request.headers.get("Origin")
        if origin is None:
            return None
        try:
            scheme, name, port = parse_origin(origin)
        except ValueError:
            scheme, name, port = "", "", 0
        if (scheme, name, port) in self.allowed:
            return None
        host = _split_host(request.headers.get("Host", ""))
        if scheme == "http" and host is not None:
            host_name, host_port = host[0], host[1] or DEFAULT_PORTS["http"]
            if port == host_port and (name == host_name
                                      or (is_loopback(name) and is_loopback(host_name))):
                return None
        return (f"cross-origin request refused: Origin {origin[:100]!r} is not this server's; "
                "open the page from this server, or start `touchdown ground` with "
                f"--allow-origin {origin[:100]} to trust that origin")

    def check_csrf(self, request: web.Request) -> str | None:
        if request.content_type != "application/json":
            return (f"{request.method} {request.path} needs Content-Type: application/json "
                    f"(got {request.content_type!r}) and the header {CSRF_HEADER}")
        sid = self.session_id(request)
        if sid is None:
            return (f"no session: GET /api/session first (it sets the session cookie) "
                    f"and send its csrf_token in the {CSRF_HEADER} header")
        given = request.headers.get(CSRF_HEADER, "")
        if not (given.isascii() and hmac.compare_digest(given, self.token(sid))):
            return (f"the {CSRF_HEADER} header is missing or not this session's token; "
                    "GET /api/session and send its csrf_token")
        return None


GUARD = web.AppKey("guard", Guard)


@web.middleware
async def guard_middleware(request: web.Request, handler: _Handler) -> web.StreamResponse:
    """Host, Origin and (state-changing requests) JSON + CSRF token, before any handler."""
    guard = request.app[GUARD]
    kind, problem = "host", guard.check_host(request)
    if problem is None:
        kind, problem = "origin", guard.check_origin(request)
    if problem is None and request.method in UNSAFE_METHODS:
        kind, problem = "csrf", guard.check_csrf(request)
    if problem is not None:
        log.warning("refused %s %s: %s", request.method, request.path, problem)
        return refusal(403, problem, kind)
    if request.method not in UNSAFE_METHODS:
        return await handler(request)
    try:  # its only wait is for the body: a client sending it slowly holds no handler long
        async with asyncio.timeout(BODY_TIMEOUT_S):
            return await handler(request)
    except TimeoutError:
        return error(408, f"the request took over {BODY_TIMEOUT_S:g} s (its body too slow?)")


@web.middleware
async def errors_middleware(request: web.Request, handler: _Handler) -> web.StreamResponse:
    """An unexpected exception is a one-line JSON 500; its traceback goes to the log only."""
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except Exception as exc:
        log.exception("internal error answering %s %s", request.method, request.path)
        return error(500, f"internal error answering {request.method} {request.path} "
                     f"({type(exc).__name__}); the server's log has the details")


def refusal(status: int, message: str, kind: str) -> web.Response:
    """A refused request: ``{"error": message, "refused": kind}`` (kind says what would cure
    it: ``csrf`` a fresh token, ``session`` signing in, ``role`` another role, ...)."""
    return json_response({"error": message, "refused": kind}, status)


def add_guard(app: web.Application, allow_origins: Iterable[str] = (),
              host: str | None = None) -> Guard:
    """Guard an application (before it starts): the middlewares. ``touchdown.ground.auth``
    adds ``/api/session`` and who may act."""
    guard = Guard(allow_origins, host)
    app[GUARD] = guard
    app.middlewares.extend([errors_middleware, guard_middleware])
    return guard


# ---------------------------------------------------------------- connection cap

_REFUSED = dumps({"error": f"too many connections to this server (at most {WEB_MAX_CONNECTIONS} "
                  "at once); close other pages or tools and try again"}).encode()


class _Refuse(asyncio.Protocol):
    """A connection beyond the cap: a 503, then closed."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        transport.write(b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                        b"Connection: close\r\nContent-Length: %d\r\n\r\n%s"
                        % (len(_REFUSED), _REFUSED))
        transport.close()


class CappedSite(web.BaseSite):
    """aiohttp's ``TCPSite`` with a cap: at most ``max_connections`` open at once (each
    websocket holds one); one more is answered 503 and closed, and counted in ``stats``."""

    def __init__(self, runner: web.BaseRunner, host: str, port: int, *,
                 max_connections: int = WEB_MAX_CONNECTIONS, stats: WebStats | None = None,
                 sock: Any = None) -> None:
        super().__init__(runner)
        self._host_port = (host, port)
        self._sock = sock
        self._max = max_connections
        self._stats = stats or WebStats()
        self._http = runner.server

    @property
    def name(self) -> str:
        return str(URL.build(scheme="http", host=self._host_port[0] or "0.0.0.0",
                             port=self.port))

    @property
    def port(self) -> int:
        if self._server is not None and self._server.sockets:  # type: ignore[attr-defined]
            return int(self._server.sockets[0].getsockname()[1])  # type: ignore[attr-defined]
        return self._host_port[1]

    async def start(self) -> None:
        await super().start()
        http = self._http
        assert http is not None
        stats, cap = self._stats, self._max
        stats.max_connections = cap
        stats.open_connections = lambda: len(http.connections)

        def protocol() -> asyncio.Protocol:
            if len(http.connections) >= cap:
                stats.connections_refused += 1
                return _Refuse()
            return http()

        loop = asyncio.get_running_loop()
        if self._sock is not None:
            self._server = await loop.create_server(protocol, sock=self._sock)
        else:
            self._server = await loop.create_server(protocol, *self._host_port)
