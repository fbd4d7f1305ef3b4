"""Lander dynamics (compiled): translational motion with mass flow, and rate-limited attitude.

Inputs / Outputs
================  ================================  =========  ===================
name              layout                            unit       rate
================  ================================  =========  ===================
thrust_dir_mci    3-vector, FSW command             -          per substep
main_on, thr_on   engine on/off for this substep    -          per substep
world             ``sim.state.WORLD`` (read/write)  SI         per substep
================  ================================  =========  ===================

Engines: every engine fires along body +z (an assumption: parallel nozzles, no cant losses).
Once the propellant is gone the engines give no thrust: a step in which it runs out is split
at that instant. Attitude follows the commanded thrust direction by the shortest rotation at no
more than ``slew_rate_max`` (roll about the thrust axis is left free).

``substep`` advances by any dt with the engines held: it turns first, then thrusts along the
new attitude for the whole step. That is exact for a coast (turns toward a fixed command about
one axis add up) and for a burn once the turn left is within one pulse's turn
(``slew_settled``); while the thrust axis is still turning, the caller steps one pulse
resolution at a time, so the thrust direction follows the turn pulse by pulse.
"""

import math

import numpy as np

from touchdown._compile import kernel
from touchdown.moon.constants import G0
from touchdown.moon.gravity import gravity_mci
from touchdown.sim.state import (
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
    WP_MAIN_F,
    WP_MAIN_ISP,
    WP_SLEW,
    WP_THR_F,
    WP_THR_ISP,
    WP_THR_N,
)
from touchdown.world.attitude import body_z_mci, quat_apply_rotvec, quat_rotate_inverse

N_WORK = 48  # float64 scratch words needed by ``substep`` (18 + 30 for coast_or_burn)


@kernel
def _accel(t, r, thrust_acc, u_mci, a_out, work3):
    """a_out = gravity(t, r) + thrust_acc * u_mci."""
    gravity_mci(t, r, a_out, work3)
    for i in range(3):
        a_out[i] += thrust_acc * u_mci[i]


@kernel
def coast_or_burn(t0, r, v, m0, force, mdot, u_mci, dt, work):
    """Advance r, v (in place) by dt with constant thrust force (N) along u_mci and mass flow mdot.

    Classical RK4 with the mass varying linearly within the step. Returns the non-gravitational
    delta-v (m/s) along u_mci, exactly integrated: ve ln(m0 / m1).
    """
    k1r, k1v = work[0:3], work[3:6]
    k2r, k2v = work[6:9], work[9:12]
    k3r, k3v = work[12:15], work[15:18]
    k4r, k4v = work[18:21], work[21:24]
    tmp, w3 = work[24:27], work[27:30]
    half = 0.5 * dt
    f0 = force / m0
    fh = force / (m0 - mdot * half)
    f1 = force / (m0 - mdot * dt)
    # k1
    _accel(t0, r, f0, u_mci, k1v, w3)
    for i in range(3):
        k1r[i] = v[i]
        tmp[i] = r[i] + half * k1r[i]
    # k2
    _accel(t0 + half, tmp, fh, u_mci, k2v, w3)
    for i in range(3):
        k2r[i] = v[i] + half * k1v[i]
        tmp[i] = r[i] + half * k2r[i]
    # k3
    _accel(t0 + half, tmp, fh, u_mci, k3v, w3)
    for i in range(3):
        k3r[i] = v[i] + half * k2v[i]
        tmp[i] = r[i] + dt * k3r[i]
    # k4
    _accel(t0 + dt, tmp, f1, u_mci, k4v, w3)
    for i in range(3):
        k4r[i] = v[i] + dt * k3v[i]
    for i in range(3):
        r[i] += dt / 6.0 * (k1r[i] + 2.0 * k2r[i] + 2.0 * k3r[i] + k4r[i])
        v[i] += dt / 6.0 * (k1v[i] + 2.0 * k2v[i] + 2.0 * k3v[i] + k4v[i])
    if mdot > 0.0:
        return force / mdot * math.log(m0 / (m0 - mdot * dt))
    return force / m0 * dt


@kernel
def slew(world, wp, thrust_dir_mci, dt, work):
    """Turn body +z toward thrust_dir_mci at no more than the rate limit for dt (s)."""
    q = world[W_Q:W_Q + 4]
    z_mci = work[3:6]
    body_z_mci(q, z_mci)
    ax = z_mci[1] * thrust_dir_mci[2] - z_mci[2] * thrust_dir_mci[1]
    ay = z_mci[2] * thrust_dir_mci[0] - z_mci[0] * thrust_dir_mci[2]
    az = z_mci[0] * thrust_dir_mci[1] - z_mci[1] * thrust_dir_mci[0]
    s = math.sqrt(ax * ax + ay * ay + az * az)
    c = z_mci[0] * thrust_dir_mci[0] + z_mci[1] * thrust_dir_mci[1] + z_mci[2] * thrust_dir_mci[2]
    angle = math.atan2(s, c)
    step = min(angle, wp[WP_SLEW] * dt)
    if s < 1e-12:
        if c > 0.0:
            step = 0.0
        else:  # exactly opposite: any perpendicular axis
            ax, ay, az, s = 1.0, 0.0, 0.0, 1.0
    rot = work[6:9]
    if step > 0.0:
        rot[0], rot[1], rot[2] = ax / s * step, ay / s * step, az / s * step
        quat_apply_rotvec(q, rot[0], rot[1], rot[2], True)
    else:
        rot[0], rot[1], rot[2] = 0.0, 0.0, 0.0
    w_body = work[9:12]
    quat_rotate_inverse(q, rot, w_body)
    for i in range(3):
        world[W_OMEGA + i] = w_body[i] / dt
        world[W_DTH + i] += w_body[i]


@kernel
def slew_settled(world, wp, thrust_dir_mci, dt, work):
    """Whether body +z is within the turn of one step of dt (s) from thrust_dir_mci (unit)."""
    z_mci = work[0:3]
    body_z_mci(world[W_Q:W_Q + 4], z_mci)
    c = z_mci[0] * thrust_dir_mci[0] + z_mci[1] * thrust_dir_mci[1] + z_mci[2] * thrust_dir_mci[2]
    return c >= math.cos(min(wp[WP_SLEW] * dt, math.pi))


@kernel
def substep(world, wp, thrust_dir_mci, main_on, thr_on, dt, work):
    """Advance the world by dt (s) with the engines held: slew, then burn or coast.

    Returns 1 if the propellant ran out during this step, else 0.
    """
    slew(world, wp, thrust_dir_mci, dt, work)
    u = work[15:18]
    body_z_mci(world[W_Q:W_Q + 4], u)
    force = 0.0
    mdot = 0.0
    if main_on:
        force += wp[WP_MAIN_F]
        mdot += wp[WP_MAIN_F] / (wp[WP_MAIN_ISP] * G0)
    if thr_on:
        f = wp[WP_THR_N] * wp[WP_THR_F]
        force += f
        mdot += f / (wp[WP_THR_ISP] * G0)
    prop = world[W_PROP]
    if prop <= 0.0:
        force, mdot = 0.0, 0.0
    r, v = world[W_R:W_R + 3], world[W_V:W_V + 3]
    t0 = world[W_T]
    m0 = wp[WP_DRY] + max(prop, 0.0)
    ran_out = 0
    rk = work[18:N_WORK]
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
    """Scratch array for ``substep``."""
    return np.zeros(N_WORK)
