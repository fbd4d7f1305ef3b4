"""Scenario files: load a TOML scenario, validate every field, and name the problem and the fix.

``Scenario.from_toml(path)`` returns a typed, validated scenario; ``resolve(name_or_path)``
finds ``scenarios/NAME.toml`` or takes a path. The fields are declared in ``touchdown.parameters``;
every one is required except those in ``DEFAULTS`` (among them the injected faults of an
optional ``[faults]`` section, zero when absent).
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

from touchdown.core.layout import (
    ALTIMETER_UPDATES,
    COMMANDS,
    EVENTS,
    MAX_BEAMS,
    MAX_COMMANDS,
    POLICIES,
)
from touchdown.errors import ScenarioError
from touchdown.parameters import DIRECT_FIELDS, ORBIT_FIELDS, PHASES, fields

SCENARIO_DIR = Path(__file__).resolve().parents[2] / "scenarios"
CAMPAIGN_SUFFIX = ".campaign.toml"  # NAME.campaign.toml beside NAME.toml holds its dispersions

# (field path, kind, lower, upper, meaning) of every field, declared in ``touchdown.parameters``
# with what each fills. Kinds: "float", "int", "str", "vec2", "vec3", "time", "policy" and
# "altimeter_update" and "history" (one of CHOICES), "phases" (a list of mode names), "tiles"
# (a list of terrain files), "engines" (a table of phase = engines), "beams" (a list of unit
# vectors), "points" (a list of number triples, nan allowed), "labels" (a list of strings),
# "events" (a list of event names) and "commands" ([[commands]] tables: the ground's command
# timeline). Bounds are inclusive; None means unbounded.
SCHEMA: tuple[tuple[str, str, float | None, float | None, str], ...] = tuple(
    (f.key, f.kind, f.lo, f.hi, f.what) for f in fields())

# Optional fields and the value a document without them gets: every other field is required.
DEFAULTS: dict[str, Any] = {f.key: f.default for f in fields() if f.optional}

FIELDS = {key: (kind, lo, hi, what) for key, kind, lo, hi, what in SCHEMA}


# kinds of named choices
CHOICES = {"policy": POLICIES, "altimeter_update": ALTIMETER_UPDATES,
           "history": ("landed", "crashed")}

MAX_NESTING = 16  # tables, dotted keys and arrays nest at most this deep in a scenario file


def read_toml(path: Path, if_missing: str) -> dict[str, Any]:
    """A TOML file's document; ScenarioError naming the file and the fix if it cannot be read.

    Refused: a missing file, a directory or other unreadable path, bytes that are not UTF-8,
    malformed TOML, and keys or arrays nested deeper than ``MAX_NESTING``.
    """
    nested = ("is nested too deeply", f"keys and arrays nest at most {MAX_NESTING} deep")
    try:
        doc = tomllib.loads(path.read_bytes().decode("utf-8"))
    except FileNotFoundError:
        raise ScenarioError(path, "", "does not exist", if_missing) from None
    except IsADirectoryError:
        raise ScenarioError(path, "", "is a directory",
                            "give a .toml file, not a directory") from None
    except OSError as exc:
        raise ScenarioError(path, "", f"cannot be read ({exc.strerror or exc})",
                            "check that it is a readable file") from None
    except UnicodeDecodeError as exc:
        line = exc.object[:exc.start].count(b"\n") + 1
        raise ScenarioError(path, "", f"is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} "
                            f"on line {line})", "save it as UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(path, "", f"is not valid TOML ({exc})",
                            "fix the syntax at the line shown") from None
    except RecursionError:
        raise ScenarioError(path, "", *nested) from None
    if _depth(doc) > MAX_NESTING:
        raise ScenarioError(path, "", *nested)
    return doc


def read_scenario(path: Path, within: tuple[Path, ...] = ()) -> dict[str, Any]:
    """A scenario file's document, with the scenario file it ``extends`` beneath it.

    ``extends = "NAME.toml"`` (as a campaign file's) names a scenario file in the same folder:
    its tables are merged under this file's (a table merges key by key; any other value, arrays
    of tables included, replaces), except ``[history]``, which belongs to the one flight it
    tells of.
    """
    doc = read_toml(path, f"give a path or a name from {SCENARIO_DIR}")
    if "extends" not in doc:
        return doc
    base = doc.pop("extends")
    if not isinstance(base, str) or Path(base).name != base or not base.endswith(".toml"):
        raise ScenarioError(path, "extends", f"({base!r}) is not a scenario file's name",
                            "give the name of a .toml scenario file in the same folder")
    base_path = path.parent / base
    if base_path.resolve() in (*within, path.resolve()):
        raise ScenarioError(path, "extends", f"({base}) forms a loop",
                            "make the chain of extends end at a file without one")
    if not base_path.exists():
        raise ScenarioError(path, "extends", f"names {base}, which does not exist",
                            "name a scenario file in the same folder")
    under = read_scenario(base_path, (*within, path.resolve()))
    under.pop("history", None)
    return _merged(under, doc)


def _merged(under: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``over`` merged onto ``under`` (tables key by key; anything else replaced)."""
    out = dict(under)
    for k, v in over.items():
        out[k] = (_merged(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict)
                  else v)
    return out


def _depth(doc: dict[str, Any]) -> int:
    """How deep tables and arrays nest in a TOML document (iterative: any depth is safe)."""
    deepest, todo = 0, [(doc, 1)]
    while todo:
        node, depth = todo.pop()
        deepest = max(deepest, depth)
        children = node.values() if isinstance(node, dict) else node
        todo.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return deepest


def _lookup(doc: dict[str, Any], path: str) -> tuple[bool, Any]:
    node: Any = doc
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return False, None
        node = node[part]
    return True, node


def _check(path: Path, key: str, kind: str, lo: float | None, hi: float | None, what: str,
           value: Any) -> Any:
    def bad(problem: str) -> ScenarioError:
        return ScenarioError(path, key, problem, f"give {what}")

    def number(v: Any) -> float:
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise bad(f"must be a number, got {v!r}")
        if not math.isfinite(v):
            raise bad(f"must be finite, got {v!r}")
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            raise bad(f"must be within [{lo:g}, {hi:g}], got {v!r}")
        return float(v)

    if kind == "str":
        if not isinstance(value, str) or not value.strip():
            raise bad(f"must be a non-empty string, got {value!r}")
        return value
    if kind == "time":
        try:
            t = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            raise bad(f"is not a date and time, got {value!r}") from None
        return t.astimezone(UTC) if t.tzinfo else t.replace(tzinfo=UTC)
    if kind == "phases":
        if not isinstance(value, list | tuple) or not value:
            raise bad(f"must be a list of mode names, got {value!r}")
        unknown = [v for v in value if v not in PHASES]
        if unknown:
            raise bad(f"has unknown modes {unknown}")
        if len(set(value)) != len(value):
            raise bad(f"lists a mode twice, got {value!r}")
        return tuple(value)
    if kind == "engines":  # engines fired by phase: {mode name: count}
        if not isinstance(value, dict):
            raise bad(f"must be a table of phase = engines, got {value!r}")
        unknown = [k for k in value if k not in PHASES]
        if unknown:
            raise bad(f"names unknown phases {unknown}")
        out = {}
        for k, v in value.items():
            if isinstance(v, bool) or not isinstance(v, int):
                raise bad(f"must give whole engines, got {k} = {v!r}")
            out[k] = int(number(v))
        return out
    if kind == "beams":
        if (not isinstance(value, list | tuple) or len(value) > MAX_BEAMS
                or not all(isinstance(b, list | tuple) and len(b) == 3 for b in value)):
            raise bad(f"must be a list of at most {MAX_BEAMS} [x, y, z] vectors, got {value!r}")
        beams = tuple(tuple(number(c) for c in b) for b in value)
        if any(abs(math.hypot(*b) - 1.0) > 1e-6 for b in beams):
            raise bad(f"must be unit vectors, got {value!r}")
        return beams
    if kind == "points":
        if not isinstance(value, list | tuple) or not all(
                isinstance(p, list | tuple) and len(p) == 3 for p in value):
            raise bad(f"must be a list of [t, altitude, speed] triples, got {value!r}")
        return tuple(tuple(float(c) if isinstance(c, int | float) and not isinstance(c, bool)
                           else number(c) for c in p) for p in value)
    if kind == "labels":
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise bad(f"must be a list of strings, got {value!r}")
        return tuple(value)
    if kind == "commands":
        return _commands(value, bad)
    if kind == "events":
        names = [name for _, name, _ in EVENTS]
        if not isinstance(value, list | tuple) or not all(v in names for v in value):
            raise bad(f"must be a list of flight-software event names ({', '.join(names)}), "
                      f"got {value!r}")
        return tuple(value)
    if kind == "tiles":
        if value is None:
            return None
        if (not isinstance(value, list | tuple) or not value
                or not all(isinstance(v, str) and v.endswith(".npz") for v in value)):
            raise bad(f"must be a list of .npz file names, got {value!r}")
        return tuple(value)
    if kind in CHOICES:
        if value not in CHOICES[kind]:
            raise bad(f"must be one of {', '.join(CHOICES[kind])}, got {value!r}")
        return value
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad(f"must be an integer, got {value!r}")
        return int(number(value))
    if kind in ("vec3", "vec2"):
        n = int(kind[-1])
        if not isinstance(value, list | tuple) or len(value) != n:
            raise bad(f"must be a list of {n} numbers, got {value!r}")
        return tuple(number(v) for v in value)
    return number(value)


@dataclass(frozen=True)
class Scenario:
    """A validated scenario: ``values`` maps every schema path to its checked value."""

    path: Path
    values: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.values["scenario.name"])

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    @classmethod
    def from_toml(cls, path: str | Path) -> Scenario:
        """Read and validate a scenario file; raise ScenarioError naming the file and field."""
        path = Path(path)
        return cls.from_dict(read_scenario(path), path)

    @classmethod
    def from_dict(cls, doc: dict[str, Any], path: str | Path = "<scenario>") -> Scenario:
        path = Path(path)
        values: dict[str, Any] = {}
        for key, kind, lo, hi, what in SCHEMA:
            found, value = _lookup(doc, key)
            if not found and key in DEFAULTS:
                found, value = True, DEFAULTS[key]
            if not found:
                raise ScenarioError(path, key, "is missing", f"add it ({what})")
            absent = value is None and DEFAULTS.get(key, 0) is None  # an optional field left out
            values[key] = None if absent else _check(path, key, kind, lo, hi, what, value)
        _reject_unknown(doc, path)
        _check_together(path, values)
        return cls(path, values)

    def replace(self, changes: dict[str, Any]) -> Self:
        """A copy with some fields changed, each checked as when the file is read."""
        values = dict(self.values)
        for key, value in changes.items():
            if key not in FIELDS:
                raise ScenarioError(self.path, key, "is not a known field",
                                    "check its spelling against scenarios/hakuto-r-m1.toml")
            v = list(value) if isinstance(value, tuple | list) else value
            values[key] = _check(self.path, key, *FIELDS[key], v)
        _check_together(self.path, values)
        return type(self)(self.path, values)


def _check_start(path: Path, values: dict[str, Any]) -> None:
    """The flight starts in orbit ([orbit]) or on a direct approach ([direct]): one, whole."""
    orbit = [k for k in ORBIT_FIELDS if values[k] is not None]
    direct = [k for k in DIRECT_FIELDS if values[k] is not None]
    if orbit and direct:
        raise ScenarioError(path, "direct", "is given beside [orbit]",
                            "start either in orbit ([orbit]) or on a direct approach ([direct])")
    given, fields = (orbit, ORBIT_FIELDS) if orbit or not direct else (direct, DIRECT_FIELDS)
    missing = [k for k in fields if k not in given]
    if missing:
        raise ScenarioError(path, missing[0], "is missing",
                            f"add it ({FIELDS[missing[0]][3]}), or start the flight "
                            + ("on a direct approach ([direct])" if fields is ORBIT_FIELDS
                               else "in orbit ([orbit])"))


def _check_engines(path: Path, values: dict[str, Any]) -> None:
    """The main engine's throttle range and forbidden band fit together."""
    g = "lander.main_engine"
    t_min = values[f"{g}.throttle_min"]
    lo, hi = values[f"{g}.forbidden_band"]
    if lo > hi:
        raise ScenarioError(path, f"{g}.forbidden_band", f"has its lower edge {lo:g} above its "
                            f"upper {hi:g}", "give [lower, upper], or [0, 0] for no band")
    if hi > lo and not t_min <= lo < hi <= 1.0:
        raise ScenarioError(path, f"{g}.forbidden_band", f"[{lo:g}, {hi:g}] is not within the "
                            f"throttle range [{t_min:g}, 1]",
                            "give a band between throttle_min and full thrust")
    if t_min < 1.0 and values[f"{g}.isp_min_throttle_s"] > values[f"{g}.isp_s"]:
        raise ScenarioError(path, f"{g}.isp_min_throttle_s", "is above the full-thrust Isp",
                            "a throttled engine's Isp is at most its full-thrust Isp")
    for phase, n in values["guidance.engines"].items():
        if n > values[f"{g}.count"]:
            raise ScenarioError(path, "guidance.engines",
                                f"gives {phase} {n} engines, above the main engine's count "
                                f"({values[f'{g}.count']})",
                                "give at most the engines the group has")


def _check_phases(path: Path, values: dict[str, Any]) -> None:
    """The phases have the sensors, engines, start and settings they need, in a fitting order."""
    phases = values["guidance.phases"]
    key = "guidance.phases"
    direct = values["direct.start_altitude_km"] is not None
    if direct and phases[0] in ("orbit_coast", "doi", "descent_coast"):
        raise ScenarioError(path, key, f"starts with {phases[0]} on a direct approach",
                            "start a direct approach with retro_coast, or start in [orbit]")
    if not direct and phases[0] == "retro_coast":
        raise ScenarioError(path, key, "starts with retro_coast in orbit",
                            "give a [direct] approach for a retro, or start with orbit_coast")
    altimeter = values["sensors.altimeter.max_altitude_m"] > 0.0
    ranging = altimeter or values["sensors.lrf.max_range_m"] > 0.0
    needs = {  # phase: (condition, field to fix, what is missing)
        "retro_coast": (altimeter, "sensors.altimeter.max_altitude_m",
                        "an altimeter for the retro's mark"),
        "vertical_descent": (ranging, "sensors.altimeter.max_altitude_m",
                             "an altimeter or a range finder to know its height"),
        "terminal_descent": (ranging, "sensors.altimeter.max_altitude_m",
                             "an altimeter or a range finder to know its height"),
        "hover": (ranging, "sensors.altimeter.max_altitude_m",
                  "an altimeter or a range finder to hold its height"),
    }
    for phase in phases:
        ok, field, what = needs.get(phase, (True, "", ""))
        if not ok:
            raise ScenarioError(path, field, f"is missing: the {phase} phase needs {what}",
                                f"give the lander {what}, or remove {phase} from {key}")
    if "hover" in phases:
        if values["guidance.hover_altitude_m"] <= 0.0 or values["guidance.hover_duration_s"] <= 0:
            raise ScenarioError(path, "guidance.hover_altitude_m",
                                "and hover_duration_s must be above 0 for the hover phase",
                                "give the hover's altitude and duration")
        if values["flight_software.hazard_avoidance"] and values["sensors.hazard.spacing_m"] <= 0:
            raise ScenarioError(path, "sensors.hazard.spacing_m", "is missing: hazard avoidance "
                                "at the hover needs a hazard sensor",
                                "give the lander a hazard sensor, or set "
                                "flight_software.hazard_avoidance = 0")
        before = phases[phases.index("hover") - 1] if phases.index("hover") else ""
        start = values["guidance.approach_target_position_m"][2]
        if before == "approach" and values["guidance.hover_altitude_m"] > start:
            raise ScenarioError(path, "guidance.hover_altitude_m",
                                f"({values['guidance.hover_altitude_m']:g} m) is above where "
                                f"the hover starts (the approach's target, {start:g} m)",
                                "hover at or below the approach's target altitude")
    if "retro" in phases and not 0.0 < values["guidance.retro_cutoff_altitude_m"] < (
            values["guidance.retro_mark_altitude_m"]):
        raise ScenarioError(path, "guidance.retro_cutoff_altitude_m",
                            "must be above 0 and below retro_mark_altitude_m for a retro",
                            "give the retro's mark and its cut-off height")
    if "free_fall" in phases and not (values["lander.probe_length_m"] > 0.0
                                      or values["guidance.cutoff_altitude_m"] > 0.0):
        raise ScenarioError(path, key, "has a free_fall but nothing ends the terminal descent",
                            "give lander.probe_length_m (contact probes) or "
                            "guidance.cutoff_altitude_m")
    tgo = values["guidance.retarget_tgo_s"]
    if tgo > 0.0 and not ("approach" in phases
                          and 0.0 < tgo < values["guidance.approach_duration_s"]):
        raise ScenarioError(path, "guidance.retarget_tgo_s",
                            f"({tgo:g} s) is not within an approach counted down",
                            "give a time to go below guidance.approach_duration_s, in a "
                            "scenario with an approach phase, or 0 for no retarget")


def _check_together(path: Path, values: dict[str, Any]) -> None:
    """Checks that involve more than one field."""
    _check_start(path, values)
    end = values["scenario.duration_max_s"]
    for k, (t, name, _) in enumerate(values["commands"]):
        if not 0.0 <= t <= end:
            raise ScenarioError(path, "commands", f"entry {k + 1} ({name}) is sent at {t:g} s, "
                                f"outside the flight (0 to {end:g} s)",
                                "give a time_s within scenario.duration_max_s")
    _check_engines(path, values)
    _check_phases(path, values)
    if len(values["history.phase_labels"]) != len(values["history.phase_points"]):
        raise ScenarioError(path, "history.phase_labels",
                            f"has {len(values['history.phase_labels'])} labels for "
                            f"{len(values['history.phase_points'])} phase points",
                            "give one label per point")
    beam = values["sensors.lrf.beam_body"]
    if abs(math.hypot(*beam) - 1.0) > 1e-6:
        raise ScenarioError(path, "sensors.lrf.beam_body", f"must be a unit vector, got {beam}",
                            "give a direction whose length is 1")
    if (values["orbit.altitude_km"] is not None
            and values["orbit.perilune_altitude_km"] >= values["orbit.altitude_km"]):
        raise ScenarioError(path, "orbit.perilune_altitude_km",
                            "must be below orbit.altitude_km", "lower the perilune")
    cycle, coast = values["flight_software.cycle_s"], values["flight_software.coast_cycle_s"]
    n_coast = round(coast / cycle)
    if n_coast < 1 or abs(n_coast * cycle - coast) > 1e-9 * coast:
        raise ScenarioError(path, "flight_software.coast_cycle_s",
                            f"must be a whole multiple of cycle_s ({cycle:g} s), got {coast:g}",
                            f"use {max(n_coast, 1) * cycle:g} s, or {cycle:g} s to run every "
                            "cycle while coasting")
    if 0.0 < values["sensors.lrf.max_range_m"] <= values["sensors.lrf.min_range_m"]:
        raise ScenarioError(path, "sensors.lrf.min_range_m", "must be below max_range_m",
                            "check the range window")


# a [[commands]] entry: time_s, command, its arguments' raw values in the dictionary's order
Command = tuple[float, str, tuple[float, ...]]


def _commands(value: Any, bad: Callable[[str], ScenarioError]) -> tuple[Command, ...]:
    """The [[commands]] timeline as (time_s, command, raw arguments) triples, each command and
    its arguments checked against the command dictionary."""
    if not isinstance(value, list | tuple) or not all(isinstance(c, dict) for c in value):
        raise bad(f"must be [[commands]] tables, got {value!r}")
    if len(value) > MAX_COMMANDS:
        raise bad(f"has {len(value)} commands, more than the {MAX_COMMANDS} a timeline holds")
    if not value:
        return ()
    from touchdown.telemetry.dictionary import load_dictionary  # for a timeline only

    out = []
    for k, c in enumerate(value):
        extra = sorted(set(c) - {"time_s", "command", "arguments"})
        if extra:
            raise bad(f"entry {k + 1} has unknown keys {extra}; an entry holds time_s, "
                      "command and arguments")
        command = load_dictionary().command(str(c.get("command")))
        if command is None or command.name not in COMMANDS:
            raise bad(f"entry {k + 1} names the unknown command {c.get('command')!r}; the "
                      f"commands are {', '.join(COMMANDS)}")
        t, given = c.get("time_s"), c.get("arguments", {})
        if isinstance(t, bool) or not isinstance(t, int | float) or not math.isfinite(t):
            raise bad(f"entry {k + 1}'s time_s must be a number, got {t!r}")
        names = [a.name for a in command.arguments]
        if not isinstance(given, dict) or sorted(given) != sorted(names):
            want = ("takes no arguments" if not names else "must give arguments = { " + ", ".join(
                f"{a.name} = {a.describe()}" for a in command.arguments) + " }")
            raise bad(f"entry {k + 1} ({command.name}) {want}, got {given!r}")
        try:
            raw = [float(a.raw(given[a.name])) for a in command.arguments]
        except ValueError as exc:
            raise bad(f"entry {k + 1} ({command.name}): {exc}") from None
        out.append((float(t), command.name, tuple(raw)))
    return tuple(out)


def _reject_unknown(doc: dict[str, Any], path: Path, prefix: str = "") -> None:
    for k, v in doc.items():
        full = f"{prefix}{k}"
        if isinstance(v, dict) and full not in FIELDS:  # a table, unless a field is one
            _reject_unknown(v, path, full + ".")
        elif full not in FIELDS:
            raise ScenarioError(
                path, full, "is not a known field",
                "remove it or check its spelling against scenarios/hakuto-r-m1.toml")


def resolve(name_or_path: str | Path) -> Path:
    """A scenario name (``hakuto-r-m1``) under scenarios/, or a path to a TOML file."""
    p = Path(name_or_path)
    if p.suffix == ".toml" or p.exists():
        return p
    candidate = SCENARIO_DIR / f"{name_or_path}.toml"
    if candidate.exists():
        return candidate
    names = ", ".join(sorted(x.stem for x in SCENARIO_DIR.glob("*.toml")
                             if not x.name.endswith(CAMPAIGN_SUFFIX)))
    raise ScenarioError(name_or_path, "", "is neither a scenario name nor a file",
                        f"use one of: {names}, or a path to a .toml file")
