"""``touchdown fly`` and ``touchdown compare``: one flight, or two side by side."""

from __future__ import annotations

import contextlib
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from touchdown.cli.common import (
    OutputError,
    common_options,
    errors_to_exit,
    load_scenario,
    status_line,
)
from touchdown.files import jsonable, write_atomic
from touchdown.timefmt import mission_clock as _clock

if TYPE_CHECKING:
    from touchdown.scenario import Scenario
    from touchdown.sim.run import Flight
    from touchdown.telemetry.downlink import DownlinkedFlight

# Events that repeat (one per rejected reading, say) are shown once, with a count.
REPEATING_EVENTS = ("lrf_rejected", "lrf_reacquired", "lrf_widened")


# ---------------------------------------------------------------- library calls

def _fly(scenario: Scenario, seed: int, quiet: bool) -> Flight:
    from touchdown.sim.run import fly

    with status_line(f"flying {scenario.name}", quiet):
        return fly(scenario, seed=seed)


def _fly_downlink(scenario: Scenario, seed: int, quiet: bool) -> DownlinkedFlight:
    from touchdown.telemetry.downlink import fly_downlink

    with status_line(f"flying {scenario.name} with its downlink", quiet):
        return fly_downlink(scenario, seed)


def _ground_address(value: str | None) -> tuple[str, int] | None:
    """HOST, PORT from tcp://HOST:PORT (click.BadParameter naming the form otherwise)."""
    if value is None:
        return None
    host, sep, port = value.removeprefix("tcp://").rpartition(":")
    if not value.startswith("tcp://") or not sep or not host or not port.isdigit():
        raise click.BadParameter(f"{value!r} is not tcp://HOST:PORT; give the ground server's "
                                 "ingest address, e.g. tcp://127.0.0.1:10015",
                                 param_hint="--ground")
    return host, int(port)


def _stream(frames: list[tuple[float, bytes]], host: str, port: int, speed: float,
            quiet: bool) -> None:
    """Send each received frame to the ground server when it arrives, ``speed`` times faster
    than real time (light time included: the frames carry their receive times)."""
    import socket
    import time

    from tqdm import tqdm

    from touchdown.ground.live import PacedClock

    try:
        sock = socket.create_connection((host, port), timeout=10.0)
    except OSError as exc:
        raise OutputError(f"could not reach the ground server at tcp://{host}:{port} "
                          f"({exc.strerror or exc}); start it with `touchdown ground` or check "
                          "--ground") from None
    with sock, tqdm(total=len(frames), unit="frame", disable=quiet, leave=False,
                    desc=f"downlink x{speed:g}") as bar:
        clock = PacedClock(frames[0][0] if frames else 0.0, speed)
        clock.start()
        for t, data in frames:
            wait = (t - clock()) / speed
            if wait > 0:
                time.sleep(wait)
            try:
                sock.sendall(data)
            except OSError as exc:
                raise OutputError(f"the ground server at tcp://{host}:{port} closed the link "
                                  f"({exc.strerror or exc})") from None
            bar.update()


def write_flight_outputs(flight: Flight, folder: Path,
                         link: DownlinkedFlight | None = None) -> list[Path]:
    """A run folder: trajectory.parquet (the trace, mode as text), flight.png, flight.json and,
    with the flight's downlink, what the ground received (``received.downlink``)."""
    from touchdown.report.flight_plot import plot_flight
    from touchdown.telemetry.downlink import RUN_RECORDING

    trace = flight.trace.copy()
    trace["mode"] = trace["mode"].astype(str)
    text = json.dumps(jsonable(flight.to_dict()), indent=2) + "\n"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        return [
            write_atomic(folder / "trajectory.parquet",
                          lambda p: trace.to_parquet(p, index=False)),
            plot_flight(flight, folder / "flight.png"),
            write_atomic(folder / "flight.json", lambda p: p.write_text(text, encoding="utf-8")),
        ] + ([link.record(folder / RUN_RECORDING)] if link is not None else [])
    except OSError as exc:
        raise OutputError(f"could not write the outputs in {folder}: {exc}; "
                          "give --out a folder you can write to") from exc


# ---------------------------------------------------------------- formatting

def _latlon(lat: float, lon: float) -> str:
    lon = (lon + 180.0) % 360.0 - 180.0
    return f"{abs(lat):.4f} {'N' if lat >= 0 else 'S'}, {abs(lon):.4f} {'E' if lon >= 0 else 'W'}"


def _outcome(info: dict[str, Any]) -> str:
    text = info["outcome"].upper()
    if info["outcome"] == "crashed" and info["impact_speed_mps"] is not None:
        text += f" at {info['impact_speed_mps']:.1f} m/s"
    return text


def _first(info: dict[str, Any], name: str) -> dict[str, Any] | None:
    return next((e for e in info["events"] if e["name"] == name), None)


def _true_altitude_at(flight: Flight, t: float) -> float:
    """True altitude (m) in the trace row nearest time t (s)."""
    times = flight.trace["t_s"].to_numpy()
    if times.size == 0:
        return math.nan
    i = min(int(times.searchsorted(t)), times.size - 1)
    return float(flight.trace["altitude_m"].iloc[i])


def _facts(flight: Flight) -> list[tuple[str, str]]:
    """(label, value) rows shared by ``fly`` and ``compare``."""
    info = flight.to_dict()
    td = info["touchdown"]
    point = "touchdown/impact point"

    def when(name: str) -> str:
        e = _first(info, name)
        return _clock(e["time_s"]) if e else "never"

    def count(name: str) -> str:
        return str(sum(e["name"] == name for e in info["events"]))

    zero = _first(info, "altitude_estimate_zero")
    zero_text = "never"
    if zero:
        zero_text = (f"{_clock(zero['time_s'])}, true altitude then "
                     f"{_true_altitude_at(flight, zero['time_s']):,.0f} m")
    pos_err = flight.trace["position_error_m"].to_numpy()
    return [
        ("policy", f"{info['policy']} (seed {info['seed']})"),
        ("outcome", _outcome(info)),
        (point, _latlon(td["lat_deg"], td["lon_deg"]) if td else "none"),
        ("contact time", _clock(td["time_s"]) if td else "none"),
        ("vertical speed", f"{td['vertical_speed_mps']:.2f} m/s" if td else "-"),
        ("horizontal speed", f"{td['horizontal_speed_mps']:.2f} m/s" if td else "-"),
        ("tilt", f"{td['tilt_deg']:.1f} deg" if td else "-"),
        ("propellant left", f"{info['propellant_remaining_kg']:.1f} kg "
                            f"(onboard estimate {info['propellant_estimate_kg']:.1f} kg)"),
        ("braking start", when("braking_start")),
        ("LRF acquired", when("lrf_acquired")),
        ("LRF rejections", count("lrf_rejected")),
        ("LRF re-acquired", count("lrf_reacquired")),
        ("LRF widened", count("lrf_widened")),
        ("LRF fault declared", when("lrf_fault_declared")),
        ("propellant exhausted", when("propellant_exhausted")),
        ("altitude estimate 0", zero_text),
        ("nav error at end", f"{pos_err[-1]:,.0f} m" if pos_err.size else "-"),
        ("flight time", _clock(info["flight_time_s"])),
    ]


def _event_rows(flight: Flight) -> list[tuple[str, str, str]]:
    """(time, name, detail) with each repeating event kept once, counted."""
    rows: list[tuple[str, str, str]] = []
    events = flight.events
    for e in events:
        name, detail = e["name"], e["detail"]
        if name in REPEATING_EVENTS:
            same = [x for x in events if x["name"] == name]
            if same[0] is not e:
                continue
            if len(same) > 1:
                name = f"{name} x{len(same)}"
                detail = f"first: {detail}; last at {_clock(same[-1]['time_s'])}"
        elif name == "altitude_estimate_zero":
            detail = f"true altitude then {_true_altitude_at(flight, e['time_s']):,.0f} m"
        rows.append((_clock(e["time_s"]), name, detail))
    return rows


def downlink_line(link: DownlinkedFlight) -> str:
    """What the radio link did with the lander's telemetry, in two lines."""
    st = link.link.stats
    lost = st.frames_lost_visibility + st.frames_lost_random + st.frames_lost_destruction
    last = link.link.frames[-1][0] if link.link.frames else None
    return (f"\ndownlink    {link.config.rate_bps:g} bit/s: {st.frames_delivered:,} of "
            f"{st.frames_sent:,} frames reached the ground ({lost:,} lost: "
            f"{st.frames_lost_visibility:,} with the Earth below the horizon, "
            f"{st.frames_lost_random:,} at random, {st.frames_lost_destruction} at the impact), "
            f"{st.frames_bit_errors:,} with bit errors;\n            {len(link.packets):,} "
            f"packets made, {st.packets_dropped:,} dropped by the queue; last frame received at "
            f"{_clock(last)}")


def flight_summary(flight: Flight) -> str:
    """What ``fly`` prints: the landing in four lines, then the events."""
    info = flight.to_dict()
    td = info["touchdown"]
    if td:
        where = "impact" if info["outcome"] == "crashed" else "touchdown"
        point = (f"{where:<10}  {_latlon(td['lat_deg'], td['lon_deg'])} "
                 f"at {_clock(td['time_s'])}")
        speeds = (f"vertical {td['vertical_speed_mps']:.2f} m/s, "
                  f"horizontal {td['horizontal_speed_mps']:.2f} m/s, "
                  f"tilt {td['tilt_deg']:.1f} deg")
    else:
        point = f"{'contact':<10}  none (flight time {_clock(info['flight_time_s'])})"
        speeds = "-"
    lines = [
        f"{info['scenario']}  (policy {info['policy']}, seed {info['seed']})",
        "",
        f"  {'outcome':<10}  {_outcome(info)}",
        f"  {point}",
        f"  {'speeds':<10}  {speeds}",
        f"  {'propellant':<10}  {info['propellant_remaining_kg']:.1f} kg left "
        f"(onboard estimate {info['propellant_estimate_kg']:.1f} kg)",
    ]
    rows = _event_rows(flight)
    if rows:
        name_w = max(len(n) for _, n, _ in rows)
        lines += ["", "events (time since the scenario epoch)"]
        lines += [f"  {t:>10}  {n:<{name_w}}  {d}" for t, n, d in rows]
    return "\n".join(lines)


def _side_by_side(a: Flight, b: Flight) -> str:
    fa, fb = _facts(a), _facts(b)
    width = max(len(k) for k, _ in fa)
    col = max(len(a.scenario.name), *(len(v) for _, v in fa)) + 3
    lines = [f"{'':<{width}}  {a.scenario.name:<{col}}{b.scenario.name}",
             f"{'':<{width}}  {'-' * len(a.scenario.name):<{col}}{'-' * len(b.scenario.name)}"]
    lines += [f"{k:<{width}}  {va:<{col}}{vb}" for (k, va), (_, vb) in zip(fa, fb, strict=True)]
    return "\n".join(lines)


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
def fly(scenario: str, seed: int, out: Path | None, as_json: bool, downlink: Path | None,
        ground_url: str | None, live: bool, speed: float, archive_path: Path | None,
        host: str, port: int, wait: bool, quiet: bool, debug: bool) -> None:
    """Fly SCENARIO once and summarise the landing; with --downlink, --ground or --live, its
    telemetry goes through the radio link to the ground."""
    address = _ground_address(ground_url)
    if live and (address is not None or as_json):
        raise click.UsageError("--live runs its own ground server: leave out --ground and "
                               "--json")
    with errors_to_exit(debug), contextlib.ExitStack() as held:
        s = load_scenario(scenario)
        if live:
            from touchdown.cli.ground import check_live, default_live_archive

            archive_path = archive_path or default_live_archive(s.name)
            # before the flight: Open MCT there, the archive new, the web port bound
            web = held.enter_context(check_live(archive_path, host, port))
        link = None
        if downlink is None and address is None and not live and out is None:
            flight = _fly(s, seed, quiet)
        else:
            link = _fly_downlink(s, seed, quiet)
            flight = link.flight
        written = write_flight_outputs(flight, out, link) if out is not None else []
        if link is not None and downlink is not None:
            try:
                written.append(link.record(downlink))
            except OSError as exc:
                raise OutputError(f"could not write {downlink}: {exc}; give --downlink a "
                                  "file you can write") from None
        if link is not None and address is not None:
            _stream(link.link.frames, *address, speed, quiet or as_json)
        if link is not None and live:
            from touchdown.cli.ground import serve_live

            def summary() -> None:
                click.echo("\n" + flight_summary(flight) + "\n" + downlink_line(link) + "\n")

            assert archive_path is not None
            serve_live(link, archive_path, host, web, speed, wait, quiet, summary)
            return
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
            written = write_flight_outputs(fa, da, la) + write_flight_outputs(fb, db, lb)
    click.echo(_side_by_side(fa, fb))
    if written:
        click.echo()
        for p in written:
            click.echo(f"wrote {p}")
