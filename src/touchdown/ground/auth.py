"""Operators, roles, sessions and the audit log (shell): who may change what on the ground
server, and the record of every attempt.

- **Users** and roles: ``touchdown.ground.users`` (in the archive, passwords as argon2id
  hashes; ``touchdown ground users add``).
- **Sessions.** ``POST /api/login`` ``{"name", "password"}`` checks the password (argon2, in a
  thread: the event loop goes on) and gives the client a *new* session id (the cookie of
  ``touchdown.ground.guard``: a session id known before signing in is worth nothing after) and
  its CSRF token. The server keeps ``session id -> user`` in memory (``Sessions``: at most
  ``MAX_SESSIONS``, the least recently used dropped first, each ending after ``IDLE_S`` unused;
  a restart ends them all). ``POST /api/logout`` ends it. ``GET /api/session`` answers
  ``{"csrf_token", "header", "user", "role", "read_only"}`` (user and role null when nobody is
  signed in).
- **Failed sign-ins** answer 401 with one message whatever was wrong (no name is confirmed),
  after the same argon2 work. Per client address (``LoginLimiter``): after ``FREE_FAILURES``
  failures in a row the next attempt must wait ``LOCKOUT_S``, doubling with each further
  failure up to ``LOCKOUT_MAX_S`` (429 with ``Retry-After``; the password is not even
  checked); a success, or ``FORGET_S`` without a failure, forgets them.
- **Authorisation.** Every state-changing request (after the guard's JSON + CSRF check) needs
  a signed-in session: 401 without one (``"refused": "session"``), 403 when the role may not
  (``"refused": "role"``); a read-only archive refuses them all (409). Handlers say what they
  need with ``requires``; one that does not is refused to everyone. GET requests stay open to
  whoever passes the guard.
- **Audit log** (``audit``, append-only: ``touchdown.ground.archive``): one row per sign-in,
  failed sign-in, sign-out, user added or removed and state-changing action (refused ones of a
  signed-in user too): ground time (the server's clock, s since the mission epoch), user, role,
  action, target, detail (JSON), and ``"ok"`` or the refusal. ``GET
  /api/audit?user=&limit=&after=`` lists it. Not written, so that a stranger cannot fill the
  archive: refusals of nobody signed in (401), and attempts refused while an address waits
  out its lockout (all but the first of each wait).
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import math
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from aiohttp import web

from touchdown.errors import ArchiveError
from touchdown.ground.archive import UserRecord
from touchdown.ground.guard import CSRF_HEADER, GUARD, UNSAFE_METHODS, refusal
from touchdown.ground.http import CLOCK, INGEST, error, http_error, json_response, query_limit
from touchdown.ground.users import (
    NAME,
    PASSWORD_MAX,
    ROLES,
    dummy_hash,
    refused,
    verify_password,
)

log = logging.getLogger("touchdown.ground")

MAX_SESSIONS = 1_000  # signed-in sessions kept at once; one more drops the least recently used
IDLE_S = 12 * 3600.0  # s (wall clock) a session may go unused before it ends
FREE_FAILURES = 5  # failed sign-ins in a row from one address before it must wait
LOCKOUT_S = 30.0  # s the first wait lasts; each further failure doubles it
LOCKOUT_MAX_S = 900.0  # s the longest wait
FORGET_S = 900.0  # s without a failure after which an address's failures are forgotten
MAX_ADDRESSES = 10_000  # client addresses whose failures are remembered at once
HASHING_AT_ONCE = 2  # argon2 checks run at once (each takes 64 MiB and ~0.1 s of a core)
LOGIN_EXAMPLE = '{"name": "ann", "password": "..."}'


# ---------------------------------------------------------------- sessions

@dataclass
class Session:
    """A signed-in session: who, with what role, since when (ground s); last used (wall s)."""

    user: str
    role: str
    t_signed_in: float
    last_used: float = field(default=0.0, repr=False)


class Sessions:
    """Session id -> signed-in user, bounded (``max_sessions``, the least recently used
    dropped first), each ending after ``idle_s`` unused. ``clock``: wall time (s)."""

    def __init__(self, max_sessions: int = MAX_SESSIONS, idle_s: float = IDLE_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_sessions, self.idle_s, self.clock = max_sessions, idle_s, clock
        self._by_id: collections.OrderedDict[str, Session] = collections.OrderedDict()

    def __len__(self) -> int:
        return len(self._by_id)

    def get(self, sid: str | None) -> Session | None:
        """The session's user (None: not signed in, or ended); using it keeps it alive."""
        s = self._by_id.get(sid) if sid is not None else None
        if s is None:
            return None
        now = self.clock()
        if now - s.last_used > self.idle_s:
            del self._by_id[sid]
            return None
        s.last_used = now
        self._by_id.move_to_end(sid)
        return s

    def add(self, sid: str, user: str, role: str, t_ground: float) -> Session:
        """Sign a session in (ground time ``t_ground``, s); ended ones go first, then the
        least recently used while the map is full."""
        now = self.clock()
        while self._by_id:
            oldest_id, oldest = next(iter(self._by_id.items()))
            if now - oldest.last_used <= self.idle_s and len(self._by_id) < self.max_sessions:
                break
            del self._by_id[oldest_id]
        s = Session(user, role, t_ground, now)
        self._by_id[sid] = s
        return s

    def remove(self, sid: str | None) -> Session | None:
        """Sign a session out; what it was (None: nobody was signed in)."""
        return self._by_id.pop(sid, None) if sid is not None else None


@dataclass
class _Failures:
    count: int = 0  # failures in a row
    pending: int = 0  # checks under way
    last: float = -math.inf  # wall s of the newest failure
    until: float = -math.inf  # wall s before which the address must wait
    noted: bool = False  # its current wait is in the audit log


class LoginLimiter:
    """Failed sign-ins per client address (see the module docstring). ``clock``: wall s."""

    def __init__(self, clock: Callable[[], float] = time.monotonic,
                 max_addresses: int = MAX_ADDRESSES) -> None:
        self.clock, self.max_addresses = clock, max_addresses
        self._by_address: collections.OrderedDict[str, _Failures] = collections.OrderedDict()

    def _get(self, address: str) -> _Failures | None:
        f = self._by_address.get(address)
        if f is not None and f.pending == 0 and self.clock() - f.last > FORGET_S:
            del self._by_address[address]
            return None
        return f

    def retry_after(self, address: str) -> float:
        """Seconds the address must wait before it may try (0: now)."""
        f = self._get(address)
        if f is None:
            return 0.0
        now = self.clock()
        if now < f.until:
            return f.until - now
        if f.pending and f.count + f.pending >= FREE_FAILURES:
            return 1.0  # the checks under way could use up what is left: not in parallel
        return 0.0

    def first_refusal(self, address: str) -> bool:
        """Whether this is the first attempt refused in the address's current wait."""
        f = self._get(address)
        if f is None or f.noted:
            return False
        f.noted = True
        return True

    def begin(self, address: str) -> None:
        """A password check from the address starts (``end`` says how it went)."""
        f = self._get(address)
        if f is None:
            while len(self._by_address) >= self.max_addresses:
                self._by_address.popitem(last=False)
            f = self._by_address[address] = _Failures()
        f.pending += 1
        self._by_address.move_to_end(address)

    def end(self, address: str, ok: bool) -> None:
        """The check is over: a success forgets the address's failures, a failure counts."""
        f = self._by_address.get(address)
        if f is None:
            return
        f.pending = max(0, f.pending - 1)
        if ok:
            del self._by_address[address]
            return
        now = self.clock()
        f.count += 1
        f.last = now
        if f.count >= FREE_FAILURES:
            f.until = now + min(LOCKOUT_MAX_S, LOCKOUT_S * 2 ** (f.count - FREE_FAILURES))
            f.noted = False


class Auth:
    """A server's signed-in sessions, its sign-in limiter and its queue of argon2 checks."""

    def __init__(self, sessions: Sessions | None = None,
                 limiter: LoginLimiter | None = None) -> None:
        self.sessions = sessions or Sessions()
        self.limiter = limiter or LoginLimiter()
        self._hashing = asyncio.Semaphore(HASHING_AT_ONCE)
        self._dummy: str | None = None  # checked for unknown names: the same work, no tell

    async def check(self, user: UserRecord | None, password: str) -> bool:
        """Whether the password is the user's, checked in a thread (None: an unknown name,
        checked against a made-up hash so that it takes as long)."""
        async with self._hashing:
            if self._dummy is None:
                self._dummy = await asyncio.to_thread(dummy_hash)
            target = user.password_hash if user is not None else self._dummy
            ok = await asyncio.to_thread(verify_password, target, password)
        return ok and user is not None


AUTH = web.AppKey("auth", Auth)


def current_session(request: web.Request) -> Session | None:
    """The request's signed-in session (None: nobody is signed in)."""
    return request.app[AUTH].sessions.get(request.app[GUARD].session_id(request))


def audit(request: web.Request, user: str | None, role: str | None, action: str,
          target: str | None, detail: dict[str, Any], outcome: str, *,
          t_ground: float | None = None) -> None:
    """A row of the audit log, committed at once (with whatever the request wrote before it),
    at ground time ``t_ground`` (s; default: the server's clock now)."""
    archive = request.app[INGEST].archive
    t = request.app[CLOCK]() if t_ground is None else t_ground
    archive.add_audit(t, user, role, action, target, detail, outcome)
    archive.flush()


def _audit_refusal(request: web.Request, *args: Any) -> None:
    """Audit a refusal; a write that fails is logged (and in /api/link), the refusal stands."""
    try:
        audit(request, *args)
    except ArchiveError:
        log.exception("the audit log cannot be written")


# ---------------------------------------------------------------- authorisation

Describe = Callable[[web.Request], tuple[str, str | None, str]]
_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Rule:
    """What a state-changing handler needs: a permission (None: nobody need be signed in)
    and how to name its action (``describe``, see ``requires``)."""

    permission: str | None
    describe: Describe


def requires(permission: str | None, describe: Describe) -> Callable[[_Handler], _Handler]:
    """Mark a state-changing handler with the permission a role needs to run it (None: none)
    and how to name it: ``describe(request)`` gives (audit action, target, what a refused role
    may not do, e.g. "acknowledge alarms")."""

    def mark(handler: _Handler) -> _Handler:
        handler.auth_rule = Rule(permission, describe)  # type: ignore[attr-defined]
        return handler

    return mark


def _a(role: str) -> str:
    return f"a{'n' if role[0] in 'aeiou' else ''} {role}"


@web.middleware
async def auth_middleware(request: web.Request, handler: _Handler) -> web.StreamResponse:
    """State-changing requests: on a writable archive (409), signed in (401), allowed by the
    role (403). Runs after the guard's checks."""
    if request.method not in UNSAFE_METHODS or request.match_info.http_exception is not None:
        return await handler(request)
    if request.app[INGEST].archive.read_only:
        return refusal(409, "this server opened the archive read-only (--read-only): nobody "
                       "signs in or acts here; restart it without --read-only to act",
                       "read_only")
    rule: Rule | None = getattr(request.match_info.handler, "auth_rule", None)
    if rule is not None and rule.permission is None:
        return await handler(request)
    session = current_session(request)
    if session is None:
        return refusal(401, f"sign in first: POST /api/login with {LOGIN_EXAMPLE} (mission "
                       "control's Sign in button)", "session")
    action, target, what = (rule.describe(request) if rule is not None
                            else (f"{request.method} {request.path}", None, "do this"))
    if rule is None or rule.permission not in ROLES.get(session.role, frozenset()):
        may = [r for r, p in ROLES.items() if rule is not None and rule.permission in p]
        message = (f"signed in as {session.user}, {_a(session.role)}: {_a(session.role)} may "
                   f"not {what}" + (f"; sign in as {' or '.join(_a(r) for r in may)}"
                                    if may else ""))
        _audit_refusal(request, session.user, session.role, action, target, {},
                       refused(403, message))
        return refusal(403, message, "role")
    return await handler(request)


# ---------------------------------------------------------------- handlers

def _session_body(request: web.Request, sid: str, s: Session | None) -> dict[str, Any]:
    return {"csrf_token": request.app[GUARD].token(sid), "header": CSRF_HEADER,
            "user": None if s is None else s.user, "role": None if s is None else s.role,
            "read_only": request.app[INGEST].archive.read_only}


async def session(request: web.Request) -> web.Response:
    """``GET /api/session``: the session's CSRF token and who is signed in; sets the session
    cookie (an existing one is kept, so tokens already given stay valid)."""
    guard = request.app[GUARD]
    sid = guard.session_id(request) or secrets.token_urlsafe(32)
    response = json_response(_session_body(request, sid, current_session(request)))
    guard.set_session(request, response, sid)
    return response


async def _credentials(request: web.Request) -> tuple[str, str]:
    """The sign-in body's name and password; HTTPBadRequest when it is not one."""
    try:
        body = await request.json() if request.can_read_body else None
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        body = None
    if not isinstance(body, dict) or not all(isinstance(body.get(k), str)
                                             for k in ("name", "password")):
        raise http_error(web.HTTPBadRequest, f"give a JSON body like {LOGIN_EXAMPLE}")
    return body["name"].strip()[:200], body["password"][:PASSWORD_MAX + 1]


@requires(None, lambda request: ("sign_in", None, "sign in"))
async def login(request: web.Request) -> web.Response:
    """``POST /api/login`` ``{"name", "password"}``: a new signed-in session."""
    auth, guard = request.app[AUTH], request.app[GUARD]
    address = request.remote or "unknown"
    wait = auth.limiter.retry_after(address)
    if wait > 0:
        message = (f"too many failed sign-ins from {address}: wait {math.ceil(wait)} s, then "
                   "try again")
        if auth.limiter.first_refusal(address):
            _audit_refusal(request, None, None, "sign_in", None, {"address": address},
                           refused(429, message))
        response = refusal(429, message, "rate")
        response.headers["Retry-After"] = str(math.ceil(wait))
        return response
    name, password = await _credentials(request)
    user = request.app[INGEST].archive.user(name) if NAME.fullmatch(name) else None
    auth.limiter.begin(address)
    ok = False
    try:
        ok = await auth.check(user, password)
    finally:
        auth.limiter.end(address, ok)
    if not ok or user is None:
        message = "sign-in failed: wrong name or password"
        _audit_refusal(request, None if user is None else user.name,
                       None if user is None else user.role, "sign_in", None,
                       {"address": address, "name_known": user is not None},
                       refused(401, message))
        return refusal(401, message, "credentials")
    old = auth.sessions.remove(guard.session_id(request))  # a session id known before: dropped
    sid = secrets.token_urlsafe(32)
    s = auth.sessions.add(sid, user.name, user.role, request.app[CLOCK]())
    detail: dict[str, Any] = {"address": address}
    if old is not None:
        detail["replaced"] = old.user
    audit(request, user.name, user.role, "sign_in", None, detail, "ok")
    response = json_response(_session_body(request, sid, s))
    guard.set_session(request, response, sid)
    return response


@requires(None, lambda request: ("sign_out", None, "sign out"))
async def logout(request: web.Request) -> web.Response:
    """``POST /api/logout``: end the signed-in session (a new, anonymous one in its place)."""
    auth, guard = request.app[AUTH], request.app[GUARD]
    s = auth.sessions.remove(guard.session_id(request))
    if s is not None:
        audit(request, s.user, s.role, "sign_out", None, {"address": request.remote}, "ok")
    sid = secrets.token_urlsafe(32)
    response = json_response(_session_body(request, sid, None))
    guard.set_session(request, response, sid)
    return response


async def audit_log(request: web.Request) -> web.Response:
    """``GET /api/audit?user=&limit=&after=``: the audit log, oldest first, in pages."""
    archive = request.app[INGEST].archive
    try:
        rows, nxt = archive.audit_page(query_limit(request), request.query.get("after") or None,
                                       user=request.query.get("user") or None)
    except ValueError as exc:
        return error(400, str(exc))
    return json_response({"audit": [asdict(r) for r in rows], "next": nxt})


def add_auth(app: web.Application, auth: Auth | None = None) -> Auth:
    """Sessions, signing in and out, authorisation and the audit log for a guarded
    application (after ``add_guard``)."""
    app[AUTH] = auth = auth or Auth()
    app.middlewares.append(auth_middleware)
    app.add_routes([web.get("/api/session", session),
                    web.post("/api/login", login),
                    web.post("/api/logout", logout),
                    web.get("/api/audit", audit_log)])
    return auth
