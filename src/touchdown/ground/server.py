"""The ground server (shell): a REST + websocket API over the archive, and a TCP ingest listener.

REST (JSON; NaN and infinities are sent as null):

- ``GET /api/dictionary`` — the telemetry dictionary: ``{"spacecraft_id", "severities" (the one
  severity scale, mildest first), "alarm_severities" (the levels a limit or a state raises),
  "parameters"}``, what the Open MCT plugin loads.
- ``GET /api/parameters`` — the dictionary's parameters alone: names, units, types, limits,
  enumerations, descriptions, periods and expiries.
- ``GET /api/history/{name}?start=&end=&limit=&after=&newest=`` — ``{"name", "values":
  [[t_onboard, value], ...], "next"}`` (onboard s), oldest first; ``newest=1``: the newest
  ``limit`` (one page, ``next`` null).
- ``GET /api/latest`` — each parameter's newest value, its state, severity and staleness.
- ``/api/alarms``, ``/api/alarm-history`` and the operator's alarm actions: see
  ``touchdown.ground.alarm_api``.
- ``/api/commands`` (the command dictionary, the history and its CSV export, and the people's
  actions on commands): see ``touchdown.ground.command_api``.
- ``/api/images`` (the camera's images as far as they came down): see
  ``touchdown.ground.images``.
- ``GET /api/link`` — link status (UNAVAIL / OK / FAILED), counters, loss of signal, stale
  packet types, the onboard time it is now, and the light time and the Earth's elevation at the
  lander's last reported position.
- ``GET /api/events?start=&end=&limit=&after=`` — onboard events, ``{"events", "next"}``.
- ``GET /api/session`` — the session's CSRF token and who is signed in; ``POST /api/login``,
  ``POST /api/logout``; ``GET /api/audit`` — the audit log (``touchdown.ground.auth``).

Lists come in pages: ``limit`` (default 1,000, at most 10,000; ``touchdown.ground.http``) and
``after`` = the ``next`` of the page before (null: the last page). A bad ``limit``, ``start``,
``end``, cursor or id is a 400 naming it; an unexpected error a one-line 500 (the traceback
goes to the log).
- ``GET /api/estimate`` — last known state, the free-fall outcome estimate (see
  ``touchdown.ground.status``) and the predicted impact point with its 95 % ellipse
  (``touchdown.ground.impact``; ``impact_unavailable`` says why there is none). All rest on
  the lander's own estimates.

Websocket ``/api/realtime``: new parameter values, batched as
``{"type": "values", "values": [{"name", "t", "value", "state", "severity", "t_received"}, ...]}``
(everything queued for the client goes in one message); link status as ``{"type": "link", ...}``
when the status, the set of stale packets or the loss of signal changes; the active alarms as
``{"type": "alarms", "active": [...]}`` when any is raised, escalated, acknowledged or cleared;
and on a live server, the clock every 0.2 s as ``{"type": "clock", "t_ground", "rate",
"t_onboard_now", "held"}`` (after loss of signal it holds at the newest onboard time
received: ``rate`` 0, ``held`` "LOS"). A new client first gets the link status and the active
alarms. A client may send ``{"subscribe": [names]}`` to receive only those parameters (default:
all) and ``{"unsubscribe": [names]}``; the answer is ``{"type": "subscribed", "all", "count",
"names", "unknown"}`` (names the dictionary does not know are refused and only counted; at most
MAX_SUBSCRIPTIONS names), anything else an ``{"type": "error"}`` message (the connection stays).
A message over WS_MAX_MESSAGE octets closes it (1009). A client that does not read, so that
QUEUE_LEN messages wait for it, is closed (1013) and counted (``/api/link`` ``server``).
``touchdown.ground.web`` adds the browser UI.

TCP ingest: a byte stream in, whole packets out through a **stream decoder** — anything with
``feed(chunk: bytes) -> list[bytes]`` and ``close()`` at the stream's end: ``touchdown ground``
uses the TM frame decoder
(``telemetry.frames.FrameDecoder``: sync marker, CRC, frame counts); ``PacketStreamSplitter``
(concatenated space packets split by their length fields, no sync) remains for tests and
tools.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import math
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import asdict
from typing import Any, Protocol

from aiohttp import WSCloseCode, WSMsgType, web

from touchdown.errors import ArchiveError, TouchdownError
from touchdown.ground.alarm_api import add_alarm_routes, alarms_message
from touchdown.ground.alarms import GARBAGE
from touchdown.ground.auth import add_auth
from touchdown.ground.command_api import Station, add_command_routes
from touchdown.ground.guard import BODY_MAX, GUARD, add_guard
from touchdown.ground.http import (
    CLOCK,
    INGEST,
    dumps,
    error,
    http_error,
    json_response,
    query_limit,
)
from touchdown.ground.images import add_image_routes
from touchdown.ground.impact import ImpactEstimate, fixes_from_archive, impact_estimate
from touchdown.ground.ingest import Ingest
from touchdown.ground.junk import WINDOW_OCTETS, GarbageWindow, JunkSampler, TokenBucket
from touchdown.ground.status import last_known_state, outcome_estimate
from touchdown.ground.timeline import KINDS, page, timeline, to_csv
from touchdown.ground.web import FLIGHT, LIVE, add_ui
from touchdown.telemetry.dictionary import ALARM_SEVERITIES, SEVERITIES, Dictionary
from touchdown.telemetry.flight_info import FlightInfo
from touchdown.telemetry.packets import SPACE_PACKET_HEADER_SIZE, packet_length

log = logging.getLogger(__name__)

HOUSEKEEPING_S = 0.2  # s: how often the server commits the archive and checks for LOS
QUEUE_LEN = 10_000  # values (and other messages) a websocket client may have unsent; one more
#                    closes it (1013) as too slow: a non-reading client holds little
BATCH_LEN = 1_000  # values sent in one websocket message at most
MAX_SUBSCRIPTIONS = 256  # names one websocket client may subscribe to
WS_MAX_MESSAGE = 64 * 1024  # octets of one message from a websocket client (larger: closed, 1009)
WS_HEARTBEAT_S = 20.0  # s between websocket pings; a client that does not answer is closed
WS_CLOSE_S = 1.0  # s a dropped client gets to take its close frame before the socket is cut
READ_LEN = 16_384  # octets read from an ingest stream at a time (the loop serves others between)

CLIENTS = web.AppKey("clients", set["_Client"])
CLOCK_RATE = web.AppKey("clock_rate", float)


class StreamDecoder(Protocol):
    """The seam for stream framing: bytes in, whole space packets out."""

    def feed(self, chunk: bytes) -> list[bytes]: ...

    def close(self) -> None:
        """The stream ended (what is left over did not make a packet)."""


class PacketStreamSplitter:
    """Placeholder stream framing: concatenated CCSDS space packets, split by their length field.

    The frame decoder (ASM sync, frame CRC) replaces this; see the module docstring.
    """

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, chunk: bytes) -> list[bytes]:
        """Append chunk; return the whole packets now complete (oldest first)."""
        self._buf += chunk
        out = []
        while len(self._buf) >= SPACE_PACKET_HEADER_SIZE:
            n = packet_length(self._buf)
            if len(self._buf) < n:
                break
            out.append(bytes(self._buf[:n]))
            del self._buf[:n]
        return out

    def close(self) -> None:
        """The stream ended: a partial packet left over is dropped."""
        self._buf.clear()


class _Client:
    """One websocket subscriber: its outgoing queue (a value as JSON text, made once for every
    client, or a message) and the names it wants (None: all). ``dropped`` is set when its
    queue overflowed: the handler closes it."""

    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws
        self.queue: asyncio.Queue[str | dict[str, Any]] = asyncio.Queue(QUEUE_LEN)
        self.names: set[str] | None = None
        self.dropped = asyncio.Event()


@functools.lru_cache(maxsize=4096)
def _json_str(text: str | None) -> str:
    return json.dumps(text)


def _json_num(x: float) -> str:
    x = float(x)
    return repr(x) if math.isfinite(x) else "null"


def _value_json(name: str, t: float, value: float, state: str | None, severity: str | None,
                t_received: float) -> str:
    """One value of a ``values`` message as JSON (NaN and infinities null), made once however
    many clients it goes to."""
    return (f'{{"name": {_json_str(name)}, "t": {_json_num(t)}, "value": {_json_num(value)}, '
            f'"state": {_json_str(state)}, "severity": {_json_str(severity)}, '
            f'"t_received": {_json_num(t_received)}}}')


def _values_message(values: list[str]) -> str:
    return '{"type": "values", "values": [' + ", ".join(values) + "]}"


def _range(request: web.Request) -> tuple[float, float]:
    """start and end query parameters (onboard s); HTTPBadRequest names the bad one."""
    out = []
    for key, default in (("start", -math.inf), ("end", math.inf)):
        text = request.query.get(key, "")
        try:
            out.append(float(text) if text else default)
        except ValueError:
            out.append(math.nan)
        if math.isnan(out[-1]):
            raise http_error(web.HTTPBadRequest, f"{key}={text[:40]!r} is not a number; give "
                             "seconds since the mission epoch")
    return out[0], out[1]


def _after(request: web.Request) -> str | None:
    """The ``after`` cursor of a list endpoint (the ``next`` of the page before)."""
    return request.query.get("after") or None


# ---------------------------------------------------------------- handlers

def _parameters(d: Dictionary) -> list[dict[str, Any]]:
    return [{"name": f.qualified, "packet": p.name, "apid": p.apid, "field": f.name,
             "type": f.type, "unit": f.unit, "description": f.description,
             "limits": {s: list(r) for s, r in f.limits.items()},
             "enumeration": {str(k): v for k, v in f.enum.items()},
             "alarms": f.alarms, "period_s": p.period_s, "expiry_s": p.expiry_s,
             "split_by": f"{p.name}.{f.split_by}" if f.split_by else None}
            for p in d.packets for f in p.fields]


async def dictionary(request: web.Request) -> web.Response:
    d = request.app[INGEST].dictionary
    return json_response({"spacecraft_id": d.spacecraft_id, "severities": SEVERITIES,
                          "alarm_severities": ALARM_SEVERITIES, "parameters": _parameters(d)})


async def parameters(request: web.Request) -> web.Response:
    return json_response(_parameters(request.app[INGEST].dictionary))


async def history(request: web.Request) -> web.Response:
    ingest = request.app[INGEST]
    name = request.match_info["name"]
    if name not in ingest.dictionary.parameters:
        return error(404, f"no parameter {name[:100]!r}; GET /api/parameters lists them")
    start, end = _range(request)
    limit = query_limit(request)
    if request.query.get("newest", "") in ("1", "true", "yes"):  # the newest, one page only
        rows = ingest.archive.history(name, start, end, limit, newest=True)
        return json_response({"name": name, "values": rows, "next": None})
    try:
        rows, nxt = ingest.archive.history_page(name, start, end, limit, _after(request))
    except ValueError as exc:
        return error(400, str(exc))
    return json_response({"name": name, "values": rows, "next": nxt})


async def latest(request: web.Request) -> web.Response:
    ingest = request.app[INGEST]
    now = request.app[CLOCK]()
    fields = ingest.dictionary.parameters
    out = {}
    for name, (t, v) in ingest.archive.latest().items():
        f = fields.get(name)
        out[name] = {"t": t, "value": v,
                     "state": f.state(v) if f is not None and not math.isnan(v) else None,
                     "severity": ingest.alarms.severity_of(name),
                     "stale": f is not None and ingest.link.is_stale(name, now)}
    return json_response(out)


def link_status(ingest: Ingest, now: float, flight: FlightInfo | None = None) -> dict[str, Any]:
    """Link status, counters, LOS, stale packet types and, when the flight's epoch is known,
    the light time and the Earth's elevation at the lander's last reported position."""
    link = ingest.link
    status = link.status(now)
    latest = ingest.archive.latest()
    lat, lon = latest.get("nav.lat_deg"), latest.get("nav.lon_deg")
    light = (flight.light(lat[0], lat[1], lon[1]) if flight is not None and lat and lon
             and math.isfinite(lat[1]) and math.isfinite(lon[1]) else None)
    return {"status": status, "t_ground": now, "t_onboard_now": onboard_now(ingest, now),
            "counters": ingest.counters, "counters_by_apid": ingest.counters_by_apid(),
            "last_received": link.last_any, "los_timeout_s": link.los_timeout_s,
            "los": None if link.los is None else asdict(link.los),
            "los_history": [asdict(x) for x in link.history],
            "stale_packets": link.stale_packets(now) if status != "UNAVAIL" else [],
            "archive": {"path": ingest.archive.path, "read_only": ingest.archive.read_only,
                        "failure": ingest.archive.failure},
            **(light or {"light_time_s": None, "earth_elevation_deg": None})}


def onboard_now(ingest: Ingest, now: float) -> float | None:
    """The onboard time (s) it is now, at ground time ``now`` (s): the newest onboard time
    received plus the ground time since it arrived (None before the first packet and after
    loss of signal)."""
    link = ingest.link
    if (link.last_any is None or not math.isfinite(link.t_onboard_last)
            or link.update(now) is not None):
        return None
    return link.t_onboard_last + (now - link.last_any)


def clock_message(ingest: Ingest, now: float, rate: float) -> dict[str, Any]:
    """The websocket's clock at ground time ``now`` (s): onboard time now, running at ``rate``;
    after loss of signal it holds (rate 0, ``held`` "LOS") at the newest onboard time
    received, so displays keep what was last seen rather than run on into the silence."""
    t = onboard_now(ingest, now)
    los = ingest.link.los
    if t is None and los is not None:
        return {"type": "clock", "t_ground": now, "rate": 0.0,
                "t_onboard_now": los.t_onboard_last, "held": "LOS"}
    return {"type": "clock", "t_ground": now, "rate": rate, "t_onboard_now": t, "held": None}


def server_status(app: web.Application) -> dict[str, Any]:
    """The web port's own state: websocket clients now and dropped as too slow, connections
    open and refused over the cap (``/api/link`` ``server``)."""
    stats = app[GUARD].stats
    return {"clients": len(app[CLIENTS]), "clients_dropped": stats.clients_dropped,
            "connections": stats.open_connections(), "max_connections": stats.max_connections,
            "connections_refused": stats.connections_refused}


def _link_message(app: web.Application, now: float) -> dict[str, Any]:
    return {"type": "link", **link_status(app[INGEST], now, app[FLIGHT]),
            "server": server_status(app)}


async def link(request: web.Request) -> web.Response:
    app = request.app
    return json_response({**link_status(app[INGEST], app[CLOCK](), app[FLIGHT]),
                          "server": server_status(app)})


async def events(request: web.Request) -> web.Response:
    start, end = _range(request)
    try:
        rows, nxt = request.app[INGEST].archive.events_page(start, end, query_limit(request),
                                                            _after(request))
    except ValueError as exc:
        return error(400, str(exc))
    return json_response({"events": [asdict(e) for e in rows], "next": nxt})


async def estimate(request: web.Request) -> web.Response:
    ingest = request.app[INGEST]
    los = ingest.link.update(request.app[CLOCK]())
    state = last_known_state(ingest.dictionary, ingest.archive, los)
    est = outcome_estimate(state)
    impact, why = await _impact(ingest)
    return json_response({
        "los": None if los is None else asdict(los),
        "signal": "lost" if los is not None else "present or never acquired",
        "last_known_state": {n: {"t": t, "value": v, "state": state.states.get(n)}
                             for n, (t, v) in state.values.items()},
        "outcome": est.to_dict(),
        "impact": None if impact is None else impact.to_dict(),
        "impact_unavailable": why})


async def _impact(ingest: Ingest) -> tuple[ImpactEstimate | None, str | None]:
    """The impact point of the last navigation state (``ground.impact``), or why there is
    none."""
    from touchdown.moon.dem_tiles import load_truth_terrain

    fixes = fixes_from_archive(ingest.archive)
    if not any(f.usable for f in fixes):
        return None, "no navigation state received yet"
    try:  # the terrain loads in a thread the first time: ingest goes on meanwhile
        terrain = await asyncio.to_thread(load_truth_terrain)
        return impact_estimate(fixes, terrain), None
    except TouchdownError as exc:
        return None, f"no terrain map for the impact point: {exc}"


async def timeline_view(request: web.Request) -> web.Response:
    """The operator's timeline (``ground.timeline``): ``kind`` (comma-separated, of
    ``KINDS``) and ``severity`` (the least shown) filter it; pages of ``limit`` with ``next``
    cursors (``after``), or ``format=csv``: the whole of it, exported."""
    q = request.query
    kinds = frozenset(k for k in q.get("kind", "").split(",") if k) or None
    if kinds is not None and not kinds <= set(KINDS):
        return error(400, f"kind={q['kind'][:60]!r} is not a list of kinds; give some of "
                     f"{', '.join(KINDS)}, comma-separated")
    severity = q.get("severity", SEVERITIES[0])
    if severity not in SEVERITIES:
        return error(400, f"severity={severity[:40]!r} is not a severity; give one of "
                     f"{', '.join(SEVERITIES)}")
    if q.get("format", "json") not in ("json", "csv"):
        return error(400, f"format={q['format'][:20]!r} is not a format; give json or csv")
    ingest = request.app[INGEST]
    entries = timeline(ingest.archive, ingest.dictionary, ingest.link.los_timeout_s,
                       request.app[CLOCK](), kinds, severity)
    if q.get("format") == "csv":  # the export: whole
        return web.Response(text=to_csv(entries), content_type="text/csv", headers={
            "Content-Disposition": 'attachment; filename="timeline.csv"'})
    try:
        rows, nxt = page(entries, query_limit(request), _after(request))
    except ValueError as exc:
        return error(400, str(exc))
    return json_response({"entries": [asdict(e) for e in rows], "next": nxt})


_COMMANDS = ('send JSON like {"subscribe": ["nav.altitude_m"]} or {"unsubscribe": '
             '["nav.altitude_m"]}')


def _command(app: web.Application, client: _Client, text: str) -> dict[str, Any]:
    """Do what one message from a websocket client asks; the answer to send it. Names the
    dictionary does not know are refused and counted, never kept or echoed."""
    try:
        cmd = json.loads(text)
    except (ValueError, RecursionError):
        cmd = None
    if not isinstance(cmd, dict) or not {"subscribe", "unsubscribe"} & cmd.keys():
        return {"type": "error", "error": _COMMANDS}
    lists = {k: cmd[k] for k in ("subscribe", "unsubscribe") if k in cmd}
    for key, names in lists.items():
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            return {"type": "error", "error": f'"{key}" takes a list of parameter names: '
                    + _COMMANDS}
    known = app[INGEST].dictionary.parameters
    sub = {n for n in lists.get("subscribe", ()) if n in known}
    unsub = {n for n in lists.get("unsubscribe", ()) if n in known}
    unknown = sum(len(v) for v in lists.values()) - len(sub) - len(unsub)
    names = client.names
    if "subscribe" in lists:
        names = (names or set()) | sub
    if names is not None:
        names = names - unsub
    if names is not None and len(names) > MAX_SUBSCRIPTIONS:
        return {"type": "error", "error": f"at most {MAX_SUBSCRIPTIONS} names per client "
                f"(this would make {len(names)}); unsubscribe some first", "unknown": unknown}
    client.names = names
    return {"type": "subscribed", "all": names is None, "count": len(names or ()),
            "names": sorted(names or ()), "unknown": unknown}


async def realtime(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(heartbeat=WS_HEARTBEAT_S, max_msg_size=WS_MAX_MESSAGE)
    await ws.prepare(request)
    client = _Client(ws)
    request.app[CLIENTS].add(client)
    app = request.app
    now = app[CLOCK]()
    first = [clock_message(app[INGEST], now, app[CLOCK_RATE])] if app[LIVE] else []
    for message in (*first, _link_message(app, now), alarms_message(app[INGEST], now)):
        client.queue.put_nowait(message)  # where things stand (the clock before the link), first

    async def send() -> None:
        """Everything queued goes out at once: runs of values as one ``values`` message (a
        message per value would cost more than ingesting it), anything else as it is. Only
        the text is held while the socket takes it."""
        while True:
            batch = [await client.queue.get()]
            while not client.queue.empty() and len(batch) < BATCH_LEN:
                batch.append(client.queue.get_nowait())
            texts: list[str] = []
            values: list[str] = []
            for m in batch:
                if isinstance(m, str):  # a value, already JSON
                    values.append(m)
                    continue
                if values:
                    texts.append(_values_message(values))
                    values = []
                texts.append(dumps(m))
            if values:
                texts.append(_values_message(values))
            del batch, values
            try:
                for text in texts:
                    await ws.send_str(text)
            except ConnectionError:  # the client went: the handler's loop ends too
                return

    async def close_when_dropped() -> None:
        """A client whose queue overflowed (it does not read) is closed (1013) and, if it
        will not even take the close frame, cut off."""
        await client.dropped.wait()
        sender.cancel()
        try:
            await asyncio.wait_for(ws.close(code=WSCloseCode.TRY_AGAIN_LATER, message=(
                f"too slow: {QUEUE_LEN} messages unsent; read faster or subscribe to fewer "
                "names").encode()), WS_CLOSE_S)
        except TimeoutError:
            pass
        finally:
            if request.transport is not None:
                request.transport.abort()

    sender = asyncio.create_task(send())
    closer = asyncio.create_task(close_when_dropped())
    try:
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                await ws.send_json(_command(app, client, msg.data))
    finally:
        request.app[CLIENTS].discard(client)
        for task in (sender, closer):
            if task is not closer or not client.dropped.is_set():
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    return ws


def _broadcast(app: web.Application, message: str | dict[str, Any],
               name: str | None = None) -> None:
    """Queue a message for every client that wants it; a client whose queue is full does not
    read: it is dropped (closed, counted) rather than let fall further behind."""
    for client in tuple(app[CLIENTS]):
        if name is not None and client.names is not None and name not in client.names:
            continue
        try:
            client.queue.put_nowait(message)
        except asyncio.QueueFull:
            app[CLIENTS].discard(client)
            app[GUARD].stats.clients_dropped += 1
            client.dropped.set()


async def _housekeeping(app: web.Application) -> AsyncIterator[None]:
    """Subscribe the websocket fan-out; commit and check the link every HOUSEKEEPING_S."""
    ingest, clock = app[INGEST], app[CLOCK]
    fields = ingest.dictionary.parameters

    def on_value(name: str, t: float, value: float, sev: str | None, t_rx: float) -> None:
        if not app[CLIENTS]:
            return
        f = fields.get(name)
        state = f.state(value) if f and not math.isnan(value) else None
        _broadcast(app, _value_json(name, t, value, state, sev, t_rx), name)

    unsubscribe = ingest.subscribe(on_value)

    async def tick() -> None:
        last_link: tuple[Any, ...] = ()
        last_alarms: tuple[Any, ...] = ()
        while True:
            await asyncio.sleep(HOUSEKEEPING_S)
            try:
                ingest.archive.maybe_commit()
            except ArchiveError:  # archive.failure says why, in /api/link and on stderr
                log.exception("the archive cannot be written")
            now = clock()
            if app[LIVE]:
                _broadcast(app, clock_message(ingest, now, app[CLOCK_RATE]))
            status = ingest.link.status(now)
            stale = ingest.link.stale_packets(now) if status != "UNAVAIL" else []
            los = ingest.link.los  # a new loss of signal is news even while the status stays
            link_now = (status, stale, None if los is None else los.t_los)
            if link_now != last_link:
                _broadcast(app, _link_message(app, now))
                last_link = link_now
            alarms = tuple((a.id, a.current_severity, a.severity, a.t_acknowledged,
                            a.shelved_at(now)) for a in ingest.alarms.active())
            if alarms != last_alarms:
                _broadcast(app, alarms_message(ingest, now))
                last_alarms = alarms

    task = asyncio.create_task(tick())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    unsubscribe()
    with contextlib.suppress(ArchiveError):  # already said: archive.failure, the log
        ingest.archive.flush()


async def _close_websockets(app: web.Application) -> None:
    """The server is stopping: every websocket client is told so (1001) rather than waited
    for."""
    for client in tuple(app[CLIENTS]):
        with contextlib.suppress(ConnectionError, TimeoutError):
            await asyncio.wait_for(client.ws.close(code=WSCloseCode.GOING_AWAY,
                                                   message=b"the ground server is stopping"),
                                   WS_CLOSE_S)


def make_app(ingest: Ingest, clock: Callable[[], float] = time.time, *,
             flight: FlightInfo | None = None, live: bool = True,
             clock_rate: float = 1.0, allow_origins: Sequence[str] = (),
             host: str | None = None, station: Station | None = None) -> web.Application:
    """The web application over an ingest (its dictionary, archive, alarms and link monitor),
    with the browser UI (``touchdown.ground.web``).

    ``clock`` gives ground time (s) for staleness, LOS and acknowledgements; use the same clock
    that stamps receive times. ``clock_rate``: its seconds per wall-clock second (a flight
    replayed ten times faster than real time: 10). ``flight``: the flight plan's facts (default:
    what the archive recorded). ``live``: telemetry may arrive (the page follows the clock)
    rather than only the archive being browsed. ``station``: a live flight's uplink, through
    which the command API sends (``touchdown.ground.command_api``; without one it answers
    history only).

    Guarded (``touchdown.ground.guard``): requests must name this server in ``Host`` (an IP
    address or localhost, ``host`` when it is a name, or an ``allow_origins`` host) and, with an
    ``Origin``, come from it or from one of ``allow_origins`` (``scheme://host[:port]``);
    state-changing ones need JSON and the session's CSRF token (``GET /api/session``), and a
    user signed in whose role allows them (``touchdown.ground.auth``).
    """
    app = web.Application(client_max_size=BODY_MAX)
    add_guard(app, allow_origins, host)
    add_auth(app)
    app[INGEST], app[CLOCK], app[CLIENTS] = ingest, clock, set()
    app[CLOCK_RATE] = clock_rate
    add_ui(app, flight or FlightInfo.from_dict(ingest.archive.flight()), live)
    app.add_routes([
        web.get("/api/dictionary", dictionary),
        web.get("/api/parameters", parameters),
        web.get("/api/history/{name}", history),
        web.get("/api/latest", latest),
        web.get("/api/link", link),
        web.get("/api/events", events),
        web.get("/api/estimate", estimate),
        web.get("/api/timeline", timeline_view),
        web.get("/api/realtime", realtime),
    ])
    add_alarm_routes(app)
    add_command_routes(app, station, clock_rate)
    add_image_routes(app)
    app.cleanup_ctx.append(_housekeeping)
    app.on_shutdown.append(_close_websockets)
    return app


# ---------------------------------------------------------------- TCP ingest

MAX_CONNECTIONS = 4  # ingest connections open at once; more are refused
IDLE_TIMEOUT_S = 60.0  # s (wall clock) without an octet before an ingest connection is closed
GARBAGE_LIMIT = 0.5  # share of a stream's recent octets not framing above which it is throttled
JUNK_RATE = 8 << 20  # octets/s at most from a throttled stream
CONNECTION_LOG_PER_MIN = 60  # connection lines (refused, idle, disconnect) logged a minute


async def start_ingest_server(ingest: Ingest, host: str = "127.0.0.1", port: int = 10015,
                              clock: Callable[[], float] = time.time,
                              decoder: Callable[[], StreamDecoder] = PacketStreamSplitter,
                              *, junk: JunkSampler | None = None,
                              max_connections: int = MAX_CONNECTIONS,
                              idle_timeout_s: float = IDLE_TIMEOUT_S,
                              garbage_limit: float = GARBAGE_LIMIT,
                              junk_rate: float = JUNK_RATE,
                              garbage_window: int = WINDOW_OCTETS) -> asyncio.Server:
    """A TCP listener: each connection's byte stream is decoded into packets and ingested,
    stamped with ``clock()`` (ground s) on arrival. ``decoder`` makes one decoder per
    connection.

    Bounds: at most ``max_connections`` at once (one more is closed at once and logged
    ``refused``); a connection that sends nothing for ``idle_timeout_s`` (wall clock) is closed
    (logged ``idle``). A decoder that counts what did not frame (``octets_fed`` and
    ``octets_discarded``, as ``FrameDecoder``) has its stream watched over ``garbage_window``
    octets or more: the share not framing is the ground parameter ``link.garbage`` (the worst
    open stream's, checked by the alarm monitor whenever a window completes or a stream ends),
    and a stream over ``garbage_limit`` is throttled: after each read it waits as long as the
    read took to handle, and at least long enough to keep to ``junk_rate`` octets/s, so other
    connections and the web API go on (every stream lets them run after each read of
    ``READ_LEN`` octets). ``junk`` (the decoders' ``JunkSampler``) is flushed when a stream
    ends. Connection lines in the link log are limited to ``CONNECTION_LOG_PER_MIN`` a
    minute of ground time; the others are counted into the next line.
    """
    open_windows: dict[int, GarbageWindow] = {}
    log_budget = TokenBucket(CONNECTION_LOG_PER_MIN)
    unlogged: dict[str, int] = {}
    garbage = [0.0]  # link.garbage last reported

    def log_line(kind: str, detail: str) -> None:
        t = clock()
        if log_budget.take(t):
            n = unlogged.pop(kind, 0)
            more = f" (and {n} more not logged since the last)" if n else ""
            ingest.archive.log_link(t, kind, None, 1 + n, detail + more)
        else:
            unlogged[kind] = unlogged.get(kind, 0) + 1

    def report_garbage() -> None:
        value = max((w.fraction for w in open_windows.values() if w.fraction is not None),
                    default=0.0)
        if value or garbage[0]:
            t = clock()
            ingest.alarms.check(GARBAGE.qualified, t_onboard=t, value=value, t_ground=t)
        garbage[0] = value

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        if len(open_windows) >= max_connections:
            log_line("refused", f"ingest peer {peer} refused: {max_connections} ingest connections "
                "are open, the most allowed")
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
            return
        key, window, dec = id(writer), GarbageWindow(garbage_window), decoder()
        open_windows[key] = window
        counted = hasattr(dec, "octets_fed") and hasattr(dec, "octets_discarded")
        status: Any = dec if counted else None  # a FrameDecoder: says how much did not frame
        kind, why = "disconnect", "left"
        fed = 0  # octets this connection delivered: one that delivered none leaves no trace
        try:
            while True:
                try:
                    async with asyncio.timeout(idle_timeout_s):
                        chunk = await reader.read(READ_LEN)
                except TimeoutError:
                    kind, why = "idle", f"sent nothing for {idle_timeout_s:g} s: closed"
                    break
                if not chunk:
                    break
                fed += len(chunk)
                t0 = time.perf_counter()
                for raw in dec.feed(chunk):
                    ingest.packet(raw, clock())
                pause = 0.0
                if status is not None:
                    if window.update(status.octets_fed, status.octets_discarded):
                        report_garbage()
                    if window.fraction is not None and window.fraction > garbage_limit:
                        pause = max(time.perf_counter() - t0, len(chunk) / junk_rate)
                # Let the others run after every read: a read of octets already buffered does
                # not wait, and the transport buffers up to 256 KiB (~11,000 values) at once.
                await asyncio.sleep(pause)
        except ConnectionError:
            pass
        except asyncio.CancelledError:  # the server is stopping: end here, logged, not raised
            kind, why = "closed", "closed: the server stopped"  # (asyncio 3.11 would print it)
        except ArchiveError as exc:  # the disk is full, the file gone: say so, keep serving
            kind, why = "closed", f"closed: the archive cannot be written ({exc})"
            log.error("ingest peer %s %s", peer, why)
        finally:
            del open_windows[key]
            try:
                dec.close()  # what was left waiting for a frame's end did not frame
                if window.fraction:
                    report_garbage()
                if junk is not None:
                    junk.flush()
                if fed:  # (a port scan or an idle probe writes nothing into the evidence)
                    log_line(kind, f"ingest peer {peer} {why} after {fed:,} octets")
            except ArchiveError:
                pass  # already said, and in /api/link (archive.failure)
            finally:
                writer.close()
                with contextlib.suppress(ConnectionError):
                    await writer.wait_closed()

    return await asyncio.start_server(connection, host, port)
