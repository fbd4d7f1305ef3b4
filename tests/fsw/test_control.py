"""Control (``fsw.control``): thrust direction, engine commands and the propellant estimate.

What validates what:

- ``command_thrust``: against tests/naive/control.py on random accelerations and masses, with
  the main engine on and off: the thrust points along the acceleration asked for, the force is
  m |a| with m the dry mass plus the (non-negative) propellant estimate, the thrusters' duty is
  clip((m |a| - F_main) / (n F_thr), 0, 1) rounded to a whole number of 10 ms pulses per
  0.1 s cycle, and the main-engine flag follows the request; the clip's two ends; a zero
  acceleration keeps the last direction.
- ``engines_off`` stops both engines and keeps the direction.
- ``account_propellant``: the nominal flow F / (Isp g0) of the commanded engines over the
  (1 + sleep) cycles the commands are held, against the naive sum.
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from tests.naive import control as naive

from touchdown.core import layout as st
from touchdown.fsw.control import account_propellant, command_thrust, engines_off, estimated_mass
from touchdown.parameters import engine_group as group

# M1's lander, as the flight software knows it
DRY = 360.0  # kg, dry mass and payload
MAIN_F, MAIN_ISP = 400.0, 318.0  # N, s
THR_F, THR_N, THR_ISP = 200.0, 6, 290.0  # N, -, s
CYCLE, PULSE = 0.1, 0.01  # s


def params():
    fp = np.zeros(st.N_FSW_PARAMS)
    fp[st.FP_DT] = CYCLE
    fp[st.FP_PULSE] = PULSE
    fp[st.FP_DRY] = DRY
    fp[st.FP_MAIN:st.FP_MAIN + st.N_ENGINE_GROUP] = group(1, MAIN_F, MAIN_ISP)
    fp[st.FP_THRUSTERS:st.FP_THRUSTERS + st.N_ENGINE_GROUP] = group(THR_N, THR_F, THR_ISP,
                                                                   pulsed=True)
    return fp


def fsw_with(propellant, direction=(0.0, 0.0, 1.0)):
    fsw = np.zeros(st.N_FSW)
    fsw[st.F_PROP] = propellant
    fsw[st.F_CMD_DIR:st.F_CMD_DIR + 3] = direction
    return fsw


@pytest.mark.parametrize("main_on", [True, False])
def test_command_thrust_matches_the_naive_commands(main_on):
    """300 random cases: 0 to 5 m/s^2 in any direction, 0 to 400 kg of propellant left."""
    rng = np.random.default_rng(61)
    fp = params()
    for _ in range(300):
        a = rng.standard_normal(3)
        a *= rng.uniform(0.0, 5.0) / np.linalg.norm(a)
        prop = rng.uniform(0.0, 400.0)
        fsw = fsw_with(prop)
        force = command_thrust(fsw, fp, a, main_on)
        direction, f_ref, duty = naive.thrust_command(a, DRY + prop, main_on, MAIN_F, THR_F,
                                                      THR_N)
        assert force == pytest.approx(f_ref, rel=1e-12)  # N
        assert_allclose(fsw[st.F_CMD_DIR:st.F_CMD_DIR + 3], direction, atol=1e-14)
        assert fsw[st.F_CMD_DUTY] == pytest.approx(naive.quantise(duty, CYCLE, PULSE), abs=1e-12)
        assert fsw[st.F_CMD_MAIN] == (1.0 if main_on else 0.0)
        # the on-time is a whole number of pulses, within half a pulse of what was asked
        pulses = fsw[st.F_CMD_DUTY] * CYCLE / PULSE
        assert pulses == pytest.approx(round(pulses), abs=1e-9)
        assert abs(fsw[st.F_CMD_DUTY] - duty) <= 0.5 * PULSE / CYCLE + 1e-12


def test_duty_is_clipped_at_full_and_zero():
    fp = params()
    fsw = fsw_with(100.0)
    # 10 m/s^2 at 460 kg is 4,600 N: more than the main engine and thrusters together give
    command_thrust(fsw, fp, np.array([0.0, 0.0, 10.0]), True)
    assert fsw[st.F_CMD_DUTY] == 1.0
    command_thrust(fsw, fp, np.array([0.0, 0.0, 10.0]), False)
    assert fsw[st.F_CMD_DUTY] == 1.0
    # 0.5 m/s^2 is 230 N: under the main engine's 400 N, so the thrusters add nothing
    command_thrust(fsw, fp, np.array([0.3, 0.0, 0.4]), True)
    assert fsw[st.F_CMD_DUTY] == 0.0
    assert fsw[st.F_CMD_MAIN] == 1.0
    # the same on the thrusters alone: 230 / 1,200 N = 0.19, two pulses of ten
    command_thrust(fsw, fp, np.array([0.3, 0.0, 0.4]), False)
    assert fsw[st.F_CMD_DUTY] == pytest.approx(0.2, abs=1e-12)


def test_zero_acceleration_keeps_the_last_direction_and_stops_the_thrusters():
    fp = params()
    fsw = fsw_with(100.0, direction=(0.6, 0.0, 0.8))
    assert command_thrust(fsw, fp, np.zeros(3), False) == 0.0
    assert_allclose(fsw[st.F_CMD_DIR:st.F_CMD_DIR + 3], [0.6, 0.0, 0.8], atol=0)
    assert fsw[st.F_CMD_DUTY] == 0.0
    assert fsw[st.F_CMD_MAIN] == 0.0


def test_estimated_mass_never_counts_negative_propellant():
    fp = params()
    assert estimated_mass(fsw_with(123.5), fp) == DRY + 123.5
    assert estimated_mass(fsw_with(-7.0), fp) == DRY
    # and the force follows it: 1 m/s^2 at the dry mass with the estimate below zero
    assert command_thrust(fsw_with(-7.0), fp, np.array([1.0, 0.0, 0.0]), False) == DRY


def test_engines_off_stops_both_and_keeps_the_attitude_command():
    fsw = fsw_with(100.0, direction=(0.0, -0.6, 0.8))
    fsw[st.F_CMD_MAIN], fsw[st.F_CMD_DUTY] = 1.0, 0.7
    engines_off(fsw)
    assert fsw[st.F_CMD_MAIN] == 0.0
    assert fsw[st.F_CMD_DUTY] == 0.0
    assert_allclose(fsw[st.F_CMD_DIR:st.F_CMD_DIR + 3], [0.0, -0.6, 0.8], atol=0)


@pytest.mark.parametrize(("main", "duty", "sleep"), [(1.0, 0.0, 0), (0.0, 0.3, 0),
                                                     (1.0, 1.0, 0), (0.0, 0.0, 0),
                                                     (1.0, 0.5, 99)])
def test_account_propellant_subtracts_the_nominal_flow_over_the_cycles_held(main, duty, sleep):
    """E.g. main engine and all thrusters for one 0.1 s cycle: 400 / (318 g0) + 1,200 /
    (290 g0) kg/s, 55 g; sleeping 99 cycles, a hundred times that."""
    fp = params()
    fsw = fsw_with(250.0)
    fsw[st.F_CMD_MAIN], fsw[st.F_CMD_DUTY], fsw[st.F_SLEEP] = main, duty, sleep
    account_propellant(fsw, fp)
    used = naive.propellant_used(main > 0.5, duty, MAIN_F, MAIN_ISP, THR_F, THR_N, THR_ISP,
                                 CYCLE, sleep)
    assert 250.0 - fsw[st.F_PROP] == pytest.approx(used, rel=1e-9, abs=1e-12)  # kg
    if main and duty == 1.0:
        assert used == pytest.approx(0.055, abs=5e-4)


# Apollo's descent engine as the flight software knows it (missions.md), no thrusters
DPS_N, LM_DRY = 46_700.0, 7_000.0


def apollo_params():
    fp = params()
    fp[st.FP_DRY] = LM_DRY
    fp[st.FP_MAIN:st.FP_MAIN + st.N_ENGINE_GROUP] = group(
        1, DPS_N, 311.0, throttle_min=0.10, isp_min_s=285.0, band=(0.60, 0.92), full_until=0.57)
    fp[st.FP_THRUSTERS:st.FP_THRUSTERS + st.N_ENGINE_GROUP] = group(0, 445.0, 290.0, pulsed=True)
    return fp


@pytest.mark.parametrize(("wanted", "current", "given"), [
    (0.80, 1.0, 1.0),    # P63: full thrust held while the command stays above 57 %
    (0.50, 1.0, 0.50),   # the command fell below 57 %: throttled down to it
    (0.75, 0.50, 0.60),  # from the lower range a command in the band holds its lower edge
    (0.95, 0.50, 0.95),  # above the band: as asked
    (0.03, 0.30, 0.10),  # never below the minimum (the engine stays lit)
])
def test_a_throttled_main_engine_follows_the_throttle_logic(wanted, current, given):
    fp = apollo_params()
    fsw = fsw_with(1_000.0)
    fsw[st.F_CMD_MAIN] = current
    mass = LM_DRY + 1_000.0
    force = command_thrust(fsw, fp, np.array([0.0, 0.0, wanted * DPS_N / mass]), True)
    assert force == pytest.approx(wanted * DPS_N)
    assert fsw[st.F_CMD_MAIN] == pytest.approx(given, abs=1e-12)
    assert fsw[st.F_CMD_DUTY] == 0.0  # no thrusters to make up the rest


def test_a_throttled_main_engine_accounts_its_flow_at_the_throttle_s_isp():
    fp = apollo_params()
    fsw = fsw_with(1_000.0)
    fsw[st.F_CMD_MAIN] = 0.10  # 285 s at 10 %: 4,670 N / (285 g0)
    account_propellant(fsw, fp)
    assert 1_000.0 - fsw[st.F_PROP] == pytest.approx(0.1 * 4_670.0 / (285.0 * 9.80665),
                                                     rel=1e-12)


def _unit(v):
    v = np.asarray(v, float)
    return v / np.linalg.norm(v)


@pytest.mark.parametrize(("prev", "cmd", "limit_deg"), [
    ((0.0, 0.0, 1.0), (1.0, 0.0, 0.0), 1.0),      # 90 deg asked, 1 deg allowed
    ((0.0, 0.0, 1.0), (0.3, 0.4, 0.866), 10.0),   # ~30 deg asked, 10 allowed
    ((1.0, 0.0, 0.0), (-1.0, 0.0, 0.0), 5.0),     # exactly opposite
    ((0.0, 0.6, 0.8), (0.0, 0.62, 0.78), 10.0),   # already within: unchanged
])
def test_the_rate_limiter_turns_at_most_its_angle_in_the_plane_of_the_two(prev, cmd,
                                                                         limit_deg):
    from touchdown.fsw.control import limit_turn

    prev, cmd = _unit(prev), _unit(cmd)
    out = cmd.copy()
    limit = np.radians(limit_deg)
    limit_turn(prev, out, limit)
    asked = np.arccos(np.clip(prev @ cmd, -1.0, 1.0))
    got = np.arccos(np.clip(prev @ out, -1.0, 1.0))
    assert np.linalg.norm(out) == pytest.approx(1.0, abs=1e-12)
    assert got == pytest.approx(min(asked, limit), abs=1e-9)
    if asked <= limit:
        assert np.array_equal(out, cmd)
    elif asked < np.pi - 1e-9:  # toward cmd, in the plane of prev and cmd
        assert abs(np.cross(prev, cmd) @ out) < 1e-12
        assert out @ cmd > prev @ cmd


def test_a_cycled_fixed_engine_fires_whole_cycles_averaging_the_thrust_asked_for():
    """``main_engine_cycled``, main engine off in the phase (the vertical phases): each cycle
    it is on (1) or off (0), the cycles on as many as the thrust asked for needs (to within one
    over any run), and what is owed never strays past half a cycle either way."""
    fp = params()
    fp[st.FP_THRUSTERS:st.FP_THRUSTERS + st.N_ENGINE_GROUP] = 0.0  # no thrusters (Beresheet)
    fp[st.FP_MAIN_CYCLED] = 1.0
    fsw = fsw_with(propellant=40.0)
    mass = estimated_mass(fsw, fp)
    share = 0.37  # of full thrust
    a = np.array([0.0, 0.0, share * MAIN_F / mass])
    fired = []
    for _ in range(200):
        command_thrust(fsw, fp, a, False)
        fired.append(fsw[st.F_CMD_MAIN])
        assert -0.5 <= fsw[st.F_MAIN_OWED] < 0.5
    assert set(fired) == {0.0, 1.0}
    for n in (10, 50, 200):
        assert abs(sum(fired[:n]) - share * n) <= 1.0
    assert fsw[st.F_CMD_DUTY] == 0.0
    fp[st.FP_MAIN_CYCLED] = 0.0  # not cycled: off in such a phase (M1's vertical phases)
    command_thrust(fsw, fp, a, False)
    assert fsw[st.F_CMD_MAIN] == 0.0


def test_thrust_learned_from_the_imu_corrects_the_throttle():
    """``learn_thrust``: cycles on the main engine alone at a held throttle, the IMU showing 10 %
    more acceleration than the model gives, bring the estimate to +10 % (time constant 2 s);
    the throttle then asks 10 % less for the same acceleration. With the thrusters firing, the
    engine off or no time constant, nothing is learned."""
    from touchdown.fsw.control import learn_thrust

    fp = params()
    fp[st.FP_MAIN:st.FP_MAIN + st.N_ENGINE_GROUP] = group(5, 800.0, 300.0, throttle_min=0.4)
    fp[st.FP_THRUSTERS:st.FP_THRUSTERS + st.N_ENGINE_GROUP] = 0.0
    fp[st.FP_THRUST_LEARN] = 2.0
    fsw = fsw_with(propellant=200.0)
    mass = estimated_mass(fsw, fp)
    a = np.array([0.0, 0.0, 0.6 * 4000.0 / mass])
    command_thrust(fsw, fp, a, True)
    before = fsw[st.F_CMD_MAIN]
    meas = np.zeros(st.N_MEAS)
    meas[st.M_DV + 2] = 1.1 * before * 4000.0 / mass * CYCLE
    for _ in range(200):
        learn_thrust(fsw, fp, meas, CYCLE)
    assert fsw[st.F_THRUST_ERR] == pytest.approx(0.1, abs=1e-4)
    command_thrust(fsw, fp, a, True)
    assert fsw[st.F_CMD_MAIN] == pytest.approx(before / 1.1, rel=1e-4)
    for change in ({st.F_CMD_DUTY: 0.3}, {st.F_CMD_MAIN: 0.0}):
        f = fsw_with(propellant=200.0)
        f[st.F_CMD_MAIN] = before
        for k, v in change.items():
            f[k] = v
        learn_thrust(f, fp, meas, CYCLE)
        assert f[st.F_THRUST_ERR] == 0.0
    fp[st.FP_THRUST_LEARN] = 0.0
    f = fsw_with(propellant=200.0)
    f[st.F_CMD_MAIN] = before
    learn_thrust(f, fp, meas, CYCLE)
    assert f[st.F_THRUST_ERR] == 0.0
