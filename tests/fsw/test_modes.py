"""The mode manager (``fsw.modes``) on crafted inputs, and the cycle (``fsw.cycle``) that runs it.

What validates what:

- The tables: one entry per mode; the modes follow one another orbit coast -> ... -> terminal
  descent; each mode after the first logs its own ``*_start`` (or DOI-end, touchdown) event.
- ``transition_due``: each mode's condition is false just short of its threshold and true at it
  (crafted state and parameters, thresholds read from ``FSW_PARAMS`` by name).
- ``enter_mode``: DOI's delta-v target is the circular-to-transfer speed change at the
  estimated radius (vis-viva, computed here by hand); the approach's countdown starts at its
  duration; each entry sets mode and time and logs the mode's event with its value.
- ``monitor``: a closed footpad switch enters touchdown from any flying mode (once); the altitude
  estimate reaching zero is logged once, and only from the approach on; the propellant estimate
  reaching the reserve is logged once; a late retarget moves the approach's aim once, when
  its time to go reaches the retarget's, and only in the approach.
- ``fsw_cycle`` (one whole cycle with M1's parameters): the orbit coast enters DOI at its time and
  fires the main engine in that same cycle; DOI ends when the measured delta-v reaches its
  target, with the engines off in that cycle.
"""

import math

import numpy as np
import pytest

from touchdown.core import layout as st
from touchdown.core.bundles import Dem, FlightSoftware, Record
from touchdown.fsw import modes
from touchdown.fsw.cycle import fsw_cycle
from touchdown.moon.constants import GM, R_REF
from touchdown.parameters import M1_PHASES, next_modes
from touchdown.parameters import engine_group as group
from touchdown.sim.run import no_readings

N_MODES = len(st.MODES)


def log():
    return np.zeros((st.MAX_EVENTS, st.N_EVENT)), np.zeros(1, np.int64)


def logged(events, n_events):
    """(time, event name, value) of each row logged."""
    return [(float(t), st.EVENTS[int(c)][1], float(v)) for t, c, v in events[:n_events[0]]]


def params(**named):
    """FSW parameters: zero but for the named fields (``FSW_PARAMS`` names), scalars."""
    fp = np.zeros(st.N_FSW_PARAMS)
    for name, value in named.items():
        fp[st.FSW_PARAMS.slice(name)] = value
    return fp


def state(mode, **named):
    fsw = np.zeros(st.N_FSW)
    fsw[st.F_MODE] = mode
    for name, value in named.items():
        fsw[st.FSW.slice(name)] = value
    return fsw


# ---------------------------------------------------------------- tables

def test_m1_phases_chain_the_modes_in_order():
    for table in (modes.MODE_PROGRAM, modes.MODE_TARGET, modes.NEXT_SAME_CYCLE,
                  modes.MODE_EVENT):
        assert len(table) == N_MODES
    fp = params(next_mode=next_modes(M1_PHASES))
    chain, mode = [st.MODE_COAST_ORBIT], st.MODE_COAST_ORBIT
    while modes.next_mode(fp, mode) != modes.NONE:
        mode = modes.next_mode(fp, mode)
        chain.append(mode)
    assert chain == list(range(st.MODE_TERMINAL + 1))  # touchdown is entered from any mode
    names = [st.EVENTS[code][1] for code in modes.MODE_EVENT[1:] if code != modes.NONE]
    assert names == ["doi_start", "doi_end", "braking_start", "approach_start",
                     "vertical_descent_start", "terminal_descent_start", "touchdown_detected",
                     "hover_start", "engine_cutoff", "retro_start"]
    assert all(0 <= p < len(st.PROGRAMS) for p in modes.MODE_PROGRAM)


# ---------------------------------------------------------------- transitions

FULL = dict(main_engine=group(1, 400.0, 318.0),  # 1,600 N in all
            thrusters=group(6, 200.0, 290.0, pulsed=True))


@pytest.mark.parametrize(("mode", "fsw_fields", "fp_fields", "result", "due"), [
    (st.MODE_COAST_ORBIT, {}, {"doi_time": 60.0}, math.nan, None),  # on t, below
    (st.MODE_DOI, {"doi_dv": 19.9, "tgo": 20.0}, {}, math.nan, False),
    (st.MODE_DOI, {"doi_dv": 20.0, "tgo": 20.0}, {}, math.nan, True),
    (st.MODE_COAST_DESCENT, {}, {"ignition_throttle": 0.9, **FULL}, 1439.0, False),
    (st.MODE_COAST_DESCENT, {}, {"ignition_throttle": 0.9, **FULL}, 1440.0, True),
    (st.MODE_COAST_DESCENT, {}, {"ignition_throttle": 0.9, **FULL}, math.nan, False),
    (st.MODE_BRAKING, {"tgo": 5.0}, {"tgo_switch": 5.0}, math.nan, False),
    (st.MODE_BRAKING, {"tgo": 4.99}, {"tgo_switch": 5.0}, math.nan, True),
    (st.MODE_APPROACH, {"tgo": 4.99}, {"tgo_switch": 5.0}, math.nan, True),
    (st.MODE_VERTICAL, {"altitude": 20.01}, {"terminal_altitude": 20.0}, math.nan, False),
    (st.MODE_VERTICAL, {"altitude": 20.0}, {"terminal_altitude": 20.0}, math.nan, True),
    (st.MODE_TERMINAL, {"altitude": -5.0}, {"terminal_altitude": 20.0}, math.nan, False),
    (st.MODE_TOUCHDOWN, {}, {}, math.nan, False),
])
def test_transition_due_at_each_threshold(mode, fsw_fields, fp_fields, result, due):
    fsw, fp = state(mode, **fsw_fields), params(**fp_fields)
    if due is None:  # the orbit coast ends on the clock
        assert not modes.transition_due(fsw, fp, mode, 59.9, result)
        assert modes.transition_due(fsw, fp, mode, 60.0, result)
    else:
        assert modes.transition_due(fsw, fp, mode, 100.0, result) == due


def test_full_thrust_is_every_descent_engine():
    assert modes.full_thrust(params(**FULL)) == 1600.0


# ---------------------------------------------------------------- entries

def test_doi_entry_sets_the_vis_viva_delta_v_target():
    r = R_REF + 100e3
    fsw = state(st.MODE_COAST_ORBIT, x_mci=[r, 0.0, 0.0, 0.0, 1633.0, 0.0], doi_dv=7.0)
    fp = params(perilune_altitude=15e3)
    events, n = log()
    modes.enter_mode(fsw, fp, st.MODE_DOI, 60.0, events, n)
    rp = R_REF + 15e3
    v_circular = math.sqrt(GM / r)
    v_apolune = math.sqrt(GM * (2.0 / r - 2.0 / (r + rp)))  # vis-viva on the transfer ellipse
    assert fsw[st.F_TGO] == pytest.approx(v_circular - v_apolune, rel=1e-12)
    assert 15.0 < fsw[st.F_TGO] < 25.0  # about 20 m/s from 100 km to 15 km
    assert fsw[st.F_DOI_DV] == 0.0
    assert (fsw[st.F_MODE], fsw[st.F_MODE_T]) == (st.MODE_DOI, 60.0)
    assert logged(events, n) == [(60.0, "doi_start", fsw[st.F_TGO])]


def test_approach_entry_starts_its_countdown_and_logs_the_altitude():
    fsw = state(st.MODE_BRAKING, altitude=1012.0, tgo=4.9)
    events, n = log()
    modes.enter_mode(fsw, params(approach_duration=60.0), st.MODE_APPROACH, 4000.0, events, n)
    assert fsw[st.F_TGO] == 60.0
    assert logged(events, n) == [(4000.0, "approach_start", 1012.0)]


def test_each_mode_fires_the_engines_its_table_gives():
    """``guidance.engines``: entering a mode sets the main-group engines commanded to fire to
    its entry (0: all), as Vikram-2 flew: four in braking, all five in the fine braking, two
    from the hover on."""
    from touchdown.parameters import mode_engines

    fp = params()
    fp[st.FP_MODE_ENGINES:st.FP_MODE_ENGINES + len(st.MODES)] = mode_engines(
        {"braking": 4, "hover": 2, "vertical_descent": 2})
    fsw = state(st.MODE_COAST_DESCENT)
    events, n = log()
    lit = []
    for mode in (st.MODE_BRAKING, st.MODE_APPROACH, st.MODE_HOVER, st.MODE_VERTICAL,
                 st.MODE_TERMINAL):
        modes.enter_mode(fsw, fp, mode, 0.0, events, n)
        lit.append(fsw[st.F_CMD_LIT])
    assert lit == [4.0, 0.0, 2.0, 2.0, 0.0]


def test_descent_coast_entry_logs_the_measured_delta_v():
    fsw = state(st.MODE_DOI, doi_dv=20.3, tgo=20.2)
    events, n = log()
    modes.enter_mode(fsw, params(), st.MODE_COAST_DESCENT, 93.0, events, n)
    assert fsw[st.F_TGO] == 0.0
    assert logged(events, n) == [(93.0, "doi_end", 20.3)]


# ---------------------------------------------------------------- monitors

@pytest.mark.parametrize("mode", range(st.MODE_TOUCHDOWN))
def test_a_closed_footpad_switch_enters_touchdown_from_any_mode(mode):
    fsw, fp, meas = state(mode, altitude=3.0, propellant=50.0), params(), np.zeros(st.N_MEAS)
    events, n = log()
    assert modes.monitor(fsw, fp, meas, 10.0, events, n) == mode  # switch open: nothing
    meas[st.M_LEG] = 1.0
    assert modes.monitor(fsw, fp, meas, 10.1, events, n) == st.MODE_TOUCHDOWN
    assert modes.monitor(fsw, fp, meas, 10.2, events, n) == st.MODE_TOUCHDOWN  # once
    assert logged(events, n) == [(10.1, "touchdown_detected", 3.0)]


@pytest.mark.parametrize(("mode", "logs"), [(st.MODE_BRAKING, False), (st.MODE_APPROACH, True),
                                            (st.MODE_TERMINAL, True)])
def test_altitude_zero_is_logged_once_from_the_approach_on(mode, logs):
    fsw, fp, meas = state(mode, altitude=0.0, propellant=50.0), params(), np.zeros(st.N_MEAS)
    events, n = log()
    for t in (1.0, 2.0):
        modes.monitor(fsw, fp, meas, t, events, n)
    assert logged(events, n) == ([(1.0, "altitude_estimate_zero", 0.0)] if logs else [])


def test_propellant_low_is_logged_once_at_the_reserve():
    fsw = state(st.MODE_VERTICAL, altitude=500.0, propellant=10.01)
    fp, meas = params(propellant_reserve=10.0), np.zeros(st.N_MEAS)
    events, n = log()
    modes.monitor(fsw, fp, meas, 1.0, events, n)
    fsw[st.F_PROP] = 10.0
    modes.monitor(fsw, fp, meas, 2.0, events, n)
    fsw[st.F_PROP] = 9.0
    modes.monitor(fsw, fp, meas, 3.0, events, n)
    assert logged(events, n) == [(2.0, "propellant_low", 10.0)]


@pytest.mark.parametrize(("mode", "moves"), [(st.MODE_APPROACH, True), (st.MODE_HOVER, False)])
def test_a_late_retarget_moves_the_aim_once_at_its_time_to_go(mode, moves):
    fsw = state(mode, altitude=1000.0, propellant=50.0, tgo=60.05, divert=[120.0, -40.0])
    fp, meas = params(retarget=[60.0, 300.0, 400.0]), np.zeros(st.N_MEAS)
    events, n = log()
    for t, tgo in ((1.0, 60.05), (1.1, 59.95), (1.2, 59.85)):
        fsw[st.F_TGO] = tgo
        modes.monitor(fsw, fp, meas, t, events, n)
    aim = fsw[st.F_DIVERT:st.F_DIVERT + 2]
    if moves:  # from the aim it had (a landing area's), by the retarget
        assert logged(events, n) == [(1.1, "retarget", 500.0)]
        assert aim.tolist() == [420.0, 360.0]
    else:
        assert logged(events, n) == [] and aim.tolist() == [120.0, -40.0]


# ---------------------------------------------------------------- whole cycles

@pytest.fixture(scope="module")
def m1():
    """M1's flight software as built for seed 0 (parameters from the scenario file)."""
    from touchdown.moon.dem_tiles import data_dir, load_onboard_map
    from touchdown.scenario import Scenario, resolve
    from touchdown.sim.run import build

    try:
        data_dir()
    except Exception as exc:  # pragma: no cover - depends on the machine
        pytest.skip(f"terrain data not available: {exc}")
    onboard = load_onboard_map()
    return build(Scenario.from_toml(resolve("hakuto-r-m1")), 0, onboard), onboard


def cycle(a, onboard, t, dv=0.0):
    """One cycle at t with an IMU delta-v of dv (m/s) along the commanded thrust."""
    fsw = FlightSoftware(a.fsw, a.fsw_params, a.meas)
    a.meas[:] = no_readings()
    a.meas[st.M_DV:st.M_DV + 3] = dv * a.fsw[st.F_CMD_DIR:st.F_CMD_DIR + 3]
    events, n = log()
    fsw_cycle(fsw, t, Dem(onboard.elev, onboard.meta),
              Record(events, n, np.empty((0, st.N_TRACE)), np.zeros(1, np.int64)),
              np.zeros(st.N_FSW_SCRATCH))
    return [name for _, name, _ in logged(events, n)]


def test_doi_ignites_in_the_cycle_its_time_comes_and_ends_on_its_delta_v(m1):
    a, onboard = m1
    a.fsw[st.F_SLEEP] = 0.0  # at full rate
    doi_t = a.fsw_params[st.FP_DOI_T]
    assert cycle(a, onboard, doi_t - 0.1) == []
    assert a.fsw[st.F_MODE] == st.MODE_COAST_ORBIT and a.fsw[st.F_CMD_MAIN] == 0.0
    assert cycle(a, onboard, doi_t) == ["doi_start"]
    assert a.fsw[st.F_MODE] == st.MODE_DOI and a.fsw[st.F_CMD_MAIN] == 1.0  # the same cycle
    target = a.fsw[st.F_TGO]
    t, names = doi_t, []
    while a.fsw[st.F_MODE] == st.MODE_DOI and t < doi_t + 100.0:
        t = round(t + 0.1, 1)
        names = cycle(a, onboard, t, dv=0.25)
    assert names == ["doi_end"]
    assert a.fsw[st.F_MODE] == st.MODE_COAST_DESCENT
    assert a.fsw[st.F_CMD_MAIN] == 0.0 and a.fsw[st.F_CMD_DUTY] == 0.0
    assert target <= a.fsw[st.F_DOI_DV] < target + 0.25  # ends on the first cycle past it


def test_the_cycle_applies_the_software_attitude_rate_limit(m1):
    """With a 1 deg/s limit, one 0.1 s cycle turns the commanded direction 0.1 deg from where
    it was toward where guidance points (the orbit coast's retrograde), on a fresh M1 build."""
    from touchdown.scenario import Scenario, resolve
    from touchdown.sim.run import build

    _, onboard = m1
    a = build(Scenario.from_toml(resolve("hakuto-r-m1")), 0, onboard)
    a.fsw[st.F_SLEEP] = 0.0
    a.fsw_params[st.FP_TURN_RATE_MAX] = math.radians(1.0)
    v = a.fsw[st.F_X + 3:st.F_X + 6]
    retro = -v / np.linalg.norm(v)
    start = np.cross(retro, [0.0, 0.0, 1.0])
    start /= np.linalg.norm(start)  # 90 deg away
    a.fsw[st.F_CMD_DIR:st.F_CMD_DIR + 3] = start
    cycle(a, onboard, 10.0)
    now = a.fsw[st.F_CMD_DIR:st.F_CMD_DIR + 3]
    assert math.degrees(math.acos(np.clip(now @ start, -1, 1))) == pytest.approx(0.1, abs=1e-9)
    assert now @ retro > start @ retro
