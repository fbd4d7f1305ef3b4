"""The compiled loop (``sim.step``): how it steps time, against the plain 10 ms stepping.

What validates what:

- A powered cycle, flown by ``advance`` in one gravity step with the thrust in closed form,
  against the same cycle in ten 10 ms ``substep`` calls from the same state and commands
  (the loop before segmented stepping), on a real braking state of the M1 scenario.
- A coast interval of the flight software (10 s, one RK4 step) against 1,000 substeps.
- Chunking: a flight advanced in random chunks equals, bit for bit, one call (trace, events,
  final state), so a host may pace it as it likes.
- Scheduling: the flight software sleeps through the coast (10 s cycles), runs DOI at exactly
  T+60 s on the 10 Hz cycle, and is back at 10 Hz well before braking ignition, which falls
  where it falls when the flight software runs every cycle throughout (within one cycle).
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from touchdown.core import layout as st
from touchdown.core.layout import C_CYCLE, C_MAX_TICK, C_NEXT_FSW, C_SUBSTEP, C_TICK, TICK_S
from touchdown.fsw.cycle import fsw_cycle
from touchdown.moon.dem_tiles import data_dir, load_onboard_map, load_truth_terrain
from touchdown.scenario import Scenario, resolve
from touchdown.sim.run import build
from touchdown.sim.run import terrains as bundle
from touchdown.sim.step import N_WORK, _sense, advance
from touchdown.world.dynamics import substep

try:
    data_dir()
except Exception as exc:  # pragma: no cover - depends on the machine
    pytest.skip(f"terrain data not available: {exc}", allow_module_level=True)


@pytest.fixture(scope="module")
def terrains():
    return load_truth_terrain(), load_onboard_map()


def run(a, terrains, until, n_trace_rows=0):
    record = a.record(np.full((n_trace_rows, st.N_TRACE), np.nan), np.zeros(1, np.int64))
    advance(a.world_bundle(), a.fsw_bundle(), bundle(*terrains), record, a.clock, until,
            np.zeros(N_WORK))
    return record.trace[:record.n_trace[0]]


def copy_arrays(a):
    return type(a)(**{k: v.copy() for k, v in vars(a).items()})


def ten_ms_reference(a, terrains, n_sub):
    """From a wake-up tick, before the flight software has run: its cycle as ``advance`` runs
    it, then n_sub substeps of 10 ms with its commands held (thrusters on in the first
    duty * pulses of each cycle)."""
    ground = bundle(*terrains)
    work = np.zeros(st.N_WORLD_SCRATCH)
    _sense(a.world_bundle(), a.meas, a.clock, ground.truth, a.fsw[st.F_HDA], work)
    fsw_cycle(a.fsw_bundle(), a.world[st.W_T], ground.onboard, a.record(np.empty((0, st.N_TRACE)),
              np.zeros(1, np.int64)), np.zeros(st.N_FSW_SCRATCH))
    per_cycle = int(a.clock[C_CYCLE] // a.clock[C_SUBSTEP])
    n_on = round(a.fsw[st.F_CMD_DUTY] * per_cycle)
    dt = a.clock[C_SUBSTEP] * TICK_S
    u = a.fsw[st.F_CMD_DIR:st.F_CMD_DIR + 3].copy()
    for k in range(n_sub):
        substep(a.world, a.world_params, u, a.fsw[st.F_CMD_MAIN],
                k % per_cycle < n_on, dt, work)
    return a


@pytest.mark.parametrize(("scenario", "tick"), [("hakuto-r-m1", 3_500_000),
                                                ("hakuto-r-m1", 4_075_000),
                                                ("hakuto-r-m1-fixed", 4_150_000)])
def test_powered_cycle_matches_ten_millisecond_steps(terrains, scenario, tick):
    """Braking (main engine and thruster pulses), the pitch-up of the approach (58 deg still to
    turn: the thrust axis turns pulse by pulse all cycle) and a vertical phase (thrusters
    only, 30 deg to turn): one cycle by ``advance`` against ten 10 ms substeps with the same
    commands. Position within 1e-6 m, velocity 1e-8 m/s, attitude 1e-12, propellant 1e-9 kg
    (measured at most 5e-10 m, 1.4e-11 m/s, 1e-16: rounding)."""
    a = build(Scenario.from_toml(resolve(scenario)), 1, terrains[1])
    run(a, terrains, tick)
    assert a.clock[C_TICK] == a.clock[C_NEXT_FSW] == tick  # a 10 Hz wake-up, not yet run
    ref = ten_ms_reference(copy_arrays(a), terrains, 10)
    assert ref.fsw[st.F_CMD_MAIN] > 0.5 or ref.fsw[st.F_CMD_DUTY] > 0.0  # a powered cycle
    run(a, terrains, tick + 1)
    assert a.clock[C_TICK] == tick + a.clock[C_CYCLE]
    w, r = a.world, ref.world
    assert_allclose(w[st.W_R:st.W_R + 3], r[st.W_R:st.W_R + 3], rtol=0.0, atol=1e-6)
    assert_allclose(w[st.W_V:st.W_V + 3], r[st.W_V:st.W_V + 3], rtol=0.0, atol=1e-8)
    assert_allclose(w[st.W_Q:st.W_Q + 4], r[st.W_Q:st.W_Q + 4], rtol=0.0, atol=1e-12)
    assert abs(w[st.W_PROP] - r[st.W_PROP]) < 1e-9
    assert_allclose(w[st.W_DV:st.W_DV + 3], r[st.W_DV:st.W_DV + 3], rtol=0.0, atol=1e-9)


def test_coast_interval_matches_ten_millisecond_steps(terrains):
    """In the descent coast the flight software sleeps 10 s; the loop flies it in one RK4
    step. Against 1,000 substeps of 10 ms: position within 1e-4 m, velocity 1e-7 m/s
    (measured 6e-7 m and 7e-10 m/s, the 10 s step's own error)."""
    a = build(Scenario.from_toml(resolve("hakuto-r-m1")), 1, terrains[1])
    run(a, terrains, 1_000_000)
    tick = int(a.clock[C_TICK])
    assert a.clock[C_NEXT_FSW] == tick
    ref = ten_ms_reference(copy_arrays(a), terrains, 1000)
    assert ref.fsw[st.F_SLEEP] == 99  # 10 s: the flight software sleeps 99 cycles
    run(a, terrains, tick + 1)
    assert a.clock[C_TICK] == tick + 10_000
    assert_allclose(a.world[st.W_R:st.W_R + 3], ref.world[st.W_R:st.W_R + 3], rtol=0.0,
                    atol=1e-4)
    assert_allclose(a.world[st.W_V:st.W_V + 3], ref.world[st.W_V:st.W_V + 3], rtol=0.0,
                    atol=1e-7)
    assert_allclose(a.world[st.W_Q:st.W_Q + 4], ref.world[st.W_Q:st.W_Q + 4], rtol=0.0,
                    atol=1e-12)


@pytest.mark.parametrize("scenario", ["hakuto-r-m1", "hakuto-r-m1-fixed"])
def test_chunked_flight_equals_one_call(terrains, scenario):
    """Random chunks of 1 tick to 5 s give the same trace, events and final state, bit for
    bit, as one call: steps never depend on where a chunk ends."""
    s = Scenario.from_toml(resolve(scenario))
    one = build(s, 3, terrains[1])
    rows = 70_000
    trace_one = run(one, terrains, one.clock[C_MAX_TICK] + 1, rows)
    chunked = build(s, 3, terrains[1])
    rng = np.random.default_rng(5)
    record = chunked.record(np.full((rows, st.N_TRACE), np.nan), np.zeros(1, np.int64))
    until = 0
    while chunked.world[st.W_STATUS] == st.FLYING:
        until = max(until, int(chunked.clock[C_TICK])) + int(rng.integers(1, 5000))
        advance(chunked.world_bundle(), chunked.fsw_bundle(), bundle(*terrains), record,
                chunked.clock, until, np.zeros(N_WORK))
    assert_array_equal(record.trace[:record.n_trace[0]], trace_one)
    for name in ("world", "fsw", "rng", "meas", "clock", "events", "n_events"):
        assert_array_equal(getattr(chunked, name), getattr(one, name), err_msg=name)


def test_flight_software_sleeps_while_coasting_and_wakes_for_doi_and_ignition(terrains):
    """Trace rows are flight-software cycles: 10 s apart before DOI (the last interval cut to
    wake at the DOI time) and in the descent coast; DOI starts at exactly T+60 s and is flown
    at 10 Hz; the last 10 s before braking
    ignition are at 10 Hz. Ignition is within one cycle of where it falls when the flight
    software runs every cycle throughout (coast_cycle_s = cycle_s)."""
    s = Scenario.from_toml(resolve("hakuto-r-m1"))
    for seed in (1, 4):
        a = build(s, seed, terrains[1])
        trace = run(a, terrains, 3_600_000, 40_000)
        t = trace[:, st.T_T]
        events = {int(c): tt for tt, c, _ in a.events[:a.n_events[0]][::-1]}
        t_doi, t_doi_end = events[st.EV_DOI_START], events[st.EV_DOI_END]
        t_brake = events[st.EV_BRAKING]
        assert t_doi == 60.0
        dt = np.diff(t)
        before = (t[1:] > 10.0) & (t[1:] <= 60.0)  # 0.1, 10.1, ..., 50.1, then 60.0
        assert np.allclose(dt[before][:-1], 10.0) and np.isclose(dt[before][-1], 9.9)
        during = (t[1:] > t_doi) & (t[1:] <= t_doi_end)
        assert np.allclose(dt[during], 0.1)
        coast = (t[1:] > t_doi_end + 10.0) & (t[1:] < t_brake - 60.0)
        assert np.allclose(dt[coast], 10.0)
        assert np.allclose(dt[(t[1:] > t_brake - 10.0) & (t[1:] <= t_brake)], 0.1)
        every = build(s, seed, terrains[1])
        every.fsw_params[st.FP_COAST_DT] = every.fsw_params[st.FP_DT]
        run(every, terrains, 3_600_000)
        t_every = [tt for tt, c, _ in every.events[:every.n_events[0]] if c == st.EV_BRAKING]
        assert abs(t_every[0] - t_brake) <= 0.1 + 1e-9
