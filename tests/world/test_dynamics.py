"""Lander dynamics: RK4 coast/burn with mass flow, propellant accounting, rate-limited slew.

What validates what:

- Invariant: coasting in the rotating J2 + C22 field conserves the Jacobi integral
  E_J = |v_mci|^2 / 2 - U(r_mcmf) - OMEGA (r_mci x v_mci)_z (the field is steady in the Moon-fixed
  frame), while the plain inertial energy does not (so the rotation is really exercised).
- Agreement between two methods: ``coast_or_burn`` through a 600 s burn (1600 N, 760 kg,
  0.5 kg/s, fixed inertial direction) against scipy DOP853 on the same equations; the same
  reference shows the error falls as dt^4 (classical RK4, mass varying inside the step).
- The rocket equation: the returned delta-v sums to ve ln(m0 / m1).
- Mass flow in ``substep``: thrust / (Isp g0) dt per substep from the WORLD_PARAMS values set
  here; running dry mid-substep splits the step at that instant (checked against scipy), leaves
  exactly 0 kg and records the time; with no propellant the engines give nothing.
- Slew: the body +z axis turns toward the command by at most slew_rate_max dt per substep and
  reaches it, quaternions stay unit, and the IMU angle/rate outputs match the motion.
- Long coast steps (the loop coasts one RK4 step per flight-software interval, up to the 10 s
  coast cycle) against DOP853 over a whole orbit; ``burn_pulses`` (a powered cycle in one
  gravity step, thrust in closed form) against the same pulses taken one ``substep`` each.
"""

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.integrate import solve_ivp

from touchdown.core.engines import G0
from touchdown.core.layout import (
    N_BURN_WORK,
    N_ENGINE_GROUP,
    N_SCRATCH_BURN,
    N_SCRATCH_RK4,
    N_SCRATCH_SUBSTEP,
    N_WORLD,
    N_WORLD_PARAMS,
    W_DTH,
    W_DV,
    W_IMPULSE,
    W_OMEGA,
    W_PROP,
    W_PROP_OUT_T,
    W_Q,
    W_R,
    W_T,
    W_V,
    WP_DRY,
    WP_MAIN,
    WP_SLEW,
    WP_THRUST_FAULT,
    WP_THRUSTERS,
)
from touchdown.core.quaternion import quat_rotate
from touchdown.moon.constants import GM, OMEGA, R_REF
from touchdown.moon.frames import rotate_z
from touchdown.moon.gravity import gravity_mci, potential_mcmf
from touchdown.parameters import engine_group as group
from touchdown.world.dynamics import (
    MAX_PULSES,
    N_WORK,
    burn_pulses,
    coast_or_burn,
    new_work,
    substep,
)

# ---------------------------------------------------------------- a 100 x 25 km orbit

R_PERI = R_REF + 25e3  # m
R_APO = R_REF + 100e3  # m
V_PERI = math.sqrt(GM * (2.0 / R_PERI - 2.0 / (R_PERI + R_APO)))  # m/s, vis-viva


def perilune_state():
    """Perilune of the 100 x 25 km orbit over 26 N 3.6 E, heading 30 deg east of north."""
    lat, lon, head = math.radians(26.0), math.radians(3.6), math.radians(60.0)
    up = np.array([math.cos(lat) * math.cos(lon), math.cos(lat) * math.sin(lon), math.sin(lat)])
    east = np.array([-math.sin(lon), math.cos(lon), 0.0])
    north = np.cross(up, east)
    return R_PERI * up, V_PERI * (math.cos(head) * east + math.sin(head) * north), up


def test_perilune_speed_matches_reference():
    """missions.md §3: perilune speed of a 100 x 25 km orbit ~1,685 m/s (±1: the quoted digit)."""
    assert abs(V_PERI - 1685.0) < 1.0


def full_field_rhs(force, m0, mdot, u, t_start=0.0):
    """r' = v, v' = gravity_mci(t, r) + force / (m0 - mdot (t - t_start)) u."""
    def rhs(t, y):
        a, w3 = np.empty(3), np.empty(3)
        gravity_mci(t, np.ascontiguousarray(y[:3]), a, w3)
        return np.concatenate([y[3:], a + force / (m0 - mdot * (t - t_start)) * u])
    return rhs


def jacobi(t, r, v):
    """E_J (m^2/s^2) of an inertial state at time t (s)."""
    r_mcmf = np.empty(3)
    rotate_z(-OMEGA * t, r, r_mcmf)
    return 0.5 * v @ v - potential_mcmf(r_mcmf) - OMEGA * (r[0] * v[1] - r[1] * v[0])


def inertial_energy(t, r, v):
    r_mcmf = np.empty(3)
    rotate_z(-OMEGA * t, r, r_mcmf)
    return 0.5 * v @ v - potential_mcmf(r_mcmf)


# ---------------------------------------------------------------- coast: Jacobi integral


def test_coast_conserves_jacobi_integral_over_two_hours():
    """7,200 RK4 steps of 1 s from the 25 km perilune: |E_J(t) - E_J(0)| < 1e-3 m^2/s^2 at every
    step, against |E_J| = 1.37e6 m^2/s^2 (7e-10 relative; for this orbit a 1e-3 m^2/s^2 error
    is a 1.3 um error in semi-major axis, 2 a^2 dE / GM). Measured: 2e-8 m^2/s^2. The inertial
    energy alone moves by ~1 m^2/s^2 (C22 turning with the Moon), so a wrong rotation sense or
    rate in ``gravity_mci`` would show."""
    r, v, _ = perilune_state()
    u, work = np.array([0.0, 0.0, 1.0]), np.zeros(N_SCRATCH_RK4)
    e0, en0 = jacobi(0.0, r, v), inertial_energy(0.0, r, v)
    dev, dev_inertial = 0.0, 0.0
    dt = 1.0
    for k in range(7200):
        coast_or_burn(k * dt, r, v, 700.0, 0.0, 0.0, u, dt, work)
        t = (k + 1) * dt
        dev = max(dev, abs(jacobi(t, r, v) - e0))
        dev_inertial = max(dev_inertial, abs(inertial_energy(t, r, v) - en0))
        assert R_REF + 20e3 < np.linalg.norm(r) < R_REF + 110e3  # stays near 100 x 25 km
    assert dev < 1e-3
    assert dev_inertial > 0.1


# ---------------------------------------------------------------- burn: against scipy

F_BURN, M0_BURN, MDOT_BURN, T_BURN = 1600.0, 760.0, 0.5, 600.0  # N, kg, kg/s, s


def burn_direction():
    """Fixed inertial direction, 34 deg (0.6 rad) above retrograde at ignition: the path stays
    above the 25 km start altitude while the speed falls from 1685 to 173 m/s."""
    _, v, up = perilune_state()
    return -v / np.linalg.norm(v) * math.cos(0.6) + up * math.sin(0.6)


@pytest.fixture(scope="module")
def burn_reference():
    """DOP853, rtol 1e-13, atol 1e-9 (tighter than needed for 1 m: its own error, judged by
    rtol 3e-14, is ~1e-9 m, below the dt = 5 s RK4 error used in the order test)."""
    r0, v0, _ = perilune_state()
    rhs = full_field_rhs(F_BURN, M0_BURN, MDOT_BURN, burn_direction())
    sol = solve_ivp(rhs, (0.0, T_BURN), np.concatenate([r0, v0]), method="DOP853",
                    rtol=1e-13, atol=1e-9)
    assert sol.success
    return sol.y[:, -1]


def rk4_burn(dt):
    r, v, _ = perilune_state()
    u, work = burn_direction(), np.zeros(N_SCRATCH_RK4)
    n = round(T_BURN / dt)
    dv = 0.0
    for k in range(n):
        dv += coast_or_burn(k * dt, r, v, M0_BURN - MDOT_BURN * k * dt, F_BURN, MDOT_BURN, u, dt,
                            work)
    return r, v, dv


def test_burn_matches_high_accuracy_reference(burn_reference):
    """dt = 0.01 s: final position within 1 m and velocity within 1 mm/s of DOP853 after a
    600 s, 1607 m/s burn (measured 1e-6 m, 5e-10 m/s). The summed delta-v is the rocket
    equation, (F / mdot) ln(m0 / m1), to 1e-7 m/s (60,000 additions of round-off)."""
    r, v, dv = rk4_burn(0.01)
    assert np.linalg.norm(r - burn_reference[:3]) < 1.0
    assert np.linalg.norm(v - burn_reference[3:]) < 1e-3
    m1 = M0_BURN - MDOT_BURN * T_BURN
    assert abs(dv - F_BURN / MDOT_BURN * math.log(M0_BURN / m1)) < 1e-7
    r_start, _, _ = perilune_state()
    assert np.linalg.norm(r - r_start) > 100e3  # the burn really moved it


def test_burn_error_falls_as_dt_to_the_fourth(burn_reference):
    """Position error ratio for halving dt (20 -> 10 -> 5 s) is 16 for a 4th-order method;
    accepted 12..20. Measured 16.4 and 15.8. Holding the mass at m0 within the step would give
    ratio 2 (and ~3 km of error); a mid-step mass at the wrong time gives order 2 (ratio 4)."""
    errs = [np.linalg.norm(rk4_burn(dt)[0] - burn_reference[:3]) for dt in (20.0, 10.0, 5.0)]
    assert 12.0 < errs[0] / errs[1] < 20.0
    assert 12.0 < errs[1] / errs[2] < 20.0
    assert errs[2] < 1e-5  # m


# ---------------------------------------------------------------- substep: mass flow

DRY = 400.0  # kg
MAIN_F, MAIN_ISP = 1500.0, 318.0  # N, s
THR_F, THR_N, THR_ISP = 22.0, 8.0, 220.0  # N, -, s
SLEW = 0.1  # rad/s
DT_SUB = 0.05  # s


def make_params():
    wp = np.zeros(N_WORLD_PARAMS)
    wp[WP_DRY] = DRY
    wp[WP_MAIN:WP_MAIN + N_ENGINE_GROUP] = group(1, MAIN_F, MAIN_ISP)
    wp[WP_THRUSTERS:WP_THRUSTERS + N_ENGINE_GROUP] = group(THR_N, THR_F, THR_ISP, pulsed=True)
    wp[WP_SLEW] = SLEW
    return wp


def make_world(prop, t=100.0):
    """World at the perilune state, body +z along mci +z, ``prop`` kg of propellant."""
    world = np.zeros(N_WORLD)
    r, v, _ = perilune_state()
    world[W_T] = t
    world[W_R:W_R + 3], world[W_V:W_V + 3] = r, v
    world[W_Q] = 1.0
    world[W_PROP] = prop
    world[W_PROP_OUT_T] = math.nan
    return world


def engine_totals(main_on, thr_on):
    """Force (N) and mass flow (kg/s) from the values set in ``make_params``."""
    force = (MAIN_F if main_on else 0.0) + (THR_N * THR_F if thr_on else 0.0)
    mdot = ((MAIN_F / (MAIN_ISP * G0) if main_on else 0.0)
            + (THR_N * THR_F / (THR_ISP * G0) if thr_on else 0.0))
    return force, mdot


Z_MCI = np.array([0.0, 0.0, 1.0])
GUARD = 16  # float64 words of sentinel after the scratch


def guarded_work():
    """``N_WORK`` scratch words that are the head of a larger buffer filled with a sentinel, so
    a kernel writing past its scratch (see the test below) cannot corrupt the heap."""
    return np.full(N_WORK + GUARD, -7.0)[:N_WORK]


def guarded(n):
    """A buffer of n scratch words followed by GUARD words of sentinel, and its head."""
    buf = np.full(n + GUARD, -7.0)
    return buf, buf[:n]


def test_substep_writes_only_inside_its_scratch():
    """``substep`` writes only inside (and all of) the N_SCRATCH_SUBSTEP words its
    ``core.layout`` declaration gives it, and ``new_work()`` / ``N_WORK`` cover it and
    ``burn_pulses``. Numba clamps a slice past the end and does not bounds-check, so a kernel
    handed fewer words than it slices writes past them (once observed as glibc's 'corrupted
    size vs. prev_size' at exit, when substep's area was sized by hand)."""
    assert new_work().shape == (N_WORK,)
    assert max(N_SCRATCH_SUBSTEP, N_BURN_WORK) <= N_WORK
    wp, world = make_params(), make_world(10.0)
    buf, work = guarded(N_SCRATCH_SUBSTEP)
    substep(world, wp, np.array([0.1, 0.0, 1.0]), True, True, DT_SUB, work)
    assert np.all(buf[N_SCRATCH_SUBSTEP:] == -7.0)
    assert not np.any(work == -7.0), "a declared word was never used"
    buf, work = guarded(N_SCRATCH_RK4)
    r, v = world[W_R:W_R + 3].copy(), world[W_V:W_V + 3].copy()
    coast_or_burn(0.0, r, v, 700.0, 1500.0, 0.5, Z_MCI, DT_SUB, work)
    assert np.all(buf[N_SCRATCH_RK4:] == -7.0)
    assert not np.any(work == -7.0), "a declared word was never used"


@pytest.mark.parametrize("prop", [40.0, 0.01])
def test_burn_pulses_writes_only_inside_its_scratch(prop):
    """MAX_PULSES pulses turning all along, thrusters on for some (one thrust group a pulse:
    the most groups) in closed form within N_SCRATCH_BURN words; with too little propellant
    (taken one substep at a time, the whole area handed on) within N_BURN_WORK."""
    wp, world = make_params(), make_world(prop)
    n = N_SCRATCH_BURN if prop > 1.0 else N_BURN_WORK
    buf, work = guarded(n)
    burn_pulses(world, wp, tilted(world, math.radians(30.0)), True, 4, DT_SUB, MAX_PULSES, work)
    assert np.all(buf[n:] == -7.0)


@pytest.mark.parametrize(("main_on", "thr_on"),
                         [(True, False), (False, True), (True, True), (False, False)])
def test_substep_consumes_thrust_over_isp_g0(main_on, thr_on):
    """400 substeps of 0.05 s: propellant falls by F/(Isp g0) dt each (to 1e-9 kg), impulse
    grows by F dt, the body-z delta-v by (F/mdot) ln(m_before/m_after) (to 1e-9 m/s), the clock
    by dt; propellant_out_t stays NaN and no substep reports running dry."""
    wp, world, work = make_params(), make_world(50.0), guarded_work()
    force, mdot = engine_totals(main_on, thr_on)
    n = 400
    for _ in range(n):
        assert substep(world, wp, Z_MCI, main_on, thr_on, DT_SUB, work) == 0
    used = mdot * DT_SUB * n
    assert abs(world[W_PROP] - (50.0 - used)) < 1e-9
    assert abs(world[W_IMPULSE] - force * DT_SUB * n) < 1e-9
    dv = force / mdot * math.log((DRY + 50.0) / (DRY + 50.0 - used)) if mdot > 0.0 else 0.0
    assert abs(world[W_DV + 2] - dv) < 1e-9
    assert world[W_DV] == 0.0 and world[W_DV + 1] == 0.0
    assert abs(world[W_T] - (100.0 + n * DT_SUB)) < 1e-9
    assert math.isnan(world[W_PROP_OUT_T])


@pytest.mark.parametrize(("command", "runs"), [(0.45, 0.45), (0.02, 0.10), (1.0, 1.0)])
def test_a_throttled_main_engine_gives_its_thrust_at_the_throttle_s_isp(command, runs):
    """A DPS-like throttleable engine (10 % minimum, 311 s full, 285 s at 10 %): a command
    below the minimum runs at the minimum; thrust is runs x rated, flow F / (Isp(runs) g0)."""
    wp, world, work = make_params(), make_world(50.0), guarded_work()
    wp[WP_MAIN:WP_MAIN + N_ENGINE_GROUP] = group(1, MAIN_F, 311.0, throttle_min=0.10,
                                                 isp_min_s=285.0)
    for _ in range(10):
        assert substep(world, wp, Z_MCI, command, False, DT_SUB, work) == 0
    force = MAIN_F * runs
    isp = 285.0 + 26.0 * (runs - 0.10) / 0.90
    assert world[W_IMPULSE] == pytest.approx(force * 10 * DT_SUB, rel=1e-12)
    assert 50.0 - world[W_PROP] == pytest.approx(force / (isp * G0) * 10 * DT_SUB, rel=1e-9)


@pytest.mark.parametrize(("start", "factor_seen"), [(50.0, 1.12), (500.0, 1.0)])
def test_a_thrust_fault_scales_the_main_engine_s_thrust_and_flow_from_its_time(start,
                                                                              factor_seen):
    """A fault of 1.12 from t = 50 s (the world at 100 s: active) or 500 s (not yet): the main
    engine's impulse and propellant flow are 1.12 times (or exactly) the model's; the thrusters'
    are untouched."""
    wp, world, work = make_params(), make_world(50.0), guarded_work()
    wp[WP_THRUST_FAULT:WP_THRUST_FAULT + 2] = (1.12, start)
    for _ in range(10):
        assert substep(world, wp, Z_MCI, 1.0, True, DT_SUB, work) == 0
    force, mdot = engine_totals(True, False)
    thr_force, thr_mdot = engine_totals(False, True)
    seconds = 10 * DT_SUB
    assert world[W_IMPULSE] == pytest.approx((factor_seen * force + thr_force) * seconds,
                                             rel=1e-12)
    assert 50.0 - world[W_PROP] == pytest.approx((factor_seen * mdot + thr_mdot) * seconds,
                                                 rel=1e-9)


def test_running_dry_mid_substep_splits_the_step():
    """With 30 % of one substep's propellant left: the substep reports 1, leaves exactly 0 kg,
    records the instant t0 + prop/mdot, books F t_burn of impulse and the rocket-equation
    delta-v down to the dry mass, and its end state matches scipy (thrust for t_burn, then a
    coast) within 1e-8 m and 1e-9 m/s. Thrusting for the whole substep would be 0.13 m/s off."""
    wp, work = make_params(), guarded_work()
    force, mdot = engine_totals(True, True)
    prop0 = 0.3 * mdot * DT_SUB
    world = make_world(prop0)
    t0 = world[W_T]
    y0 = np.concatenate([world[W_R:W_R + 3], world[W_V:W_V + 3]])
    assert substep(world, wp, Z_MCI, True, True, DT_SUB, work) == 1
    assert world[W_PROP] == 0.0
    t_burn = prop0 / mdot
    assert abs(world[W_PROP_OUT_T] - (t0 + t_burn)) < 1e-12
    assert abs(world[W_IMPULSE] - force * t_burn) < 1e-9
    assert abs(world[W_DV + 2] - force / mdot * math.log((DRY + prop0) / DRY)) < 1e-12
    assert abs(world[W_T] - (t0 + DT_SUB)) < 1e-12

    burn = solve_ivp(full_field_rhs(force, DRY + prop0, mdot, Z_MCI, t_start=t0),
                     (t0, t0 + t_burn), y0, method="DOP853", rtol=1e-13, atol=1e-12)
    coast = solve_ivp(full_field_rhs(0.0, DRY, 0.0, Z_MCI), (t0 + t_burn, t0 + DT_SUB),
                      burn.y[:, -1], method="DOP853", rtol=1e-13, atol=1e-12)
    assert_allclose(world[W_R:W_R + 3], coast.y[:3, -1], rtol=0.0, atol=1e-8)
    assert_allclose(world[W_V:W_V + 3], coast.y[3:, -1], rtol=0.0, atol=1e-9)


def test_no_thrust_without_propellant():
    """After running dry, a substep with every engine commanded on equals, bit for bit, one with
    all engines off and a plain coast_or_burn coast; nothing is consumed, booked or re-reported."""
    wp = make_params()
    _, mdot = engine_totals(True, False)
    world = make_world(0.5 * mdot * DT_SUB)
    assert substep(world, wp, Z_MCI, True, False, DT_SUB, guarded_work()) == 1
    t_out = world[W_PROP_OUT_T]
    impulse, dv = world[W_IMPULSE], world[W_DV + 2]
    off = world.copy()
    for _ in range(20):
        assert substep(world, wp, Z_MCI, True, True, DT_SUB, guarded_work()) == 0
        assert substep(off, wp, Z_MCI, False, False, DT_SUB, guarded_work()) == 0
    assert_array_equal(world, off)
    assert world[W_PROP] == 0.0
    assert world[W_PROP_OUT_T] == t_out
    assert world[W_IMPULSE] == impulse and world[W_DV + 2] == dv

    coast = make_world(0.0)
    r, v = coast[W_R:W_R + 3].copy(), coast[W_V:W_V + 3].copy()
    assert substep(coast, wp, Z_MCI, True, True, DT_SUB, guarded_work()) == 0
    coast_or_burn(coast[W_T] - DT_SUB, r, v, DRY, 0.0, 0.0, Z_MCI, DT_SUB, np.zeros(N_SCRATCH_RK4))
    assert_array_equal(coast[W_R:W_R + 3], r)
    assert_array_equal(coast[W_V:W_V + 3], v)
    assert math.isnan(coast[W_PROP_OUT_T])


def test_running_dry_exactly_at_the_end_of_a_substep_is_reported():
    """Propellant equal to one substep's use: the tanks are empty at the end of the substep, so
    it should report 1 and set propellant_out_t = t0 + dt. ``substep`` tests ``prop < mdot dt``,
    so this case leaves 0 kg with propellant_out_t NaN, and later substeps (prop <= 0) never
    report it: the 'propellant_exhausted' event is lost."""
    wp = make_params()
    _, mdot = engine_totals(True, False)
    world = make_world(mdot * DT_SUB)
    t0 = world[W_T]
    ran_out = substep(world, wp, Z_MCI, True, False, DT_SUB, guarded_work())
    assert world[W_PROP] == 0.0
    assert ran_out == 1
    assert abs(world[W_PROP_OUT_T] - (t0 + DT_SUB)) < 1e-12


# ---------------------------------------------------------------- substep: slew


def body_z(world):
    out = np.empty(3)
    quat_rotate(world[W_Q:W_Q + 4], Z_MCI, out)
    return out


def angle_between(a, b):
    return math.atan2(np.linalg.norm(np.cross(a, b)), a @ b)


@pytest.mark.parametrize("target", [
    np.array([0.3, -0.8, -0.52]),  # 121 deg away, general direction
    np.array([0.0, 0.0, -1.0]),  # exactly opposite: any perpendicular axis
    np.array([0.02, 0.01, 1.0]),  # 1.3 deg: five substeps of 0.29 deg
])
def test_slew_respects_rate_limit_and_converges(target):
    """Engines off. Each 0.05 s substep turns body +z by slew_rate_max dt (to 1e-12 rad) while
    farther than that from the command and never by more; it arrives within ceil(angle / (rate
    dt)) substeps and stays (to 1e-12 rad); |q| = 1 to 1e-15; omega_body is the turn over dt and
    the accumulated dtheta_body has the size of the whole turn (a turn about a fixed axis)."""
    target = target / np.linalg.norm(target)
    wp, world, work = make_params(), make_world(10.0), guarded_work()
    step_max = SLEW * DT_SUB
    total = angle_between(body_z(world), target)
    n_needed = math.ceil(total / step_max - 1e-9)
    for k in range(n_needed + 10):
        z_before = body_z(world)
        remaining = angle_between(z_before, target)
        substep(world, wp, target, False, False, DT_SUB, work)
        moved = angle_between(z_before, body_z(world))
        assert moved <= step_max + 1e-12
        if remaining > step_max:
            assert abs(moved - step_max) < 1e-12
        assert abs(np.linalg.norm(world[W_Q:W_Q + 4]) - 1.0) < 1e-15
        assert abs(np.linalg.norm(world[W_OMEGA:W_OMEGA + 3]) * DT_SUB - moved) < 1e-12
        if k >= n_needed - 1:
            assert angle_between(body_z(world), target) < 1e-12
    assert angle_between(body_z(world), target) < 1e-12
    assert abs(np.linalg.norm(world[W_DTH:W_DTH + 3]) - total) < 1e-9
    assert world[W_PROP] == 10.0  # engines off: nothing used


def test_thrust_acts_along_body_axis_after_the_slew():
    """One substep with the main engine on while slewing toward a command 2 deg away: the
    velocity it adds over an engines-off twin (same slew) lies along body +z after the slew
    (to 1e-8 rad; the gravity-gradient cross term is ~1e-10 rad), not before it (0.005 rad
    apart), and its size is the booked body-z delta-v (to 1e-9 m/s)."""
    wp, work = make_params(), guarded_work()
    on, off = make_world(10.0), make_world(10.0)
    tgt = np.array([math.sin(0.035), 0.0, math.cos(0.035)])
    z_before = body_z(on)
    substep(on, wp, tgt, True, False, DT_SUB, work)
    substep(off, wp, tgt, False, False, DT_SUB, work)
    assert_array_equal(on[W_Q:W_Q + 4], off[W_Q:W_Q + 4])
    dv = on[W_V:W_V + 3] - off[W_V:W_V + 3]
    assert angle_between(dv, body_z(on)) < 1e-8
    assert abs(angle_between(dv, z_before) - SLEW * DT_SUB) < 1e-8
    assert abs(np.linalg.norm(dv) - on[W_DV + 2]) < 1e-9
    assert on[W_DV] == 0.0 and on[W_DV + 1] == 0.0


# ---------------------------------------------------------------- long coast steps


@pytest.fixture(scope="module")
def orbit_reference():
    """One revolution (7,200 s) of the 100 x 25 km orbit by DOP853 (rtol 1e-13)."""
    r0, v0, _ = perilune_state()
    sol = solve_ivp(full_field_rhs(0.0, 700.0, 0.0, Z_MCI), (0.0, 7200.0),
                    np.concatenate([r0, v0]), method="DOP853", rtol=1e-13, atol=1e-9)
    assert sol.success
    return sol.y[:, -1]


@pytest.mark.parametrize(("dt", "tol_m"), [(0.01, 1e-4), (10.0, 1e-2), (20.0, 0.1)])
def test_long_coast_steps_match_reference(orbit_reference, dt, tol_m):
    """A coast in RK4 steps of the 10 ms substep, of the 10 s coast cycle and of 20 s, over a
    whole orbit through the 25 km perilune: position within tol_m of DOP853 (measured 1e-6 m,
    1.9e-3 m and 3.1e-2 m: the error of 10 s steps is millimetres per orbit, against the
    hundreds of metres of the orbit determination), velocity within tol_m / 1000 m/s."""
    r, v, _ = perilune_state()
    work = np.zeros(N_SCRATCH_RK4)
    for k in range(round(7200.0 / dt)):
        coast_or_burn(k * dt, r, v, 700.0, 0.0, 0.0, Z_MCI, dt, work)
    assert np.linalg.norm(r - orbit_reference[:3]) < tol_m
    assert np.linalg.norm(v - orbit_reference[3:]) < tol_m / 1000.0


# ---------------------------------------------------------------- burn_pulses


def pulse_by_pulse(world, wp, target, main_on, n_on, n):
    """The reference: n substeps of DT_SUB, the thrusters on in the first n_on."""
    ran_out = 0
    for k in range(n):
        ran_out += substep(world, wp, target, main_on, k < n_on, DT_SUB, guarded_work())
    return ran_out


def tilted(world, angle):
    """A command `angle` (rad) away from the body +z axis."""
    z = body_z(world)
    side = np.cross(z, [0.3, -0.5, 0.8])
    side /= np.linalg.norm(side)
    return math.cos(angle) * z + math.sin(angle) * side


@pytest.mark.parametrize("turn_deg", [0.0, 0.2, 0.6, 30.0, 180.0])
@pytest.mark.parametrize(("main_on", "n_on"), [(True, 0), (True, 4), (False, 7), (True, 10)])
def test_burn_pulses_equals_the_pulses_taken_one_by_one(main_on, n_on, turn_deg):
    """Ten pulses in one gravity step against ten ``substep`` calls, with the command settled
    (0), within one pulse's turn (0.2 deg), turning for a few pulses (0.6 deg), all along (30
    deg) and exactly opposite (180): position within 1e-8 m, velocity 1e-9 m/s, attitude,
    gyro and rate 1e-13, body delta-v 1e-10 m/s, propellant 1e-11 kg, impulse 1e-9 N s, time
    1e-12 s (measured at most 5e-10 m, 2e-10 m/s, 2e-15, 2e-12 m/s: rounding, and the
    reference's own RK4 error). The thrust axis turns pulse by
    pulse, so this checks the staircase, the groups of equal pulses and the thrust that keeps
    moving the lander after a group ends."""
    wp = make_params()
    ref = make_world(40.0)
    target = tilted(ref, math.radians(turn_deg))
    fast = ref.copy()
    n = MAX_PULSES
    assert pulse_by_pulse(ref, wp, target, main_on, n_on, n) == 0
    assert burn_pulses(fast, wp, target, main_on, n_on, DT_SUB, n, guarded_work()) == 0
    assert_allclose(fast[W_R:W_R + 3], ref[W_R:W_R + 3], rtol=0.0, atol=1e-8)
    assert_allclose(fast[W_V:W_V + 3], ref[W_V:W_V + 3], rtol=0.0, atol=1e-9)
    for field, tol in ((W_Q, 1e-13), (W_DTH, 1e-13), (W_OMEGA, 1e-13)):
        n_field = 4 if field == W_Q else 3
        assert_allclose(fast[field:field + n_field], ref[field:field + n_field], rtol=0.0,
                        atol=tol)
    assert_allclose(fast[W_DV:W_DV + 3], ref[W_DV:W_DV + 3], rtol=0.0, atol=1e-10)
    assert abs(fast[W_PROP] - ref[W_PROP]) < 1e-11
    assert abs(fast[W_IMPULSE] - ref[W_IMPULSE]) < 1e-9
    assert abs(fast[W_T] - ref[W_T]) < 1e-12


def test_burn_pulses_hands_a_run_that_runs_dry_to_substeps():
    """Propellant for 3.5 pulses of ten: the run is taken pulse by pulse, so the tanks run dry
    inside a pulse as ``substep`` handles it (split, event time); bit for bit the same."""
    wp = make_params()
    _, mdot = engine_totals(True, True)
    ref = make_world(3.5 * mdot * DT_SUB)
    fast = ref.copy()
    assert pulse_by_pulse(ref, wp, Z_MCI, True, 10, 10) == 1
    assert burn_pulses(fast, wp, Z_MCI, True, 10, DT_SUB, 10, guarded_work()) == 1
    assert_array_equal(fast, ref)
    assert fast[W_PROP] == 0.0 and not math.isnan(fast[W_PROP_OUT_T])



def test_starts_in_the_fault_window_leave_the_engine_dark_until_off_long_enough():
    """``main_start``: a start (on after at least the fault's off-time off) inside the window of
    ``WP_START_FAIL`` fails and the engine stays dark while commanded, through short gaps
    (pulses); off long enough and started after the window, it lights; an engine pulsing
    through the window (gaps shorter than the off-time) is never affected."""
    from touchdown.core import layout as st
    from touchdown.world.dynamics import main_start

    wp = np.zeros(st.N_WORLD_PARAMS)
    wp[st.WP_START_FAIL:st.WP_START_FAIL + 3] = (100.0, 10.0, 1.0)
    w = np.zeros(st.N_WORLD)

    def at(t, command):
        w[st.W_T] = t
        return main_start(w, wp, command)

    # pulsing (0.1-0.2 s gaps) from before the window through it: always lit
    for k in range(0, 200):
        t = 95.0 + 0.1 * k
        assert at(t, 0.0 if k % 3 == 2 else 1.0) == (0.0 if k % 3 == 2 else 1.0)
    w[:] = 0.0  # a fresh engine, off since 0
    assert at(104.0, 1.0) == 0.0  # a start in the window: dark
    assert at(104.5, 0.0) == 0.0 and at(104.7, 1.0) == 0.0  # a short gap: still dark
    assert at(111.0, 1.0) == 0.0  # still dark after the window, commanded on throughout
    assert at(111.1, 0.0) == 0.0 and at(112.2, 0.8) == 0.8  # off 1.1 s, a new start: lit
    wp[st.WP_START_FAIL] = 0.0  # no fault: every start lights
    assert at(120.0, 0.0) == 0.0 and at(125.0, 1.0) == 1.0
