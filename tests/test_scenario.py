"""Scenario validation: every bad field is refused with the file, the field and what is allowed."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from touchdown.errors import ScenarioError
from touchdown.scenario import DEFAULTS, SCHEMA, Scenario, resolve

M1 = resolve("hakuto-r-m1")


def _doc() -> dict:
    return tomllib.loads(M1.read_text())


def _set(doc: dict, path: str, value) -> None:
    *parents, leaf = path.split(".")
    for p in parents:
        doc = doc[p]
    if value is None:
        del doc[leaf]
    else:
        doc[leaf] = value


def test_both_scenarios_load_and_differ_only_in_policy_and_name():
    """The fix changes the policy alone (the as-flown file also records what history saw)."""
    a = Scenario.from_toml(M1)
    b = Scenario.from_toml(resolve("hakuto-r-m1-fixed"))
    differ = {k for k in a.values if a[k] != b[k] and not k.startswith("history.")}
    assert differ == {"scenario.name", "scenario.description", "flight_software.rejection_policy"}
    assert a["flight_software.rejection_policy"] == "as_flown_m1"
    assert b["flight_software.rejection_policy"] == "terrain_aware"
    assert a["scenario.epoch_utc"].isoformat() == "2023-04-25T15:40:00+00:00"
    assert (a["target.lat_deg"], a["target.lon_deg"]) == (47.5, 44.4)


def test_every_assumption_is_labelled():
    text = M1.read_text()
    assert text.count("ASSUMPTION") >= 15
    for key in ("isp_s", "propellant_kg", "max_range_m", "position_sigma_m"):
        line = next(i for i, t in enumerate(text.splitlines()) if t.startswith(key))
        nearby = "\n".join(text.splitlines()[max(0, line - 8):line + 1])
        assert "ASSUMPTION" in nearby, f"{key} is not labelled as an assumption"


@pytest.mark.parametrize(("field", "value", "expected"), [
    ("flight_software.gate_nis", -1.0, "must be within"),
    ("flight_software.rejection_policy", "ignore_it", "must be one of as_flown_m1, terrain_aware"),
    ("lander.main_engine.thrust_n", "400 N", "must be a number"),
    ("target.lat_deg", 95.0, "must be within [-90, 90]"),
    ("sensors.lrf.beam_body", [0.0, 0.0], "must be a list of 3 numbers"),
    ("sensors.lrf.beam_body", [0.0, 0.0, -2.0], "must be within"),
    ("scenario.epoch_utc", "yesterday", "is not a date and time"),
    ("lander.thrusters.count", 2.5, "must be an integer"),
    ("orbit.altitude_km", None, "is missing"),
])
def test_bad_field_names_file_field_and_fix(tmp_path: Path, field, value, expected):
    doc = _doc()
    _set(doc, field, value)
    with pytest.raises(ScenarioError) as err:
        Scenario.from_dict(doc, tmp_path / "bad.toml")
    msg = str(err.value)
    assert "bad.toml" in msg and field in msg and expected in msg, msg
    assert err.value.field == field


def test_unknown_field_is_refused(tmp_path: Path):
    doc = _doc()
    doc["lander"]["thrust_to_weight"] = 2.0
    with pytest.raises(ScenarioError, match=r"lander\.thrust_to_weight is not a known field"):
        Scenario.from_dict(doc, tmp_path / "bad.toml")


def test_broken_toml_and_missing_file(tmp_path: Path):
    bad = tmp_path / "broken.toml"
    bad.write_text("[scenario\nname = 1\n")
    with pytest.raises(ScenarioError, match=r"broken\.toml: is not valid TOML"):
        Scenario.from_toml(bad)
    with pytest.raises(ScenarioError, match="does not exist"):
        Scenario.from_toml(tmp_path / "nope.toml")
    with pytest.raises(ScenarioError, match="hakuto-r-m1"):
        resolve("no-such-scenario")


def bad_scenario_file(tmp_path: Path, kind: str) -> tuple[Path, str]:
    """A scenario path that cannot be read (kind), and the fix its error must name."""
    m1 = M1.read_bytes()
    if kind == "latin-1":
        path = tmp_path / "latin.toml"
        path.write_bytes(m1.replace(b'description = "', b'description = "caf\xe9 ', 1))
        return path, "save it as UTF-8"
    if kind == "deep-key":
        path = tmp_path / "deep.toml"
        path.write_bytes(m1 + b"\n" + b".".join([b"a"] * 3000) + b" = 1\n")
        return path, "nest at most"
    if kind == "deep-array":
        path = tmp_path / "deep-array.toml"
        path.write_bytes(b"a = " + b"[" * 3000 + b"]" * 3000 + b"\n")
        return path, "nest at most"
    path = tmp_path / "scenario.toml"
    path.mkdir()
    return path, "give a .toml file, not a directory"


@pytest.mark.parametrize("kind", ["latin-1", "deep-key", "deep-array", "directory"])
def test_unreadable_scenario_file_names_the_file_and_the_fix(tmp_path: Path, kind):
    path, fix = bad_scenario_file(tmp_path, kind)
    with pytest.raises(ScenarioError) as err:
        Scenario.from_toml(path)
    msg = str(err.value)
    assert msg.startswith(f"{path}: ") and fix in msg, msg


def test_latin_1_error_gives_the_byte_and_its_line(tmp_path: Path):
    path, _ = bad_scenario_file(tmp_path, "latin-1")
    line = 1 + M1.read_text().split('description = "')[0].count("\n")
    with pytest.raises(ScenarioError, match=rf"byte 0xe9 on line {line}\)"):
        Scenario.from_toml(path)


def test_schema_paths_are_unique():
    keys = [k for k, *_ in SCHEMA]
    assert len(keys) == len(set(keys))


@pytest.mark.parametrize(("coast", "hint"), [(0.25, "use 0.2 s"), (0.05, "use 0.1 s")])
def test_coast_cycle_must_be_a_whole_number_of_cycles(tmp_path: Path, coast, hint):
    doc = _doc()
    _set(doc, "flight_software.coast_cycle_s", coast)
    with pytest.raises(ScenarioError) as err:
        Scenario.from_dict(doc, tmp_path / "bad.toml")
    msg = str(err.value)
    assert "flight_software.coast_cycle_s" in msg and "whole multiple of cycle_s" in msg, msg
    assert hint in msg, msg


def test_coast_cycle_is_labelled_and_a_multiple_of_the_cycle():
    s = Scenario.from_toml(M1)
    n = s["flight_software.coast_cycle_s"] / s["flight_software.cycle_s"]
    assert abs(n - round(n)) < 1e-9 and round(n) >= 1
    lines = M1.read_text().splitlines()
    at = next(i for i, t in enumerate(lines) if t.startswith("coast_cycle_s"))
    assert "ASSUMPTION" in "\n".join(lines[max(0, at - 8):at + 1])


OPTIONAL = {"guidance.ignition_search_tgo_s": 3000.0, "guidance.guidance_range_deg": 45.0,
            "flight_software.wake_margin": 0.1, "flight_software.wake_cycles": 3.0,
            "flight_software.lrf_incidence_cos_min": 0.05}


def test_optional_fields_take_their_defaults_or_the_given_value(tmp_path: Path):
    assert {k: DEFAULTS[k] for k in OPTIONAL} == OPTIONAL
    doc = _doc()
    assert {k: Scenario.from_dict(doc)[k] for k in OPTIONAL} == OPTIONAL  # M1 states them
    for key in OPTIONAL:  # left out, each takes its default
        section, name = key.split(".")
        del doc[section][name]
    s = Scenario.from_dict(doc)
    assert {k: s[k] for k in OPTIONAL} == OPTIONAL
    _set(doc, "guidance.guidance_range_deg", 30.0)
    assert Scenario.from_dict(doc)["guidance.guidance_range_deg"] == 30.0
    assert s.replace({"flight_software.wake_cycles": 5.0})["flight_software.wake_cycles"] == 5.0


@pytest.mark.parametrize(("field", "value", "expected"), [
    ("guidance.ignition_search_tgo_s", 0.0, "must be within [1, 86400]"),
    ("guidance.guidance_range_deg", 200.0, "must be within [0, 180]"),
    ("flight_software.wake_margin", "a tenth", "must be a number"),
    ("flight_software.lrf_incidence_cos_min", 1.5, "must be within [0, 1]"),
])
def test_bad_optional_field_names_file_field_and_fix(tmp_path: Path, field, value, expected):
    doc = _doc()
    _set(doc, field, value)
    with pytest.raises(ScenarioError) as err:
        Scenario.from_dict(doc, tmp_path / "bad.toml")
    msg = str(err.value)
    assert "bad.toml" in msg and field in msg and expected in msg and "; give " in msg, msg
    assert err.value.field == field


def test_a_scenario_extends_another_beside_it(tmp_path: Path):
    """``extends``: the base file's tables beneath the variant's (a table key by key, other
    values replaced, arrays of tables too), the base's [history] left out; the shipped
    beresheet-protected differs from beresheet only where it says."""
    (tmp_path / "base.toml").write_text(M1.read_text())
    (tmp_path / "variant.toml").write_text(
        'extends = "base.toml"\n[scenario]\nname = "variant"\n'
        "[lander.main_engine]\nthrust_n = 450.0\n")
    v, base = Scenario.from_toml(tmp_path / "variant.toml"), Scenario.from_toml(M1)
    changed = {k for k in base.values if v[k] != base[k]}
    assert changed == {"scenario.name", "lander.main_engine.thrust_n", "history.outcome",
                       "history.summary"}
    assert v["lander.main_engine.isp_s"] == base["lander.main_engine.isp_s"]
    assert v["history.outcome"] is None  # the history belongs to the base's own flight
    protected = Scenario.from_toml(resolve("beresheet-protected"))
    beresheet = Scenario.from_toml(resolve("beresheet"))
    assert {k for k in beresheet.values if protected[k] != beresheet[k]} >= {
        "flight_software.restart_protected"}
    assert protected["commands"] == beresheet["commands"]


@pytest.mark.parametrize(("extends", "expected"), [
    ('"missing.toml"', "names missing.toml, which does not exist"),
    ('"../base.toml"', "is not a scenario file's name"),
    ("3", "is not a scenario file's name"),
    ('"loop.toml"', "forms a loop"),
])
def test_a_bad_extends_names_the_file_and_the_fix(tmp_path: Path, extends, expected):
    (tmp_path / "loop.toml").write_text(f"extends = {extends}\n")
    with pytest.raises(ScenarioError, match="extends") as err:
        Scenario.from_toml(tmp_path / "loop.toml")
    assert expected in str(err.value) and "loop.toml" in str(err.value)
