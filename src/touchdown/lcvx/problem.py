"""A powered-descent problem file: the vehicle, the planet, the start and the constraints.

The papers' conventions: x up, y and z horizontal, the target at the origin, SI units.

.. code-block:: toml

    [vehicle]
    wet_mass_kg = 1905.0
    dry_mass_kg = 1505.0
    thrust_min_n = 4971.8       # the engines' lowest total thrust along the net direction
    thrust_max_n = 13258.0
    alpha_s_per_m = 5.0e-4      # mass flow per unit thrust, 1 / (Isp g0 cos(cant))
    [environment]
    gravity_mps2 = [-3.7114, 0.0, 0.0]
    rotation_radps = [2.53e-5, 0.0, 6.62e-5]   # optional: the planet's rotation, frame axes
    [initial]
    position_m = [1500.0, 0.0, 2000.0]
    velocity_mps = [-75.0, 0.0, 100.0]
    [final]                     # optional
    velocity_mps = [0.0, 0.0, 0.0]   # the velocity at the target (rest when left out)
    [constraints]               # each optional
    glide_slope_deg = 4.0       # the lander's elevation seen from the target, at least
    pointing_max_deg = 90.0     # thrust direction from vertical, at most
    pointing_final_max_deg = 20.0   # ... at the end, and opening from there back in time
    pointing_rate_deg_s = 5.0       # at this rate (an attitude's slew to hand over upright)
    speed_max_mps = 500.0
    [solve]
    objective = "min_fuel"      # or "min_landing_error"
    time_of_flight_s = 72.0     # optional: searched between the papers' bounds when absent
    dt_s = 1.0
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from pathlib import Path
from typing import Any

import numpy as np

from touchdown.errors import InputError, ScenarioError

OBJECTIVES = ("min_fuel", "min_landing_error")
LEAST_THRUST_SHARE = 0.05  # -, the thrust the longest time of flight burns without a lower bound

# table -> field -> (kind, required, what to give); kinds: "positive", "nonnegative" (numbers),
# "range" (a number in [lo, hi) given by RANGES), "vector" (three numbers), "objective"
FIELDS: dict[str, dict[str, tuple[str, bool, str]]] = {
    "vehicle": {
        "wet_mass_kg": ("positive", True, "the mass at ignition (kg), > 0"),
        "dry_mass_kg": ("positive", True, "the mass with no propellant (kg), > 0"),
        "thrust_min_n": ("nonnegative", True, "the lowest net thrust (N), >= 0"),
        "thrust_max_n": ("positive", True, "the highest net thrust (N), > 0"),
        "alpha_s_per_m": ("positive", True,
                          "the mass flow per newton of net thrust, 1 / (Isp g0 cos(cant)) "
                          "(s/m), with g0 = 9.80665 m/s^2 (Earth's, whatever the planet)"),
    },
    "environment": {
        "gravity_mps2": ("vector", True,
                         "the gravity vector [x, y, z] (m/s^2), x up: e.g. [-1.62, 0, 0]"),
        "rotation_radps": ("vector", False,
                           "the planet's angular velocity [x, y, z] (rad/s) in the frame"),
    },
    "initial": {
        "position_m": ("vector", True, "the start [x, y, z] (m) from the target, x up"),
        "velocity_mps": ("vector", True, "the start velocity [x, y, z] (m/s)"),
    },
    "final": {
        "velocity_mps": ("vector", False, "the velocity [x, y, z] (m/s) at the target, "
                                          "x up (rest, [0, 0, 0], when left out)"),
    },
    "constraints": {
        "glide_slope_deg": ("range", False, "the least elevation of the lander seen from the "
                                            "target (deg, from the horizontal), in [0, 90)"),
        "pointing_max_deg": ("range", False,
                             "the largest angle of the thrust from vertical (deg), in [0, 180)"),
        "pointing_final_max_deg": ("range", False,
                                   "the largest angle of the thrust from vertical at the end "
                                   "(deg), in [0, 180), with pointing_rate_deg_s"),
        "pointing_rate_deg_s": ("positive", False,
                                "how fast (deg/s) the end's pointing limit opens going back "
                                "in time, > 0, with pointing_final_max_deg"),
        "speed_max_mps": ("positive", False, "the highest speed (m/s), > 0"),
    },
    "solve": {
        "objective": ("objective", False, f"one of {', '.join(OBJECTIVES)}"),
        "time_of_flight_s": ("positive", False,
                             "the time of flight (s), > 0, or leave it out to search it"),
        "dt_s": ("positive", False, "the discretisation step (s), > 0"),
    },
}
RANGES = {"glide_slope_deg": (0.0, 90.0), "pointing_max_deg": (0.0, 180.0),
          "pointing_final_max_deg": (0.0, 180.0)}


@dataclass(frozen=True)
class Problem:
    """A powered-descent problem (SI units, x up, the target at the origin)."""

    wet_mass_kg: float
    dry_mass_kg: float
    thrust_min_n: float
    thrust_max_n: float
    alpha_s_per_m: float
    gravity_mps2: np.ndarray
    rotation_radps: np.ndarray
    position_m: np.ndarray
    velocity_mps: np.ndarray
    final_velocity_mps: np.ndarray = dataclass_field(default_factory=lambda: np.zeros(3))
    glide_slope_deg: float | None = None
    pointing_max_deg: float | None = None
    pointing_final_max_deg: float | None = None  # with pointing_rate_deg_s: the limit at the
    pointing_rate_deg_s: float | None = None  # end, opening at the rate going back in time
    speed_max_mps: float | None = None
    objective: str = "min_fuel"
    time_of_flight_s: float | None = None
    dt_s: float = 1.0
    name: str = "problem"

    def time_bounds(self) -> tuple[float, float]:
        """The bracket (s) of a feasible time of flight (Açıkmeşe & Ploen 2007, Sec. IV):
        at least the dry mass's change of velocity over the top thrust, at most the propellant
        burnt at the least thrust (without one, at ``LEAST_THRUST_SHARE`` of the top: the
        bound is then open, and the search needs an end)."""
        speed = float(np.linalg.norm(self.velocity_mps - self.final_velocity_mps))
        fuel = self.wet_mass_kg - self.dry_mass_kg
        least = self.thrust_min_n if self.thrust_min_n > 0 else (
            LEAST_THRUST_SHARE * self.thrust_max_n)
        return self.dry_mass_kg * speed / self.thrust_max_n, fuel / (self.alpha_s_per_m * least)


def load_problem(path: str | Path) -> Problem:
    """Read and check a problem file; ScenarioError naming the field and the fix if bad."""
    path = Path(path)
    try:
        doc = tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: no such problem file; give the path of a .toml file such "
                         "as examples/guidance/acikmese-ploen-2007.toml") from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ScenarioError(path, "", f"is not valid TOML ({exc})",
                            "fix the syntax at the place named") from None
    return problem_from_dict(doc, path)


def problem_from_dict(doc: dict[str, Any], path: str | Path = "<problem>") -> Problem:
    """A Problem from a parsed problem file (see the module docstring)."""
    for table in doc:
        if table not in FIELDS:
            raise ScenarioError(path, f"[{table}]", "is not a table of a problem file",
                                f"use only {', '.join(f'[{t}]' for t in FIELDS)}")
    values: dict[str, Any] = {}
    for table, fields in FIELDS.items():
        given = doc.get(table, {})
        if not isinstance(given, dict):
            raise ScenarioError(path, table, "must be a table", f"write [{table}]")
        for key in given:
            if key not in fields:
                raise ScenarioError(path, f"{table}.{key}", "is not a field of a problem file",
                                    f"use only {', '.join(fields)} in [{table}]")
        for key, (kind, required, what) in fields.items():
            if key not in given:
                if required:
                    raise ScenarioError(path, f"{table}.{key}", "is missing", f"give {what}")
                continue
            name = f"final_{key}" if table == "final" else key  # final_velocity_mps
            values[name] = _checked(path, f"{table}.{key}", kind, what, given[key])
    problem = Problem(
        **{k: v for k, v in values.items() if k != "rotation_radps"},
        rotation_radps=values.get("rotation_radps", np.zeros(3)),
        name=Path(str(path)).stem)
    _check_together(problem, path)
    return problem


def _checked(path: str | Path, field: str, kind: str, what: str, value: Any) -> Any:
    def bad(problem: str) -> ScenarioError:
        return ScenarioError(path, field, problem, f"give {what}")

    def number(v: Any) -> float:
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise bad(f"must be a finite number, got {v!r}")
        return float(v)

    if kind == "objective":
        if value not in OBJECTIVES:
            raise bad(f"is not an objective, got {value!r}")
        return value
    if kind == "vector":
        if not isinstance(value, list) or len(value) != 3:
            raise bad(f"must be a list of three numbers, got {value!r}")
        return np.array([number(v) for v in value])
    x = number(value)
    lo, hi = RANGES.get(field.split(".")[-1], (0.0, math.inf))
    if (kind == "positive" and x <= 0.0) or x < lo or x >= hi:
        raise bad(f"is out of range, got {value!r}")
    return x


def _check_together(p: Problem, path: str | Path) -> None:
    if p.dry_mass_kg >= p.wet_mass_kg:
        raise ScenarioError(path, "vehicle.dry_mass_kg", "is not below vehicle.wet_mass_kg",
                            "give a dry mass below the wet mass (the difference is propellant)")
    if p.thrust_min_n >= p.thrust_max_n:
        raise ScenarioError(path, "vehicle.thrust_min_n", "is not below vehicle.thrust_max_n",
                            "give the engines' throttle range as thrust_min_n < thrust_max_n")
    if p.position_m[0] <= 0.0:
        raise ScenarioError(path, "initial.position_m", "starts at or below the target's height",
                            "give x (up) above 0: the target is at the origin")
    if (p.pointing_final_max_deg is None) != (p.pointing_rate_deg_s is None):
        raise ScenarioError(path, "constraints.pointing_final_max_deg",
                            "is given without constraints.pointing_rate_deg_s, or the other "
                            "way round", "give both (the end's limit and how fast it opens "
                            "going back in time), or neither")
    if p.time_of_flight_s is not None and p.time_of_flight_s < 2 * p.dt_s:
        raise ScenarioError(path, "solve.time_of_flight_s", "is shorter than two steps",
                            "give a time of flight of at least 2 dt_s, or a smaller dt_s")
