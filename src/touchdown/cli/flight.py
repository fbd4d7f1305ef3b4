"""``touchdown fly`` and ``touchdown compare``: one flight, or two side by side."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from touchdown.cli.common import common_options, errors_to_exit, load_scenario, status_line
from touchdown.cli.summary import downlink_line, flight_summary, link_line, side_by_side
from touchdown.errors import OutputError
from touchdown.files import jsonable

if TYPE_CHECKING:
    from touchdown.scenario import Scenario
    from touchdown.sim.run import Flight
    from touchdown.telemetry.downlink import DownlinkedFlight


# ---------------------------------------------------------------- library calls

def _fly(scenario: Scenario, seed: int, quiet: bool) -> Flight:
    from touchdown.sim.run import fly
    from touchdown.sim.step import advance

    with status_line(f"flying {scenario.name}", quiet, compiles=advance):
        return fly(scenario, seed=seed)


def _fly_downlink(scenario: Scenario, seed: int, quiet: bool) -> DownlinkedFlight:
    from touchdown.sim.step import advance
    from touchdown.telemetry.downlink import fly_downlink

    with status_line(f"flying {scenario.name} with its downlink", quiet, compiles=advance):
        return fly_downlink(scenario, seed)


def _ground_address(value: str | None) -> tuple[str, int] | None:
    """HOST, PORT from tcp://HOST:PORT (click.BadParameter naming the form otherwise)."""
    if value is None:
        return None
    from touchdown.ground.station import parse_address

    try:
        return parse_address(value)
    except ValueError as exc:
        raise click.BadParameter(f"{exc}; give the ground server's ingest address, e.g. "
                                 "tcp://127.0.0.1:10015", param_hint="--ground") from None


def _stream(frames: list[tuple[float, bytes]], host: str, port: int, speed: float,
            quiet: bool) -> None:
    """Send the received frames to the ground server, with a progress bar."""
    from tqdm import tqdm

    from touchdown.ground.station import send_frames

    with tqdm(total=len(frames), unit="frame", disable=quiet, leave=False,
              desc=f"downlink x{speed:g}") as bar:
        send_frames(frames, host, port, speed, bar.update)


def _write_run(flight: Flight, folder: Path, link: DownlinkedFlight | None) -> list[Path]:
    """The flight's run folder (``telemetry.run_folder``)."""
    from touchdown.telemetry.run_folder import write_run_folder

    return write_run_folder(folder, flight, link)


def _output_dirs(out: Path, a: Scenario, b: Scenario) -> tuple[Path, Path]:
    """out/<name>/ for each; file stems, then -1/-2, when the names are the same."""
    if a.name != b.name:
        return out / a.name, out / b.name
    if a.path.stem != b.path.stem:
        return out / a.path.stem, out / b.path.stem
    return out / f"{a.name}-1", out / f"{a.name}-2"


# ---------------------------------------------------------------- commands

@click.command()
@click.argument("scenario")
@common_options
@click.option("--out", type=click.Path(file_okay=False, writable=True, path_type=Path),
              help="Write a run folder: trajectory.parquet, flight.png, flight.json and what the "
                   "ground received (received.downlink, for `touchdown report`).")
@click.option("--json", "as_json", is_flag=True,
              help="Print the flight as one JSON object on stdout, nothing else.")
@click.option("--downlink", type=click.Path(dir_okay=False, writable=True, path_type=Path),
              help="Record what the ground station received through the scenario's radio "
                   "link into this file (replay it with `touchdown ground ingest FILE`).")
@click.option("--ground", "ground_url", metavar="tcp://HOST:PORT",
              help="Stream the received frames to a running `touchdown ground` server's "
                   "ingest port, paced by their receive times.")
@click.option("--live", is_flag=True,
              help="Start a ground server with a fresh archive and mission control in the "
                   "browser, and stream the flight into it (prints the URL to open).")
@click.option("--speed", type=click.FloatRange(min=0.0, min_open=True), default=1.0,
              show_default=True, help="With --ground or --live: times faster than real time.")
@click.option("--archive", "archive_path", type=click.Path(dir_okay=False, path_type=Path),
              help="With --live: the new archive [default: "
                   "out/flights/SCENARIO-YYYYMMDDTHHMMSS.sqlite].")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="With --live: address to serve on (127.0.0.1: this machine only).")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True,
              help="With --live: web port (0: a free one).")
@click.option("--wait/--no-wait", default=True, show_default=True,
              help="With --live: start the downlink when the page opens, or at once.")
@click.option("--all-roles", is_flag=True,
              help="With --live: a throwaway flight director and viewer besides the operator "
                   "(a critical command needs a second person, a flight director, to approve "
                   "it).")
def fly(scenario: str, seed: int, out: Path | None, as_json: bool, downlink: Path | None,
        ground_url: str | None, live: bool, speed: float, archive_path: Path | None,
        host: str, port: int, wait: bool, all_roles: bool, quiet: bool, debug: bool) -> None:
    """Fly SCENARIO once and summarise the landing; with --downlink, --ground or --live, its
    telemetry goes through the radio link to the ground."""
    address = _ground_address(ground_url)
    if live and (address is not None or as_json):
        raise click.UsageError("--live runs its own ground server: leave out --ground and "
                               "--json")
    with errors_to_exit(debug), contextlib.ExitStack() as held:
        s = load_scenario(scenario)
        if live:
            from touchdown.cli.serving import (
                DEMO_ROLES,
                check_live,
                default_live_archive,
                serve_live,
            )
            from touchdown.telemetry.live_lander import LiveLander

            archive_path = archive_path or default_live_archive(s.name)
            # before the flight: Open MCT there, the archive new, the web port bound
            web = held.enter_context(check_live(archive_path, host, port))
            lander = LiveLander(s, seed)

            def summary() -> None:
                tx = lander.tx
                click.echo("\n" + flight_summary(lander.stepper.flight()) + "\n" + link_line(
                    tx.stats, lander.link.rate_bps, len(lander.task.packets),
                    lander.last_arrival_s) + "\n")

            serve_live(lander, archive_path, host, web, speed, wait, quiet, summary,
                       DEMO_ROLES if all_roles else DEMO_ROLES[:1])
            return
        link = None
        if downlink is None and address is None and out is None:
            flight = _fly(s, seed, quiet)
        else:
            link = _fly_downlink(s, seed, quiet)
            flight = link.flight
        written = _write_run(flight, out, link) if out is not None else []
        if link is not None and downlink is not None:
            try:
                written.append(link.record(downlink))
            except OSError as exc:
                raise OutputError(f"could not write {downlink}: {exc}; give --downlink a "
                                  "file you can write") from None
        if link is not None and address is not None:
            _stream(link.link.frames, *address, speed, quiet or as_json)
    if as_json:
        info = flight.to_dict()
        if link is not None and (downlink is not None or address is not None):
            info["downlink"] = vars(link.link.stats)
        click.echo(json.dumps(jsonable(info), indent=2))
    else:
        click.echo(flight_summary(flight))
        if link is not None and (downlink is not None or address is not None):
            click.echo(downlink_line(link))
    if written:
        if not as_json:
            click.echo()
        for p in written:
            click.echo(f"wrote {p}", err=as_json)


@click.command()
@click.argument("a", metavar="A")
@click.argument("b", metavar="B")
@common_options
@click.option("--out", type=click.Path(file_okay=False, writable=True, path_type=Path),
              help="Write each flight's trajectory.parquet, flight.png and flight.json into "
                   "OUT/<scenario name>/.")
def compare(a: str, b: str, seed: int, out: Path | None, quiet: bool, debug: bool) -> None:
    """Fly scenarios A and B with the same seed and show them side by side."""
    with errors_to_exit(debug):
        sa, sb = load_scenario(a), load_scenario(b)  # both checked before the first (long) flight
        written: list[Path] = []
        if out is None:
            fa, fb = _fly(sa, seed, quiet), _fly(sb, seed, quiet)
        else:  # run folders keep what the ground received too, for `touchdown report`
            la, lb = _fly_downlink(sa, seed, quiet), _fly_downlink(sb, seed, quiet)
            fa, fb = la.flight, lb.flight
            da, db = _output_dirs(out, sa, sb)
            written = _write_run(fa, da, la) + _write_run(fb, db, lb)
    click.echo(side_by_side(fa, fb))
    if written:
        click.echo()
        for p in written:
            click.echo(f"wrote {p}")
