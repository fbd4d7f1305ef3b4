"""The ``touchdown`` command line (shell): fly or compare scenarios; thin over the library.

Results go to stdout, the status line and errors to stderr. Library errors become one line,
``error: <message>``, exiting 2 for scenario, data and usage problems and 1 for a failed run;
``--debug`` adds the traceback. A crash or timeout of the simulated lander is a result, not a
failed run: the command still exits 0.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from touchdown.errors import DataFileError, DataRangeError, ScenarioError, TouchdownError

if TYPE_CHECKING:
    from touchdown.scenario import Scenario
    from touchdown.sim.run import Flight

EXIT_FAILED = 1  # the run itself failed
EXIT_CONFIG = 2  # scenario, data or usage problem (click uses 2 for usage errors too)

# Events that repeat (one per rejected reading, say) are shown once, with a count.
REPEATING_EVENTS = ("lrf_rejected", "lrf_reacquired", "lrf_widened")


# ---------------------------------------------------------------- errors and the status line

class OutputError(Exception):
    """An output file could not be written (the flight itself went fine)."""


def _fail(message: str, code: int, debug: bool) -> NoReturn:
    if debug:
        click.echo(traceback.format_exc().rstrip(), err=True)
    click.echo(f"error: {message}", err=True)
    raise click.exceptions.Exit(code)


@contextlib.contextmanager
def _errors(debug: bool) -> Iterator[None]:
    """Turn library errors into one line on stderr and an exit code (once, at the edge)."""
    try:
        yield
    except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
        raise
    except (ScenarioError, DataFileError, DataRangeError) as exc:
        _fail(str(exc), EXIT_CONFIG, debug)
    except TouchdownError as exc:
        _fail(str(exc), EXIT_FAILED, debug)
    except OutputError as exc:
        _fail(str(exc), EXIT_FAILED, debug)
    except OSError as exc:  # e.g. a scenario file that cannot be read
        _fail(str(exc), EXIT_CONFIG, debug)
    except Exception as exc:
        hint = "" if debug else "; rerun with --debug for the traceback"
        _fail(f"internal error, {type(exc).__name__}: {exc}{hint}", EXIT_FAILED, debug)


@contextlib.contextmanager
def _status(text: str, quiet: bool) -> Iterator[None]:
    """A one-line status on stderr while work runs: only on a TTY, never with --quiet."""
    stream = sys.stderr
    if quiet or not stream.isatty():
        yield
        return
    dots = "…" if "utf" in (getattr(stream, "encoding", "") or "").lower() else "..."
    stop = threading.Event()
    t0 = time.monotonic()

    def draw() -> None:
        while True:
            elapsed = time.monotonic() - t0
            note = ("  (the first run compiles the flight code, about a minute)"
                    if elapsed > 5 else "")
            stream.write(f"\r\033[K{text} {dots} {elapsed:.0f} s{note}")
            stream.flush()
            if stop.wait(0.5):  # redraw at most twice a second
                return

    drawer = threading.Thread(target=draw, daemon=True)
    drawer.start()
    try:
        yield
    finally:
        stop.set()
        drawer.join()
        stream.write("\r\033[K")
        stream.flush()


def _common_options(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option("--debug", is_flag=True, help="Show the full traceback on errors.")(f)
    f = click.option("--quiet", "-q", is_flag=True,
                     help="No status line on stderr.")(f)
    return click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
                        help="Random seed: the same seed flies the same numbers.")(f)


# ---------------------------------------------------------------- library calls

def _load(name_or_path: str) -> Scenario:
    from touchdown.scenario import Scenario, resolve

    return Scenario.from_toml(resolve(name_or_path))


def _fly(scenario: Scenario, seed: int, quiet: bool) -> Flight:
    from touchdown.sim.run import fly

    with _status(f"flying {scenario.name}", quiet):
        return fly(scenario, seed=seed)


def _jsonable(value: Any) -> Any:
    """Plain JSON types; NaN and infinities become null so any parser reads the result."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalars
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _replace_into(path: Path, write: Callable[[Path], None]) -> Path:
    """Write through ``write(tmp)`` to a temporary name beside ``path``, then rename."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return path


def _write_outputs(flight: Flight, folder: Path) -> list[Path]:
    """trajectory.parquet (the trace, mode as text), flight.png and flight.json in folder."""
    from touchdown.report.flight_plot import plot_flight

    trace = flight.trace.copy()
    trace["mode"] = trace["mode"].astype(str)
    text = json.dumps(_jsonable(flight.to_dict()), indent=2) + "\n"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        return [
            _replace_into(folder / "trajectory.parquet",
                          lambda p: trace.to_parquet(p, index=False)),
            plot_flight(flight, folder / "flight.png"),
            _replace_into(folder / "flight.json", lambda p: p.write_text(text, encoding="utf-8")),
        ]
    except OSError as exc:
        raise OutputError(f"could not write the outputs in {folder}: {exc}; "
                          "give --out a folder you can write to") from exc


# ---------------------------------------------------------------- formatting

def _clock(t: float | None) -> str:
    """Time since the scenario epoch as T+mm:ss.s (minutes may pass 59)."""
    if t is None or not math.isfinite(t):
        return "-"
    m, s = divmod(round(t, 1), 60.0)
    return f"T+{int(m):02d}:{s:04.1f}"


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


def _summary(flight: Flight) -> str:
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

@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="touchdown")
def main() -> None:
    """Fly lunar landings over real LRO terrain.

    SCENARIO is a name under scenarios/ (e.g. hakuto-r-m1) or a path to a .toml file.
    Terrain tiles are read from $TOUCHDOWN_DATA.
    """


@main.command()
@click.argument("scenario")
@_common_options
@click.option("--out", type=click.Path(file_okay=False, writable=True, path_type=Path),
              help="Write trajectory.parquet, flight.png and flight.json into this folder.")
@click.option("--json", "as_json", is_flag=True,
              help="Print the flight as one JSON object on stdout, nothing else.")
def fly(scenario: str, seed: int, out: Path | None, as_json: bool, quiet: bool,
        debug: bool) -> None:
    """Fly SCENARIO once and summarise the landing."""
    with _errors(debug):
        s = _load(scenario)
        flight = _fly(s, seed, quiet)
        written = _write_outputs(flight, out) if out is not None else []
    if as_json:
        click.echo(json.dumps(_jsonable(flight.to_dict()), indent=2))
    else:
        click.echo(_summary(flight))
    if written:
        if not as_json:
            click.echo()
        for p in written:
            click.echo(f"wrote {p}", err=as_json)


@main.command()
@click.argument("a", metavar="A")
@click.argument("b", metavar="B")
@_common_options
@click.option("--out", type=click.Path(file_okay=False, writable=True, path_type=Path),
              help="Write each flight's trajectory.parquet, flight.png and flight.json into "
                   "OUT/<scenario name>/.")
def compare(a: str, b: str, seed: int, out: Path | None, quiet: bool, debug: bool) -> None:
    """Fly scenarios A and B with the same seed and show them side by side."""
    with _errors(debug):
        sa, sb = _load(a), _load(b)  # both checked before the first (long) flight
        fa, fb = _fly(sa, seed, quiet), _fly(sb, seed, quiet)
        written: list[Path] = []
        if out is not None:
            da, db = _output_dirs(out, sa, sb)
            written = _write_outputs(fa, da) + _write_outputs(fb, db)
    click.echo(_side_by_side(fa, fb))
    if written:
        click.echo()
        for p in written:
            click.echo(f"wrote {p}")
