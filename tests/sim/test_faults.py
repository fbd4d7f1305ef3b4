"""Injected faults (scenario ``[faults]``): the real lander's, applied in the world, never told to
the flight software.

What validates what:

- The scenario files have no ``[faults]`` section and load with every fault zero; a fault value
  out of its range (a negative outage or leak) is refused naming the field, from a file or from
  ``Scenario.replace``; ``build`` fills the world parameters from the real lander (a campaign's
  dispersed copy), the leak's start rounded up to the pulse grid.
- The range finder, read from the flight trace (reading beside the true range, noise 1 m):
  a bias shifts every reading by the bias from its start time and not before; an outage gives
  no reading exactly in its window while the sensor reads around it.
- The leak, kernel by kernel: a coast loses rate x time and moves exactly as without it; a tank
  that empties in a long coast step records the instant (start + propellant / rate); a run of
  pulses in one step equals the same pulses one ``substep`` at a time.
- The leak in flight: during the descent coast the true propellant falls by rate x time to
  rounding and the flight software's estimate does not move; during braking the same within
  grams; a big leak exhausts the tank (``propellant_exhausted``, once) before the healthy
  flight lands, while the estimate still shows tens of kg, and the engines give nothing after.
- No-fault flights are unchanged: an explicit all-zero ``[faults]`` section flies bit for bit
  as the file without one, and M1 seed 0 still crashes at 109.3 m/s at T+72:21.3.
"""

from __future__ import annotations

import math
import tomllib

import numpy as np
import pandas as pd
import pytest
from tests.terrain import needs_terrain

from touchdown.core import layout as st
from touchdown.errors import ScenarioError
from touchdown.moon.constants import GM, R_REF
from touchdown.moon.dem_tiles import load_onboard_map
from touchdown.parameters import engine_group as group
from touchdown.scenario import DEFAULTS, SCHEMA, Scenario, resolve
from touchdown.sim.run import Flight, build, fly
from touchdown.world.dynamics import N_WORK, burn_pulses, substep

FIXED = resolve("hakuto-r-m1-fixed")
FAULTS = tuple(key for key, *_ in SCHEMA if key.startswith("faults."))


@pytest.fixture(scope="module")
def fixed() -> Scenario:
    return Scenario.from_toml(FIXED)


def _fly(s: Scenario, faults: dict[str, float], duration_s: float | None = None) -> Flight:
    changes: dict[str, float] = dict(faults)
    if duration_s is not None:
        changes["scenario.duration_max_s"] = duration_s
    return fly(s.replace(changes), 0)


def _events(f: Flight, name: str) -> list[float]:
    return [e["time_s"] for e in f.events if e["name"] == name]


# ---------------------------------------------------------------- the scenario


def test_scenario_files_have_no_faults_and_load_healthy():
    assert set(FAULTS) <= set(DEFAULTS)  # every fault is optional, healthy when left out
    for name in ("hakuto-r-m1", "hakuto-r-m1-fixed"):
        path = resolve(name)
        assert "faults" not in tomllib.loads(path.read_text())
        s = Scenario.from_toml(path)
        # a thrust factor of 1 (as modelled); a start is on after 1 s off (no window: no fault)
        not_zero = {"faults.main_thrust_factor": 1.0, "faults.main_start_off_s": 1.0}
        healthy = {k: not_zero.get(k, 0.0) for k in FAULTS}
        assert {k: s[k] for k in FAULTS} == healthy


@pytest.mark.parametrize(("field", "value"), [
    ("faults.lrf_outage_s", -1.0),
    ("faults.propellant_leak_kg_s", -0.1),
    ("faults.lrf_bias_from_s", -5.0),
    ("faults.lrf_bias_m", "200 m"),
])
def test_bad_fault_is_refused_naming_the_field(tmp_path, fixed, field, value):
    doc = tomllib.loads(FIXED.read_text())
    doc["faults"] = {field.split(".")[1]: value}
    with pytest.raises(ScenarioError) as err:
        Scenario.from_dict(doc, tmp_path / "bad.toml")
    assert err.value.field == field and field in str(err.value)
    with pytest.raises(ScenarioError) as err:
        fixed.replace({field: value})
    assert err.value.field == field


def test_unknown_fault_is_refused(tmp_path):
    doc = tomllib.loads(FIXED.read_text())
    doc["faults"] = {"lrf_stuck_m": 100.0}
    with pytest.raises(ScenarioError, match=r"faults\.lrf_stuck_m is not a known field"):
        Scenario.from_dict(doc, tmp_path / "bad.toml")


@needs_terrain
def test_build_takes_the_faults_from_the_real_lander(fixed):
    """The plan has none; the real lander (a campaign's dispersed copy) carries them into the
    world parameters, the leak's start rounded up to the next 10 ms pulse."""
    real = fixed.replace({"faults.lrf_bias_m": 250.0, "faults.lrf_bias_from_s": 4000.0,
                          "faults.lrf_outage_from_s": 4100.0, "faults.lrf_outage_s": 30.0,
                          "faults.propellant_leak_kg_s": 0.2,
                          "faults.propellant_leak_from_s": 3900.004})
    onboard = load_onboard_map()
    wp = build(fixed, 0, onboard, real).world_params
    assert tuple(wp[st.WP_LRF_BIAS:st.WP_LRF_BIAS + 2]) == (250.0, 4000.0)
    assert tuple(wp[st.WP_LRF_OUTAGE:st.WP_LRF_OUTAGE + 2]) == (4100.0, 30.0)
    assert wp[st.WP_LEAK] == 0.2
    assert wp[st.WP_LEAK + 1] == pytest.approx(3900.01, abs=1e-9)
    healthy = build(fixed, 0, onboard).world_params
    assert not healthy[st.WP_LRF_BIAS:st.WP_LEAK + 2].any()


# ---------------------------------------------------------------- the range finder


@needs_terrain
def test_bias_shifts_the_readings_from_its_start(fixed):
    """Tracking since T+3841 s; a +200 m bias from T+3900 s: every reading before is within
    6 sigma of the true range, every reading from then on within 6 sigma of true + 200 m."""
    t0, bias = 3900.0, 200.0
    tr = _fly(fixed, {"faults.lrf_bias_m": bias, "faults.lrf_bias_from_s": t0}, 3930.0).trace
    read = tr[tr["lrf_range_m"].notna() & (tr["t_s"] > 3850.0)]
    err = read["lrf_range_m"] - read["lrf_true_range_m"]
    before, after = err[read["t_s"] < t0], err[read["t_s"] >= t0]
    assert len(before) > 400 and len(after) > 250
    assert before.abs().max() < 6.0
    assert (after - bias).abs().max() < 6.0
    assert read.loc[read["t_s"] >= t0, "t_s"].iloc[0] == pytest.approx(t0)


@needs_terrain
def test_outage_gives_no_reading_exactly_in_its_window(fixed):
    t0, dur = 3900.05, 20.0
    tr = _fly(fixed, {"faults.lrf_outage_from_s": t0, "faults.lrf_outage_s": dur}, 3940.0).trace
    tr = tr[tr["t_s"] > 3850.0]
    assert tr["lrf_true_range_m"].notna().all(), "the range finder would read throughout"
    inside = (tr["t_s"] >= t0) & (tr["t_s"] < t0 + dur)
    assert inside.sum() == 200
    assert tr.loc[inside, "lrf_range_m"].isna().all()
    outside = tr.loc[~inside, "lrf_range_m"]
    assert outside.notna().mean() > 0.95  # 1 % random dropouts
    # the last reading before and the first after, within a cycle of the window's ends
    t_read = tr.loc[~inside & tr["lrf_range_m"].notna(), "t_s"].to_numpy()
    assert t_read[t_read < t0].max() > t0 - 0.25
    assert t_read[t_read >= t0 + dur].min() < t0 + dur + 0.25


# ---------------------------------------------------------------- the leak, kernel by kernel

DRY, PULSE = 400.0, 0.01
MAIN_F, MAIN_ISP, THR_N, THR_F, THR_ISP = 400.0, 318.0, 6, 200.0, 290.0


def _params(leak: float = 0.0, leak_from: float = 0.0) -> np.ndarray:
    wp = np.zeros(st.N_WORLD_PARAMS)
    wp[st.WP_DRY] = DRY
    wp[st.WP_MAIN:st.WP_MAIN + st.N_ENGINE_GROUP] = group(1, MAIN_F, MAIN_ISP)
    wp[st.WP_THRUSTERS:st.WP_THRUSTERS + st.N_ENGINE_GROUP] = group(THR_N, THR_F, THR_ISP,
                                                                   pulsed=True)
    wp[st.WP_SLEW] = math.radians(5.0)
    wp[st.WP_LEAK], wp[st.WP_LEAK + 1] = leak, leak_from
    return wp


def _world(prop: float, t: float = 100.0) -> np.ndarray:
    """A circular 20 km orbit, body +z along the velocity's opposite, ``prop`` kg aboard."""
    world = np.zeros(st.N_WORLD)
    r = R_REF + 20e3
    world[st.W_T] = t
    world[st.W_R] = r
    world[st.W_V + 1] = math.sqrt(GM / r)
    world[st.W_Q:st.W_Q + 4] = (math.sqrt(0.5), math.sqrt(0.5), 0.0, 0.0)  # +z to -y
    world[st.W_PROP] = prop
    world[st.W_PROP_OUT_T] = math.nan
    return world


RETRO = np.array([0.0, -1.0, 0.0])


def test_coast_leaks_rate_times_time_and_moves_as_without():
    healthy, leaking = _world(50.0), _world(50.0)
    for _ in range(3):
        assert substep(healthy, _params(), RETRO, False, False, 10.0, np.zeros(N_WORK)) == 0
        assert substep(leaking, _params(0.2, 100.0), RETRO, False, False, 10.0,
                       np.zeros(N_WORK)) == 0
    assert leaking[st.W_PROP] == pytest.approx(50.0 - 0.2 * 30.0, abs=1e-12)
    keep = np.ones(st.N_WORLD, bool)
    keep[st.W_PROP] = False
    np.testing.assert_array_equal(leaking[keep], healthy[keep])


def test_no_leak_before_it_starts():
    world = _world(50.0)
    substep(world, _params(0.2, 120.0), RETRO, False, False, 10.0, np.zeros(N_WORK))
    assert world[st.W_PROP] == 50.0


def test_a_long_coast_that_empties_the_tank_records_the_instant():
    world = _world(3.0)
    assert substep(world, _params(0.5, 100.0), RETRO, False, False, 10.0, np.zeros(N_WORK)) == 1
    assert world[st.W_PROP] == 0.0
    assert world[st.W_PROP_OUT_T] == pytest.approx(106.0, abs=1e-12)
    # and no second report, with the engines commanded on
    assert substep(world, _params(0.5, 100.0), RETRO, True, True, PULSE, np.zeros(N_WORK)) == 0
    assert world[st.W_PROP_OUT_T] == pytest.approx(106.0, abs=1e-12)


@pytest.mark.parametrize("n_on", [0, 4, 10])
def test_burn_pulses_with_a_leak_equals_the_pulses_one_by_one(n_on):
    wp = _params(0.3, 0.0)
    ref, fast = _world(40.0), _world(40.0)
    target = np.array([0.0, -0.99, 0.14]) / math.hypot(0.99, 0.14)
    for k in range(10):
        assert substep(ref, wp, target, True, k < n_on, PULSE, np.zeros(N_WORK)) == 0
    assert burn_pulses(fast, wp, target, True, n_on, PULSE, 10, np.zeros(N_WORK)) == 0
    np.testing.assert_allclose(fast[st.W_R:st.W_R + 3], ref[st.W_R:st.W_R + 3], atol=1e-8,
                               rtol=0.0)
    np.testing.assert_allclose(fast[st.W_V:st.W_V + 3], ref[st.W_V:st.W_V + 3], atol=1e-9,
                               rtol=0.0)
    assert fast[st.W_PROP] == pytest.approx(ref[st.W_PROP], abs=1e-11)
    healthy = _world(40.0)
    burn_pulses(healthy, _params(), target, True, n_on, PULSE, 10, np.zeros(N_WORK))
    assert healthy[st.W_PROP] - fast[st.W_PROP] == pytest.approx(0.3 * 0.1, abs=1e-12)
    assert fast[st.W_IMPULSE] == healthy[st.W_IMPULSE]  # the leak does not thrust
    assert fast[st.W_DV + 2] > healthy[st.W_DV + 2]  # the same thrust on less mass


# ---------------------------------------------------------------- the leak in flight


def _side_by_side(a: Flight, b: Flight) -> pd.DataFrame:
    return a.trace.merge(b.trace, on="t_s", suffixes=("", "_leak"))


@needs_terrain
def test_leak_in_the_coast_is_unseen_by_the_flight_software(fixed):
    """0.01 kg/s from T+1000 s in the 10 s coast cycles: the true propellant falls by rate x
    time (to rounding), the estimate and the flight are as without the leak."""
    rate, t0 = 0.01, 1000.0
    healthy = _fly(fixed, {}, 3000.0)
    leaking = _fly(fixed, {"faults.propellant_leak_kg_s": rate,
                           "faults.propellant_leak_from_s": t0}, 3000.0)
    m = _side_by_side(healthy, leaking)
    assert len(m) == len(healthy.trace) == len(leaking.trace)
    lost = m["propellant_kg"] - m["propellant_kg_leak"]
    np.testing.assert_allclose(lost, rate * np.clip(m["t_s"] - t0, 0.0, None), atol=1e-9)
    assert lost.iloc[-1] > 19.0
    assert (m["propellant_est_kg"] == m["propellant_est_kg_leak"]).all()
    assert (m["altitude_m"] - m["altitude_m_leak"]).abs().max() < 1e-3


@needs_terrain
def test_leak_in_braking_lowers_truth_not_the_estimate(fixed):
    rate, t0 = 0.02, 3400.0
    healthy = _fly(fixed, {}, 3600.0)
    leaking = _fly(fixed, {"faults.propellant_leak_kg_s": rate,
                           "faults.propellant_leak_from_s": t0}, 3600.0)
    m = _side_by_side(healthy, leaking)
    m = m[m["t_s"] >= t0]
    lost = m["propellant_kg"] - m["propellant_kg_leak"]
    np.testing.assert_allclose(lost, rate * (m["t_s"] - t0), atol=0.01)
    assert lost.iloc[-1] == pytest.approx(4.0, abs=0.01)
    assert (m["propellant_est_kg"] - m["propellant_est_kg_leak"]).abs().max() < 0.01


@needs_terrain
def test_a_big_leak_exhausts_the_tank_before_touchdown(fixed):
    """0.5 kg/s from T+4100 s (approach, ~50 kg aboard): the tank is empty tens of seconds
    before the healthy flight lands, with the estimate still over 20 kg; no thrust after."""
    healthy = fly(fixed, 0)
    f = _fly(fixed, {"faults.propellant_leak_kg_s": 0.5, "faults.propellant_leak_from_s": 4100.0})
    assert healthy.outcome == "landed" and not _events(healthy, "propellant_exhausted")
    (t_out,) = _events(f, "propellant_exhausted")
    assert t_out == pytest.approx(f.arrays.world[st.W_PROP_OUT_T], abs=1e-3)
    assert 4100.0 < t_out < healthy.to_dict()["touchdown"]["time_s"] - 20.0
    tr = f.trace
    at_out = tr[tr["t_s"] >= t_out].iloc[0]
    assert at_out["propellant_kg"] == 0.0
    assert at_out["propellant_est_kg"] > 20.0
    after = tr[tr["t_s"] > t_out + 0.2]
    assert (after["propellant_kg"] == 0.0).all() and (after["thrust_n"] == 0.0).all()
    assert f.outcome == "crashed" and f.to_dict()["impact_speed_mps"] > 20.0


@needs_terrain
def test_a_leak_that_empties_the_tank_in_a_coast_step(fixed):
    """1 kg/s from T+500.0 s, inside a 10 s coast step: empty at 500 s + the propellant then
    / 1 kg/s, logged once."""
    f = _fly(fixed, {"faults.propellant_leak_kg_s": 1.0, "faults.propellant_leak_from_s": 500.0},
             1500.0)
    tr = f.trace
    prop0 = tr.loc[tr["t_s"] < 500.0, "propellant_kg"].iloc[-1]
    assert f.arrays.world[st.W_PROP_OUT_T] == pytest.approx(500.0 + prop0 / 1.0, abs=1e-6)
    assert len(_events(f, "propellant_exhausted")) == 1


# ---------------------------------------------------------------- no fault, no change


@needs_terrain
def test_an_all_zero_faults_section_flies_bit_for_bit_as_none(fixed):
    doc = tomllib.loads(FIXED.read_text())
    doc["faults"] = {"lrf_bias_m": 0.0, "lrf_bias_from_s": 3900.0, "lrf_outage_from_s": 3900.0,
                     "lrf_outage_s": 0.0, "propellant_leak_kg_s": 0.0,
                     "propellant_leak_from_s": 3900.0}
    zero = Scenario.from_dict(doc, FIXED)
    a, b = fly(fixed.replace({"scenario.duration_max_s": 4000.0}), 0), fly(
        zero.replace({"scenario.duration_max_s": 4000.0}), 0)
    pd.testing.assert_frame_equal(a.trace, b.trace, check_exact=True)
    assert a.events == b.events


@needs_terrain
def test_m1_seed_0_still_crashes_as_before():
    d = fly(Scenario.from_toml(resolve("hakuto-r-m1")), 0).to_dict()
    assert d["outcome"] == "crashed"
    assert d["impact_speed_mps"] == pytest.approx(109.3, abs=0.05)
    assert d["touchdown"]["time_s"] == pytest.approx(72 * 60 + 21.3, abs=0.05)
