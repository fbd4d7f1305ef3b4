"""Contact with the terrain (compiled): altitude above the truth DEM, whether contact is
possible within a step, and the outcome at contact.

A run ends at first contact, classified ``landed`` when the vertical speed (along the local
surface normal), the horizontal speed and the tilt of the body axis from the surface normal are
all within ``landing_limits``; otherwise ``crashed`` with the impact speed.

Contact is looked for on the dynamics substep grid (10 ms), but only where it is possible:
``contact_possible`` proves, for a step of any length, that the footpads stay above the true
terrain (a lower bound on the radius against an upper bound on the terrain the lander can
reach), and the loop checks each substep only where it cannot.
"""

import math

from touchdown._compile import kernel
from touchdown.core.layout import (
    CC_LATLON,
    CC_NORMAL,
    CC_R,
    CC_V,
    CC_Z_MCI,
    CC_Z_MCMF,
    CP_LATLON,
    CP_UP,
    CRASHED,
    LANDED,
    LL_LAT,
    LL_LON,
    LL_RADIUS,
    N_LATLON,
    N_MOON_TURN,
    N_TERRAIN_BOX,
    TB_CENTRE,
    TB_CHORD,
    TB_HEIGHT,
    UA_LATLON,
    UA_R,
    UA_V,
    W_ALT,
    W_Q,
    W_R,
    W_STATUS,
    W_T,
    W_TD,
    W_TERRAIN_BOX,
    W_TERRAIN_H,
    W_TURN,
    W_V,
    WP_FOOT,
    WP_LIM,
)
from touchdown.core.quaternion import body_z_mci
from touchdown.moon.constants import GM, OMEGA, R_REF
from touchdown.moon.frames import latlon_from_mcmf, mcmf_from_mci_turned, moon_turn, turn_z
from touchdown.moon.terrain import (
    terrain_height,
    terrain_height_bound,
    terrain_max_in_box,
    terrain_normal,
)

R_FLOOR = 0.98 * R_REF  # m, below any terrain (the lowest lunar point is ~9 km below R_REF)
G_BOUND = 1.01 * GM / R_FLOOR**2  # m/s^2, bound on gravity above R_FLOOR (J2, C22 < 1e-3)
BOUND_MARGIN = 1e-3  # m, allowance for rounding in the bounds
BOX_MIN = 1e-4  # rad (~170 m), smallest half-width of a terrain box
BOX_GROW = 4.0  # -, a new box holds this many times the reach of the step asked about
ANGLE_MAX = 0.2  # rad, longest reach the box bound handles (beyond it: always possible)
LAT_MAX = 1.4  # rad (80 deg), highest latitude the box bound handles


@kernel(inline=True)
def contact_possible(world, wp, dt, accel, elev, meta, work):
    """False when the footpads cannot reach the true terrain within the next dt (s).

    accel (m/s^2) bounds the non-gravitational acceleration over the step. The radius obeys
    r'' = (|v|^2 - r'^2) / r + a . r_hat >= -|a|, so r >= r0 + min(r'0, 0) dt - a_max dt^2 / 2
    with a_max = accel + G_BOUND. Against it: the highest value of any terrain layer, or, when
    the lander is below that, the highest grid value over a cap of the Moon holding every
    point it can reach (the surface-relative displacement is at most |v_rel| dt + (a_max +
    Coriolis + centrifugal) dt^2 / 2, so its direction stays within delta of r_hat, and
    within the cap when |r_hat - centre| + delta <= the cap's chord radius: chords obey the
    triangle inequality and are shorter than arcs). The cap is kept in ``terrain_box`` and
    remade, BOX_GROW times larger than needed, when the reach leaves it or when a tighter
    one may decide; its bound is taken over a lat/lon box holding it. work:
    ``SCRATCH_CONTACT``.
    """
    r = world[W_R:W_R + 3]
    v = world[W_V:W_V + 3]
    rn = math.sqrt(r[0] ** 2 + r[1] ** 2 + r[2] ** 2)
    rdot = (r[0] * v[0] + r[1] * v[1] + r[2] * v[2]) / rn
    a_max = accel + G_BOUND
    clear = rn + min(rdot, 0.0) * dt - 0.5 * a_max * dt * dt - R_REF - wp[WP_FOOT] - BOUND_MARGIN
    if clear > terrain_height_bound(meta):
        return False
    # |v - omega x r|, the same in either frame (the turn is about z)
    vx, vy = v[0] + OMEGA * r[1], v[1] - OMEGA * r[0]
    vrel = math.sqrt(vx * vx + vy * vy + v[2] * v[2])
    reach = vrel * dt + 0.5 * (a_max + 2.0 * OMEGA * vrel + OMEGA * OMEGA * rn) * dt * dt
    # every reachable point is within angle asin(reach / rn) of this one; asin(x) <= 1.01 x
    delta = 1.01 * reach / rn
    if delta > ANGLE_MAX:
        return True
    u = work[CP_UP:CP_UP + 3]
    c, s = moon_turn(world[W_T], world[W_TURN:W_TURN + N_MOON_TURN])
    turn_z(c, -s, r, u)
    for i in range(3):
        u[i] /= rn
    cap = world[W_TERRAIN_BOX:W_TERRAIN_BOX + N_TERRAIN_BOX]  # core.layout.TERRAIN_BOX
    off = math.sqrt((u[0] - cap[TB_CENTRE]) ** 2 + (u[1] - cap[TB_CENTRE + 1]) ** 2
                    + (u[2] - cap[TB_CENTRE + 2]) ** 2)
    half = max(BOX_GROW * delta, BOX_MIN)
    if (cap[TB_CHORD] > 0.0 and off + delta <= cap[TB_CHORD]
            and (clear > cap[TB_HEIGHT] or cap[TB_CHORD] <= 2.0 * half)):
        return clear <= cap[TB_HEIGHT]
    # a new cap around the lander, of angular radius half, and a lat/lon box holding it
    ll = work[CP_LATLON:CP_LATLON + N_LATLON]
    latlon_from_mcmf(u, ll)
    lat_far = abs(ll[LL_LAT]) + half
    if lat_far > LAT_MAX:
        cap[TB_CHORD] = 0.0  # unset: (only near the poles) no bound
        return True
    half_lon = 1.01 * half / math.cos(lat_far)
    for i in range(3):
        cap[TB_CENTRE + i] = u[i]
    cap[TB_CHORD] = 2.0 * math.sin(0.5 * half)
    cap[TB_HEIGHT] = terrain_max_in_box(elev, meta, ll[LL_LAT] - half, ll[LL_LAT] + half,
                                        ll[LL_LON] - half_lon, ll[LL_LON] + half_lon)
    return clear <= cap[TB_HEIGHT]


@kernel
def update_altitude(world, wp, elev, meta, work):
    """Store the true terrain height below and the footpads' height above it; return the latter.
    work: ``SCRATCH_ALTITUDE``."""
    r_mcmf, v_mcmf = work[UA_R:UA_R + 3], work[UA_V:UA_V + 3]
    ll = work[UA_LATLON:UA_LATLON + N_LATLON]
    c, s = moon_turn(world[W_T], world[W_TURN:W_TURN + N_MOON_TURN])
    mcmf_from_mci_turned(c, s, world[W_R:W_R + 3], world[W_V:W_V + 3], r_mcmf, v_mcmf)
    latlon_from_mcmf(r_mcmf, ll)
    h = terrain_height(elev, meta, ll[LL_LAT], ll[LL_LON])
    world[W_TERRAIN_H] = h
    alt = ll[LL_RADIUS] - R_REF - h - wp[WP_FOOT]
    world[W_ALT] = alt
    return alt


@kernel
def classify_contact(world, wp, elev, meta, work):
    """Record the contact state and set the outcome; return the status code.
    work: ``SCRATCH_CLASSIFY``."""
    r_mcmf, v_mcmf = work[CC_R:CC_R + 3], work[CC_V:CC_V + 3]
    ll = work[CC_LATLON:CC_LATLON + N_LATLON]
    n = work[CC_NORMAL:CC_NORMAL + 3]
    z_mci, z_mcmf = work[CC_Z_MCI:CC_Z_MCI + 3], work[CC_Z_MCMF:CC_Z_MCMF + 3]
    t = world[W_T]
    c, s = moon_turn(t, world[W_TURN:W_TURN + N_MOON_TURN])
    mcmf_from_mci_turned(c, s, world[W_R:W_R + 3], world[W_V:W_V + 3], r_mcmf, v_mcmf)
    latlon_from_mcmf(r_mcmf, ll)
    terrain_normal(elev, meta, r_mcmf, n)
    vn = v_mcmf[0] * n[0] + v_mcmf[1] * n[1] + v_mcmf[2] * n[2]
    vt2 = 0.0
    for i in range(3):
        vt2 += (v_mcmf[i] - vn * n[i]) ** 2
    body_z_mci(world[W_Q:W_Q + 4], z_mci)
    turn_z(c, -s, z_mci, z_mcmf)
    cos_tilt = z_mcmf[0] * n[0] + z_mcmf[1] * n[1] + z_mcmf[2] * n[2]
    tilt = math.acos(max(-1.0, min(1.0, cos_tilt)))
    v_down = -vn
    v_h = math.sqrt(vt2)
    speed = math.sqrt(vn * vn + vt2)
    world[W_TD + 0] = t
    world[W_TD + 1] = ll[LL_LAT]
    world[W_TD + 2] = ll[LL_LON]
    world[W_TD + 3] = v_down
    world[W_TD + 4] = v_h
    world[W_TD + 5] = tilt
    world[W_TD + 6] = speed
    ok = v_down <= wp[WP_LIM] and v_h <= wp[WP_LIM + 1] and tilt <= wp[WP_LIM + 2]
    world[W_STATUS] = LANDED if ok else CRASHED
    return world[W_STATUS]
