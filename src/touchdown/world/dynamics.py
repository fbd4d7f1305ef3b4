"""Lander dynamics (compiled): translational motion with mass flow, and rate-limited attitude.

Inputs / Outputs
================  ================================  =========  ===================
name              layout                            unit       rate
================  ================================  =========  ===================
thrust_dir_mci    3-vector, FSW command             -          held between cycles
throttle, thr_on  main engine throttle command;     -          per pulse (10 ms)
                  thrusters on/off (the first n_on
                  pulses of a cycle)
world             ``core.layout.WORLD`` (read/write)  SI         per step
================  ================================  =========  ===================

Engines: two groups (``core.engines``, ``WP_MAIN`` and ``WP_THRUSTERS``): the main engine at
the throttle the engine gives for its command (``engine_throttle``; on/off engines have a
minimum throttle of 1) and the pulsed thrusters. Each group fires along body +z.
Once the propellant is gone the engines give no thrust: a step in which it runs out is split
at that instant. A propellant leak (a scenario fault, ``WP_LEAK``) drains the tank at a fixed
rate from its start, engines on or off: it adds to the mass flow out of the tank, so the mass
falls faster, but not to the thrust; a step in which the leak empties the tank is split the
same way. A step leaks throughout or not at all: the leak starts on the pulse grid and the
loop (``sim.step``) ends a step there.

Attitude follows the commanded thrust direction by the shortest rotation at no more than
``slew_rate_max`` (roll about the thrust axis is left free): at the start of each pulse it
turns by up to slew_rate_max times the pulse, and the engines thrust along the axis after that
turn for the pulse (a staircase while it turns).

Two steps, one model. ``substep`` advances by any dt with the engines held: it turns first,
then thrusts along the new attitude; one pulse of the staircase, or a coast of any length
(turns toward a fixed command about one axis add up, and nothing thrusts). ``burn_pulses``
takes a run of pulses (a powered cycle) in one: it gives what the same pulses give one
``substep`` at a time (to rounding), with the thrust in closed form and one RK4 step for
gravity.
"""

import math

import numpy as np

from touchdown._compile import kernel
from touchdown.core.engines import engine_throttle, group_mass_flow, group_thrust, lit_share
from touchdown.core.layout import (
    BP_A1,
    BP_A2,
    BP_A3,
    BP_A4,
    BP_D_END,
    BP_D_HALF,
    BP_DV_END,
    BP_DV_HALF,
    BP_GRAVITY,
    BP_GROUPS,
    BP_R,
    BP_TURN,
    BP_TURN_AXIS,
    BP_Z0,
    MAX_PULSES,
    N_BURN_WORK,
    N_ENGINE_GROUP,
    N_MOON_TURN,
    N_SCRATCH_GRAVITY,
    N_SCRATCH_RK4,
    N_SCRATCH_SLEW,
    N_SCRATCH_TURN,
    N_SCRATCH_TURN_AXIS,
    N_THRUST_GROUP,
    RK_GRAVITY,
    RK_K1R,
    RK_K1V,
    RK_K2R,
    RK_K2V,
    RK_K3R,
    RK_K3V,
    RK_K4R,
    RK_K4V,
    RK_R,
    SL_TURN,
    SL_TURN_AXIS,
    SS_RK4,
    SS_SLEW,
    SS_THRUST_DIR,
    TA_Z,
    TG_DIR,
    TG_DURATION,
    TG_MASS,
    TG_MDOT,
    TG_START,
    TG_VE,
    TN_ROT,
    TN_ROT_BODY,
    W_DTH,
    W_DV,
    W_IMPULSE,
    W_MAIN_LIT,
    W_MAIN_START,
    W_OMEGA,
    W_PROP,
    W_PROP_OUT_T,
    W_Q,
    W_R,
    W_T,
    W_TURN,
    W_V,
    WP_DRY,
    WP_LEAK,
    WP_MAIN,
    WP_SLEW,
    WP_START_FAIL,
    WP_THRUST_FAULT,
    WP_THRUSTERS,
)
from touchdown.core.quaternion import body_z_mci, quat_apply_rotvec, quat_rotate_inverse
from touchdown.moon.constants import OMEGA
from touchdown.moon.frames import moon_turn
from touchdown.moon.gravity import gravity_mci_turned

__all__ = ["MAX_PULSES", "N_WORK", "burn_pulses", "coast_or_burn", "leak_rate", "main_start",
           "new_work", "slew", "substep"]

# float64 scratch words of ``substep`` and ``burn_pulses`` (``core.layout``: SCRATCH_SUBSTEP,
# SCRATCH_BURN); MAX_PULSES, the longest run of pulses for ``burn_pulses``, is declared there
N_WORK = N_BURN_WORK  # which holds substep's area too


@kernel
def _accel(c, s, r, thrust_acc, u_mci, a_out, work3):
    """a_out = gravity(r) + thrust_acc * u_mci; c, s: cos, sin of the Moon's turn."""
    gravity_mci_turned(c, s, r, a_out, work3)
    for i in range(3):
        a_out[i] += thrust_acc * u_mci[i]


@kernel
def _turned(c, s, x):
    """cos, sin of (angle + x) from c, s = cos, sin(angle); x (rad) small: series to x^5."""
    if abs(x) > 1e-2:
        cx, sx = math.cos(x), math.sin(x)
    else:
        x2 = x * x
        cx = 1.0 - x2 * (0.5 - x2 / 24.0)
        sx = x * (1.0 - x2 * (1.0 / 6.0 - x2 / 120.0))
    return c * cx - s * sx, s * cx + c * sx


@kernel
def leak_rate(world, wp):
    """Propellant leak (kg/s, a fault) at the world's time: 0 before it starts or without one.

    The start is on the pulse grid, so the 1 us allowance only absorbs summed-step rounding.
    """
    if wp[WP_LEAK] > 0.0 and world[W_T] >= wp[WP_LEAK + 1] - 1e-6:
        return wp[WP_LEAK]
    return 0.0


@kernel
def thrust_factor(world, wp):
    """The main engines' thrust (and flow) factor of a thrust fault at the world's time (1
    before it starts or without one: a factor of 1, or 0 in arrays that declare no fault). A
    step takes the factor of its start."""
    k = wp[WP_THRUST_FAULT]
    if k > 0.0 and k != 1.0 and world[W_T] >= wp[WP_THRUST_FAULT + 1] - 1e-6:
        return wp[WP_THRUST_FAULT]
    return 1.0


@kernel(inline=True)
def main_start(world, wp, command):
    """The main engine's command as the engine obeys it (0: dark), for a command held from now.

    A start is a command on after at least ``WP_START_FAIL + 2`` seconds off (shorter gaps are
    pulses of a running engine). With the fault ``WP_START_FAIL`` a start within its window
    fails: the engine stays dark, whatever it is commanded, until it has been commanded off
    that long and started again.
    """
    state = world[W_MAIN_START:W_MAIN_START + 2]
    t = world[W_T]
    if command <= 0.0:
        if state[0] < 0.0:
            state[0] = t  # off from now
        return 0.0
    t0, span, off = wp[WP_START_FAIL], wp[WP_START_FAIL + 1], wp[WP_START_FAIL + 2]
    if state[0] >= 0.0:  # commanded on after being off
        if t - state[0] >= off - 1e-9:  # a start
            state[1] = 1.0 if t0 > 0.0 and t0 - 1e-6 <= t < t0 + span else 0.0
        state[0] = -1.0
    return 0.0 if state[1] > 0.0 else command


@kernel
def coast_or_burn(t0, r, v, m0, force, mdot, u_mci, dt, work):
    """Advance r, v (in place) by dt with constant thrust force (N) along u_mci and mass flow mdot.

    Classical RK4 with the mass varying linearly within the step. Returns the non-gravitational
    delta-v (m/s) along u_mci, exactly integrated: ve ln(m0 / m1). work: ``SCRATCH_RK4``.
    """
    k1r, k1v = work[RK_K1R:RK_K1R + 3], work[RK_K1V:RK_K1V + 3]
    k2r, k2v = work[RK_K2R:RK_K2R + 3], work[RK_K2V:RK_K2V + 3]
    k3r, k3v = work[RK_K3R:RK_K3R + 3], work[RK_K3V:RK_K3V + 3]
    k4r, k4v = work[RK_K4R:RK_K4R + 3], work[RK_K4V:RK_K4V + 3]
    tmp, w3 = work[RK_R:RK_R + 3], work[RK_GRAVITY:RK_GRAVITY + N_SCRATCH_GRAVITY]
    half = 0.5 * dt
    f0 = force / m0
    fh = force / (m0 - mdot * half)
    f1 = force / (m0 - mdot * dt)
    # the Moon's turn at t0, t0 + dt/2 and t0 + dt (one cos/sin, then the small steps)
    c0, s0 = math.cos(OMEGA * t0), math.sin(OMEGA * t0)
    ch, sh = _turned(c0, s0, OMEGA * half)
    c1, s1 = _turned(ch, sh, OMEGA * half)
    # k1
    _accel(c0, s0, r, f0, u_mci, k1v, w3)
    for i in range(3):
        k1r[i] = v[i]
        tmp[i] = r[i] + half * k1r[i]
    # k2
    _accel(ch, sh, tmp, fh, u_mci, k2v, w3)
    for i in range(3):
        k2r[i] = v[i] + half * k1v[i]
        tmp[i] = r[i] + half * k2r[i]
    # k3
    _accel(ch, sh, tmp, fh, u_mci, k3v, w3)
    for i in range(3):
        k3r[i] = v[i] + half * k2v[i]
        tmp[i] = r[i] + dt * k3r[i]
    # k4
    _accel(c1, s1, tmp, f1, u_mci, k4v, w3)
    for i in range(3):
        k4r[i] = v[i] + dt * k3v[i]
    for i in range(3):
        r[i] += dt / 6.0 * (k1r[i] + 2.0 * k2r[i] + 2.0 * k3r[i] + k4r[i])
        v[i] += dt / 6.0 * (k1v[i] + 2.0 * k2v[i] + 2.0 * k3v[i] + k4v[i])
    if mdot > 0.0:
        return force / mdot * math.log(m0 / (m0 - mdot * dt))
    return force / m0 * dt


@kernel
def _turn_axis(q, thrust_dir_mci, work):
    """Unit axis (mci) and angle (rad) of the shortest turn of body +z onto thrust_dir_mci.
    work: ``SCRATCH_TURN_AXIS``."""
    z_mci = work[TA_Z:TA_Z + 3]
    body_z_mci(q, z_mci)
    ax = z_mci[1] * thrust_dir_mci[2] - z_mci[2] * thrust_dir_mci[1]
    ay = z_mci[2] * thrust_dir_mci[0] - z_mci[0] * thrust_dir_mci[2]
    az = z_mci[0] * thrust_dir_mci[1] - z_mci[1] * thrust_dir_mci[0]
    s = math.sqrt(ax * ax + ay * ay + az * az)
    c = z_mci[0] * thrust_dir_mci[0] + z_mci[1] * thrust_dir_mci[1] + z_mci[2] * thrust_dir_mci[2]
    angle = math.atan2(s, c)
    if s < 1e-12:
        if c > 0.0:
            return 1.0, 0.0, 0.0, 0.0
        return 1.0, 0.0, 0.0, angle  # exactly opposite: any perpendicular axis
    return ax / s, ay / s, az / s, angle


@kernel
def _apply_turn(world, nx, ny, nz, step, dt, work):
    """Turn the attitude by step (rad) about the unit mci axis n; book the gyro's truth (the
    turn in body axes) and the body rate over dt (s). work: ``SCRATCH_TURN``."""
    q = world[W_Q:W_Q + 4]
    rot = work[TN_ROT:TN_ROT + 3]
    rot[0], rot[1], rot[2] = nx * step, ny * step, nz * step
    if step > 0.0:
        quat_apply_rotvec(q, rot[0], rot[1], rot[2], True)
    w_body = work[TN_ROT_BODY:TN_ROT_BODY + 3]
    quat_rotate_inverse(q, rot, w_body)
    for i in range(3):
        world[W_OMEGA + i] = w_body[i] / dt
        world[W_DTH + i] += w_body[i]


@kernel
def slew(world, wp, thrust_dir_mci, dt, work):
    """Turn body +z toward thrust_dir_mci at no more than the rate limit for dt (s).
    work: ``SCRATCH_SLEW``."""
    nx, ny, nz, angle = _turn_axis(world[W_Q:W_Q + 4], thrust_dir_mci,
                                   work[SL_TURN_AXIS:SL_TURN_AXIS + N_SCRATCH_TURN_AXIS])
    _apply_turn(world, nx, ny, nz, min(angle, wp[WP_SLEW] * dt), dt,
                work[SL_TURN:SL_TURN + N_SCRATCH_TURN])


@kernel
def _thrust_path(tau, groups, n_groups, d_out, dv_out):
    """Thrust-only displacement (m) and velocity (m/s) at tau (s) into a run of thrust groups;
    returns the delta-v's magnitude summed over the groups (m/s).

    Group g (``core.layout.THRUST_GROUP``, N_THRUST_GROUP words from N_THRUST_GROUP g: start
    (s), duration (s), mass at its start (kg), mass flow (kg/s), ve = thrust / mass flow (m/s:
    the exhaust velocity, less with a leak), direction (3)) thrusts along its direction: after
    x seconds of it, with mu = m_g - mdot x, its delta-v is ve ln(m_g / mu) and its
    displacement ve (x - (mu / mdot) ln(m_g / mu)); after it ends its delta-v keeps moving.
    """
    for i in range(3):
        d_out[i] = 0.0
        dv_out[i] = 0.0
    dv_sum = 0.0
    for g in range(n_groups):
        grp = groups[N_THRUST_GROUP * g:N_THRUST_GROUP * g + N_THRUST_GROUP]
        t_g, dur, m_g = grp[TG_START], grp[TG_DURATION], grp[TG_MASS]
        mdot, ve = grp[TG_MDOT], grp[TG_VE]
        if t_g >= tau:
            break
        if mdot <= 0.0:
            continue
        x = min(tau - t_g, dur)
        lg = math.log1p(-mdot * x / m_g)  # ln(mu / m_g)
        dv = -ve * lg
        disp = ve * (x + (m_g - mdot * x) / mdot * lg) + (tau - t_g - x) * dv
        dv_sum += dv
        for i in range(3):
            d_out[i] += disp * grp[TG_DIR + i]
            dv_out[i] += dv * grp[TG_DIR + i]
    return dv_sum


@kernel(inline=True)
def burn_pulses(world, wp, thrust_dir_mci, throttle, n_on, dt, n, work):
    """n steps of dt (s) of ``substep`` in one (thrusters on in the first n_on): what they give,
    with one gravity step.

    Each pulse turns the attitude toward the command by at most slew_rate_max dt, then
    thrusts along the body axis after that turn, so the thrust direction is a staircase while
    the attitude turns; the thrust is constant over runs of pulses with the same engines and
    direction (groups). With r = r_g + d, d'' = thrust acceleration (d(0) = d'(0) = 0, exact
    in closed form group by group, ``_thrust_path``), r_g'' = gravity(t, r_g + d(t)) is smooth
    and takes one RK4 step. If the propellant does not last the n pulses it takes them one
    ``substep`` at a time. n <= MAX_PULSES. Returns 1 if the propellant ran out, else 0.
    work: ``SCRATCH_BURN``, or, taken one ``substep`` at a time, ``SCRATCH_SUBSTEP`` (the
    whole area handed on): ``N_BURN_WORK`` words.
    """
    q = world[W_Q:W_Q + 4]
    nx, ny, nz, angle = _turn_axis(q, thrust_dir_mci,
                                   work[BP_TURN_AXIS:BP_TURN_AXIS + N_SCRATCH_TURN_AXIS])
    main = wp[WP_MAIN:WP_MAIN + N_ENGINE_GROUP]
    thrusters = wp[WP_THRUSTERS:WP_THRUSTERS + N_ENGINE_GROUP]
    runs = engine_throttle(main, throttle)
    f_main = group_thrust(main, runs)
    md_main = group_mass_flow(main, runs)
    share = lit_share(main, world[W_MAIN_LIT]) * thrust_factor(world, wp)
    if share != 1.0:  # some of the group's engines shut down, or a thrust fault
        f_main *= share
        md_main *= share
    f_thr = group_thrust(thrusters, 1.0)
    md_thr = group_mass_flow(thrusters, 1.0)
    n_on = min(n_on, n)
    leak = leak_rate(world, wp)  # kg/s, out of the tank beside the engines' flow
    use = md_main * n * dt + md_thr * n_on * dt  # kg
    if leak > 0.0:
        use += leak * n * dt
    if not (use > 0.0 and world[W_PROP] > use):
        ran_out = 0
        for k in range(n):
            ran_out += substep(world, wp, thrust_dir_mci, throttle, k < n_on, dt, work)
        return ran_out
    m0 = wp[WP_DRY] + world[W_PROP]
    # the groups: a new one where the thrusters stop or the thrust axis has turned again
    # flat, N_THRUST_GROUP words a group: a reshape costs a call
    groups = work[BP_GROUPS:BP_GROUPS + N_THRUST_GROUP * n]
    u0 = work[BP_Z0:BP_Z0 + 3]
    body_z_mci(q, u0)
    rate_step = wp[WP_SLEW] * dt
    nu = nx * u0[0] + ny * u0[1] + nz * u0[2]
    cx, cy, cz = ny * u0[2] - nz * u0[1], nz * u0[0] - nx * u0[2], nx * u0[1] - ny * u0[0]
    n_groups = 0
    phi_last = -1.0
    m = m0
    for k in range(n):
        phi = min((k + 1) * rate_step, angle)
        thr = k < n_on
        if n_groups == 0 or phi != phi_last or k == n_on:
            grp = groups[N_THRUST_GROUP * n_groups:N_THRUST_GROUP * n_groups + N_THRUST_GROUP]
            n_groups += 1
            grp[TG_START], grp[TG_DURATION], grp[TG_MASS] = k * dt, 0.0, m
            grp[TG_MDOT] = md_main + (md_thr if thr else 0.0)
            if leak > 0.0:
                grp[TG_MDOT] += leak  # the mass falls faster; the thrust is the same
            force = f_main + (f_thr if thr else 0.0)
            grp[TG_VE] = force / grp[TG_MDOT] if grp[TG_MDOT] > 0.0 else 0.0
            c, sn = math.cos(phi), math.sin(phi)
            grp[TG_DIR] = u0[0] * c + cx * sn + nx * nu * (1.0 - c)
            grp[TG_DIR + 1] = u0[1] * c + cy * sn + ny * nu * (1.0 - c)
            grp[TG_DIR + 2] = u0[2] * c + cz * sn + nz * nu * (1.0 - c)
            phi_last = phi
        grp[TG_DURATION] += dt  # the last group made: the one this pulse is in
        m -= grp[TG_MDOT] * dt
    # one RK4 step for r_g, v_g, with gravity at r_g + d(t)
    h = n * dt
    half = 0.5 * h
    r, v = world[W_R:W_R + 3], world[W_V:W_V + 3]
    d_h, dv_h = work[BP_D_HALF:BP_D_HALF + 3], work[BP_DV_HALF:BP_DV_HALF + 3]
    d_1, dv_1 = work[BP_D_END:BP_D_END + 3], work[BP_DV_END:BP_DV_END + 3]
    _thrust_path(half, groups, n_groups, d_h, dv_h)
    dv_total = _thrust_path(h, groups, n_groups, d_1, dv_1)  # each group to its end
    t0 = world[W_T]
    c0, s0 = moon_turn(t0, world[W_TURN:W_TURN + N_MOON_TURN])
    ch, sh = _turned(c0, s0, OMEGA * half)
    c1, s1 = _turned(ch, sh, OMEGA * half)
    a1, a2 = work[BP_A1:BP_A1 + 3], work[BP_A2:BP_A2 + 3]
    a3, a4 = work[BP_A3:BP_A3 + 3], work[BP_A4:BP_A4 + 3]
    tmp, w3 = work[BP_R:BP_R + 3], work[BP_GRAVITY:BP_GRAVITY + N_SCRATCH_GRAVITY]
    gravity_mci_turned(c0, s0, r, a1, w3)
    for i in range(3):
        tmp[i] = r[i] + half * v[i] + d_h[i]
    gravity_mci_turned(ch, sh, tmp, a2, w3)
    for i in range(3):
        tmp[i] = r[i] + half * (v[i] + half * a1[i]) + d_h[i]
    gravity_mci_turned(ch, sh, tmp, a3, w3)
    for i in range(3):
        tmp[i] = r[i] + h * (v[i] + half * a2[i]) + d_1[i]
    gravity_mci_turned(c1, s1, tmp, a4, w3)
    for i in range(3):
        # k1r = v, k2r = v + h/2 a1, k3r = v + h/2 a2, k4r = v + h a3
        r[i] += h * v[i] + h * h / 6.0 * (a1[i] + a2[i] + a3[i]) + d_1[i]
        v[i] += h / 6.0 * (a1[i] + 2.0 * a2[i] + 2.0 * a3[i] + a4[i]) + dv_1[i]
    world[W_DV + 2] += dv_total
    world[W_PROP] -= use
    world[W_IMPULSE] += (f_main * n + f_thr * n_on) * dt
    world[W_T] = t0 + h
    # the attitude: the whole turn at once (about one axis), the rate of the last pulse
    turned = min(angle, n * rate_step)
    _apply_turn(world, nx, ny, nz, turned, dt, work[BP_TURN:BP_TURN + N_SCRATCH_TURN])
    last = turned - min(angle, (n - 1) * rate_step)
    for i in range(3):
        world[W_OMEGA + i] *= last / turned if turned > 0.0 else 0.0
    return 0


@kernel
def substep(world, wp, thrust_dir_mci, throttle, thr_on, dt, work):
    """Advance the world by dt (s) with the engines held: slew, then burn or coast.

    A leak (``leak_rate``) adds to the mass flow out of the tank, not to the thrust. Returns 1
    if the propellant ran out during this step (burnt or leaked), else 0. work:
    ``SCRATCH_SUBSTEP``.
    """
    slew(world, wp, thrust_dir_mci, dt, work[SS_SLEW:SS_SLEW + N_SCRATCH_SLEW])
    u = work[SS_THRUST_DIR:SS_THRUST_DIR + 3]
    body_z_mci(world[W_Q:W_Q + 4], u)
    force = 0.0
    mdot = 0.0
    if throttle > 0.0:
        main = wp[WP_MAIN:WP_MAIN + N_ENGINE_GROUP]
        runs = engine_throttle(main, throttle)
        share = lit_share(main, world[W_MAIN_LIT]) * thrust_factor(world, wp)
        force += share * group_thrust(main, runs)
        mdot += share * group_mass_flow(main, runs)
    if thr_on:
        thrusters = wp[WP_THRUSTERS:WP_THRUSTERS + N_ENGINE_GROUP]
        force += group_thrust(thrusters, 1.0)
        mdot += group_mass_flow(thrusters, 1.0)
    prop = world[W_PROP]
    if prop <= 0.0:
        force, mdot = 0.0, 0.0
    else:
        leak = leak_rate(world, wp)
        if leak > 0.0:
            mdot += leak
    r, v = world[W_R:W_R + 3], world[W_V:W_V + 3]
    t0 = world[W_T]
    m0 = wp[WP_DRY] + max(prop, 0.0)
    ran_out = 0
    rk = work[SS_RK4:SS_RK4 + N_SCRATCH_RK4]
    if mdot > 0.0 and prop <= mdot * dt:  # split at the instant the tanks run dry
        t_burn = prop / mdot
        dv = coast_or_burn(t0, r, v, m0, force, mdot, u, t_burn, rk)
        coast_or_burn(t0 + t_burn, r, v, wp[WP_DRY], 0.0, 0.0, u, dt - t_burn, rk)
        world[W_PROP] = 0.0
        world[W_PROP_OUT_T] = t0 + t_burn
        world[W_IMPULSE] += force * t_burn
        ran_out = 1
    else:
        dv = coast_or_burn(t0, r, v, m0, force, mdot, u, dt, rk)
        world[W_PROP] = prop - mdot * dt if mdot > 0.0 else prop
        world[W_IMPULSE] += force * dt
    world[W_DV + 2] += dv
    world[W_T] = t0 + dt
    return ran_out


def new_work() -> np.ndarray:
    """Scratch array for ``substep`` and ``burn_pulses``."""
    return np.zeros(N_WORK)
