"""The touchdown command line, through click's CliRunner, with the real scenarios.

One ``fly --json --out`` run is shared by the tests that read its outputs; the error tests stop
before any flight.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner, Result

from touchdown.cli import main
from touchdown.scenario import CAMPAIGN_SUFFIX, SCENARIO_DIR

FLIGHT_KEYS = {"scenario", "seed", "policy", "outcome", "impact_speed_mps", "touchdown",
               "propellant_remaining_kg", "propellant_estimate_kg", "flight_time_s", "events"}
OUTCOMES = {"landed", "crashed", "timeout"}
TRACE_COLUMNS = ("t_s", "lat_deg", "lon_deg", "altitude_m", "altitude_est_m", "lrf_range_m",
                 "lrf_accepted", "vertical_speed_mps", "horizontal_speed_mps", "propellant_kg",
                 "mode")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def assert_one_error_line(result: Result, *needles: str) -> str:
    """stderr is exactly one ``error: ...`` line containing every needle; returns it."""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    assert result.stdout == ""
    return lines[0]


@pytest.fixture(scope="module")
def flown(tmp_path_factory: pytest.TempPathFactory) -> tuple[Result, Path]:
    """``touchdown fly hakuto-r-m1 --json --out DIR``, run once for the module."""
    out = tmp_path_factory.mktemp("fly") / "flight-outputs"
    return run("fly", "hakuto-r-m1", "--json", "--out", str(out)), out


def test_fly_json_prints_exactly_one_flight_object(flown: tuple[Result, Path]) -> None:
    result, _ = flown
    assert result.exit_code == 0, result.output
    flight = json.loads(result.stdout)  # fails if anything else shares stdout
    assert isinstance(flight, dict)
    assert flight.keys() >= FLIGHT_KEYS
    assert flight["scenario"] == "hakuto-r-m1"
    assert flight["outcome"] in OUTCOMES
    assert (flight["impact_speed_mps"] is not None) == (flight["outcome"] == "crashed")
    assert all({"time_s", "name", "detail"} <= e.keys() for e in flight["events"])


def test_fly_json_sends_the_written_paths_to_stderr(flown: tuple[Result, Path]) -> None:
    result, out = flown
    assert result.exit_code == 0, result.output
    for name in ("trajectory.parquet", "flight.png", "flight.json"):
        assert str(out / name) in result.stderr
        assert str(out / name) not in result.stdout


def test_fly_out_writes_the_trace_as_parquet(flown: tuple[Result, Path]) -> None:
    result, out = flown
    assert result.exit_code == 0, result.output
    trace = pd.read_parquet(out / "trajectory.parquet")
    assert set(TRACE_COLUMNS) <= set(trace.columns)
    assert len(trace) > 100
    assert trace["lrf_accepted"].dtype == bool
    assert pd.api.types.is_string_dtype(trace["mode"])
    assert trace["t_s"].is_monotonic_increasing


def test_fly_out_writes_a_png_and_the_same_json(flown: tuple[Result, Path]) -> None:
    result, out = flown
    assert result.exit_code == 0, result.output
    png = (out / "flight.png").read_bytes()
    assert png.startswith(PNG_SIGNATURE)
    assert len(png) > 20_000
    assert json.loads((out / "flight.json").read_text()) == json.loads(result.stdout)
    assert sorted(p.name for p in out.iterdir()) == [  # no temporary files left
        "flight.json", "flight.png", "images", "received.downlink", "trajectory.parquet"]
    assert not [p for p in (out / "images").iterdir() if p.name.startswith(".")]


def test_fly_summary_is_for_people_and_stderr_is_quiet_off_a_tty() -> None:
    result = run("fly", "hakuto-r-m1-fixed")
    assert result.exit_code == 0, result.output
    flight_line, _, *facts = result.stdout.splitlines()
    assert flight_line.startswith("hakuto-r-m1-fixed")
    assert "terrain_aware" in flight_line
    outcome = facts[0].split()
    assert outcome[0] == "outcome"
    assert outcome[1] in {o.upper() for o in OUTCOMES}
    assert "propellant" in result.stdout
    assert result.stderr == ""  # no status line when stderr is not a terminal


def test_compare_prints_both_side_by_side_and_writes_each_folder(tmp_path: Path) -> None:
    result = run("compare", "hakuto-r-m1", "hakuto-r-m1-fixed", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    header = result.stdout.splitlines()[0].split()
    assert header == ["hakuto-r-m1", "hakuto-r-m1-fixed"]
    outcome_row = next(r for r in result.stdout.splitlines() if r.startswith("outcome"))
    assert len(re.findall(r"LANDED|CRASHED|TIMEOUT", outcome_row)) == 2
    for name in ("hakuto-r-m1", "hakuto-r-m1-fixed"):
        for file in ("trajectory.parquet", "flight.png", "flight.json"):
            assert (tmp_path / name / file).stat().st_size > 0


def test_unknown_scenario_name_exits_2_and_lists_the_scenarios() -> None:
    result = run("fly", "no-such-scenario")
    assert result.exit_code == 2, result.output
    line = assert_one_error_line(result, "no-such-scenario")
    for path in SCENARIO_DIR.glob("*.toml"):
        if path.name.endswith(CAMPAIGN_SUFFIX):
            assert path.stem not in line  # campaign files are not scenarios
        else:
            assert path.stem in line


def break_field(tmp_path: Path, key: str, value: str) -> Path:
    """A copy of scenarios/hakuto-r-m1.toml with ``key = value`` on the line that sets key."""
    text = (SCENARIO_DIR / "hakuto-r-m1.toml").read_text(encoding="utf-8")
    broken, n = re.subn(rf"(?m)^{key}\s*=.*$", f"{key} = {value}", text)
    assert n == 1, f"{key} is not set on exactly one line"
    path = tmp_path / "broken.toml"
    path.write_text(broken, encoding="utf-8")
    return path


def test_invalid_field_exits_2_naming_the_file_and_the_field(tmp_path: Path) -> None:
    path = break_field(tmp_path, "gate_nis", "-1")
    result = run("fly", str(path))
    assert result.exit_code == 2, result.output
    assert_one_error_line(result, str(path), "flight_software.gate_nis", "-1")
    assert "Traceback" not in result.output


@pytest.mark.parametrize(("content", "fix"), [
    (b'[scenario]\nname = "caf\xe9"\n', "save it as UTF-8"),  # Latin-1
    (b".".join([b"a"] * 3000) + b" = 1\n", "nest at most"),
    (None, "give a .toml file, not a directory"),
], ids=["latin-1", "deep-key", "directory"])
def test_unreadable_scenario_exits_2_naming_the_file_and_the_fix(tmp_path: Path,
                                                                 content: bytes | None,
                                                                 fix: str) -> None:
    path = tmp_path / "scenario.toml"
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content)
    result = run("fly", str(path))
    assert result.exit_code == 2, result.output
    assert_one_error_line(result, str(path), fix)


def test_debug_adds_the_traceback(tmp_path: Path) -> None:
    path = break_field(tmp_path, "gate_nis", "-1")
    result = run("compare", str(path), "hakuto-r-m1", "--debug")
    assert result.exit_code == 2, result.output
    assert "Traceback" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error: ")


@pytest.mark.parametrize("args", [
    ("fly", "hakuto-r-m1", "--no-such-flag"),
    ("fly", "hakuto-r-m1", "--seed", "-1"),
    ("compare", "hakuto-r-m1"),
    ("land", "hakuto-r-m1"),
])
def test_usage_errors_exit_2(args: tuple[str, ...]) -> None:
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert "Usage:" in result.stderr


def test_out_that_is_a_file_is_a_usage_error(tmp_path: Path) -> None:
    a_file = tmp_path / "taken"
    a_file.write_text("")
    result = run("fly", "hakuto-r-m1", "--out", str(a_file))
    assert result.exit_code == 2, result.output
    assert "--out" in result.stderr


def test_python_dash_m_touchdown_is_the_command() -> None:
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "touchdown", "fly", "--help"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "Usage: python -m touchdown fly" in r.stdout, r.stderr


class _Terminal:
    """A stand-in stderr that says it is a terminal and keeps what is written."""

    encoding = "utf-8"

    def __init__(self) -> None:
        self.text = ""

    def isatty(self) -> bool:
        return True

    def write(self, s: str) -> None:
        self.text += s

    def flush(self) -> None:
        pass


def test_a_first_flight_says_it_compiles_then_what_it_flies(monkeypatch) -> None:
    """On a first run (the loop not in the compiled cache) the status line says why it waits,
    with the seconds since it began, until the loop is compiled; then what it flies."""
    import time

    from touchdown.cli import common

    loop, compiled = object(), False
    monkeypatch.setattr(common, "cached", lambda kernel: kernel is loop and compiled)
    terminal = _Terminal()
    monkeypatch.setattr(common.sys, "stderr", terminal)
    with common.status_line("flying hakuto-r-m1", quiet=False, compiles=loop):
        time.sleep(0.2)
        first = terminal.text
        compiled = True
        time.sleep(0.7)  # a redraw (twice a second)
    line = f"compiling the flight software, first run only, ~{common.COMPILE_S} s"
    assert line in first and "flying" not in first
    assert "flying hakuto-r-m1 … " in terminal.text.rsplit(line, 1)[1]
    assert terminal.text.endswith("\r\033[K")  # the line is cleared at the end


@pytest.mark.parametrize(("quiet", "kernel", "cached"), [(True, "loop", False),
                                                         (False, "loop", True),
                                                         (False, None, False)])
def test_the_compile_line_only_on_a_first_flight_and_never_with_quiet(monkeypatch, quiet,
                                                                     kernel, cached) -> None:
    import time

    from touchdown.cli import common

    monkeypatch.setattr(common, "cached", lambda kernel: cached)
    terminal = _Terminal()
    monkeypatch.setattr(common.sys, "stderr", terminal)
    with common.status_line("flying hakuto-r-m1", quiet=quiet, compiles=kernel):
        time.sleep(0.1)
    assert "compiling" not in terminal.text
    assert ("flying hakuto-r-m1" in terminal.text) == (not quiet)


def test_fly_loads_neither_pandas_nor_other_commands() -> None:
    """What `touchdown fly` waits for at start: only what its summary needs (the trace as a
    table, the ground station and the other commands load when used)."""
    import subprocess
    import sys

    code = ("import sys; from touchdown.cli import main; main(['fly', 'hakuto-r-m1', '-q'], "
            "standalone_mode=False); print(sorted(m for m in sys.modules if m in "
            "('pandas', 'matplotlib', 'aiohttp', 'touchdown.cli.ground', "
            "'touchdown.cli.campaign', 'touchdown.ground.station')))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr
    assert "outcome" in r.stdout and r.stdout.splitlines()[-1] == "[]", r.stdout
