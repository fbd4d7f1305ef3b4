"""The alarm API (shell): list, one alarm with its history, the alarm history, and the operator's
actions (acknowledge, shelve, unshelve, clear), each stamped with the ground clock (s since the
mission epoch) and who did it: the signed-in user.

- ``GET /api/alarms?active=1&limit=&after=`` — ``{"alarms": [...], "next": cursor|null}``
- ``GET /api/alarms/{id}?limit=&after=`` — ``{"alarm": {...}, "history": [...], "next": ...}``
- ``GET /api/alarm-history?parameter=&limit=&after=`` — ``{"history": [...], "next": ...}``
- ``POST /api/alarms/{id}/acknowledge`` ``{"comment"?}``, ``.../shelve`` ``{"comment"?,
  "duration_s"}``, ``.../unshelve`` ``{}``, ``.../clear`` ``{"comment"?}``

State-changing requests pass the guard (``touchdown.ground.guard``: same origin, JSON, CSRF
token) and need an operator or a flight director signed in (``touchdown.ground.auth``: 401,
403; a read-only archive 409) before they get here. Each action, done or refused, is a row of
the audit log, committed with what it changed.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from typing import Any

from aiohttp import web

from touchdown.errors import AlarmError
from touchdown.ground.archive import AlarmRecord
from touchdown.ground.auth import audit, current_session, requires
from touchdown.ground.http import (
    CLOCK,
    INGEST,
    error,
    http_error,
    json_response,
    path_id,
    query_limit,
)
from touchdown.ground.ingest import Ingest
from touchdown.ground.users import refused

COMMENT_MAX = 1_000  # characters of a comment or a name kept


def alarm_json(a: AlarmRecord, ingest: Ingest, t_ground: float) -> dict[str, Any]:
    """One alarm for the API: its fields, active/acknowledged/shelved now, and the names of
    its values when the parameter is an enumeration."""
    f = ingest.alarms.fields.get(a.parameter)

    def name(v: float) -> str | None:
        return f.state(v) if f is not None and f.enum and not math.isnan(v) else None

    return {**asdict(a), "active": a.active, "acknowledged": a.acknowledged,
            "shelved": a.active and a.shelved_at(t_ground),
            "state_text": {"trigger": name(a.trigger_value),
                           "most_severe": name(a.most_severe_value),
                           "current": name(a.current_value)}}


def alarms_message(ingest: Ingest, t_ground: float) -> dict[str, Any]:
    """The websocket's ``alarms`` message: every active alarm (shelved ones flagged)."""
    return {"type": "alarms",
            "active": [alarm_json(a, ingest, t_ground) for a in ingest.alarms.active()]}


def _cursor(request: web.Request) -> str | None:
    return request.query.get("after") or None


async def list_alarms(request: web.Request) -> web.Response:
    ingest, now = request.app[INGEST], request.app[CLOCK]()
    active = request.query.get("active", "") in ("1", "true", "yes")
    try:
        rows, nxt = ingest.archive.alarms_page(active, query_limit(request), _cursor(request))
    except ValueError as exc:
        return error(400, str(exc))
    rows = [ingest.alarms.get(a.id) or a for a in rows]  # active ones with their newest value
    return json_response({"alarms": [alarm_json(a, ingest, now) for a in rows], "next": nxt})


async def one_alarm(request: web.Request) -> web.Response:
    ingest, alarm_id = request.app[INGEST], path_id(request)
    a = ingest.alarms.get(alarm_id)
    if a is None:
        return error(404, f"alarm {alarm_id} does not exist; GET /api/alarms lists them")
    try:
        history, nxt = ingest.archive.alarm_history_page(query_limit(request), _cursor(request),
                                                         alarm_id=alarm_id)
    except ValueError as exc:
        return error(400, str(exc))
    return json_response({"alarm": alarm_json(a, ingest, request.app[CLOCK]()),
                          "history": [asdict(e) for e in history], "next": nxt})


async def alarm_history(request: web.Request) -> web.Response:
    archive = request.app[INGEST].archive
    try:
        rows, nxt = archive.alarm_history_page(query_limit(request), _cursor(request),
                                               parameter=request.query.get("parameter") or None)
    except ValueError as exc:
        return error(400, str(exc))
    return json_response({"history": [asdict(e) for e in rows], "next": nxt})


async def _body(request: web.Request) -> dict[str, Any]:
    """The action's JSON body (an optional ``comment``); HTTPBadRequest naming what is
    wrong. Who acts is the signed-in user, never the body's word."""
    example = '{"comment": "why"}'
    try:
        body = await request.json() if request.can_read_body else {}
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        raise http_error(web.HTTPBadRequest, f"the body must be JSON like {example}") from None
    if not isinstance(body, dict):
        raise http_error(web.HTTPBadRequest, f"the body must be a JSON object like {example}")
    if "by" in body:
        raise http_error(web.HTTPBadRequest, 'leave out "by": the one who acts is the user '
                         "signed in (POST /api/login)")
    comment = body.get("comment")
    if comment is not None and not isinstance(comment, str):
        raise http_error(web.HTTPBadRequest, "comment must be text")
    return {**body, "comment": comment.strip()[:COMMENT_MAX] if comment else None}


def _describe(request: web.Request) -> tuple[str, str | None, str]:
    action = request.match_info["action"]
    return f"alarm.{action}", f"alarm {request.match_info['id'][:40]}", f"{action} alarms"


async def _act(request: web.Request, by: str, now: float,
               detail: dict[str, Any]) -> web.Response:
    """Do the action as ``by`` at ground time ``now`` (s); an answer that is not 200 says why
    it was refused."""
    ingest, action = request.app[INGEST], request.match_info["action"]
    alarm_id = path_id(request)
    body = await _body(request)
    detail.update({k: body[k] for k in ("comment", "duration_s") if body.get(k) is not None})
    monitor = ingest.alarms
    try:
        if action == "acknowledge":
            a = monitor.acknowledge(alarm_id, by, now, body["comment"])
        elif action == "shelve":
            d = body.get("duration_s")
            if isinstance(d, bool) or not isinstance(d, int | float) or not -1e9 < d < 1e9:
                return error(400, 'give the shelve\'s length in s: {"duration_s": 600}, at most '
                             "a day")
            a = monitor.shelve(alarm_id, by, now, float(d), body["comment"])
        elif action == "unshelve":
            a = monitor.unshelve(alarm_id, by, now)
        else:
            a = monitor.clear(alarm_id, by, now, body["comment"])
    except AlarmError as exc:
        return error(exc.status, str(exc))
    detail["parameter"] = a.parameter
    return json_response(alarm_json(a, ingest, now))


@requires("alarms", _describe)
async def act(request: web.Request) -> web.Response:
    """POST /api/alarms/{id}/{action}: acknowledge, shelve, unshelve or clear, as the user
    signed in; audited with what it changed, in one commit."""
    session = current_session(request)
    assert session is not None  # (auth_middleware let it through)
    action, target, _ = _describe(request)
    detail: dict[str, Any] = {}
    now = request.app[CLOCK]()  # one time for the action and its audit row
    try:
        response = await _act(request, session.user, now, detail)
    except web.HTTPException as exc:  # a bad id or body (or one too large)
        audit(request, session.user, session.role, action, target, detail,
              refused(exc.status, _said(exc.text, exc.reason)), t_ground=now)
        raise
    outcome = ("ok" if response.status == 200 else
               refused(response.status, _said(response.text, response.reason)))
    audit(request, session.user, session.role, action, target, detail, outcome,
          t_ground=now)  # and commits what the action changed with it
    return response


def _said(text: str | None, default: str) -> str:
    """The ``error`` of a JSON answer's text (``default`` when it has none)."""
    try:
        said = json.loads(text or "")
    except (json.JSONDecodeError, TypeError):
        return default
    return str(said.get("error", default)) if isinstance(said, dict) else default


def add_alarm_routes(app: web.Application) -> None:
    app.add_routes([
        web.get("/api/alarms", list_alarms),
        web.get("/api/alarms/{id}", one_alarm),
        web.get("/api/alarm-history", alarm_history),
        web.post("/api/alarms/{id}/{action:acknowledge|shelve|unshelve|clear}", act)])
