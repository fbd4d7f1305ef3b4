"""Scenario files: load a TOML scenario, validate every field, and name the problem and the fix.

``Scenario.from_toml(path)`` returns a typed, validated scenario; ``resolve(name_or_path)``
finds ``scenarios/NAME.toml`` or takes a path. Every field is required except those in
``DEFAULTS`` (the injected faults of an optional ``[faults]`` section, zero when absent).
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

from touchdown.core.layout import POLICIES
from touchdown.errors import ScenarioError

SCENARIO_DIR = Path(__file__).resolve().parents[2] / "scenarios"
CAMPAIGN_SUFFIX = ".campaign.toml"  # NAME.campaign.toml beside NAME.toml holds its dispersions

# (field path, kind, lower, upper, meaning). Kinds: "float", "int", "str", "vec3", "time",
# "policy". Bounds are inclusive; None means unbounded.
SCHEMA: tuple[tuple[str, str, float | None, float | None, str], ...] = (
    ("scenario.name", "str", None, None, "a short name"),
    ("scenario.description", "str", None, None, "one line"),
    ("scenario.epoch_utc", "time", None, None, "ISO 8601 UTC, e.g. 2023-04-25T15:40:00Z"),
    ("scenario.duration_max_s", "float", 1.0, 86400.0, "seconds"),
    ("target.lat_deg", "float", -90.0, 90.0, "planetocentric degrees"),
    ("target.lon_deg", "float", -180.0, 360.0, "east degrees"),
    ("target.approach_azimuth_deg", "float", -360.0, 360.0, "degrees from north, east +"),
    ("orbit.altitude_km", "float", 10.0, 5000.0, "km above 1737.4 km"),
    ("orbit.perilune_altitude_km", "float", 1.0, 5000.0, "km above 1737.4 km"),
    ("orbit.doi_time_s", "float", 0.1, 86400.0, "seconds after the epoch"),
    ("orbit.doi_to_site_deg", "float", 90.0, 350.0, "degrees of orbit"),
    ("orbit.braking_duration_s", "float", 0.0, 3600.0, "seconds"),
    ("orbit_determination.position_sigma_m", "vec3", 0.0, 1e5, "radial, along, cross (m)"),
    ("orbit_determination.velocity_sigma_mps", "vec3", 0.0, 100.0, "radial, along, cross"),
    ("lander.dry_mass_kg", "float", 1.0, 1e6, "kg"),
    ("lander.payload_kg", "float", 0.0, 1e6, "kg"),
    ("lander.propellant_kg", "float", 0.0, 1e6, "kg"),
    ("lander.slew_rate_max_deg_s", "float", 0.01, 90.0, "deg/s"),
    ("lander.footpad_depth_m", "float", 0.0, 20.0, "m"),
    ("lander.main_engine.count", "int", 0, 1, "0 or 1"),
    ("lander.main_engine.thrust_n", "float", 0.0, 1e7, "N"),
    ("lander.main_engine.isp_s", "float", 1.0, 1000.0, "s"),
    ("lander.thrusters.count", "int", 1, 64, "thrusters"),
    ("lander.thrusters.thrust_n", "float", 1e-3, 1e7, "N per thruster"),
    ("lander.thrusters.isp_s", "float", 1.0, 1000.0, "s"),
    ("lander.thrusters.pulse_resolution_s", "float", 1e-3, 1.0, "s"),
    ("sensors.imu.accel_bias_mps2", "vec3", -1.0, 1.0, "m/s^2, body"),
    ("sensors.imu.accel_scale_ppm", "float", -1e5, 1e5, "ppm"),
    ("sensors.imu.accel_vrw_mps_rths", "float", 0.0, 1.0, "m/s/sqrt(s)"),
    ("sensors.imu.gyro_bias_deg_h", "vec3", -3600.0, 3600.0, "deg/h, body"),
    ("sensors.imu.gyro_arw_deg_rth", "float", 0.0, 100.0, "deg/sqrt(h)"),
    ("sensors.star_tracker.noise_arcsec", "float", 0.0, 3600.0, "arcsec per axis"),
    ("sensors.star_tracker.period_s", "float", 0.001, 3600.0, "s"),
    ("sensors.lrf.noise_m", "float", 0.0, 1e4, "m"),
    ("sensors.lrf.max_range_m", "float", 1.0, 1e6, "m"),
    ("sensors.lrf.min_range_m", "float", 0.0, 1e4, "m"),
    ("sensors.lrf.dropout_probability", "float", 0.0, 1.0, "0..1"),
    ("sensors.lrf.period_s", "float", 0.001, 60.0, "s"),
    ("sensors.lrf.beam_body", "vec3", -1.0, 1.0, "unit vector, body"),
    ("flight_software.cycle_s", "float", 0.001, 10.0, "s"),
    ("flight_software.coast_cycle_s", "float", 0.001, 60.0, "s, a whole multiple of cycle_s"),
    ("flight_software.rejection_policy", "policy", None, None, " or ".join(POLICIES)),
    ("flight_software.gate_nis", "float", 0.1, 1e6, "chi-square threshold"),
    ("flight_software.fault_after_rejections", "int", 1, 100000, "readings"),
    ("flight_software.acquire_readings", "int", 0, 100000, "readings"),
    ("flight_software.reacquire_after_rejections", "int", 1, 100000, "readings"),
    ("flight_software.lrf_sigma_m", "float", 1e-3, 1e5, "m"),
    ("flight_software.lrf_sigma_per_altitude", "float", 0.0, 1.0, "m of noise per m of altitude"),
    ("flight_software.accel_psd_m2_s3", "float", 0.0, 1.0, "m^2/s^3"),
    ("flight_software.propellant_reserve_kg", "float", 0.0, 1e6, "kg"),
    ("guidance.ignition_throttle", "float", 0.05, 1.0, "fraction of full thrust"),
    ("guidance.tgo_switch_s", "float", 0.1, 600.0, "s"),
    ("guidance.braking_target_position_m", "vec3", -1e7, 1e7, "m, guidance frame"),
    ("guidance.braking_target_velocity_mps", "vec3", -1e4, 1e4, "m/s"),
    ("guidance.braking_target_acceleration_mps2", "vec3", -100.0, 100.0, "m/s^2"),
    ("guidance.braking_target_jerk_mps3", "vec3", -100.0, 100.0, "m/s^3"),
    ("guidance.approach_duration_s", "float", 1.0, 3600.0, "s"),
    ("guidance.approach_target_position_m", "vec3", -1e7, 1e7, "m, guidance frame"),
    ("guidance.approach_target_velocity_mps", "vec3", -1e4, 1e4, "m/s"),
    ("guidance.approach_target_acceleration_mps2", "vec3", -100.0, 100.0, "m/s^2"),
    ("guidance.approach_target_jerk_mps3", "vec3", -100.0, 100.0, "m/s^3"),
    ("guidance.descent_deceleration_mps2", "float", 0.01, 100.0, "m/s^2"),
    ("guidance.final_speed_mps", "float", 0.01, 100.0, "m/s"),
    ("guidance.terminal_altitude_m", "float", 0.0, 1e5, "m"),
    ("guidance.rate_time_constant_s", "float", 0.05, 100.0, "s"),
    ("guidance.horizontal_gains", "vec2", 0.0, 100.0, "1/s^2, 1/s"),
    ("guidance.tilt_max_deg", "float", 0.0, 89.0, "deg"),
    ("touchdown.max_vertical_speed_mps", "float", 0.0, 100.0, "m/s"),
    ("touchdown.max_horizontal_speed_mps", "float", 0.0, 100.0, "m/s"),
    ("touchdown.max_tilt_deg", "float", 0.0, 90.0, "deg"),
    ("link.rate_bps", "float", 1.0, 1e9, "downlink bit rate (bit/s)"),
    ("link.frame_length_octets", "int", 16, 2048, "TM frame length, header and FECF included"),
    ("link.frame_loss_probability", "float", 0.0, 1.0, "probability a frame is lost, 0..1"),
    ("link.bit_error_rate", "float", 0.0, 0.5, "probability a bit is flipped, 0..0.5"),
    ("link.elevation_mask_deg", "float", -90.0, 90.0, "lowest Earth elevation (deg)"),
    ("link.queue_limit_octets", "int", 0, 1e9, "octets the onboard downlink queue holds"),
    # Faults of the real lander, injected into the world simulation for investigations. The
    # flight software is not told of them: it flies on its own model of a healthy lander, and
    # meets a fault only through what its sensors read. Times are seconds after the epoch.
    # Optional: a scenario without a [faults] section flies a healthy lander.
    ("faults.lrf_bias_m", "float", -1e4, 1e4, "m added to every range reading"),
    ("faults.lrf_bias_from_s", "float", 0.0, 1e6, "seconds after the epoch the bias appears"),
    ("faults.lrf_outage_from_s", "float", 0.0, 1e6, "seconds after the epoch the outage starts"),
    ("faults.lrf_outage_s", "float", 0.0, 1e6, "seconds without range readings (0: none)"),
    ("faults.propellant_leak_kg_s", "float", 0.0, 1e3, "kg/s lost from the tank (0: none)"),
    ("faults.propellant_leak_from_s", "float", 0.0, 1e6,
     "seconds after the epoch the leak starts"),
)

# Optional fields and the value a document without them gets: every other field is required.
DEFAULTS: dict[str, Any] = {
    "faults.lrf_bias_m": 0.0,
    "faults.lrf_bias_from_s": 0.0,
    "faults.lrf_outage_from_s": 0.0,
    "faults.lrf_outage_s": 0.0,
    "faults.propellant_leak_kg_s": 0.0,
    "faults.propellant_leak_from_s": 0.0,
}

FIELDS = {key: (kind, lo, hi, what) for key, kind, lo, hi, what in SCHEMA}


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
    if kind == "policy":
        if value not in POLICIES:
            raise bad(f"must be one of {', '.join(POLICIES)}, got {value!r}")
        return value
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad(f"must be an integer, got {value!r}")
        return int(number(value))
    if kind in ("vec3", "vec2"):
        n = int(kind[-1])
        if not isinstance(value, list) or len(value) != n:
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
        return cls.from_dict(read_toml(path, f"give a path or a name from {SCENARIO_DIR}"), path)

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
            values[key] = _check(path, key, kind, lo, hi, what, value)
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


def _check_together(path: Path, values: dict[str, Any]) -> None:
    """Checks that involve more than one field."""
    beam = values["sensors.lrf.beam_body"]
    if abs(math.hypot(*beam) - 1.0) > 1e-6:
        raise ScenarioError(path, "sensors.lrf.beam_body", f"must be a unit vector, got {beam}",
                            "give a direction whose length is 1")
    if values["orbit.perilune_altitude_km"] >= values["orbit.altitude_km"]:
        raise ScenarioError(path, "orbit.perilune_altitude_km",
                            "must be below orbit.altitude_km", "lower the perilune")
    cycle, coast = values["flight_software.cycle_s"], values["flight_software.coast_cycle_s"]
    n_coast = round(coast / cycle)
    if n_coast < 1 or abs(n_coast * cycle - coast) > 1e-9 * coast:
        raise ScenarioError(path, "flight_software.coast_cycle_s",
                            f"must be a whole multiple of cycle_s ({cycle:g} s), got {coast:g}",
                            f"use {max(n_coast, 1) * cycle:g} s, or {cycle:g} s to run every "
                            "cycle while coasting")
    if values["sensors.lrf.min_range_m"] >= values["sensors.lrf.max_range_m"]:
        raise ScenarioError(path, "sensors.lrf.min_range_m", "must be below max_range_m",
                            "check the range window")


def _reject_unknown(doc: dict[str, Any], path: Path, prefix: str = "") -> None:
    for k, v in doc.items():
        full = f"{prefix}{k}"
        if isinstance(v, dict):
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
