"""Problem files: every bad one is refused with the field and the fix named."""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import pytest

from touchdown.errors import InputError, ScenarioError
from touchdown.lcvx.problem import load_problem, problem_from_dict

GOOD: dict[str, Any] = {
    "vehicle": {"wet_mass_kg": 1905.0, "dry_mass_kg": 1505.0, "thrust_min_n": 4971.8,
                "thrust_max_n": 13258.1, "alpha_s_per_m": 5.0865e-4},
    "environment": {"gravity_mps2": [-3.7114, 0.0, 0.0]},
    "initial": {"position_m": [1500.0, 0.0, 2000.0], "velocity_mps": [-75.0, 0.0, 100.0]},
    "constraints": {"glide_slope_deg": 4.0},
    "solve": {"objective": "min_fuel"},
}


def changed(table: str, key: str, value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(GOOD)
    if value is None:
        del doc[table][key]
    else:
        doc.setdefault(table, {})[key] = value
    return doc


def test_good_problem_reads_with_defaults() -> None:
    p = problem_from_dict(GOOD)
    assert p.dt_s == 1.0 and p.time_of_flight_s is None and p.pointing_max_deg is None
    assert list(p.rotation_radps) == [0.0, 0.0, 0.0]
    assert list(p.final_velocity_mps) == [0.0, 0.0, 0.0]  # rest at the target
    lo, hi = p.time_bounds()  # the papers' bracket: m_dry |v0| / rho2, m_fuel / (alpha rho1)
    assert math.isclose(lo, 1505.0 * 125.0 / 13258.1)
    assert math.isclose(hi, 400.0 / (5.0865e-4 * 4971.8))


@pytest.mark.parametrize(("doc", "field", "fix"), [
    (changed("vehicle", "wet_mass_kg", None), "vehicle.wet_mass_kg is missing", "mass"),
    (changed("vehicle", "wet_mass_kg", "heavy"), "vehicle.wet_mass_kg must be a finite",
     "kg"),
    (changed("vehicle", "dry_mass_kg", 2000.0), "vehicle.dry_mass_kg is not below", "dry"),
    (changed("vehicle", "thrust_min_n", 20000.0), "vehicle.thrust_min_n is not below",
     "throttle"),
    (changed("vehicle", "alpha_s_per_m", -1.0), "vehicle.alpha_s_per_m is out of range",
     "9.80665"),
    (changed("environment", "gravity_mps2", [0.0, -1.62]), "environment.gravity_mps2 must be "
     "a list of three", "x up"),
    (changed("constraints", "glide_slope_deg", 90.0), "constraints.glide_slope_deg is out of "
     "range", "[0, 90)"),
    (changed("constraints", "glide_slope", 4.0), "constraints.glide_slope is not a field",
     "glide_slope_deg"),
    (changed("final", "velocity_mps", 2.0), "final.velocity_mps must be a list of three",
     "rest"),
    (changed("final", "position_m", [0.0, 0.0, 0.0]), "final.position_m is not a field",
     "velocity_mps"),
    (changed("solve", "objective", "min_time"), "solve.objective is not an objective",
     "min_landing_error"),
    (changed("solve", "time_of_flight_s", 1.0), "solve.time_of_flight_s is shorter", "dt_s"),
    (changed("initial", "position_m", [-5.0, 0.0, 0.0]), "initial.position_m starts at or "
     "below", "origin"),
    ({**GOOD, "engine": {}}, "[engine] is not a table", "[vehicle]"),
])
def test_bad_problem_names_the_field_and_the_fix(doc: dict[str, Any], field: str,
                                                 fix: str) -> None:
    with pytest.raises(ScenarioError) as err:
        problem_from_dict(doc, "p.toml")
    assert field in str(err.value) and fix in str(err.value)


def test_final_velocity_reads_and_widens_the_bracket() -> None:
    p = problem_from_dict(changed("final", "velocity_mps", [-33.0, 0.0, 0.0]))
    assert list(p.final_velocity_mps) == [-33.0, 0.0, 0.0]
    lo, _ = p.time_bounds()  # the change of velocity from the start to the target's
    assert math.isclose(lo, 1505.0 * math.hypot(-75.0 + 33.0, 100.0) / 13258.1)


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such problem file"):
        load_problem(tmp_path / "none.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[vehicle\nwet_mass_kg = 1")
    with pytest.raises(ScenarioError, match="not valid TOML"):
        load_problem(broken)


@pytest.mark.parametrize("key", ["pointing_final_max_deg", "pointing_rate_deg_s"])
def test_the_end_pointing_limit_and_its_rate_come_together(key: str) -> None:
    with pytest.raises(ScenarioError, match=r"pointing_rate_deg_s.*give both"):
        problem_from_dict(changed("constraints", key, 5.0))
    both = changed("constraints", "pointing_final_max_deg", 20.0)
    both["constraints"]["pointing_rate_deg_s"] = 5.0
    p = problem_from_dict(both)
    assert (p.pointing_final_max_deg, p.pointing_rate_deg_s) == (20.0, 5.0)
