"""Guidance (compiled): the landing-site frame, Apollo target-referenced polynomial guidance for
braking and approach, and rate-of-descent guidance for the vertical phases.

References: Klumpp, A. R. (1974), "Apollo lunar descent guidance", Automatica 10, 133-146:
a_cmd = a_T + 6 (v_T + v) / T + 12 (r_T - r) / T^2 with T < 0 the time to the target state,
solved each cycle from the downrange cubic j_T T^3 + 6 a_T T^2 + (6 v + 18 v_T) T
+ 24 (r_T - r) = 0.
"""

import math

from touchdown._compile import kernel
from touchdown.core.layout import (
    F_GUID_DCM,
    F_SITE_MCMF,
    F_TURN,
    F_X,
    FP_AZ,
    FP_DESCENT,
    FP_HGAIN,
    FP_SITE,
    FP_TERMINAL_ALT,
)
from touchdown.moon.constants import OMEGA, R_REF
from touchdown.moon.frames import enu_axes, mcmf_from_latlon, moon_turn
from touchdown.moon.gravity import gravity_mcmf


@kernel
def site_frame(fp, dcm_guid_mcmf, r_site_mcmf, work):
    """Write the guidance axes (rows: downrange, crossrange-left, up; 9 words, row-major) and
    the site position."""
    lat, lon, h = fp[FP_SITE], fp[FP_SITE + 1], fp[FP_SITE + 2]
    enu = work[0:9].reshape(3, 3)
    enu_axes(lat, lon, enu)
    ca, sa = math.cos(fp[FP_AZ]), math.sin(fp[FP_AZ])
    for j in range(3):
        dcm_guid_mcmf[j] = sa * enu[0, j] + ca * enu[1, j]  # downrange
        dcm_guid_mcmf[3 + j] = -ca * enu[0, j] + sa * enu[1, j]  # crossrange, to the left
        dcm_guid_mcmf[6 + j] = enu[2, j]
    mcmf_from_latlon(lat, lon, R_REF + h, r_site_mcmf)


@kernel
def to_guidance(fsw, fp, t, r_g, v_g, g_g, work):
    """Estimated position, surface-relative velocity and gravity in the guidance frame.

    The frame (``dcm_guid_mcmf`` in ``fsw``) is computed with the site position at the first
    call. g_g includes the centrifugal and Coriolis terms of the rotating
    frame, so that a_total = thrust/m + g_g in guidance coordinates. Returns cos and sin of
    the Moon's rotation angle OMEGA t, to turn results back into mci.
    """
    r_site = fsw[F_SITE_MCMF:F_SITE_MCMF + 3]
    frame = fsw[F_GUID_DCM:F_GUID_DCM + 9]  # [3 i + j]: flat, as a reshape costs a call
    if r_site[0] == 0.0 and r_site[1] == 0.0 and r_site[2] == 0.0:
        site_frame(fp, frame, r_site, work[3:12])
    r, v = fsw[F_X:F_X + 3], fsw[F_X + 3:F_X + 6]
    r_m, v_m, g_m = work[12:15], work[15:18], work[18:21]
    c, s = moon_turn(t, fsw[F_TURN:F_TURN + 3])
    # r_mcmf = Rz(-OMEGA t) r_mci, likewise v; then v relative to the surface: v - w x r
    r_m[0], r_m[1], r_m[2] = c * r[0] + s * r[1], -s * r[0] + c * r[1], r[2]
    v_m[0], v_m[1], v_m[2] = c * v[0] + s * v[1], -s * v[0] + c * v[1], v[2]
    v_m[0] += OMEGA * r_m[1]
    v_m[1] -= OMEGA * r_m[0]
    gravity_mcmf(r_m, g_m)
    # rotating frame: - 2 w x v - w x (w x r), w = OMEGA ez
    g_m[0] += 2.0 * OMEGA * v_m[1] + OMEGA * OMEGA * r_m[0]
    g_m[1] += -2.0 * OMEGA * v_m[0] + OMEGA * OMEGA * r_m[1]
    for i in range(3):
        r_g[i] = 0.0
        v_g[i] = 0.0
        g_g[i] = 0.0
        for j in range(3):
            r_g[i] += frame[3 * i + j] * (r_m[j] - r_site[j])
            v_g[i] += frame[3 * i + j] * v_m[j]
            g_g[i] += frame[3 * i + j] * g_m[j]
    return c, s


@kernel
def solve_tgo(r_x, v_x, target, tgo_prev):
    """Time to go (s, > 0) from the downrange cubic, by Newton from the previous value.

    target: 12 values r_T(3), v_T(3), a_T(3), j_T(3). Returns NaN when no root is found.
    """
    rt, vt, at, jt = target[0], target[3], target[6], target[9]
    tt = -tgo_prev if tgo_prev > 0.0 else -600.0
    for _ in range(30):
        f = jt * tt ** 3 + 6.0 * at * tt ** 2 + (6.0 * v_x + 18.0 * vt) * tt + 24.0 * (rt - r_x)
        df = 3.0 * jt * tt ** 2 + 12.0 * at * tt + 6.0 * v_x + 18.0 * vt
        if df == 0.0:
            return math.nan
        step = f / df
        tt -= step
        if tt > -1e-3:
            tt = -1e-3
        if abs(step) < 1e-6:
            break
    return -tt


@kernel
def polynomial_accel(r_g, v_g, target, tgo, a_out):
    """Commanded total acceleration (m/s^2, guidance frame) toward the target state."""
    tt = -tgo
    for i in range(3):
        a_out[i] = (target[6 + i] + 6.0 * (target[3 + i] + v_g[i]) / tt
                    + 12.0 * (target[i] - r_g[i]) / (tt * tt))


@kernel
def descent_rate_command(fp, altitude):
    """Commanded vertical speed (m/s, negative down) for the vertical phases.

    Above ``terminal_altitude`` a constant-deceleration profile, hdot_cmd = -sqrt(v_f^2 + 2 a_d h);
    below it the constant slow speed v_f until touchdown is detected (the M1 design intent:
    keep descending at a few m/s or less, whatever the altitude estimate says).
    """
    a_d, v_f = fp[FP_DESCENT], fp[FP_DESCENT + 1]
    if altitude <= fp[FP_TERMINAL_ALT]:
        return -v_f
    return -math.sqrt(v_f * v_f + 2.0 * a_d * altitude)


@kernel
def vertical_accel(fp, r_g, v_g, hdot, hdot_cmd, a_out):
    """Total acceleration command (guidance frame) for the vertical phases.

    Vertical: first-order rate tracking (hdot_cmd - hdot) / tau. Horizontal: a PD law on the
    site-relative position and velocity.
    """
    tau = fp[FP_DESCENT + 2]
    kp, kv = fp[FP_HGAIN], fp[FP_HGAIN + 1]
    a_out[0] = -kp * r_g[0] - kv * v_g[0]
    a_out[1] = -kp * r_g[1] - kv * v_g[1]
    a_out[2] = (hdot_cmd - hdot) / tau
