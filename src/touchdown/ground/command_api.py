"""The command API (shell): the command dictionary for the panel, the command history (query and
CSV export), and the people's actions on commands, over ``touchdown.ground.commanding``.

- ``GET /api/commands/dictionary`` — ``{"commands": [...], "rules": [...], "uplink": bool}``:
  each command's APID, opcode, significance, description, effect, arguments (type, unit,
  range or states) and verifiers; the flight rules; whether this server can send (a live
  flight's uplink).
- ``GET /api/commands?name=&limit=&after=`` — the history, oldest first, each command with
  every stage it reached (ground s, who, detail; the packet at release): ``{"commands",
  "next"}``. ``GET /api/commands/{id}`` — one. ``GET /api/commands.csv`` — every stage of
  every command, one row each.
- ``POST /api/commands`` ``{"name", "arguments": {...}}`` — queue a command (201); a normal one
  is released at once unless a flight rule blocks it.
- ``POST /api/commands/{id}/{arm|execute|approve|override|cancel}`` (``override``:
  ``{"reason"}``).
- ``GET /api/uplink`` — the command link: ``{"uplink": bool}`` and, with one, the FOP's state
  (alert, next N(S), acknowledged, frames outstanding and waiting) and the lander's last CLCW
  (from the telemetry frames' OCF, with its ground time).
- ``POST /api/uplink/{unlock|set_vr|resume}`` (``set_vr``: ``{"value"}``) — COP-1 directives,
  for a lander in lockout or a FOP that stopped (``touchdown.ground.command_link``).

State-changing requests need a signed-in user whose role has the ``commands`` permission
(``touchdown.ground.auth``); approving and overriding need the flight director's. Every
action, done or refused, is a row of the audit log; every stage a row of the archive's
command history. A server without an uplink (a recorded flight) answers 409 to a new command.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol

from aiohttp import web

from touchdown.errors import CommandError, CommandingError
from touchdown.ground.archive import encode_cursor
from touchdown.ground.auth import current_session, requires
from touchdown.ground.command_link import CommandLink
from touchdown.ground.commanding import Commanding, CommandRecord, Stage
from touchdown.ground.http import (
    CLOCK,
    INGEST,
    error,
    http_error,
    json_response,
    path_id,
    query_limit,
)
from touchdown.telemetry.cop import Fop
from touchdown.telemetry.dictionary import Command

TICK_S = 0.5  # s (ground time) between the link's timer checks
FOP_WINDOW = 4  # frames outstanding at most (K, within the FARM's positive window)
FOP_T1_S = 10.0  # s: resend what is unacknowledged this long (a round trip and the telemetry)
FOP_LIMIT = 10  # transmissions of one frame before the FOP stops and alerts


class Station(Protocol):
    """The ground station's transmitter as the command link uses it."""

    def radiate(self, octets: bytes, now: float) -> float:
        """Radiate a TC frame from ``now``; when its last bit leaves (s)."""

    def light_time_s(self, t: float) -> float:
        """The one-way light time at t (s)."""


COMMANDING = web.AppKey("commanding", Commanding)
COMMAND_LINK = web.AppKey("command_link", object)  # CommandLink, or None: no uplink


def command_json(c: Command) -> dict[str, Any]:
    """What the panel needs of a command."""
    return {"name": c.name, "apid": c.apid, "opcode": c.opcode,
            "significance": c.significance, "description": c.description,
            "effect": " ".join(c.effect.split()),
            "arguments": [{"name": a.name, "type": a.type, "unit": a.unit,
                           "description": a.description, "range": a.range,
                           "states": list(a.enum.values())} for a in c.arguments],
            "verifiers": [{"stage": v.stage, "condition": v.text, "window_s": v.window_s}
                          for v in c.verifiers]}


async def dictionary(request: web.Request) -> web.Response:
    d = request.app[INGEST].dictionary
    return json_response({"commands": [command_json(c) for c in d.commands],
                          "rules": [{"name": r.name, "commands": list(r.commands),
                                     "condition": r.text, "reason": " ".join(r.reason.split())}
                                    for r in d.rules],
                          "uplink": request.app[COMMAND_LINK] is not None})


async def history(request: web.Request) -> web.Response:
    limit = query_limit(request)
    try:
        rows, nxt = request.app[INGEST].archive.command_page(
            limit, request.query.get("after"), name=request.query.get("name"))
    except ValueError as exc:
        return error(400, str(exc))
    return json_response({"commands": rows, "next": nxt})


async def one(request: web.Request) -> web.Response:
    command_id = path_id(request)
    rows, _ = request.app[INGEST].archive.command_page(1, encode_cursor(command_id - 1))
    if not rows or rows[0]["id"] != command_id:
        return error(404, f"no command {command_id}: GET /api/commands lists them")
    return json_response(rows[0])


async def export_csv(request: web.Request) -> web.Response:
    """Every stage of every command, one CSV row each."""
    archive, out = request.app[INGEST].archive, io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "name", "arguments", "significance", "stage", "t_ground", "by",
                     "detail", "packet"])
    after = None
    while True:
        rows, after = archive.command_page(1_000, after)
        for c in rows:
            for s in c["stages"]:
                writer.writerow([c["id"], c["name"], json.dumps(c["arguments"], sort_keys=True),
                                 c["significance"], s["stage"], s["t"], s["by"] or "",
                                 s["detail"], s.get("packet", "")])
        if after is None:
            break
    return web.Response(text=out.getvalue(), content_type="text/csv", headers={
        "Content-Disposition": 'attachment; filename="commands.csv"'})


def _describe_new(request: web.Request) -> tuple[str, str | None, str]:
    return "queue", None, "send commands"


def _describe_action(request: web.Request) -> tuple[str, str | None, str]:
    action = request.match_info["action"]
    return action, f"command {request.match_info['id']}", f"{action} commands"


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json() if request.can_read_body else {}
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        raise http_error(web.HTTPBadRequest, 'the body must be JSON like {"name": '
                         '"engine_arm", "arguments": {}}') from None
    if not isinstance(body, dict):
        raise http_error(web.HTTPBadRequest, "the body must be a JSON object")
    return body


@requires("commands", _describe_new)
async def submit(request: web.Request) -> web.Response:
    """POST /api/commands: queue a command as the user signed in."""
    session = current_session(request)
    assert session is not None  # (auth_middleware let it through)
    if request.app[COMMAND_LINK] is None:
        return error(409, "this server has no uplink (a recorded flight): commands go to a live "
                     "flight, `touchdown fly SCENARIO --live`")
    body = await _body(request)
    name, arguments = body.get("name"), body.get("arguments", {})
    if not isinstance(name, str) or not isinstance(arguments, dict):
        return error(400, 'give {"name": a command of GET /api/commands/dictionary, '
                     '"arguments": {name: value}}')
    try:
        record = request.app[COMMANDING].submit(name, arguments, session.user, session.role)
    except CommandingError as exc:
        return error(exc.status, str(exc))
    except CommandError as exc:
        return error(400, str(exc))
    return json_response(record.to_dict(), 201)


@requires("commands", _describe_action)
async def act(request: web.Request) -> web.Response:
    """POST /api/commands/{id}/{action}: arm, execute, approve, override (with a reason) or
    cancel, as the user signed in."""
    session = current_session(request)
    assert session is not None
    commanding, command_id = request.app[COMMANDING], path_id(request)
    action = request.match_info["action"]
    body = await _body(request)
    try:
        if action == "override":
            reason = body.get("reason")
            record = commanding.override(command_id, session.user, session.role,
                                         reason if isinstance(reason, str) else "")
        else:
            record = getattr(commanding, action)(command_id, session.user, session.role)
    except CommandingError as exc:
        return error(exc.status, str(exc))
    return json_response(record.to_dict())


async def uplink_status(request: web.Request) -> web.Response:
    link = request.app[COMMAND_LINK]
    return json_response({"uplink": False} if link is None else {"uplink": True,
                                                                  **link.status()})


def _describe_directive(request: web.Request) -> tuple[str, str | None, str]:
    return f"uplink {request.match_info['directive']}", "uplink", "direct the uplink"


@requires("commands", _describe_directive)
async def directive(request: web.Request) -> web.Response:
    """POST /api/uplink/{directive}: a COP-1 directive, as the user signed in."""
    session = current_session(request)
    assert session is not None
    link = request.app[COMMAND_LINK]
    if link is None:
        return error(409, "this server has no uplink (a recorded flight)")
    body = await _body(request)
    try:
        link.directive(request.match_info["directive"], session.user, session.role,
                       body.get("value"))
    except CommandingError as exc:
        return error(exc.status, str(exc))
    return json_response({"uplink": True, **link.status()})


def _audit(app: web.Application) -> Callable[..., None]:
    """Commanding's audit rows, into the archive's audit log (committed at once)."""
    archive = app[INGEST].archive

    def write(user: str, role: str, action: str, target: str, detail: dict[str, Any],
              outcome: str) -> None:
        archive.add_audit(app[CLOCK](), user, role, action, target, detail, outcome)
        archive.flush()

    return write


def _keep(app: web.Application) -> Callable[[CommandRecord, Stage], None]:
    """Each stage into the archive's command history (committed at once)."""
    archive = app[INGEST].archive

    def keep(record: CommandRecord, stage: Stage) -> None:
        if stage.name == "queued":
            archive.add_command(record.id, record.name, record.arguments, record.significance)
        archive.add_command_stage(record.id, stage.name, stage.t, stage.by, stage.detail,
                                  record.packet if stage.name == "released" else None)
        archive.flush()

    return keep


def add_command_routes(app: web.Application, station: Station | None,
                       clock_rate: float = 1.0) -> None:
    """The command API; with a ``station`` (a live flight's uplink) the queue sends through
    COP-1 and the telemetry verifies (``clock_rate``: ground s per wall-clock s)."""
    ingest = app[INGEST]
    d, archive = ingest.dictionary, ingest.archive
    latest = archive.latest

    link: CommandLink | None = None
    commanding = Commanding(
        d, lambda: app[CLOCK](), lambda name: latest().get(name, (0.0, None))[1],
        lambda record: link.release(record) if link is not None else None, _audit(app),
        light_time_s=station.light_time_s if station is not None else lambda t: 1.3,
        on_stage=_keep(app), first_id=archive.last_command_id() + 1)
    if station is not None:
        fop = Fop(d.spacecraft_id, d.uplink.virtual_channel, FOP_WINDOW, FOP_T1_S, FOP_LIMIT)
        link = CommandLink(commanding, fop, station.radiate, station.light_time_s)
        ingest.packet_listeners.append(link.on_packet)
        ingest.ocf_listeners.append(link.on_ocf)
        app.cleanup_ctx.append(_ticking(link, TICK_S / clock_rate))
    app[COMMANDING], app[COMMAND_LINK] = commanding, link
    app.add_routes([
        web.get("/api/commands/dictionary", dictionary),
        web.get("/api/commands.csv", export_csv),
        web.get("/api/commands", history),
        web.get("/api/commands/{id}", one),
        web.post("/api/commands", submit),
        web.post("/api/commands/{id}/{action:arm|execute|approve|override|cancel}", act),
        web.get("/api/uplink", uplink_status),
        web.post("/api/uplink/{directive:unlock|set_vr|resume}", directive)])


def _ticking(link: CommandLink, every_s: float) -> Callable[[web.Application],
                                                             AsyncIterator[None]]:
    """A cleanup context running the link's timer and the verifiers' timeouts every
    ``every_s`` wall-clock seconds (TICK_S of ground time)."""

    async def run(app: web.Application) -> AsyncIterator[None]:
        async def tick() -> None:
            while True:
                await asyncio.sleep(every_s)
                link.tick()

        task = asyncio.create_task(tick())
        yield
        task.cancel()

    return run
