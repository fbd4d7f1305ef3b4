"""Running a ground server from the command line (shell), for ``touchdown ground`` and
``touchdown fly --live``: the archive under an ingest, the web listener, the exposure warning,
serving until a signal, and a flight streamed live into a fresh archive."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from touchdown.errors import ArchiveOpenError, InputError, ListenError
from touchdown.telemetry.flight_info import FlightInfo
from touchdown.timefmt import mission_clock as _clock

if TYPE_CHECKING:
    from touchdown.ground.ingest import Ingest
    from touchdown.telemetry.live_lander import LiveLander


def open_ingest(archive_path: Path, los_timeout: float | None, *, new: bool = False,
                read_only: bool = False) -> Ingest:
    """The archive (refused with the fix when missing without ``new``, damaged, locked by
    another writer, or not an archive) under an ingest."""
    from touchdown.ground.archive import Archive
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
                   "telemetry and the archive (read without signing in), the ingest port "
                   "(without a password) and the sign-in (passwords over plain HTTP) to every "
                   "network this machine is on; use --host 127.0.0.1 unless you mean it",
                   err=True)


async def until_signal(work: Coroutine[Any, Any, Any],
                       ready: Callable[[], None] | None = None) -> str:
    """Run ``work`` until it ends or SIGTERM or SIGINT (Ctrl-C) comes; the signal's name
    ("end" when the work ended by itself). The caller then commits and says so. ``ready()``
    is called once the signals are caught (say "Ctrl-C stops" there: one sent on reading it
    stops the server cleanly)."""
    import signal

    loop = asyncio.get_running_loop()
    stop, caught = asyncio.Event(), []
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda s=sig: (caught.append(s.name), stop.set()))
    if ready is not None:
        ready()
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


def serve_live(lander: LiveLander, archive_path: Path, host: str, sock: socket.socket,
               speed: float, wait: bool, quiet: bool,
               on_stream_end: Callable[[], None] | None = None,
               roles: tuple[str, ...] = ("operator",)) -> None:
    """Start a ground server with a fresh archive on ``sock`` (``check_live`` both, before
    flying; ``host`` names the address in the URL) and fly the lander live with it at
    ``speed`` times real time, its telemetry into the archive and commands up its uplink;
    serve until Ctrl-C. ``on_stream_end()`` is called once the flight and its downlink have
    ended (loss of signal declared or the last frame in). ``roles``: a throwaway user of each
    is added and printed (``DEMO_ROLES``: one of every role)."""
    ingest = open_ingest(archive_path, None, new=True)
    try:
        plan = FlightInfo.from_scenario(lander.stepper.scenario)
        ingest.archive.set_flight(plan.to_dict())
        why = asyncio.run(_live(lander, plan, ingest, host, sock, speed, wait, quiet,
                                on_stream_end, roles))
        ingest.archive.flush()
        click.echo(f"{closing_line(ingest, why)} (browse it again with `touchdown ground "
                   f"--archive {archive_path} --read-only`)", err=True)
    finally:
        ingest.archive.close()


class _Station:
    """The ground station's transmitter for the command link: the lander's uplink."""

    def __init__(self, lander: LiveLander) -> None:
        self.lander = lander

    def radiate(self, octets: bytes, now: float) -> float:
        return self.lander.radiate(octets, now)[0]

    def light_time_s(self, t: float) -> float:
        return self.lander.uplink.light_time_s(t)


# a throwaway user of every role, the operator first: a critical command needs a second person
DEMO_ROLES = ("operator", "flight_director", "viewer")


def add_demo_user(ingest: Ingest, t_ground: float, role: str = "operator") -> tuple[str, str]:
    """A throwaway user of ``role`` for a live flight's fresh archive: a random name
    (demo-xxxx, none taken) and password, audited as made by ``fly --live``; (name,
    password)."""
    import secrets

    from touchdown.ground.users import add_user

    name = f"demo-{secrets.token_hex(2)}"
    while ingest.archive.user(name) is not None:
        name = f"demo-{secrets.token_hex(2)}"
    password = secrets.token_urlsafe(12)
    add_user(ingest.archive, name, role, password, created_by="fly --live", t_ground=t_ground)
    return name, password


def add_demo_operator(ingest: Ingest, t_ground: float) -> tuple[str, str]:
    """A throwaway operator (``add_demo_user``); (name, password)."""
    return add_demo_user(ingest, t_ground, "operator")


async def _live(lander: LiveLander, plan: FlightInfo, ingest: Ingest, host: str,
                sock: socket.socket, speed: float, wait: bool, quiet: bool,
                on_stream_end: Callable[[], None] | None, roles: tuple[str, ...]) -> str:
    """Serve and fly until SIGTERM or SIGINT; returns the signal's name."""
    from tqdm import tqdm

    from touchdown.ground.live import PacedClock, fly_live
    from touchdown.ground.server import CLIENTS, make_app

    clock = PacedClock(lander.t_s, speed)
    warn_if_exposed(host)
    users = [(role, *add_demo_user(ingest, clock(), role)) for role in roles]
    app = make_app(ingest, clock, flight=plan, live=True, clock_rate=speed, host=host,
                   station=_Station(lander))
    runner, web_port = await start_web(app, host, sock.getsockname()[1], sock)
    try:
        url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{web_port}/"
        click.echo(f"mission control: open {url}\n"
                   f"  {plan.scenario}, flown live from {_clock(lander.t_s)} at x{speed:g} "
                   f"into {ingest.archive.path}; commands go up its uplink"
                   + "".join(f"\n  sign in as {user} ({role}), password {password} (shown only "
                             "now; the archive keeps its hash)" for role, user, password in users),
                   nl=True)

        async def downlink() -> None:
            if wait:
                click.echo("  the flight starts when the page opens (--no-wait: at once)")
                while not app[CLIENTS]:
                    await asyncio.sleep(0.1)
            with tqdm(unit="frame", disable=quiet, leave=False,
                      desc=f"downlink x{speed:g}") as bar:
                report = await fly_live(lander, ingest, clock, lander.link.frame_length,
                                        lander.dictionary.spacecraft_id, bar.update)
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
