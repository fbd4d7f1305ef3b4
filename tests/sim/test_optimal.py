"""The onboard optimiser: a scenario's approach flown on fuel-optimal profiles re-solved from
the flight software's estimate, in single flights and campaigns alike."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from touchdown.campaign.dispersions import campaign_file_for, load_campaign
from touchdown.campaign.runner import fly_samples
from touchdown.campaign.table import aim_miss
from touchdown.core import layout as st
from touchdown.lcvx.problem import Problem
from touchdown.moon.dem_tiles import data_dir
from touchdown.scenario import Scenario, resolve
from touchdown.sim.optimal import Optimiser, approach_problem
from touchdown.sim.run import Flight, Stepper, fly
from touchdown.telemetry.downlink import fly_downlink

try:
    data_dir()
except Exception as exc:  # pragma: no cover - depends on the machine
    pytest.skip(f"terrain data not available: {exc}", allow_module_level=True)


def approach_propellant(f: Flight) -> float:
    """Propellant (kg, true) burnt from the approach's start to the hover's."""
    m, tr = f.milestones(), f.trace
    return float(np.interp(m["high_gate"], tr["t_s"], tr["propellant_kg"])
                 - np.interp(m["hover_start"], tr["t_s"], tr["propellant_kg"]))


def at_approach(name: str) -> tuple[Stepper, Problem]:
    """A flight of ``name`` (seed 0) stepped into its approach, and the optimiser's problem
    there."""
    stepper = Stepper(Scenario.from_toml(resolve(name)), 0)
    a = stepper.arrays
    while int(a.fsw[st.F_MODE]) != st.MODE_APPROACH:
        stepper.advance(int(a.clock[st.C_TICK]) + 1000)
    t = float(a.clock[st.C_TICK]) * st.TICK_S
    return stepper, problem_of(stepper, t)


def problem_of(stepper: Stepper, t: float) -> Problem:
    """The optimiser's problem from the flight software's state now, as at time t."""
    o, a = stepper.optimiser, stepper.arrays
    assert o is not None
    return approach_problem(a.fsw.copy(), a.fsw_params, t, o.glide_slope_deg, o.slew_deg_s)


@pytest.fixture(scope="module")
def flown() -> tuple[Flight, Flight, Optimiser]:
    polynomial = fly(Scenario.from_toml(resolve("chandrayaan-3")), 0)
    stepper = Stepper(Scenario.from_toml(resolve("chandrayaan-3-optimal")), 0)
    while not stepper.done:
        stepper.advance(stepper.end_tick)
    assert stepper.optimiser is not None
    return polynomial, stepper.flight(), stepper.optimiser


def test_optimal_approach_lands_on_less_propellant(flown) -> None:
    polynomial, optimal, solves = flown
    assert polynomial.outcome == optimal.outcome == "landed"
    saved = approach_propellant(polynomial) - approach_propellant(optimal)
    assert saved > 2.0  # kg: 115.7 -> 112.4 on seed 0
    # re-solved through the approach at its rate, the first at its start, each solved but
    # perhaps the last: where no plan is in reach the polynomial flies the rest
    assert len(solves.t_s) > 20
    assert all(s.startswith("optimal") for s in solves.status[:-1])
    if solves.status[-1] == "infeasible":  # late: the profile flew most of the approach
        flown = solves.fallback_s - solves.t_s[0]
        assert solves.fallback_s == solves.t_s[-1]
        assert flown > 0.8 * (solves.arrival_s - solves.t_s[0])
    assert solves.t_s[0] - optimal.milestones()["high_gate"] <= 0.1 + 1e-9  # a cycle
    assert np.all(np.diff(solves.t_s) >= 4.0 - 1e-9)
    # the approach ended near the arrival it kept (on the polynomial after a fallback)
    assert abs(optimal.milestones()["hover_start"] - solves.arrival_s) < 15.0


def test_optimiser_plans_from_the_estimate_not_the_truth() -> None:
    """The problem is the flight software's: the same however far the world is from it."""
    stepper, before = at_approach("chandrayaan-3-optimal")
    a = stepper.arrays
    t = float(a.clock[st.C_TICK]) * st.TICK_S
    a.world[st.W_R:st.W_R + 6] += 500.0  # the world moved: the estimate did not
    after = problem_of(stepper, t)
    assert np.array_equal(before.position_m, after.position_m)
    assert before.wet_mass_kg == after.wet_mass_kg
    learned = 1.0 + a.fsw[st.F_THRUST_ERR]  # the flight software's own thrust model
    assert before.position_m[0] > 0
    assert math.isclose(before.thrust_max_n, 0.85 * 3200.0 * learned)


def test_campaign_flies_the_optimiser_as_a_single_flight_does(flown) -> None:
    nominal = Scenario.from_toml(resolve("chandrayaan-3-optimal"))
    plain = Scenario.from_toml(resolve("chandrayaan-3"))
    campaign = load_campaign(campaign_file_for(nominal.path), nominal)
    rows = fly_samples(nominal, campaign, 0, [3])
    again = fly_samples(nominal, campaign, 0, [3])
    polynomial = fly_samples(plain, load_campaign(campaign_file_for(plain.path), plain), 0, [3])
    assert rows.equals(again)  # the same sample, the same numbers
    assert rows["outcome"].iloc[0] == "landed"
    assert (rows["propellant_remaining_kg"].iloc[0]
            > polynomial["propellant_remaining_kg"].iloc[0])


def test_m1_plans_on_its_fixed_engine_and_thrusters_to_its_vertical_gate() -> None:
    """M1's main engine does not throttle: the plan's thrust runs from it alone to it and the
    pulsed thrusters together (as control allocates them), to the vertical gate passed at
    33 m/s down; flown, the approach lands on more propellant than the polynomial's."""
    stepper, p = at_approach("hakuto-r-m1-fixed-optimal")
    a = stepper.arrays
    main = 400.0 * (1.0 + a.fsw[st.F_THRUST_ERR])
    assert math.isclose(p.thrust_min_n, main)
    assert math.isclose(p.thrust_max_n, 0.85 * (main + 1200.0))
    assert list(p.final_velocity_mps) == [-33.0, 0.0, 0.0]
    g0 = 9.80665  # the mass flow per newton lies between the main engine's and the thrusters'
    assert 1.0 / (318.0 * g0) < p.alpha_s_per_m < 1.0 / (290.0 * g0)
    while not stepper.done:
        stepper.advance(stepper.end_tick)
    optimal = stepper.flight()
    polynomial = fly(Scenario.from_toml(resolve("hakuto-r-m1-fixed")), 0)
    assert polynomial.outcome == optimal.outcome == "landed"
    left = [f.arrays.world[st.W_PROP] for f in (polynomial, optimal)]
    assert left[1] > left[0] + 0.5  # kg: 16.6 -> 17.7 on seed 0
    solves = stepper.optimiser
    assert solves is not None and all(s.startswith("optimal") for s in solves.status[:-1])
    # the profile flew most of the approach (all of it on seed 0: the polynomial flies the
    # rest only where no plan is in reach)
    end = solves.fallback_s if math.isfinite(solves.fallback_s) else solves.arrival_s
    assert end - solves.t_s[0] > 0.7 * 60.0


def test_a_campaign_sample_flies_as_its_rerun_with_the_downlink_does() -> None:
    """The optimiser solves at cycles' starts only: a flight stepped frame by frame with its
    downlink (``campaign rerun``) is the campaign's, sample 11 of the divert campaign (a
    retarget 800 m back and across) included, which once crashed in one and landed in the
    other."""
    nominal = Scenario.from_toml(resolve("chandrayaan-3-optimal-divert"))
    campaign = load_campaign(campaign_file_for(nominal.path), nominal)
    row = fly_samples(nominal, campaign, 0, [11]).iloc[0]
    plan, real, flight_seed, _ = campaign.sample(nominal, 0, 11)
    flight = fly_downlink(plan, flight_seed, real).flight
    assert flight.outcome == row["outcome"]
    assert flight.arrays.world[st.W_PROP] == row["propellant_remaining_kg"]
    assert next(e["time_s"] for e in flight.events
                if e["name"] == "retarget") == pytest.approx(row["retarget_s"], abs=1e-3)


def test_a_late_retarget_is_flown_to_by_both_guidances() -> None:
    """chandrayaan-3-divert moves the aim 500 m across 60 s before the hover: the polynomial
    and the optimiser (a new plan, its time of flight searched at once) both land near the
    moved aim, as the flight software knows its position."""
    for name in ("chandrayaan-3-divert", "chandrayaan-3-optimal-divert"):
        stepper = Stepper(Scenario.from_toml(resolve(name)), 0)
        while not stepper.done:
            stepper.advance(stepper.end_tick)
        f, a, solves = stepper.flight(), stepper.arrays, stepper.optimiser
        moved = [e for e in f.events if e["name"] == "retarget"]
        assert f.outcome == "landed" and len(moved) == 1 and moved[0]["value"] == 500.0
        estimate = a.fsw[st.F_X:st.F_X + 3]
        assert aim_miss(a.fsw, a.fsw_params, a.world[st.W_T], estimate) < 100.0  # m: 73, 8
        if solves is not None:  # a solve at the retarget's cycle, and re-solves after it
            assert solves.retarget_s == pytest.approx(moved[0]["time_s"], abs=0.1 + 1e-6)
            after = [s for t, s in zip(solves.t_s, solves.status, strict=True)
                     if t >= solves.retarget_s]
            assert len(after) > 3 and after[0].startswith("optimal")


def test_divert_figure_draws_both_campaigns(tmp_path) -> None:
    from touchdown.plots.guidance import RETARGET, divert_comparison

    rng = np.random.default_rng(0)
    rows = pd.DataFrame({RETARGET[0]: rng.uniform(-1e3, 1e3, 12),
                         RETARGET[1]: rng.uniform(-1e3, 1e3, 12),
                         "outcome": ["landed"] * 11 + ["crashed"],
                         "propellant_remaining_kg": rng.uniform(50, 100, 12),
                         "aim_miss_estimate_m": rng.uniform(0, 300, 12)})
    out = divert_comparison({"polynomial": rows, "optimiser": rows.iloc[::-1]}, "divert",
                            tmp_path / "d.png")
    assert out.stat().st_size > 10_000


def test_apollo_plans_below_its_band_and_hands_over_upright() -> None:
    """The DPS throttles from 10 % to its forbidden band's 65 % edge: the plan's thrust runs from
    10 % to 85 % of that edge (the rest for tracking), above the scenario's 8° cone, ending
    within P66's 20° of tilt, opening at the LM's 5°/s slew; flown through its 1202 alarms, the
    approach hands P66 an LM nearly upright, and lands on more propellant than P64's."""
    stepper, p = at_approach("apollo-11-optimal")
    full = 46700.0 * (1.0 + stepper.arrays.fsw[st.F_THRUST_ERR])
    assert math.isclose(p.thrust_min_n, 0.10 * full)
    assert math.isclose(p.thrust_max_n, 0.85 * 0.65 * full)
    assert (p.glide_slope_deg, p.pointing_final_max_deg, p.pointing_rate_deg_s) == pytest.approx(
        (8.0, 20.0, 5.0))
    while not stepper.done:
        stepper.advance(stepper.end_tick)
    optimal = stepper.flight()
    polynomial = fly(Scenario.from_toml(resolve("apollo-11")), 0)
    assert polynomial.outcome == optimal.outcome == "landed"
    assert any(e["name"] == "computer_restart" for e in optimal.events)
    handed = optimal.milestones()["low_gate"]
    tilt = np.interp(handed, optimal.trace["t_s"], optimal.trace["tilt_deg"])
    assert tilt < 20.0  # deg, P66's limit: 9.9 on seed 0 (P64's polynomial hands over at 27)
    left = [f.arrays.world[st.W_PROP] for f in (polynomial, optimal)]
    assert left[1] > left[0] + 50.0  # kg: 665.8 -> 830.9 on seed 0
