"""``touchdown ground``: the ground server (archive, alarms, LOS, REST + websocket, TCP ingest),
and ``touchdown ground ingest FILE``: a downlink recording into an archive, with what the
ground saw. Thin over ``touchdown.ground``.
"""

from __future__ import annotations

import asyncio
import json
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from touchdown.cli.common import DefaultGroup, errors_to_exit, load_scenario
from touchdown.cli.serving import (
    closing_line,
    ground_clock,
    open_ingest,
    start_web,
    until_signal,
    warn_if_exposed,
)
from touchdown.errors import ArchiveOpenError
from touchdown.files import jsonable
from touchdown.telemetry.flight_info import FlightInfo
from touchdown.timefmt import mission_clock as _clock

if TYPE_CHECKING:
    from touchdown.ground.ingest import Ingest
    from touchdown.ground.replay import ReplayReport

HOST_HELP = ("Address to listen on (web API and TCP ingest). The default 127.0.0.1 admits "
             "only this machine; 0.0.0.0 exposes the server to every network this machine is "
             "on: its telemetry and archive to read, its ingest port, and its sign-in over "
             "plain HTTP.")


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
                                        ingest.frame_stats, ingest.ocf)

                tcp = await start_ingest_server(ingest, host, ingest_port, clock=clock,
                                                decoder=decoder, junk=junk)
            except OSError as exc:
                raise click.BadParameter(f"cannot listen on {host}:{ingest_port} "
                                         f"({exc.strerror}); give another port, or 0 for a free"
                                         " one", param_hint="--ingest-port") from None
        lines = ""
        if not quiet:
            ingest_line = ("ground: read-only: no ingest, no operator actions" if tcp is None
                           else f"ground: ingest on tcp://{host}:"
                                f"{tcp.sockets[0].getsockname()[1]} (sync marker + "
                                f"{frame_length}-octet TM frames); Ctrl-C stops")
            lines = (f"ground: archive {ingest.archive.path}\n"
                     f"ground: mission control on http://{host}:{web_port}/\n"
                     f"ground: API on http://{host}:{web_port}/api/parameters, realtime "
                     f"ws://{host}:{web_port}/api/realtime\n{ingest_line}"
                     + ("" if read_only else "\n" + _users_line(ingest.archive)))

        def started() -> None:  # said once Ctrl-C is caught: one sent on reading it is clean
            if lines:
                click.echo(lines, err=True)

        return await until_signal(asyncio.Event().wait(), ready=started)
    finally:
        if tcp is not None:
            tcp.close()
            await tcp.wait_closed()
        await runner.cleanup()


def _users_line(archive) -> str:
    """Who may sign in to act, or how to make someone who may."""
    users = archive.users()
    if any(u.role != "viewer" for u in users):
        return (f"ground: {len(users)} user{'s' if len(users) != 1 else ''} may sign in "
                "(`touchdown ground users list`); alarm actions need an operator")
    return ("ground: nobody may act on alarms yet: stop the server and add an operator with "
            f"`touchdown ground users add NAME --role operator --archive {archive.path}`")


@click.group(cls=DefaultGroup, default="serve")
def ground() -> None:
    """The ground station: `serve` (the default) runs the server; `ingest FILE` replays a
    downlink recording into an archive and says what the ground saw; `users` adds, lists and
    removes the operators who may sign in."""


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
    shelve and clear with POST /api/alarms/ID/ACTION, signed in as an operator: `touchdown
    ground users add`), link status, events, the audit log and the outcome estimate after loss
    of signal; /api/realtime is a websocket of new values. SIGTERM or Ctrl-C commits what is
    pending and stops it (exit 0).
    """
    if new and (read_only or get_path is not None):
        raise click.UsageError("--new starts an archive to ingest into; leave it out with "
                               "--read-only or --get")
    with errors_to_exit(debug):
        plan = None if scenario is None else FlightInfo.from_scenario(load_scenario(scenario))
        ingest = open_ingest(archive_path, los_timeout, new=new,
                             read_only=read_only or get_path is not None)
        try:
            if plan is not None:  # the archive's time base stays its own
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
        ing = open_ingest(archive_path, los_timeout, new=new)
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


# ---------------------------------------------------------------- users

ROLES_HELP = ("viewer (reads only), operator (acknowledges, shelves and clears alarms) or "
              "flight_director (all an operator may)")  # tests/ground/test_cli_users.py: all


@ground.group()
def users() -> None:
    """Operators who sign in to mission control: `add`, `list`, `remove`. Users live in the
    archive (passwords only as argon2 hashes); adding and removing one is audited. Add and
    remove them while no server runs on the archive (it has one writer)."""


def _archive_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--archive", "archive_path", required=True,
                        type=click.Path(dir_okay=False, path_type=Path),
                        help="The station's SQLite archive.")(fn)


def _open_for_users(path: Path, read_only: bool = False):  # -> Archive
    """The archive, or click.BadParameter with the fix (missing, locked by a running server,
    not an archive)."""
    from touchdown.errors import ArchiveLockedError, ArchiveMissingError
    from touchdown.ground.archive import Archive

    try:
        return Archive(path, read_only=read_only)
    except ArchiveMissingError:
        raise click.BadParameter(f"{path}: no such archive; check the path, or start one with "
                                 f"`touchdown ground --archive {path} --new`",
                                 param_hint="--archive") from None
    except ArchiveLockedError as exc:
        holder = str(exc).split(";")[0]
        raise click.BadParameter(f"{holder}; users are added and removed while it is stopped: "
                                 "stop it, change the users, start it again",
                                 param_hint="--archive") from None
    except ArchiveOpenError as exc:
        raise click.BadParameter(str(exc), param_hint="--archive") from None


def _who() -> str:
    """Who ran the command, for ``created_by`` and the audit log."""
    import getpass

    try:
        login = getpass.getuser()
    except (KeyError, OSError):
        login = "unknown"
    return f"{login} (command line)"


def _now(archive) -> float:
    """Ground time now on the archive's time base (s since its mission epoch)."""
    return ground_clock(FlightInfo.from_dict(archive.flight()))()


def stdin_is_a_terminal() -> bool:
    return sys.stdin.isatty()


def _read_password(from_stdin: bool) -> str:
    """The new user's password: one line of stdin (``--password-stdin``), else asked twice
    on the terminal."""
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise click.UsageError("--password-stdin: stdin gave no password; pipe one line in, "
                                   "e.g. `printf '%s\\n' \"$PASSWORD\" | touchdown ground users "
                                   "add ...`")
        return password
    if not stdin_is_a_terminal():
        raise click.UsageError("stdin is not a terminal, so the password cannot be asked for; "
                               "give --password-stdin and pipe it in (one line)")
    return click.prompt("Password", hide_input=True, confirmation_prompt="Repeat it")


@users.command("add")
@click.argument("name")
@click.option("--role", required=True, metavar="ROLE", help=f"The user's role: {ROLES_HELP}.")
@_archive_option
@click.option("--password-stdin", is_flag=True,
              help="Read the password from stdin (one line), for scripts; without it the "
                   "password is asked for twice on the terminal.")
@click.option("--debug", is_flag=True, help="Show the full traceback on errors.")
def users_add(name: str, role: str, archive_path: Path, password_stdin: bool,
              debug: bool) -> None:
    """Add user NAME to the archive, with its role and a password (at least 8 characters)."""
    from touchdown.ground.users import (
        add_user,
        check_name,
        check_new_user,
        check_password,
        check_role,
    )

    with errors_to_exit(debug):
        check_name(name)
        check_role(role)
        archive = _open_for_users(archive_path)
        try:
            check_new_user(archive, name, role)  # said before the password is typed
            password = check_password(_read_password(password_stdin))
            add_user(archive, name, role, password, created_by=_who(), t_ground=_now(archive))
        finally:
            archive.close()
    click.echo(f"added {name} ({role}) to {archive_path}")


@users.command("list")
@_archive_option
@click.option("--json", "as_json", is_flag=True, help="Print the users as one JSON list.")
@click.option("--debug", is_flag=True, help="Show the full traceback on errors.")
def users_list(archive_path: Path, as_json: bool, debug: bool) -> None:
    """List the archive's users: name, role, when and by whom added (read-only)."""
    with errors_to_exit(debug):
        archive = _open_for_users(archive_path, read_only=True)
        try:
            rows = [{"name": u.name, "role": u.role, "t_created": u.t_created,
                     "created_by": u.created_by} for u in archive.users()]
        finally:
            archive.close()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
    elif not rows:
        click.echo(f"{archive_path}: no users; add one with `touchdown ground users add NAME "
                   f"--role operator --archive {archive_path}`")
    else:
        width = max(len(r["name"]) for r in rows)
        for r in rows:
            click.echo(f"{r['name']:<{width}}  {r['role']:<15}  added {_clock(r['t_created'])} "
                       f"by {r['created_by']}")


@users.command("remove")
@click.argument("name")
@_archive_option
@click.option("--debug", is_flag=True, help="Show the full traceback on errors.")
def users_remove(name: str, archive_path: Path, debug: bool) -> None:
    """Remove user NAME from the archive (what it did stays in the audit log)."""
    from touchdown.ground.users import remove_user

    with errors_to_exit(debug):
        archive = _open_for_users(archive_path)
        try:
            user = remove_user(archive, name, removed_by=_who(), t_ground=_now(archive))
        finally:
            archive.close()
    click.echo(f"removed {user.name} ({user.role}) from {archive_path}")
