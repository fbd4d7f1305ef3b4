"""Guidance (``fsw.guidance``): the landing-site frame, Klumpp's polynomial guidance for braking
and approach, and the rate-of-descent guidance of the vertical phases.

What validates what:

- ``site_frame``: the axes equal downrange / crossrange-left / up built from east, north, up by
  cross products (tests/naive/guidance.py); they are orthonormal and right-handed, downrange
  lies along the approach azimuth, the site sits at R_REF + h.
- ``to_guidance``: a lander placed at a known site-frame position and surface-relative velocity
  (turned into the inertial frame by hand, an hour after the epoch) is read back, and its
  gravity carries the centrifugal and Coriolis terms of the turning Moon (numpy, on the
  gravity model of ``moon.gravity``).
- ``solve_tgo``: on the target's own polynomial it returns the exact time to go; off it, the
  negative root of the downrange cubic that numpy.roots finds, cold and warm started.
- ``polynomial_accel`` equals Klumpp's formula (naive), and on the target polynomial it asks
  for the polynomial's own acceleration a_T + j_T tau.
- The phases meet their targets: the polynomial law flown by a point mass in uniform gravity
  (tests/naive/guidance.py: the command held over each 0.1 s cycle) from a state well off the
  nominal braking trajectory reaches high gate (time to go re-solved each cycle), and from high
  gate reaches the vertical gate in the approach's 60 s countdown; the vertical phases flown
  the same way from the vertical gate follow the descent profile and touch down at the final
  speed with the horizontal velocity nulled.
- ``descent_rate_command``: the constant-deceleration profile above the terminal altitude
  (v dv/dh = a_d, by finite differences; ispace's 33 m/s at 1 km and 4.7 m/s at 20 m) and
  the constant final speed at and below it; ``vertical_accel`` equals the naive law, its
  vertical part converges on a commanded rate as exp(-t / tau), its PD part nulls horizontal
  velocity and position.
"""

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose
from tests.naive import guidance as naive

from touchdown.core import layout as st
from touchdown.fsw.guidance import (
    descent_rate_command,
    polynomial_accel,
    site_frame,
    solve_tgo,
    to_guidance,
    vertical_accel,
)
from touchdown.moon.constants import OMEGA, R_REF, SURFACE_GRAVITY
from touchdown.moon.gravity import gravity_mcmf

# ---------------------------------------------------------------- M1's guidance parameters

# guidance frame: x downrange, y crossrange (left), z up, origin at the site
BRAKING = np.array([-3000.0, 0.0, 3000.0, 100.0, 0.0, -30.0, -2.6, 0.0, 0.0, 0.0, 0.0, 0.0])
APPROACH = np.array([0.0, 0.0, 1000.0, 0.0, 0.0, -33.0, 0.0, 0.0, 0.54, 0.0, 0.0, 0.0])
APPROACH_S = 60.0  # s, the approach's countdown
TGO_SWITCH = 5.0  # s, a phase ends when its time to go falls below
DT = 0.1  # s, the flight-software cycle
GRAVITY = np.array([0.0, 0.0, -SURFACE_GRAVITY])  # m/s^2, uniform, guidance frame
A_D, V_F, TAU = 0.54, 0.72, 1.5  # m/s^2, m/s, s: descent profile
TERMINAL_ALT = 20.0  # m


def params(azimuth=0.0, hgain=(0.0, 0.2)):
    fp = np.zeros(st.N_FSW_PARAMS)
    fp[st.FP_DT] = DT
    fp[st.FP_SITE:st.FP_SITE + 3] = (math.radians(47.5), math.radians(44.4), -1830.0)
    fp[st.FP_AZ] = azimuth
    fp[st.FP_BRAKE_TGT:st.FP_BRAKE_TGT + 12] = BRAKING
    fp[st.FP_APPR_TGT:st.FP_APPR_TGT + 12] = APPROACH
    fp[st.FP_APPR_T] = APPROACH_S
    fp[st.FP_TGO_MIN] = TGO_SWITCH
    fp[st.FP_DESCENT:st.FP_DESCENT + 3] = (A_D, V_F, TAU)
    fp[st.FP_HGAIN:st.FP_HGAIN + 2] = hgain
    fp[st.FP_TERMINAL_ALT] = TERMINAL_ALT
    return fp


# ---------------------------------------------------------------- the site frame


def test_site_frame_axes_are_orthonormal_and_downrange_follows_the_azimuth(work):
    rng = np.random.default_rng(21)
    for _ in range(20):
        lat, lon = rng.uniform(-1.4, 1.4), rng.uniform(0.0, 2 * math.pi)
        az, h = rng.uniform(0.0, 2 * math.pi), rng.uniform(-8000.0, 8000.0)
        fp = np.zeros(st.N_FSW_PARAMS)
        fp[st.FP_SITE:st.FP_SITE + 3] = (lat, lon, h)
        fp[st.FP_AZ] = az
        dcm, r_site = np.zeros(9), np.zeros(3)
        site_frame(fp, dcm, r_site, work())
        m = dcm.reshape(3, 3)
        assert_allclose(m, naive.site_axes(lat, lon, az), atol=1e-14)
        assert_allclose(m @ m.T, np.eye(3), atol=1e-14)
        assert np.linalg.det(m) == pytest.approx(1.0, abs=1e-14)  # right-handed
        east, north, _ = naive.enu(lat, lon)
        assert m[0] @ north == pytest.approx(math.cos(az), abs=1e-14)
        assert m[0] @ east == pytest.approx(math.sin(az), abs=1e-14)
        assert_allclose(r_site, naive.site_position(lat, lon, h), rtol=0, atol=1e-8)  # m


def test_site_frame_heading_north_has_west_on_the_left(work):
    fp = np.zeros(st.N_FSW_PARAMS)
    fp[st.FP_SITE:st.FP_SITE + 3] = (0.0, 0.0, 0.0)  # the sub-Earth point: east is +y
    dcm, r_site = np.zeros(9), np.zeros(3)
    site_frame(fp, dcm, r_site, work())
    assert_allclose(dcm.reshape(3, 3), [[0, 0, 1], [0, -1, 0], [1, 0, 0]], atol=1e-15)
    assert_allclose(r_site, [R_REF, 0.0, 0.0], atol=1e-9)


def test_to_guidance_reads_back_a_site_relative_state_as_the_moon_turns(work):
    """An hour after the epoch, 5 km before the site, 2 km up, 300 m to the left, moving
    100 m/s downrange and 30 m/s down over the surface."""
    fp = params(azimuth=math.radians(30.0))
    t = 3600.0
    lat, lon, h = fp[st.FP_SITE:st.FP_SITE + 3]
    axes = naive.site_axes(lat, lon, fp[st.FP_AZ])
    r_site = naive.site_position(lat, lon, h)
    r_g_true = np.array([-5000.0, 300.0, 2000.0])
    v_g_true = np.array([100.0, -2.0, -30.0])
    r_m = r_site + axes.T @ r_g_true
    v_rel = axes.T @ v_g_true
    omega = np.array([0.0, 0.0, OMEGA])
    c, s = math.cos(OMEGA * t), math.sin(OMEGA * t)
    turn = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])  # mcmf -> mci
    fsw = np.zeros(st.N_FSW)
    fsw[st.F_X:st.F_X + 3] = turn @ r_m
    fsw[st.F_X + 3:st.F_X + 6] = turn @ (v_rel + np.cross(omega, r_m))
    r_g, v_g, g_g = np.zeros(3), np.zeros(3), np.zeros(3)
    got_c, got_s = to_guidance(fsw, fp, t, r_g, v_g, g_g, work())
    assert (got_c, got_s) == pytest.approx((c, s), abs=1e-15)
    assert_allclose(r_g, r_g_true, atol=1e-6)  # m
    assert_allclose(v_g, v_g_true, atol=1e-9)  # m/s
    g_m = np.zeros(3)
    gravity_mcmf(r_m, g_m)
    g_rot = g_m - 2 * np.cross(omega, v_rel) - np.cross(omega, np.cross(omega, r_m))
    assert_allclose(g_g, axes @ g_rot, atol=1e-12)  # m/s^2
    # the frame was computed at the first call, with the site
    assert_allclose(fsw[st.F_GUID_DCM:st.F_GUID_DCM + 9], axes.ravel(), atol=1e-14)
    assert_allclose(fsw[st.F_SITE_MCMF:st.F_SITE_MCMF + 3], r_site, atol=1e-8)


# ---------------------------------------------------------------- time to go


def with_jerk(target, jerk):
    t = np.array(target, float)
    t[9:12] = jerk
    return t


TARGETS = [BRAKING, with_jerk(BRAKING, (0.004, 0.0, 0.0)), with_jerk(BRAKING, (-0.002, 0, 0))]


@pytest.mark.parametrize("target", TARGETS, ids=["m1", "jerk+", "jerk-"])
@pytest.mark.parametrize("tgo", [12.0, 95.0, 310.0, 540.0])
def test_solve_tgo_on_the_target_polynomial_is_the_exact_time_to_go(target, tgo):
    """A state on the target's polynomial tgo before the target: the cubic's root is -tgo
    exactly, found from a cold start (600 s) and from the previous cycle's value."""
    r, v = naive.target_trajectory(target, -tgo)
    assert solve_tgo(r[0], v[0], target, 0.0) == pytest.approx(tgo, abs=1e-6)  # s
    assert solve_tgo(r[0], v[0], target, tgo + DT) == pytest.approx(tgo, abs=1e-6)


@pytest.mark.parametrize("target", TARGETS, ids=["m1", "jerk+", "jerk-"])
def test_solve_tgo_is_the_negative_root_numpy_finds(target):
    """States up to 30 km and 100 m/s off the target polynomial, 40 to 600 s out: the kernel's
    time to go is minus the cubic's negative real root nearest zero from numpy.roots, to 1 us
    (with a negative jerk the cubic has a second, far negative root, at ~8,000 s)."""
    rng = np.random.default_rng(31)
    for _ in range(40):
        tau = -rng.uniform(40.0, 600.0)
        r, v = naive.target_trajectory(target, tau)
        r_x = r[0] + rng.uniform(-30e3, 30e3) * min(1.0, -tau / 300.0)
        v_x = v[0] + rng.uniform(-100.0, 100.0) * min(1.0, -tau / 300.0)
        ref = naive.time_to_go(r_x, v_x, target)
        assert solve_tgo(r_x, v_x, target, 0.0) == pytest.approx(ref, abs=1e-6)
        assert solve_tgo(r_x, v_x, target, ref * 1.05) == pytest.approx(ref, abs=1e-6)


# ---------------------------------------------------------------- the polynomial law


def test_polynomial_accel_is_klumpps_formula():
    rng = np.random.default_rng(41)
    a = np.zeros(3)
    for _ in range(50):
        target = rng.normal(0.0, [3000.0] * 3 + [50.0] * 3 + [2.0] * 3 + [0.01] * 3)
        r, v = rng.normal(0.0, 2e4, 3), rng.normal(0.0, 500.0, 3)
        tgo = rng.uniform(1.0, 700.0)
        polynomial_accel(r, v, target, tgo, a)
        assert_allclose(a, naive.klumpp_accel(r, v, target, tgo), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("target", [*TARGETS, APPROACH], ids=["m1", "jerk+", "jerk-", "appr"])
def test_on_the_target_polynomial_the_law_asks_for_its_acceleration(target):
    """On the polynomial, a = a_T + j_T tau: the law keeps a vehicle on it."""
    a = np.zeros(3)
    for tau in (-300.0, -60.0, -7.0):
        r, v = naive.target_trajectory(target, tau)
        polynomial_accel(r, v, target, -tau, a)
        assert_allclose(a, target[6:9] + target[9:12] * tau, atol=1e-9)  # m/s^2


def fly_braking(r0, v0, stop_below):
    """The braking phase as the cycle flies it: time to go re-solved from the downrange cubic
    each cycle (warm started), the law's acceleration held over the cycle; stops at the first
    cycle whose time to go is below stop_below (s). Returns r, v and that time to go."""
    state = {"tgo": 0.0}
    a = np.zeros(3)

    def command(_, r, v):
        tgo = solve_tgo(r[0], v[0], BRAKING, state["tgo"])
        state["tgo"] = tgo
        if tgo < stop_below:
            return None
        polynomial_accel(r, v, BRAKING, tgo, a)
        return a.copy()

    r, v = naive.fly(r0, v0, GRAVITY, DT, command, 20_000)
    return r, v, state["tgo"]


BRAKING_START = -560.0  # s before high gate: ~1,560 m/s, 460 km out, 20 km up


def braking_start():
    """560 s before high gate on the nominal braking polynomial, then 4 km further downrange,
    1.5 km left, 1.2 km high, 12 m/s slower, 5 m/s drifting right and 8 m/s sinking: a state
    well off it."""
    r, v = naive.target_trajectory(BRAKING, BRAKING_START)
    return r + np.array([4000.0, 1500.0, 1200.0]), v + np.array([-12.0, -5.0, -8.0])


def test_braking_phase_meets_high_gate():
    """Flown to the phase switch (time to go < 5 s), the state is on the target polynomial
    that many seconds before high gate (within 10 cm and 1 cm/s), and flown on to the last
    cycle (time to go < 0.1 s) it is there within 1 cm and 1 mm/s: at high gate, (-3 km, 0,
    3 km) and (100, 0, -30) m/s, short of it by at most one cycle's travel."""
    r0, v0 = braking_start()
    r, v, tgo = fly_braking(r0, v0, TGO_SWITCH)
    assert TGO_SWITCH - 2 * DT < tgo < TGO_SWITCH
    r_nom, v_nom = naive.target_trajectory(BRAKING, -tgo)
    assert_allclose(r, r_nom, atol=0.1)  # m
    assert_allclose(v, v_nom, atol=0.01)  # m/s
    r, v, tgo = fly_braking(r0, v0, DT)
    assert tgo < DT
    r_nom, v_nom = naive.target_trajectory(BRAKING, -tgo)
    assert_allclose(r, r_nom, atol=0.01)
    assert_allclose(v, v_nom, atol=0.001)
    assert np.linalg.norm(r0 - BRAKING[0:3]) > 4e5  # and it came from 460 km out


def fly_approach(r0, v0, stop_below):
    """The approach as the cycle flies it: a 60 s countdown, the law toward the vertical
    gate; stops at the first cycle whose time to go is below stop_below (s). Returns r, v and
    that time to go."""
    state = {"tgo": APPROACH_S + DT}
    a = np.zeros(3)

    def command(_, r, v):
        state["tgo"] -= DT
        if state["tgo"] < stop_below:
            return None
        polynomial_accel(r, v, APPROACH, state["tgo"], a)
        return a.copy()

    r, v = naive.fly(r0, v0, GRAVITY, DT, command, round(APPROACH_S / DT) + 1)
    return r, v, state["tgo"]


def test_approach_phase_meets_the_vertical_gate():
    """From high gate, 300 m long, 200 m right and 150 m low, with 5 m/s of crossrange drift,
    in the 60 s countdown: on the last cycle (0.1 s to go) within 1 cm and 1 cm/s of where the
    vertical gate's polynomial is then (3.3 m above the gate, 33 m/s down). High gate is not on
    that polynomial, so only the end is a target: 5 s out the state is still metres off it."""
    r0 = BRAKING[0:3] + np.array([300.0, -200.0, -150.0])
    v0 = BRAKING[3:6] + np.array([0.0, 5.0, 0.0])
    r, v, tgo = fly_approach(r0, v0, DT)
    assert 0.0 < tgo < DT
    r_nom, v_nom = naive.target_trajectory(APPROACH, -tgo)
    assert_allclose(r, r_nom, atol=0.01)  # m
    assert_allclose(v, v_nom, atol=0.01)  # m/s
    assert np.linalg.norm(r - APPROACH[0:3]) < 34.0 * DT
    assert np.linalg.norm(r0 - APPROACH[0:3]) > 3000.0  # it came from high gate


# ---------------------------------------------------------------- vertical phases


@pytest.mark.parametrize("altitude", [0.0, 3.0, 19.999, 20.0, 20.001, 55.0, 400.0, 1000.0,
                                      3000.0])
def test_descent_rate_command_is_the_profile(altitude):
    got = descent_rate_command(params(), altitude)
    assert got == pytest.approx(naive.descent_rate(altitude, A_D, V_F, TERMINAL_ALT), abs=1e-12)


def test_descent_profile_passes_ispaces_figures():
    """ispace: 33 m/s at 1 km (120 km/h), 4.7 m/s at 20 m, 0.72 m/s below (2.6 km/h)."""
    fp = params()
    assert descent_rate_command(fp, 1000.0) == pytest.approx(-33.0, abs=0.2)  # m/s
    assert descent_rate_command(fp, 20.0 + 1e-9) == pytest.approx(-4.7, abs=0.05)
    for h in (20.0, 10.0, 0.5, -3.0):  # also below zero: the estimate may go there
        assert descent_rate_command(fp, h) == -V_F


@pytest.mark.parametrize("altitude", [30.0, 250.0, 2500.0])
def test_descent_profile_is_a_constant_deceleration(altitude):
    """Along the profile v dv/dh = d(v^2 / 2)/dh = a_d: flying it decelerates at a_d."""
    fp = params()
    d = 1e-3
    up, down = descent_rate_command(fp, altitude + d), descent_rate_command(fp, altitude - d)
    assert (up**2 - down**2) / (4.0 * d) == pytest.approx(A_D, rel=1e-6)


def test_vertical_accel_is_the_naive_law():
    rng = np.random.default_rng(51)
    a = np.zeros(3)
    for _ in range(30):
        kp, kv = rng.uniform(0.0, 0.1), rng.uniform(0.0, 1.0)
        fp = params(hgain=(kp, kv))
        r, v = rng.normal(0.0, 100.0, 3), rng.normal(0.0, 5.0, 3)
        hdot, cmd = rng.uniform(-40.0, 5.0), rng.uniform(-40.0, 0.0)
        aim = rng.normal(0.0, 30.0, 2)  # a hazard-avoidance divert, or none
        vertical_accel(fp, r, v, hdot, cmd, aim, kp, kv, a)
        from_aim = r - np.array([aim[0], aim[1], 0.0])
        assert_allclose(a, naive.vertical_law(from_aim, v, hdot, cmd, kp, kv, TAU), rtol=1e-13,
                        atol=1e-13)


NO_AIM = np.zeros(2)  # the site itself


def fly_vertical(fp, r0, v0, seconds, hdot_cmd=None):
    """A point mass flying vertical_accel (the vertical speed is v_z, the altitude r_z);
    hdot_cmd None: the descent profile; else a constant command. Returns the samples
    (time, r, v) of every cycle."""
    a = np.zeros(3)
    samples = []

    def command(k, r, v):
        samples.append((k * DT, r.copy(), v.copy()))
        cmd = descent_rate_command(fp, r[2]) if hdot_cmd is None else hdot_cmd
        vertical_accel(fp, r, v, v[2], cmd, NO_AIM, fp[st.FP_HGAIN], fp[st.FP_HGAIN + 1], a)
        return a.copy()

    naive.fly(r0, v0, GRAVITY, DT, command, round(seconds / DT))
    return samples


def test_vertical_rate_converges_on_the_command_with_time_constant_tau():
    """From 20 m/s down toward a 2 m/s command: hdot - cmd decays as exp(-t / tau) (within
    the 0.1 s cycle's discretisation, 2 % of the initial error), and is within 1 cm/s after
    10 tau."""
    fp = params()
    samples = fly_vertical(fp, [0.0, 0.0, 5000.0], [0.0, 0.0, -20.0], 10 * TAU + DT, -2.0)
    for t, _, v in samples:
        expected = -2.0 - 18.0 * math.exp(-t / TAU)
        assert v[2] == pytest.approx(expected, abs=0.02 * 18.0), t
    assert samples[-1][2][2] == pytest.approx(-2.0, abs=0.01)


def test_horizontal_pd_nulls_velocity_and_position():
    """Gains 0.04 /s^2, 0.4 /s (critically damped, 5 s): from 40 m / -25 m off the site,
    drifting 3 / 2 m/s, within 0.2 m and 2 cm/s after a minute."""
    fp = params(hgain=(0.04, 0.4))
    samples = fly_vertical(fp, [40.0, -25.0, 5000.0], [3.0, 2.0, 0.0], 60.0, 0.0)
    _, r, v = samples[-1]
    assert np.abs(r[:2]).max() < 0.2  # m
    assert np.abs(v[:2]).max() < 0.02  # m/s


def test_m1_horizontal_gains_null_velocity_and_leave_the_position():
    """M1's gains (0, 0.2 /s): the drift decays as exp(-0.2 t) and the lander stops where the
    drift carried it, v0 / kv further on."""
    fp = params(hgain=(0.0, 0.2))
    samples = fly_vertical(fp, [40.0, -25.0, 5000.0], [3.0, 2.0, 0.0], 40.0, 0.0)
    _, r, v = samples[-1]
    assert np.abs(v[:2]).max() < 0.01  # m/s
    assert_allclose(r[:2], [40.0 + 3.0 / 0.2, -25.0 + 2.0 / 0.2], atol=0.5)  # m


def test_vertical_phases_follow_the_profile_to_touchdown():
    """From the vertical gate (1 km, 33 m/s down, 0.8 m/s of horizontal drift) on M1's gains:
    above 100 m the descent rate lags the profile by tau a_d (0.81 m/s) at most plus 0.1 m/s;
    it reaches 20 m at 4.7 to 5.7 m/s, and touches down at the final 0.72 m/s (within
    1 cm/s) with the horizontal velocity nulled (under 1 cm/s)."""
    fp = params()
    samples = fly_vertical(fp, [0.0, 0.0, 1000.0], [0.5, -0.6, -33.0], 200.0)
    lag = TAU * A_D
    reached_terminal = None
    touchdown = None
    for t, r, v in samples:
        if r[2] > 100.0 and t > 5 * TAU:
            profile = naive.descent_rate(r[2], A_D, V_F, TERMINAL_ALT)
            assert profile - lag - 0.1 < v[2] <= profile + 0.1, (t, r[2])
        if reached_terminal is None and r[2] <= TERMINAL_ALT:
            reached_terminal = v[2]
        if r[2] <= 0.0:
            touchdown = (r, v)
            break
    assert touchdown is not None, "never reached the ground in 200 s"
    assert -5.7 < reached_terminal < -4.7
    r, v = touchdown
    assert v[2] == pytest.approx(-V_F, abs=0.01)  # m/s
    assert np.hypot(v[0], v[1]) < 0.01  # m/s



@pytest.mark.parametrize("area, v, expect_clamped", [((4000.0, 2500.0), (146.0, -3.0), False),
                                                     ((500.0, 500.0), (146.0, -3.0), True)])
def test_a_landing_area_moves_the_approach_target_to_an_even_stop(area, v, expect_clamped):
    """``in_area``: within a large enough area the moved target makes the polynomial ask now
    for -v / tgo downrange and across (the deceleration that stops the lander evenly over the
    time to go); a small area holds the target at its edge; the move is the aim."""
    from touchdown.fsw.guidance import in_area

    fp, fsw = np.zeros(st.N_FSW_PARAMS), np.zeros(st.N_FSW)
    fp[st.FP_AREA:st.FP_AREA + 2] = area
    target = np.array([0.0, 0.0, 150.0, 0.0, 0.0, -1.0, -0.82, 0.0, 0.15, 0.0, 0.0, 0.0])
    r, vel, tgo = np.array([-12_000.0, 40.0, 7400.0]), np.array([*v, -60.0]), 170.0
    moved, a = np.zeros(12), np.zeros(3)
    in_area(fsw, fp, r, vel, tgo, target, moved)
    assert moved[2:] == pytest.approx(target[2:])
    polynomial_accel(r, vel, moved, tgo, a)
    aim = fsw[st.F_DIVERT:st.F_DIVERT + 2]
    assert aim == pytest.approx(moved[:2])
    if expect_clamped:
        assert abs(aim[0]) == pytest.approx(area[0] / 2)
        assert a[0] < -vel[0] / tgo  # held short: it must brake harder than evenly
    else:
        assert a[:2] == pytest.approx(-vel[:2] / tgo)


# ---------------------------------------------------------------- the optimiser's profile


def test_a_profile_is_flown_with_a_pull_toward_its_plan_within_its_reserve(work):
    """``profile_phase``: on its planned state, the plan's own thrust acceleration; behind the
    plan, the tracking loop's pull (PROFILE_KP, PROFILE_KV) on top; far behind, that pull cut
    to the reserve the plan left. The planned state between nodes is Hermite's cubic, exact
    for the constant acceleration the nodes here follow."""
    from touchdown.fsw.guidance import PROFILE_KP, PROFILE_KV, profile_phase

    fp = params(azimuth=math.radians(30.0))
    t, step, n, reserve = 3600.0, 2.0, 3, 0.5
    lat, lon, h = fp[st.FP_SITE:st.FP_SITE + 3]
    axes = naive.site_axes(lat, lon, fp[st.FP_AZ])
    r_site = naive.site_position(lat, lon, h)
    c, s = math.cos(OMEGA * t), math.sin(OMEGA * t)
    turn = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])  # mcmf -> mci
    omega = np.array([0.0, 0.0, OMEGA])
    acc = np.array([0.3, -0.1, 1.4])  # m/s^2, the plan's thrust, guidance frame
    net = np.array([0.4, 0.2, -0.5])  # m/s^2, the plan's path: a constant acceleration
    r0, v0, t0 = np.array([-3000.0, 40.0, 900.0]), np.array([60.0, -1.0, -20.0]), t - 3.0

    def planned(tau):
        return r0 + v0 * tau + 0.5 * net * tau * tau, v0 + net * tau

    def fly(r_g, v_g):
        fsw = np.zeros(st.N_FSW)
        fsw[st.F_PROFILE:st.F_PROFILE + 4] = (t0, step, n, reserve)
        for k in range(n + 1):
            at = st.F_PROFILE_ACC + st.N_PROFILE_STEP * k
            fsw[at:at + 3] = acc
            fsw[at + 3:at + 6], fsw[at + 6:at + 9] = planned(k * step)
        r_m = r_site + axes.T @ r_g
        fsw[st.F_X:st.F_X + 3] = turn @ r_m
        fsw[st.F_X + 3:st.F_X + 6] = turn @ (axes.T @ v_g + np.cross(omega, r_m))
        tgo = profile_phase(fsw, fp, t, work())
        assert tgo == pytest.approx(t0 + n * step - t)
        return axes @ turn.T @ fsw[st.F_THRUST_ACC:st.F_THRUST_ACC + 3]  # guidance frame

    r_p, v_p = planned(t - t0)  # mid-step: the cubic's, not a straight line's
    assert_allclose(fly(r_p, v_p), acc, atol=1e-9)
    off_r, off_v = np.array([-4.0, 2.0, 1.0]), np.array([0.5, 0.0, -0.2])
    pull = -PROFILE_KP * off_r - PROFILE_KV * off_v
    assert np.linalg.norm(pull) < reserve
    assert_allclose(fly(r_p + off_r, v_p + off_v), acc + pull, atol=1e-9)
    far = fly(r_p + 100 * off_r, v_p)  # a navigation fix's jump: the reserve, no more
    assert np.linalg.norm(far - acc) == pytest.approx(reserve)
    assert_allclose((far - acc) / reserve, -off_r / np.linalg.norm(off_r), atol=1e-9)
