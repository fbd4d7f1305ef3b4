"""Lossless convexification: the solution obeys the original (non-convex) problem, flies as
its own dynamics say, and the search and the two stages do what they claim."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from touchdown.lcvx.problem import Problem, load_problem
from touchdown.lcvx.solve import TF_TOL, Solution, solve, solve_fixed

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "guidance"


@pytest.fixture(scope="module")
def mars() -> Problem:
    return load_problem(EXAMPLES / "acikmese-ploen-2007.toml")


@pytest.fixture(scope="module")
def fixed_time(mars: Problem) -> Solution:
    return solve_fixed(mars, 80.0, "min_fuel", 0.0)


def test_solution_obeys_the_original_non_convex_bounds(mars: Problem,
                                                       fixed_time: Solution) -> None:
    s = fixed_time
    assert s.status == "optimal"
    start = np.linalg.norm(s.thrust_n, axis=1)
    end = start * s.mass_kg[1:] / s.mass_kg[:-1]  # the thrust falls with the mass in a step
    # the annulus rho1 <= |T| <= rho2 throughout every step, not only the relaxed |T| <= Gamma
    # (to the solver's tolerance, ~1e-6 of the bound)
    assert end.min() >= mars.thrust_min_n * (1 - 1e-5)
    assert start.max() <= mars.thrust_max_n * (1 + 1e-5)
    assert s.relaxation_gap() < 1e-6  # lossless: |T| = Gamma
    assert np.all(np.diff(s.mass_kg) < 0.0)  # the engines always burn (rho1 > 0)
    assert s.mass_kg[-1] >= mars.dry_mass_kg * (1 - 1e-9)
    assert abs(s.position_m[-1, 0]) < 1e-6 and np.abs(s.velocity_mps[-1]).max() < 1e-6
    # the glide slope, with its apex at the landing point
    across = np.linalg.norm(s.position_m[:, 1:] - s.position_m[-1, 1:], axis=1)
    assert np.all(s.position_m[:, 0] >= np.tan(np.radians(4.0)) * across - 1e-6)


def test_trajectory_flies_as_its_dynamics_say(mars: Problem, fixed_time: Solution) -> None:
    """Each step's thrust per unit mass and mass flow held, integrated in continuous time
    (rotation terms; the mass falling at alpha |T|): the optimiser's nodes, which its exact
    discretisation gives, to millimetres."""
    s, p = fixed_time, mars
    w = p.rotation_radps
    state = np.concatenate([p.position_m, p.velocity_mps, [p.wet_mass_kg]])
    for k in range(len(s.thrust_n)):
        u, sigma = s.thrust_n[k] / s.mass_kg[k], s.gamma_n[k] / s.mass_kg[k]

        def f(_t: float, y: np.ndarray, u: np.ndarray = u, sigma: float = sigma) -> np.ndarray:
            r, v, m = y[:3], y[3:6], y[6]
            a = p.gravity_mps2 + u - 2.0 * np.cross(w, v) - np.cross(w, np.cross(w, r))
            return np.concatenate([v, a, [-p.alpha_s_per_m * sigma * m]])

        state = solve_ivp(f, (s.t_s[k], s.t_s[k + 1]), state, rtol=1e-10, atol=1e-9).y[:, -1]
        assert np.linalg.norm(state[:3] - s.position_m[k + 1]) < 2e-3
        assert np.linalg.norm(state[3:6] - s.velocity_mps[k + 1]) < 2e-4
        assert abs(state[6] - s.mass_kg[k + 1]) < 1e-6


def test_no_trajectory_is_reported_as_infeasible(mars: Problem) -> None:
    hopeless = dataclasses.replace(mars, position_m=np.array([100.0, 0.0, 0.0]),
                                   velocity_mps=np.array([-300.0, 0.0, 0.0]))
    s = solve_fixed(hopeless, 20.0, "min_landing_error")
    assert s.status == "infeasible" and not s.solved
    assert s.position_m.size == 0 and np.isnan(s.propellant_kg)
    assert "trajectory" not in s.to_dict(trajectory=True)


def test_time_search_finds_no_worse_than_the_times_around_it(mars: Problem) -> None:
    best = solve(mars)
    assert best.status == "optimal" and best.objective == "min_fuel" and best.solves > 10
    for dt in (-2.0, 2.0, 5.0):
        near = solve_fixed(mars, best.time_of_flight_s + dt, "min_fuel", 0.0)
        assert not near.solved or near.propellant_kg >= best.propellant_kg - 0.05
    assert TF_TOL < 1.0


def test_second_stage_lands_no_farther_than_the_first(mars: Problem) -> None:
    """Out of reach (a start too far away for the propellant): the least landing error is
    positive, and the least-propellant trajectory lands within it, burning no more."""
    far = dataclasses.replace(mars, position_m=np.array([1500.0, 0.0, 6000.0]),
                              time_of_flight_s=80.0)
    first = solve_fixed(far, 80.0, "min_landing_error")
    second = solve(far)
    assert first.solved and first.landing_error_m > 100.0
    assert second.objective == "min_fuel"
    assert second.landing_error_m <= first.landing_error_m + 2e-3
    assert second.propellant_kg <= first.propellant_kg + 1e-3


def test_target_reached_at_the_final_velocity_given(mars: Problem,
                                                   fixed_time: Solution) -> None:
    """A target passed through (a gate, not a landing): height 0 at the given velocity, and
    less propellant than coming to rest there."""
    gate = dataclasses.replace(mars, final_velocity_mps=np.array([-30.0, 0.0, 0.0]))
    s = solve_fixed(gate, 80.0, "min_fuel", 0.0)
    rest = fixed_time  # the same time of flight, to rest
    assert s.solved
    assert abs(s.position_m[-1, 0]) < 1e-6
    assert np.abs(s.velocity_mps[-1] - [-30.0, 0.0, 0.0]).max() < 1e-6
    assert s.propellant_kg < rest.propellant_kg - 1.0


def test_first_stage_stands_when_the_second_fails(mars: Problem,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A second stage the solver calls infeasible (its tolerance, on a landing error of
    hundreds of metres) leaves the first stage's trajectory, not none."""
    import touchdown.lcvx.solve as lcvx

    real = lcvx.solve_fixed

    def no_second(p: Problem, tf: float, objective: str,
                  max_error_m: float | None = None) -> Solution:
        out = real(p, tf, objective, max_error_m)
        return Solution("infeasible", objective, tf, out.solve_time_s) if (
            objective == "min_fuel") else out

    monkeypatch.setattr(lcvx, "solve_fixed", no_second)
    far = dataclasses.replace(mars, position_m=np.array([1500.0, 0.0, 6000.0]),
                              time_of_flight_s=80.0)
    s = lcvx.solve(far)
    assert s.solved and s.objective == "min_landing_error" and s.landing_error_m > 100.0
    assert s.solves == 2


def test_thrust_ends_upright_within_a_limit_that_opens_back_in_time(mars: Problem) -> None:
    """pointing_final_max_deg and pointing_rate_deg_s: the last step's thrust within the end's
    limit, each step's within it plus the rate times the time from the step's end to the end
    (an attitude that can slew upright in time); the free solution breaks it, the limited
    one pays for it in propellant, and the relaxation stays tight (the 2007 example with 200 kg
    more propellant, over 90 s)."""
    final, rate, tf = 20.0, 5.0, 90.0
    free_p = dataclasses.replace(mars, wet_mass_kg=mars.wet_mass_kg + 200.0)
    limited_p = dataclasses.replace(free_p, pointing_final_max_deg=final, pointing_rate_deg_s=rate)
    free, limited = (solve_fixed(q, tf, "min_fuel", 0.0) for q in (free_p, limited_p))
    assert free.solved and limited.solved

    def tilt(sol: Solution) -> np.ndarray:
        t = sol.thrust_n
        return np.degrees(np.arccos(t[:, 0] / np.linalg.norm(t, axis=1)))

    allowed = final + rate * (tf - limited.t_s[1:])
    assert np.all(tilt(limited) <= allowed + 1e-3)
    assert tilt(limited)[-1] <= final + 1e-3
    assert np.any(tilt(free) > allowed + 10.0)  # the constraint binds on this problem
    assert limited.propellant_kg > free.propellant_kg
    assert limited.relaxation_gap() < 1e-5
