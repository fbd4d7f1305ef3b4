"""The ground server (shell): a REST + websocket API over the archive, and a TCP ingest listener.

REST (JSON; NaN and infinities are sent as null):

- ``GET /api/parameters`` — the telemetry dictionary: names, units, types, limits, enumerations,
  descriptions, periods and expiries (made from the dictionary).
- ``GET /api/history/{name}?start=&end=&limit=&newest=`` — ``[t_onboard, value]`` pairs
  (onboard s), oldest first; ``newest=1`` with ``limit=N``: the newest N.
- ``GET /api/latest`` — each parameter's newest value, its state, severity and staleness.
- ``GET /api/alarms?active=1`` and ``POST /api/alarms/{id}/acknowledge`` (body ``{"by": name}``).
- ``GET /api/link`` — link status (UNAVAIL / OK / FAILED), counters, loss of signal, stale
  packet types, the onboard time it is now, and the light time and the Earth's elevation at the
  lander's last reported position.
- ``GET /api/events?start=&end=`` — onboard events.
- ``GET /api/estimate`` — last known state and the free-fall outcome estimate (see
  ``touchdown.ground.status``; it rests on the lander's own estimates).

Websocket ``/api/realtime``: new parameter values, batched as
``{"type": "values", "values": [{"name", "t", "value", "state", "severity", "t_received"}, ...]}``
(everything queued for the client goes in one message); link status as ``{"type": "link", ...}``
when the status or the set of stale packets changes; the active alarms as
``{"type": "alarms", "active": [...]}`` when any is raised, escalated, acknowledged or cleared;
and on a live server, the clock every 0.2 s as ``{"type": "clock", "t_ground", "rate",
"t_onboard_now"}``. A new client first gets the link status and the active alarms. A client may
send ``{"subscribe": [names]}`` to receive only those parameters (default: all) and
``{"unsubscribe": [names]}``. ``touchdown.ground.web`` adds the browser UI.

TCP ingest: a byte stream in, whole packets out through a **stream decoder** — anything with
``feed(chunk: bytes) -> list[bytes]``: ``touchdown ground`` uses the TM frame decoder
(``telemetry.frames.FrameDecoder``: sync marker, CRC, frame counts); ``PacketStreamSplitter``
(concatenated space packets split by their length fields, no sync) remains for tests and
tools.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict
from typing import Any, Protocol

from aiohttp import WSMsgType, web

from touchdown.ground.alarms import AlarmError
from touchdown.ground.archive import AlarmRecord
from touchdown.ground.http import CLOCK, INGEST, dumps, error, http_error, json_response
from touchdown.ground.ingest import Ingest
from touchdown.ground.status import last_known_state, outcome_estimate
from touchdown.ground.web import FLIGHT, LIVE, add_ui
from touchdown.telemetry.flight_info import FlightInfo
from touchdown.telemetry.packets import SPACE_PACKET_HEADER_SIZE, packet_length

HOUSEKEEPING_S = 0.2  # s: how often the server commits the archive and checks for LOS
QUEUE_LEN = 50_000  # messages a slow websocket client may fall behind before values are dropped
BATCH_LEN = 2_000  # values sent in one websocket message at most
READ_LEN = 16_384  # octets read from an ingest stream at a time (the loop serves others between)

CLIENTS = web.AppKey("clients", set["_Client"])
CLOCK_RATE = web.AppKey("clock_rate", float)


class StreamDecoder(Protocol):
    """The seam for stream framing: bytes in, whole space packets out."""

    def feed(self, chunk: bytes) -> list[bytes]: ...


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


class _Client:
    """One websocket subscriber: its outgoing queue and the names it wants (None: all)."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_LEN)
        self.names: set[str] | None = None


def _alarm(a: AlarmRecord) -> dict[str, Any]:
    return {**asdict(a), "active": a.active, "acknowledged": a.acknowledged}


def _range(request: web.Request) -> tuple[float, float]:
    """start and end query parameters (onboard s); HTTPBadRequest names the bad one."""
    out = []
    for key, default in (("start", -math.inf), ("end", math.inf)):
        text = request.query.get(key, "")
        try:
            out.append(float(text) if text else default)
        except ValueError:
            raise http_error(web.HTTPBadRequest, f"{key}={text!r} is not a number; give "
                             "seconds since the mission epoch") from None
    return out[0], out[1]


# ---------------------------------------------------------------- handlers

async def parameters(request: web.Request) -> web.Response:
    d = request.app[INGEST].dictionary
    return json_response([
        {"name": f.qualified, "packet": p.name, "apid": p.apid, "field": f.name,
         "type": f.type, "unit": f.unit, "description": f.description,
         "limits": {s: list(r) for s, r in f.limits.items()},
         "enumeration": {str(k): v for k, v in f.enum.items()},
         "alarms": f.alarms, "period_s": p.period_s, "expiry_s": p.expiry_s,
         "split_by": f"{p.name}.{f.split_by}" if f.split_by else None}
        for p in d.packets for f in p.fields])


async def history(request: web.Request) -> web.Response:
    ingest = request.app[INGEST]
    name = request.match_info["name"]
    if name not in ingest.dictionary.parameters:
        return error(404, f"no parameter {name!r}; GET /api/parameters lists them")
    start, end = _range(request)
    limit = request.query.get("limit")
    if limit is not None and not limit.isdigit():
        return error(400, f"limit={limit!r} must be a whole number of samples")
    newest = request.query.get("newest", "") in ("1", "true", "yes")
    rows = ingest.archive.history(name, start, end, None if limit is None else int(limit),
                                  newest)
    return json_response({"name": name, "values": rows})


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


async def alarms(request: web.Request) -> web.Response:
    active = request.query.get("active", "") in ("1", "true", "yes")
    archived = request.app[INGEST].archive.alarms(active_only=active)
    return json_response([_alarm(a) for a in archived])


async def acknowledge(request: web.Request) -> web.Response:
    ingest = request.app[INGEST]
    try:
        alarm_id = int(request.match_info["id"])
    except ValueError:
        return error(400, f"alarm id {request.match_info['id']!r} must be a whole number")
    body: dict[str, Any] = {}
    if request.can_read_body:
        try:
            body = await request.json()
        except json.JSONDecodeError:
            return error(400, 'the body must be JSON like {"by": "your name"}')
    by = str(body.get("by", "")).strip() if isinstance(body, dict) else ""
    if not by:
        return error(400, 'say who acknowledges: a JSON body like {"by": "your name"}')
    try:
        a = ingest.alarms.acknowledge(alarm_id, by, request.app[CLOCK]())
    except AlarmError as exc:
        return error(404 if "does not exist" in str(exc) else 409, str(exc))
    ingest.archive.flush()  # an operator's action is committed at once
    return json_response(_alarm(a))


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
            "counters": ingest.counters,
            "last_received": link.last_any, "los_timeout_s": link.los_timeout_s,
            "los": None if link.los is None else asdict(link.los),
            "los_history": [asdict(x) for x in link.history],
            "stale_packets": link.stale_packets(now) if status != "UNAVAIL" else [],
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


def _link_message(app: web.Application, now: float) -> dict[str, Any]:
    return {"type": "link", **link_status(app[INGEST], now, app[FLIGHT])}


def _alarms_message(active: list[AlarmRecord]) -> dict[str, Any]:
    return {"type": "alarms", "active": [_alarm(a) for a in active]}


async def link(request: web.Request) -> web.Response:
    return json_response(link_status(request.app[INGEST], request.app[CLOCK](),
                                     request.app[FLIGHT]))


async def events(request: web.Request) -> web.Response:
    start, end = _range(request)
    return json_response([asdict(e) for e in request.app[INGEST].archive.events(start, end)])


async def estimate(request: web.Request) -> web.Response:
    ingest = request.app[INGEST]
    los = ingest.link.update(request.app[CLOCK]())
    state = last_known_state(ingest.dictionary, ingest.archive, los)
    est = outcome_estimate(state)
    return json_response({
        "los": None if los is None else asdict(los),
        "signal": "lost" if los is not None else "present or never acquired",
        "last_known_state": {n: {"t": t, "value": v, "state": state.states.get(n)}
                             for n, (t, v) in state.values.items()},
        "outcome": est.to_dict()})


async def realtime(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(heartbeat=30.0)
    await ws.prepare(request)
    client = _Client()
    request.app[CLIENTS].add(client)
    app = request.app
    for message in (_link_message(app, app[CLOCK]()), _alarms_message(app[INGEST].alarms.active())):
        client.queue.put_nowait(message)  # where things stand, before anything new

    async def send() -> None:
        """Everything queued goes out at once: runs of values as one ``values`` message (a
        message per value would cost more than ingesting it), anything else as it is."""
        while True:
            pending = [await client.queue.get()]
            while not client.queue.empty() and len(pending) < BATCH_LEN:
                pending.append(client.queue.get_nowait())
            values: list[dict[str, Any]] = []
            for m in [*pending, None]:
                if m is not None and m["type"] == "value":
                    values.append({k: v for k, v in m.items() if k != "type"})
                    continue
                if values:
                    await ws.send_str(dumps({"type": "values", "values": values}))
                    values = []
                if m is not None:
                    await ws.send_str(dumps(m))

    sender = asyncio.create_task(send())
    try:
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            try:
                cmd = json.loads(msg.data)
            except json.JSONDecodeError:
                await ws.send_json({"type": "error", "error": "send JSON like "
                                    '{"subscribe": ["nav.altitude_m"]}'})
                continue
            if not isinstance(cmd, dict):
                cmd = {}
            if "subscribe" in cmd:
                client.names = (client.names or set()) | set(cmd["subscribe"])
            if "unsubscribe" in cmd and client.names is not None:
                client.names -= set(cmd["unsubscribe"])
            await ws.send_json({"type": "subscribed", "names": sorted(client.names or [])})
    finally:
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sender
        request.app[CLIENTS].discard(client)
    return ws


def _broadcast(app: web.Application, message: dict[str, Any], name: str | None = None) -> None:
    for client in tuple(app[CLIENTS]):
        if name is not None and client.names is not None and name not in client.names:
            continue
        with contextlib.suppress(asyncio.QueueFull):  # a stalled client misses values
            client.queue.put_nowait(message)


async def _housekeeping(app: web.Application) -> AsyncIterator[None]:
    """Subscribe the websocket fan-out; commit and check the link every HOUSEKEEPING_S."""
    ingest, clock = app[INGEST], app[CLOCK]
    fields = ingest.dictionary.parameters

    def on_value(name: str, t: float, value: float, sev: str | None, t_rx: float) -> None:
        f = fields.get(name)
        _broadcast(app, {"type": "value", "name": name, "t": t, "value": value,
                         "state": f.state(value) if f and not math.isnan(value) else None,
                         "severity": sev, "t_received": t_rx}, name)

    unsubscribe = ingest.subscribe(on_value)

    async def tick() -> None:
        last_link: tuple[Any, ...] = ()
        last_alarms: tuple[Any, ...] = ()
        while True:
            await asyncio.sleep(HOUSEKEEPING_S)
            ingest.archive.maybe_commit()
            now = clock()
            if app[LIVE]:
                _broadcast(app, {"type": "clock", "t_ground": now, "rate": app[CLOCK_RATE],
                                 "t_onboard_now": onboard_now(ingest, now)})
            status = ingest.link.status(now)
            stale = ingest.link.stale_packets(now) if status != "UNAVAIL" else []
            if (status, stale) != last_link:
                _broadcast(app, _link_message(app, now))
                last_link = (status, stale)
            active = ingest.alarms.active()
            alarms = tuple((a.id, a.current_severity, a.severity, a.t_acknowledged)
                           for a in active)
            if alarms != last_alarms:
                _broadcast(app, _alarms_message(active))
                last_alarms = alarms

    task = asyncio.create_task(tick())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    unsubscribe()
    ingest.archive.flush()


def make_app(ingest: Ingest, clock: Callable[[], float] = time.time, *,
             flight: FlightInfo | None = None, live: bool = True,
             clock_rate: float = 1.0) -> web.Application:
    """The web application over an ingest (its dictionary, archive, alarms and link monitor),
    with the browser UI (``touchdown.ground.web``).

    ``clock`` gives ground time (s) for staleness, LOS and acknowledgements; use the same clock
    that stamps receive times. ``clock_rate``: its seconds per wall-clock second (a flight
    replayed ten times faster than real time: 10). ``flight``: the flight plan's facts (default:
    what the archive recorded). ``live``: telemetry may arrive (the page follows the clock)
    rather than only the archive being browsed.
    """
    app = web.Application()
    app[INGEST], app[CLOCK], app[CLIENTS] = ingest, clock, set()
    app[CLOCK_RATE] = clock_rate
    add_ui(app, flight or FlightInfo.from_dict(ingest.archive.flight()), live)
    app.add_routes([
        web.get("/api/parameters", parameters),
        web.get("/api/history/{name}", history),
        web.get("/api/latest", latest),
        web.get("/api/alarms", alarms),
        web.post("/api/alarms/{id}/acknowledge", acknowledge),
        web.get("/api/link", link),
        web.get("/api/events", events),
        web.get("/api/estimate", estimate),
        web.get("/api/realtime", realtime),
    ])
    app.cleanup_ctx.append(_housekeeping)
    return app


# ---------------------------------------------------------------- TCP ingest

async def packets_from_stream(reader: asyncio.StreamReader,
                              decoder: StreamDecoder) -> AsyncIterator[bytes]:
    """Whole packets from a byte stream, through ``decoder`` (the framing seam)."""
    while chunk := await reader.read(READ_LEN):
        for raw in decoder.feed(chunk):
            yield raw


async def start_ingest_server(ingest: Ingest, host: str = "127.0.0.1", port: int = 10015,
                              clock: Callable[[], float] = time.time,
                              decoder: Callable[[], StreamDecoder] = PacketStreamSplitter,
                              ) -> asyncio.Server:
    """A TCP listener: each connection's byte stream is decoded into packets and ingested,
    stamped with ``clock()`` (ground s) on arrival. ``decoder`` makes one decoder per
    connection."""

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        try:
            async for raw in packets_from_stream(reader, decoder()):
                ingest.packet(raw, clock())
        except ConnectionError:
            pass
        finally:
            ingest.archive.log_link(clock(), "disconnect", None, 0, f"ingest peer {peer} left")
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    return await asyncio.start_server(connection, host, port)
