"""``touchdown ground``: the ground server (archive, alarms, LOS, REST + websocket, TCP ingest),
and ``touchdown ground ingest FILE``: a downlink recording into an archive, with what the
ground saw. Thin over ``touchdown.ground``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import socket
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from touchdown.cli.common import DefaultGroup, errors_to_exit, load_scenario
from touchdown.cli.flight import _clock
from touchdown.errors import InputError, ListenError
from touchdown.files import jsonable
from touchdown.telemetry.flight_info import FlightInfo

if TYPE_CHECKING:
    from touchdown.ground.ingest import Ingest
    from touchdown.ground.replay import ReplayReport
    from touchdown.telemetry.downlink import DownlinkedFlight

HOST_HELP = ("Address to listen on (web API and TCP ingest). The default 127.0.0.1 admits "
             "only this machine; 0.0.0.0 exposes the server, unauthenticated, to every "
             "network this machine is on.")


def _open(archive_path: Path, los_timeout: float | None, *, new: bool = False,
          read_only: bool = False):  # -> Ingest
    """The archive (refused with the fix when missing without ``new``, damaged, locked by
    another writer, or not an archive) under an ingest."""
    from touchdown.ground.archive import Archive, ArchiveOpenError
    from touchdown.ground.ingest import Ingest
    from touchdown.telemetry.dictionary import load_dictionary

    try:
        archive = Archive(archive_path, create=new, read_only=read_only)
    except ArchiveOpenError as exc:
        raise click.BadParameter(str(exc), param_hint="--archive") from None
    try:
        return Ingest(load_dictionary(), archive, los_timeout)
    except BaseException:
        archive.close()
        raise


def ground_clock(flight: FlightInfo) -> Callable[[], float]:
    """The ground clock of a live station: wall-clock UTC as s since the flight's epoch (the
    archive's one time base; without a known epoch, s since 1970-01-01T00:00Z)."""
    epoch = 0.0 if flight.epoch_utc is None else flight.epoch_utc.timestamp()
    return lambda: time.time() - epoch


async def _get(ingest, path: str, clock: Callable[[], float],
               flight: FlightInfo) -> tuple[int, str]:
    """Answer one GET in-process (a throwaway listener on a free local port)."""
    from aiohttp import ClientSession, web

    from touchdown.ground.server import make_app

    runner = web.AppRunner(make_app(ingest, clock, flight=flight, live=False))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        host, port = runner.addresses[0][:2]
        async with ClientSession() as session, session.get(f"http://{host}:{port}{path}") as r:
            return r.status, await r.text()
    finally:
        await runner.cleanup()


async def start_web(app, host: str, port: int, sock=None):  # -> (web.AppRunner, port)
    """Serve app on host:port (0: a free port), or on ``sock`` already bound there
    (``bind_web``); click.BadParameter when it cannot listen."""
    from aiohttp import web

    from touchdown.ground.guard import GUARD, WEB_KEEPALIVE_S, CappedSite

    # idle connections close after WEB_KEEPALIVE_S; more than WEB_MAX_CONNECTIONS are refused
    runner = web.AppRunner(app, access_log=None, keepalive_timeout=WEB_KEEPALIVE_S)
    await runner.setup()
    try:
        guard = app.get(GUARD)
        site = CappedSite(runner, host, port, sock=sock,
                          stats=None if guard is None else guard.stats)
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise click.BadParameter(f"cannot listen on {host}:{port} ({exc.strerror}); give "
                                 "another port, or 0 for a free one", param_hint="--port") from None
    return runner, runner.addresses[0][1]


def warn_if_exposed(host: str) -> None:
    """On every start, --quiet or not: a server on other than loopback says what it exposes."""
    from touchdown.ground.guard import is_loopback

    if not is_loopback(host):
        click.echo(f"ground: WARNING: listening on {host or '0.0.0.0'} exposes the live "
                   "telemetry, the archive, alarm actions and the ingest port, without a "
                   "password, to every network this machine is on; use --host 127.0.0.1 "
                   "unless you mean it", err=True)


async def _serve(ingest, clock: Callable[[], float], flight: FlightInfo, host: str, port: int,
                 ingest_port: int, frame_length: int, quiet: bool,
                 allow_origins: tuple[str, ...] = ()) -> str:
    """Serve until SIGTERM or SIGINT (Ctrl-C); returns the signal's name. A read-only archive
    is served for browsing, with no ingest port. Pages from ``allow_origins`` may use the API
    besides the server's own."""
    from touchdown.ground.junk import JunkSampler
    from touchdown.ground.server import make_app, start_ingest_server
    from touchdown.telemetry.frames import FrameDecoder

    warn_if_exposed(host)
    read_only = ingest.archive.read_only
    app = make_app(ingest, clock, flight=flight, live=not read_only,
                   allow_origins=allow_origins, host=host)
    runner, web_port = await start_web(app, host, port)
    tcp = None
    try:
        if not read_only:
            try:
                junk = JunkSampler(ingest.archive, clock)  # good frames all, junk a sample

                def decoder() -> FrameDecoder:
                    return junk.decoder(frame_length, ingest.dictionary.spacecraft_id,
                                        ingest.frame_stats)

                tcp = await start_ingest_server(ingest, host, ingest_port, clock=clock,
                                                decoder=decoder, junk=junk)
            except OSError as exc:
                raise click.BadParameter(f"cannot listen on {host}:{ingest_port} "
                                         f"({exc.strerror}); give another port, or 0 for a free"
                                         " one", param_hint="--ingest-port") from None
        if not quiet:
            ingest_line = ("ground: read-only: no ingest, no operator actions" if tcp is None
                           else f"ground: ingest on tcp://{host}:"
                                f"{tcp.sockets[0].getsockname()[1]} (sync marker + "
                                f"{frame_length}-octet TM frames); Ctrl-C stops")
            click.echo(f"ground: archive {ingest.archive.path}\n"
                       f"ground: mission control on http://{host}:{web_port}/\n"
                       f"ground: API on http://{host}:{web_port}/api/parameters, realtime "
                       f"ws://{host}:{web_port}/api/realtime\n{ingest_line}", err=True)
        return await until_signal(asyncio.Event().wait())
    finally:
        if tcp is not None:
            tcp.close()
            await tcp.wait_closed()
        await runner.cleanup()


async def until_signal(work: Coroutine[Any, Any, Any]) -> str:
    """Run ``work`` until it ends or SIGTERM or SIGINT (Ctrl-C) comes; the signal's name
    ("end" when the work ended by itself). The caller then commits and says so."""
    import signal

    loop = asyncio.get_running_loop()
    stop, caught = asyncio.Event(), []
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda s=sig: (caught.append(s.name), stop.set()))
    task, stopper = asyncio.create_task(work), asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in (task, stopper):
            t.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await t
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
    return caught[0] if caught else "end"


def closing_line(ingest, why: str) -> str:
    """What a stopping server says: why, and that everything it received is committed."""
    c = ingest.counters
    return (f"ground: stopped ({why}); {ingest.archive.path} committed: {c['packets']:,} "
            f"packets, {c['frames_ok']:,} good frames in all")


@click.group(cls=DefaultGroup, default="serve")
def ground() -> None:
    """The ground station: `serve` (the default) runs the server; `ingest FILE` replays a
    downlink recording into an archive and says what the ground saw."""


def _check_origins(ctx: click.Context, param: click.Parameter,
                   value: tuple[str, ...]) -> tuple[str, ...]:
    """--allow-origin values: each an http(s) origin, else click.BadParameter."""
    from touchdown.ground.guard import parse_origin

    for url in value:
        try:
            parse_origin(url)
        except ValueError as exc:
            raise click.BadParameter(f"{exc}; give an origin like https://ground.example:8443",
                                     ctx, param) from None
    return value


@ground.command()
@click.option("--archive", "archive_path", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("ground.sqlite"), show_default=True,
              help="SQLite archive to continue (or browse with --read-only); --new starts one.")
@click.option("--new", is_flag=True, help="Start a new archive at --archive (it must not exist).")
@click.option("--read-only", is_flag=True,
              help="Browse the archive: no ingest, no operator actions, no byte of it changes.")
@click.option("--host", default="127.0.0.1", show_default=True, help=HOST_HELP)
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True,
              help="Web API port (0: a free one).")
@click.option("--ingest-port", type=click.IntRange(0, 65535), default=10015,
              show_default=True, help="TCP telemetry ingest port (0: a free one).")
@click.option("--los-timeout", type=click.FloatRange(min=0.0, min_open=True), default=None,
              help="Seconds of silence before loss of signal [default: the longest packet "
                   "expiry in the telemetry dictionary].")
@click.option("--frame-length", type=click.IntRange(16, 2048), default=256, show_default=True,
              help="TM frame length (octets) of the ingest stream, as the lander sends.")
@click.option("--scenario", default=None, metavar="SCENARIO",
              help="The flight the archive is for (a name or a .toml path): its epoch (the "
                   "archive's time base) and target, for the UI's times and map; recorded in "
                   "the archive. `fly --live` and `ground ingest` record it themselves.")
@click.option("--get", "get_path", metavar="PATH", default=None,
              help="Answer one GET (e.g. /api/link) in-process from the archive, read-only, "
                   "print it and exit; exits 1 unless the answer is 200.")
@click.option("--allow-origin", "allow_origins", multiple=True, metavar="URL",
              callback=_check_origins,
              help="Also let pages from this origin (scheme://host[:port], e.g. "
                   "https://ground.example:8443) use the API, and answer to its host name "
                   "(a reverse proxy, another name for this machine). Repeatable.")
@click.option("--quiet", "-q", is_flag=True, help="No startup lines on stderr.")
@click.option("--debug", is_flag=True, help="Show the full traceback on errors.")
def serve(archive_path: Path, new: bool, read_only: bool, host: str, port: int,
          ingest_port: int, los_timeout: float | None, frame_length: int,
          scenario: str | None, get_path: str | None, allow_origins: tuple[str, ...],
          quiet: bool, debug: bool) -> None:
    """Run the ground station: archive, alarms, loss of signal, web API and TCP ingest.

    The API serves the telemetry dictionary, history, latest values, alarms (acknowledge,
    shelve and clear with POST /api/alarms/ID/ACTION), link status, events and the outcome
    estimate after loss of signal; /api/realtime is a websocket of new values. SIGTERM or
    Ctrl-C commits what is pending and stops it (exit 0).
    """
    if new and (read_only or get_path is not None):
        raise click.UsageError("--new starts an archive to ingest into; leave it out with "
                               "--read-only or --get")
    with errors_to_exit(debug):
        plan = None if scenario is None else FlightInfo.from_scenario(load_scenario(scenario))
        ingest = _open(archive_path, los_timeout, new=new,
                       read_only=read_only or get_path is not None)
        try:
            if plan is not None:  # the archive's time base stays its own
                from touchdown.ground.archive import ArchiveOpenError

                try:
                    if ingest.archive.read_only:
                        ingest.archive.check_flight(plan.to_dict())
                    else:
                        ingest.archive.set_flight(plan.to_dict())
                except ArchiveOpenError as exc:
                    raise click.BadParameter(str(exc), param_hint="--scenario") from None
            flight = plan or FlightInfo.from_dict(ingest.archive.flight())
            clock = ground_clock(flight)
            if get_path is not None:
                status, text = asyncio.run(_get(ingest, get_path, clock, flight))
                click.echo(text)
                if status != 200:
                    raise click.exceptions.Exit(1)
                return
            why = asyncio.run(_serve(ingest, clock, flight, host, port, ingest_port,
                                     frame_length, quiet, allow_origins))
            ingest.archive.flush()
            click.echo(closing_line(ingest, why), err=True)
        finally:
            ingest.archive.close()


# ---------------------------------------------------------------- ingest a recording

def ground_report(report: ReplayReport, ingest: Ingest) -> dict[str, Any]:
    """What the ground saw: reception, alarms, loss of signal, last known state, outcome."""
    from touchdown.ground.status import last_known_state, outcome_estimate

    los = report.losses[-1] if report.losses else None
    state = last_known_state(ingest.dictionary, ingest.archive, los)
    from touchdown.ground.alarm_api import alarm_json

    t_end = math.inf if report.t_last is None else report.t_last
    alarms = [alarm_json(a, ingest, t_end) for a in ingest.archive.alarms()]
    return {"records": report.records, "frames": vars(report.frames),
            "packets": ingest.counters, "t_first_received": report.t_first,
            "t_last_received": report.t_last, "truncated": report.truncated,
            "losses_of_signal": [vars(x) for x in report.losses], "alarms": alarms,
            "events": [vars(e) for e in ingest.archive.events()], "last_known": state.values,
            "last_known_states": state.states,
            "outcome_estimate": outcome_estimate(state).to_dict()}


def _value(name: str, v: float, ingest: Ingest) -> str:
    f = ingest.dictionary.parameters.get(name)
    if f is not None and f.enum:
        return str(f.state(v))
    return f"{v:,.1f} {f.unit}" if f is not None and f.unit != "-" else f"{v:,.1f}"


def ground_text(r: dict[str, Any], ingest: Ingest, source: str) -> str:
    """The report for people: a few lines per topic, times as T+ since the scenario epoch."""
    fr, pk = r["frames"], r["packets"]
    lines = [f"ground: {source} into {ingest.archive.path}", "",
             f"  {'received':<11} {fr['frames_ok']:,} frames ({fr['frames_bad_crc']:,} failed "
             f"the CRC, {fr['frames_lost']:,} missing), {pk['packets']:,} packets "
             f"({pk['missing']:,} missing in {pk['gaps']:,} gaps, {pk['bad']:,} bad)",
             f"  {'signal':<11} first at {_clock(r['t_first_received'])}, last at "
             f"{_clock(r['t_last_received'])}" + (" (recording cut short)" if r["truncated"]
                                                  else "")]
    for los in r["losses_of_signal"]:
        lines.append(f"  {'LOS':<11} at {_clock(los['t_los'])}, the last packet received "
                     f"(declared {_clock(los['t_declared'])}; newest onboard time "
                     f"{_clock(los['t_onboard_last'])})")
    lines.append("")
    lines.append("events (onboard time)")
    for e in r["events"]:
        lines.append(f"  {_clock(e['t_onboard']):>10}  {e['state']:<24} {e['value']:,.1f}")
    lines.append("")
    lines.append("alarms (ground time: raised at, then the most severe)")

    def shown(a: dict[str, Any], which: str, value: str) -> str:
        return a["state_text"][which] or _value(a["parameter"], a[value], ingest)

    for a in r["alarms"]:
        line = (f"  {_clock(a['t_trigger']):>10}  {a['parameter']} {a['trigger_severity']} "
                f"at {shown(a, 'trigger', 'trigger_value')}")
        if a["t_most_severe"] != a["t_trigger"]:
            line += (f"; {a['severity']} at {shown(a, 'most_severe', 'most_severe_value')} "
                     f"from {_clock(a['t_most_severe'])}")
        lines.append(line)
    if not r["alarms"]:
        lines.append("  none")
    shown = ("nav.altitude_m", "nav.vertical_speed_mps", "nav.horizontal_speed_mps",
             "prop.propellant_kg", "gnc.mode", "lrf.state")
    last = r["last_known"]
    lines += ["", "last known state (the lander's own estimates, onboard time)"]
    for name in shown:
        if name in last:
            t, v = last[name]
            shown_v = "NaN" if math.isnan(v) else _value(name, v, ingest)
            lines.append(f"  {_clock(t):>10}  {name:<26} {shown_v}")
    est = r["outcome_estimate"]
    lines += ["", "outcome estimate"]
    if est["impact_speed_mps"] is not None:
        lines.append(f"  impact at {_clock(est['t_impact'])} (onboard), "
                     f"{est['impact_speed_mps']:.1f} m/s, if it kept falling with no thrust")
    lines += [f"  {n}" for n in est["notes"]]
    lines.append(f"  ({est['basis']})")
    return "\n".join(lines)


@ground.command("ingest")
@click.argument("recording", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--archive", "archive_path", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("ground.sqlite"), show_default=True,
              help="SQLite archive to add to; --new starts one.")
@click.option("--new", is_flag=True, help="Start a new archive at --archive (it must not exist).")
@click.option("--los-timeout", type=click.FloatRange(min=0.0, min_open=True), default=None,
              help="Seconds of silence before loss of signal [default: the longest packet "
                   "expiry in the telemetry dictionary].")
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.option("--debug", is_flag=True, help="Show the full traceback on errors.")
def ingest(recording: Path, archive_path: Path, new: bool, los_timeout: float | None,
           as_json: bool, quiet: bool, debug: bool) -> None:
    """Replay a downlink RECORDING (from `touchdown fly --downlink`) into an archive, at its
    receive times, and print what the ground saw: alarms, loss of signal, last known state."""
    from tqdm import tqdm

    from touchdown.ground.replay import replay_recording
    from touchdown.telemetry.recording import read_recording

    with errors_to_exit(debug):
        rec = read_recording(recording)
        ing = _open(archive_path, los_timeout, new=new)
        try:
            with tqdm(total=recording.stat().st_size, unit="B", unit_scale=True,
                      disable=quiet, leave=False, desc="ingest") as bar:
                report = replay_recording(rec, ing, bar.update)
            result = ground_report(report, ing)
            text = (json.dumps(jsonable(result), indent=2) if as_json
                    else ground_text(result, ing, f"{recording} ({rec.meta.get('scenario')})"))
        finally:
            ing.archive.close()
    click.echo(text)


# ---------------------------------------------------------------- a live flight

def default_live_archive(scenario: str) -> Path:
    """out/flights/SCENARIO-YYYYMMDDTHHMMSS.sqlite (local time): a fresh archive per flight."""
    return Path("out") / "flights" / f"{scenario}-{time.strftime('%Y%m%dT%H%M%S')}.sqlite"


def bind_web(host: str, port: int) -> socket.socket:
    """A socket listening on host:port (0: a free port), taken before a long job so that a
    busy port is refused at once (ListenError naming the address and the fix)."""
    try:
        family, *_, address = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM,
                                                 flags=socket.AI_PASSIVE)[0]
    except socket.gaierror as exc:
        raise ListenError(f"cannot listen on {host}:{port} ({exc.strerror}); give --host an "
                          "address of this machine, e.g. 127.0.0.1") from None
    try:
        return socket.create_server(address, family=family)  # SO_REUSEADDR, as aiohttp's
    except OSError as exc:
        raise ListenError(f"cannot listen on {host}:{port} ({exc.strerror or exc}); give "
                          "another --port, or 0 for a free one") from None


def check_live(archive_path: Path, host: str, port: int) -> socket.socket:
    """What --live needs before anything is flown: Open MCT installed, a fresh archive and
    the web port, bound and returned (hand it to ``serve_live``; the caller closes it)."""
    from touchdown.ground.web import openmct_dist

    openmct_dist()
    if archive_path.exists():
        raise InputError(f"{archive_path} exists; --live needs a fresh archive: give --archive "
                         "a new file (open the old one with `touchdown ground --archive "
                         f"{archive_path}`)")
    try:
        archive_path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot make {archive_path.parent} ({exc.strerror or exc}); give "
                         "--archive a file in a folder you can write to") from None
    return bind_web(host, port)


def serve_live(link: DownlinkedFlight, archive_path: Path, host: str, sock: socket.socket,
               speed: float, wait: bool, quiet: bool,
               on_stream_end: Callable[[], None] | None = None) -> None:
    """Start a ground server with a fresh archive on ``sock`` (``check_live`` both, before
    flying; ``host`` names the address in the URL) and stream the flight's received frames
    into it at ``speed`` times real time; serve until Ctrl-C. ``on_stream_end()`` is called
    once the stream has ended (loss of signal declared or the last frame in)."""
    ingest = _open(archive_path, None, new=True)
    try:
        plan = FlightInfo.from_scenario(link.flight.scenario)
        ingest.archive.set_flight(plan.to_dict())
        why = asyncio.run(_live(link, plan, ingest, host, sock, speed, wait, quiet,
                                on_stream_end))
        ingest.archive.flush()
        click.echo(f"{closing_line(ingest, why)} (browse it again with `touchdown ground "
                   f"--archive {archive_path} --read-only`)", err=True)
    finally:
        ingest.archive.close()


async def _live(link: DownlinkedFlight, plan: FlightInfo, ingest: Ingest, host: str,
                sock: socket.socket, speed: float, wait: bool, quiet: bool,
                on_stream_end: Callable[[], None] | None) -> str:
    """Serve and stream until SIGTERM or SIGINT; returns the signal's name."""
    from tqdm import tqdm

    from touchdown.ground.live import LiveStream, stream
    from touchdown.ground.server import CLIENTS, make_app

    live = LiveStream(link.link.frames, link.config.frame_length, link.dictionary.spacecraft_id)
    clock = live.clock(speed)
    warn_if_exposed(host)
    app = make_app(ingest, clock, flight=plan, live=True, clock_rate=speed, host=host)
    runner, web_port = await start_web(app, host, sock.getsockname()[1], sock)
    try:
        url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{web_port}/"
        t_aos = live.frames[0][0] if live.frames else None
        click.echo(f"mission control: open {url}\n"
                   f"  {plan.scenario}, {len(live.frames):,} frames received from "
                   f"{_clock(t_aos)} (acquisition of signal), streamed at x{speed:g} into "
                   f"{ingest.archive.path}", nl=True)

        async def downlink() -> None:
            if wait:
                click.echo("  the downlink starts when the page opens (--no-wait: at once)")
                while not app[CLIENTS]:
                    await asyncio.sleep(0.1)
            with tqdm(total=len(live.frames), unit="frame", disable=quiet, leave=False,
                      desc=f"downlink x{speed:g}") as bar:
                report = await stream(live, ingest, clock, bar.update)
            los = report.losses[-1] if report.losses else None
            click.echo(f"  downlink over: {report.packets:,} packets"
                       + (f", loss of signal at {_clock(los.t_los)}" if los else "")
                       + "; the server stays up for browsing: Ctrl-C stops it")
            if on_stream_end is not None:
                on_stream_end()
            await asyncio.Event().wait()

        return await until_signal(downlink())
    finally:
        await runner.cleanup()
