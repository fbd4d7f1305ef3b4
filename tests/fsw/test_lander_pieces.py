"""The flight software's pieces for the library landers, each on crafted inputs with a known
answer.

What validates what:

- ``update_altimeter`` (Kalman): the height moves by P_hh / (P_hh + R) of the innovation along
  the local vertical and its variance shrinks to P_hh R / (P_hh + R) (scalar Kalman by hand);
  the first reading is taken ungated, a later one beyond the gate is rejected and logged once;
- ``update_altimeter`` (Luminary): the height moves by 0.35 (1 - H / 50,000 ft) of the
  difference; after high gate a difference beyond 50 ft + H/8 is rejected;
- the learned ground offset: in a vertical phase, readings that sit a fixed 30 m off the map
  drive the offset toward that 30 m by the first-order recursion computed by hand (the offset
  learns dt / tau of what the Luminary update leaves of each innovation); outside the vertical
  phases it stays zero;
- ``update_velocimeter``: one beam's reading moves the velocity along the beam by the Kalman
  gain and leaves the perpendicular velocity alone (uncorrelated covariance);
- ``retro_stopping_distance``: against a slow reference (a vertical burn at constant thrust and
  mass flow in uniform gravity, integrated in 1 ms steps) to 0.5 %;
- the hover (``vertical_accel`` with the hover's rate command, flown by a point mass): from
  120 m at rest it settles at the hover altitude (within 0.5 m after 60 s) without undershoot;
- ``descent_rate_command`` with a rate step: every command is a whole number of steps and never
  slower than the final speed.
"""

import numpy as np
import pytest
from tests.naive import guidance as naive

from touchdown.core import layout as st
from touchdown.fsw.guidance import HOVER_LOOP, descent_rate_command, vertical_accel
from touchdown.fsw.landing_radar import FT
from touchdown.fsw.navigation import update_altimeter, update_velocimeter
from touchdown.moon.constants import R_REF, SURFACE_GRAVITY
from touchdown.sim.run import no_readings

H = 2_000.0  # m, the lander's altitude in the altimeter cases


def lander(height=H, p_pos=100.0 ** 2, p_vel=1.0, mode=st.MODE_BRAKING):
    """FSW state over the north pole (up = +z) with a diagonal covariance."""
    fsw = np.zeros(st.N_FSW)
    fsw[st.F_X:st.F_X + 3] = (0.0, 0.0, R_REF + height)
    fsw[st.F_Q] = 1.0
    fsw[st.F_P:st.F_P + 36] = np.diag([p_pos] * 3 + [p_vel] * 3).ravel()
    fsw[st.F_MODE] = mode
    return fsw


def params(update=st.ALTIMETER_KALMAN, sigma=(5.0, 0.0), gate=9.0, tau=0.0):
    fp = np.zeros(st.N_FSW_PARAMS)
    fp[st.FP_DT] = 0.1
    fp[st.FP_ALTM_UPDATE] = update
    fp[st.FP_ALTM_SIGMA:st.FP_ALTM_SIGMA + 2] = sigma
    fp[st.FP_ALTM_GATE] = gate
    fp[st.FP_GROUND_TAU] = tau
    return fp


def read(fsw, fp, h_meas, alt_est):
    meas = no_readings()
    meas[st.M_ALTIMETER] = h_meas
    events, n = np.zeros((st.MAX_EVENTS, st.N_EVENT)), np.zeros(1, np.int64)
    used = update_altimeter(fsw, fp, meas, 0.0, alt_est, events, n, np.zeros(st.NAV_ALTIMETER.size))
    return used, [st.EVENTS[int(c)][1] for c in events[:n[0], st.E_CODE]]


def height(fsw):
    return float(np.linalg.norm(fsw[st.F_X:st.F_X + 3]) - R_REF)


def test_kalman_altimeter_moves_the_height_by_the_scalar_gain():
    fsw, fp = lander(), params()
    used, events = read(fsw, fp, H + 40.0, H)  # the first reading: acquired, ungated
    p, r = 100.0 ** 2, 5.0 ** 2
    assert used == 1 and events == ["altimeter_acquired"]
    assert height(fsw) == pytest.approx(H + 40.0 * p / (p + r), abs=1e-6)
    assert fsw[st.F_P + 2 * 6 + 2] == pytest.approx(p * r / (p + r), rel=1e-9)
    used, events = read(fsw, fp, height(fsw) + 60.0, height(fsw))  # 60 m against sigma ~5 m
    assert used == 0 and events == ["altimeter_rejected"]
    used, events = read(fsw, fp, height(fsw) + 60.0, height(fsw))
    assert used == 0 and events == []  # a run of rejections is logged once


@pytest.mark.parametrize(("mode", "dh", "used"), [(st.MODE_BRAKING, 300.0, 1),
                                                  (st.MODE_APPROACH, 300.0, 0),
                                                  (st.MODE_APPROACH, 100.0, 1)])
def test_luminary_rule_weights_and_tests_after_high_gate(mode, dh, used):
    fsw, fp = lander(mode=mode), params(update=st.ALTIMETER_LUMINARY)
    got, _ = read(fsw, fp, H + dh, H)
    assert got == used
    allowed = 50.0 * FT + H / 8.0  # 265 m at 2 km
    assert (dh <= allowed) == bool(used) or mode == st.MODE_BRAKING
    weight = 0.35 * (1.0 - H / (50_000.0 * FT))
    assert height(fsw) == pytest.approx(H + (weight * dh if used else 0.0), abs=1e-6)


@pytest.mark.parametrize("mode", [st.MODE_VERTICAL, st.MODE_BRAKING])
def test_ground_offset_learns_the_map_error_in_the_vertical_phases(mode):
    """The ground sits 30 m below the map: each reading says 30 m more than the estimate."""
    fsw, fp = lander(height=100.0, mode=mode), params(update=st.ALTIMETER_LUMINARY, tau=2.0)
    read(fsw, fp, 100.0, 100.0)  # acquired
    offsets = []
    for _ in range(100):  # 10 s of readings at 0.1 s
        fsw[st.F_X:st.F_X + 3] = (0.0, 0.0, R_REF + 100.0)  # the height the estimate holds
        alt = 100.0 - fsw[st.F_GROUND_OFFSET]  # what surface_estimate would give
        read(fsw, fp, 130.0, alt)
        offsets.append(fsw[st.F_GROUND_OFFSET])
    if mode == st.MODE_BRAKING:
        assert offsets[-1] == 0.0
        return
    # by hand: each reading's innovation y = 30 + offset; the Luminary update takes w y of it
    # (none while y fails the 50 ft + H/8 test, H the estimate 100 - offset) and the offset
    # learns dt / tau of what is left
    expected, off = [], 0.0
    for _ in range(100):
        alt, y = 100.0 - off, 30.0 + off
        w = 0.35 * (1.0 - alt / (50_000.0 * FT)) if abs(y) <= 50.0 * FT + alt / 8.0 else 0.0
        off -= (0.1 / 2.0) * (1.0 - w) * y
        expected.append(off)
    np.testing.assert_allclose(offsets, expected, rtol=1e-9, atol=1e-9)
    assert -30.0 < offsets[-1] < -28.0  # toward the ground 30 m below the map


def test_velocimeter_corrects_the_velocity_along_its_beam_only():
    fsw = lander(p_pos=1.0, p_vel=4.0)
    fsw[st.F_X + 3:st.F_X + 6] = (3.0, 0.0, -20.0)  # estimate; the truth is 1 m/s faster down
    fp = params()
    fp[st.FP_VELOCIMETER:st.FP_VELOCIMETER + 2] = (0.2, 9.0)
    fp[st.FP_VEL_BEAMS:st.FP_VEL_BEAMS + 3] = (0.0, 0.0, -1.0)  # straight down (body = mci)
    meas = no_readings()
    meas[st.M_VELOCIMETER + st.RB_VELOCITY] = 21.0  # toward the ground along the beam
    assert update_velocimeter(fsw, fp, meas, np.zeros(st.NAV_VELOCITY.size)) == 1
    gain = 4.0 / (4.0 + 0.2 ** 2)
    assert fsw[st.F_X + 5] == pytest.approx(-20.0 - gain * 1.0, abs=1e-9)
    assert fsw[st.F_X + 3] == 3.0 and fsw[st.F_X + 4] == 0.0


def test_retro_stopping_distance_against_a_slow_reference():
    from touchdown.fsw.guidance import retro_stopping_distance
    from touchdown.parameters import engine_group

    f_main, isp, m_dry, prop, v0, h = 45_000.0, 280.0, 440.0, 800.0, 2_500.0, 200_000.0
    fsw = lander(height=h)
    fsw[st.F_PROP], fsw[st.F_HDOT] = prop, -v0
    fp = params()
    fp[st.FP_DRY] = m_dry
    fp[st.FP_MAIN:st.FP_MAIN + st.N_ENGINE_GROUP] = engine_group(1, f_main, isp)
    fp[st.FP_THRUSTERS:st.FP_THRUSTERS + st.N_ENGINE_GROUP] = engine_group(0, 1.0, 1.0,
                                                                           pulsed=True)
    got = retro_stopping_distance(fsw, fp)
    g = 4.9028e12 / (R_REF + h) ** 2
    mdot = f_main / (isp * 9.80665)
    m, v, s, dt = m_dry + prop, v0, 0.0, 1e-3
    while v > 0.0:
        a = f_main / m - g
        s += v * dt - 0.5 * a * dt * dt
        v -= a * dt
        m -= mdot * dt
    assert got == pytest.approx(s, rel=5e-3)


def test_the_hover_settles_at_its_altitude_without_undershoot():
    fp = np.zeros(st.N_FSW_PARAMS)
    fp[st.FP_DESCENT:st.FP_DESCENT + 3] = (0.3, 1.0, 1.5)
    fp[st.FP_HOVER:st.FP_HOVER + 2] = (100.0, 60.0)
    a, aim = np.zeros(3), np.zeros(2)
    low = []

    def command(k, r, v):
        hdot_cmd = (100.0 - r[2]) / (HOVER_LOOP * 1.5)
        vertical_accel(fp, r, v, v[2], hdot_cmd, aim, 0.09, 0.42, a)
        low.append(r[2])
        return a.copy()

    r, v = naive.fly([0.0, 0.0, 120.0], [0.0, 0.0, 0.0], [0.0, 0.0, -SURFACE_GRAVITY], 0.1,
                     command, 600)
    assert abs(r[2] - 100.0) < 0.5 and abs(v[2]) < 0.05
    assert min(low) > 99.0  # it comes down to the hover altitude, not through it


def test_rate_steps_are_whole_and_never_slower_than_the_final_speed():
    fp = np.zeros(st.N_FSW_PARAMS)
    fp[st.FP_DESCENT:st.FP_DESCENT + 3] = (0.1, 0.9144, 1.5)
    fp[st.FP_TERMINAL_ALT] = 45.72
    fp[st.FP_RATE_STEP] = 0.3048
    for h in np.linspace(0.0, 400.0, 801):
        rate = descent_rate_command(fp, h)
        clicks = rate / 0.3048
        assert clicks == pytest.approx(round(clicks), abs=1e-9)
        assert rate <= -0.9144 + 1e-12
