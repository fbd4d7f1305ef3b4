"""Guidance (compiled): the landing-site frame, Apollo target-referenced polynomial guidance for
braking and approach, rate-of-descent guidance for the vertical phases, and the guidance
programs a mode flies (``fly_program``; the mode manager, ``fsw.modes``, chooses).

Inputs / Outputs
==========  ==============================================  ========  ================
name        layout                                          unit      rate
==========  ==============================================  ========  ================
fsw         ``FSW``: x_mci, altitude, hdot, tgo (read);     SI        each cycle
            thrust_dir_mci, main_on, thruster_duty,
            tgo, dcm_guid_mcmf, r_site_mcmf (written)
fsw_params  ``FSW_PARAMS``: site, azimuth, targets,         SI        constant
            descent profile, gains, tilt limit
meas        ``MEAS``: imu_dv_body (the DOI burn's delta-v)  m/s       each cycle
work        ``GUIDANCE`` scratch                            -         each cycle
==========  ==============================================  ========  ================

References: Klumpp, A. R. (1974), "Apollo lunar descent guidance", Automatica 10, 133-146:
a_cmd = a_T + 6 (v_T + v) / T + 12 (r_T - r) / T^2 with T < 0 the time to the target state,
solved each cycle from the downrange cubic j_T T^3 + 6 a_T T^2 + (6 v + 18 v_T) T
+ 24 (r_T - r) = 0.
"""

import math

from touchdown._compile import kernel
from touchdown.core.engines import group_mass_flow, group_thrust
from touchdown.core.layout import (
    F_ABORT,
    F_ALT,
    F_CMD_DIR,
    F_CMD_DUTY,
    F_CMD_MAIN,
    F_DIVERT,
    F_DOI_DV,
    F_GUID_DCM,
    F_HDOT,
    F_PROFILE,
    F_PROFILE_ACC,
    F_PROP,
    F_RETARGET_SEEN,
    F_SITE_MCMF,
    F_TGO,
    F_THRUST_ACC,
    F_TURN,
    F_X,
    FP_APPR_T,
    FP_AREA,
    FP_AZ,
    FP_DESCENT,
    FP_DIVERT_GAINS,
    FP_GUID_RANGE_COS,
    FP_HGAIN,
    FP_HOVER,
    FP_IGN_TGO_MAX,
    FP_MAIN,
    FP_RATE_STEP,
    FP_RETRO,
    FP_SITE,
    FP_TERMINAL_ALT,
    FP_THRUSTERS,
    FP_TILT_MAX,
    G_A,
    G_FRAME,
    G_G,
    G_M,
    G_R,
    G_TARGET,
    G_V,
    GF_ENU,
    GF_G_MCMF,
    GF_R_MCMF,
    GF_V_MCMF,
    GUIDANCE_FRAME,
    M_DV,
    N_ENGINE_GROUP,
    N_PROFILE_STEP,
    N_TARGET,
    PROGRAM_DOI_BURN,
    PROGRAM_HOVER,
    PROGRAM_IGNITION_SEARCH,
    PROGRAM_POLYNOMIAL,
    PROGRAM_POLYNOMIAL_COUNTDOWN,
    PROGRAM_RATE_OF_DESCENT,
    PROGRAM_RETRO,
    PROGRAM_RETROGRADE,
)
from touchdown.fsw.control import (
    command_thrust,
    engines_off,
    estimated_mass,
    estimated_speed,
    minimum_thrust,
    pulsed_duty,
    throttleable,
)
from touchdown.moon.constants import GM, OMEGA, R_REF
from touchdown.moon.frames import enu_axes, mcmf_from_latlon, moon_turn, surface_velocity, turn_z
from touchdown.moon.gravity import gravity_mcmf

GF_SIZE = GUIDANCE_FRAME.size  # scratch words of to_guidance
# ASSUMPTION: the hover's altitude loop is four times slower than the rate loop it drives (a
# cascade's outer loop 3-5 times slower than its inner one, so the two do not fight)
HOVER_LOOP = 4.0


@kernel
def site_frame(fp, dcm_guid_mcmf, r_site_mcmf, work):
    """Write the guidance axes (rows: downrange, crossrange-left, up; 9 words, row-major) and
    the site position; work: ``GUIDANCE_FRAME`` scratch."""
    lat, lon, h = fp[FP_SITE], fp[FP_SITE + 1], fp[FP_SITE + 2]
    enu = work[GF_ENU:GF_ENU + 9].reshape(3, 3)
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
    the Moon's rotation angle OMEGA t, to turn results back into mci. work: ``GUIDANCE_FRAME``
    scratch.
    """
    r_site = fsw[F_SITE_MCMF:F_SITE_MCMF + 3]
    frame = fsw[F_GUID_DCM:F_GUID_DCM + 9]  # [3 i + j]: flat, as a reshape costs a call
    if r_site[0] == 0.0 and r_site[1] == 0.0 and r_site[2] == 0.0:
        site_frame(fp, frame, r_site, work)
    r, v = fsw[F_X:F_X + 3], fsw[F_X + 3:F_X + 6]
    r_m, v_m, g_m = (work[GF_R_MCMF:GF_R_MCMF + 3], work[GF_V_MCMF:GF_V_MCMF + 3],
                     work[GF_G_MCMF:GF_G_MCMF + 3])
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
    keep descending at a few m/s or less, whatever the altitude estimate says). With a
    ``rate_step`` the command moves in whole steps of it, as Apollo's rate-of-descent switch
    gave (1 ft/s a click).
    """
    a_d, v_f = fp[FP_DESCENT], fp[FP_DESCENT + 1]
    low = altitude <= fp[FP_TERMINAL_ALT]
    rate = -v_f if low else -math.sqrt(v_f * v_f + 2.0 * a_d * altitude)
    step = fp[FP_RATE_STEP]
    if step > 0.0:  # whole steps, never slower than the final speed
        rate = min(step * round(rate / step), -v_f)
    return rate


@kernel
def vertical_accel(fp, r_g, v_g, hdot, hdot_cmd, aim, kp, kv, a_out):
    """Total acceleration command (guidance frame) for the vertical phases and the hover.

    Vertical: first-order rate tracking (hdot_cmd - hdot) / tau. Horizontal: a PD law (gains
    kp, kv) on the position from the aim (2 words: downrange, crossrange from the site) and the
    velocity.
    """
    tau = fp[FP_DESCENT + 2]
    a_out[0] = -kp * (r_g[0] - aim[0]) - kv * v_g[0]
    a_out[1] = -kp * (r_g[1] - aim[1]) - kv * v_g[1]
    a_out[2] = (hdot_cmd - hdot) / tau


@kernel
def retro_stopping_distance(fsw, fp):
    """Distance (m) the retro (the main engine at full thrust and the thrusters at half duty,
    the middle of their trim, ``retro``) needs to stop the estimated speed, falling straight down
    in the local gravity (the estimated mass burning down: v(T) = 0 where
    ve ln(m0 / (m0 - mdot T)) = v0 + g T, solved by Newton). NaN when it cannot stop it before
    the propellant estimate runs out."""
    main = fp[FP_MAIN:FP_MAIN + N_ENGINE_GROUP]
    thrusters = fp[FP_THRUSTERS:FP_THRUSTERS + N_ENGINE_GROUP]
    r = fsw[F_X:F_X + 3]
    g = GM / (r[0] ** 2 + r[1] ** 2 + r[2] ** 2)
    v0 = estimated_speed(fsw)
    m0 = estimated_mass(fsw, fp)
    mdot = group_mass_flow(main, 1.0) + 0.5 * group_mass_flow(thrusters, 1.0)
    ve = (group_thrust(main, 1.0) + 0.5 * group_thrust(thrusters, 1.0)) / mdot
    t_max = max(fsw[F_PROP], 0.0) / mdot
    if ve * mdot / m0 <= g or t_max <= 0.0:
        return math.nan
    # from the burn at the initial deceleration (too long: it grows), within the propellant
    tt = min(v0 / (ve * mdot / m0 - g), 0.999 * t_max)
    for _ in range(30):
        f = ve * math.log(m0 / (m0 - mdot * tt)) - v0 - g * tt
        step = f / (ve * mdot / (m0 - mdot * tt) - g)
        tt = min(max(tt - step, 0.0), 0.999 * t_max)
        if abs(step) < 1e-6:
            break
    if abs(ve * math.log(m0 / (m0 - mdot * tt)) - v0 - g * tt) > 1e-3:
        return math.nan  # the propellant runs out first
    mu = m0 - mdot * tt
    # s = int v dt with v = v0 + g t - ve ln(m0 / (m0 - mdot t))
    burned = ve * (tt - (mu / mdot) * math.log(m0 / mu))
    return v0 * tt + 0.5 * g * tt * tt - burned


@kernel
def retro(fsw, fp):
    """The retro: the main engine at full thrust against the velocity over the surface, the
    thrusters trimming it (their duty) to the deceleration that stops the estimated speed at
    the cut-off height, v^2 / (2 (h - h_cut)) + g, with the estimated mass."""
    r, v = fsw[F_X:F_X + 3], fsw[F_X + 3:F_X + 6]
    vx, vy, vz = surface_velocity(r, v)
    vn = math.sqrt(vx * vx + vy * vy + vz * vz)
    if vn > 0.0:
        fsw[F_CMD_DIR], fsw[F_CMD_DIR + 1], fsw[F_CMD_DIR + 2] = -vx / vn, -vy / vn, -vz / vn
    engines_off(fsw)
    fsw[F_CMD_MAIN] = 1.0
    f_thr = group_thrust(fp[FP_THRUSTERS:FP_THRUSTERS + N_ENGINE_GROUP], 1.0)
    above = fsw[F_ALT] - fp[FP_RETRO + 1]
    if f_thr <= 0.0:
        return
    duty = 1.0
    if above > 0.0:
        g = GM / (r[0] ** 2 + r[1] ** 2 + r[2] ** 2)
        need = (vn * vn / (2.0 * above) + g) * estimated_mass(fsw, fp)
        duty = min(max((need - group_thrust(fp[FP_MAIN:FP_MAIN + N_ENGINE_GROUP], 1.0))
                       / f_thr, 0.0), 1.0)
    fsw[F_CMD_DUTY] = pulsed_duty(fp, duty)


# ---------------------------------------------------------------- guidance programs
# A mode flies one program (``fsw.modes.MODE_PROGRAM``); each writes the commands (thrust
# direction, engines) into ``fsw`` and its thrust acceleration into fsw[F_THRUST_ACC]. Scratch:
# ``GUIDANCE``.


@kernel
def _thrust_from_guid(a_g, g_g, dcm, c, s, out_mci, m):
    """Thrust acceleration a_g - g_g (guidance frame) rotated into mci; dcm: dcm_guid_mcmf
    (9 words, row-major); c, s: cos, sin of the Moon's rotation angle; m: 3 words scratch."""
    for j in range(3):
        m[j] = 0.0
        for i in range(3):
            m[j] += dcm[3 * i + j] * (a_g[i] - g_g[i])
    turn_z(c, s, m, out_mci)


@kernel
def in_area(fsw, fp, r_g, v_g, tgo, target, out):
    """The target (12 words) moved, downrange and across, so that the polynomial asks now
    for the deceleration that would bring the lander to rest evenly over tgo (s), -v / tgo:
    r + (5 v tgo - a_T tgo^2) / 12 (with the target's a_T and no speed at its end), held within
    the landing area about the site; the move is kept as the aim (fsw[F_DIVERT])."""
    for i in range(N_TARGET):
        out[i] = target[i]
    for i in range(2):
        half = 0.5 * fp[FP_AREA + i]
        rest = r_g[i] + (5.0 * v_g[i] * tgo - target[6 + i] * tgo * tgo) / 12.0
        aim = min(max(rest - target[i], -half), half)
        out[i] = target[i] + aim
        fsw[F_DIVERT + i] = aim


@kernel
def polynomial_phase(fsw, fp, t, target, tgo_given, work):
    """Polynomial guidance toward target (12 words: r, v, a, j); thrust accel into
    fsw[F_THRUST_ACC].

    The time to go is tgo_given when positive, else solved from the downrange cubic. Returns
    the time to go (s), NaN when there is none (farther than ``guidance_range_cos`` from the
    site, or past it). With a time to go given (the approach, counted down) and a landing
    area, the target moves within the area to where the lander would stop slowing evenly over
    the time to go (``in_area``), its aim kept in fsw[F_DIVERT] for the phases after, until
    a late retarget (``fsw.modes.monitor``) moves the aim to a spot of its own.
    """
    r_g, v_g = work[G_R:G_R + 3], work[G_V:G_V + 3]
    g_g, a_g = work[G_G:G_G + 3], work[G_A:G_A + 3]
    dcm = fsw[F_GUID_DCM:F_GUID_DCM + 9]
    c, s = to_guidance(fsw, fp, t, r_g, v_g, g_g, work[G_FRAME:G_FRAME + GF_SIZE])
    r = fsw[F_X:F_X + 3]
    rn = math.sqrt(r[0] ** 2 + r[1] ** 2 + r[2] ** 2)
    beyond = 0.5 * fp[FP_AREA] if tgo_given > 0.0 else 0.0  # the approach: within the area
    if (r_g[2] + R_REF + fp[FP_SITE + 2]) / rn < fp[FP_GUID_RANGE_COS] or r_g[0] > beyond:
        return math.nan  # the site frame is only meaningful near and before the site
    tgo = tgo_given if tgo_given > 0.0 else solve_tgo(r_g[0], v_g[0], target, fsw[F_TGO])
    if math.isnan(tgo):
        return tgo
    if tgo_given > 0.0 and fp[FP_AREA] + fp[FP_AREA + 1] > 0.0 and fsw[F_RETARGET_SEEN] == 0.0:
        moved = work[G_TARGET:G_TARGET + N_TARGET]
        in_area(fsw, fp, r_g, v_g, tgo, target, moved)
        target = moved
    polynomial_accel(r_g, v_g, target, tgo, a_g)
    _thrust_from_guid(a_g, g_g, dcm, c, s, fsw[F_THRUST_ACC:F_THRUST_ACC + 3],
                      work[G_M:G_M + 3])
    return tgo


@kernel
def rate_of_descent(fsw, fp, t, hover, work):
    """Rate-of-descent guidance (vertical phases) or, with ``hover``, the hover (the altitude
    held, the aim reached with the divert gains); thrust accel (mci) into fsw[F_THRUST_ACC].

    The hover's rate command brings the altitude estimate back to the hover altitude with a
    time constant of HOVER_LOOP rate time constants (an outer loop slower than the rate loop
    it drives).
    """
    r_g, v_g = work[G_R:G_R + 3], work[G_V:G_V + 3]
    g_g, a_g = work[G_G:G_G + 3], work[G_A:G_A + 3]
    dcm = fsw[F_GUID_DCM:F_GUID_DCM + 9]
    c, s = to_guidance(fsw, fp, t, r_g, v_g, g_g, work[G_FRAME:G_FRAME + GF_SIZE])
    aim = fsw[F_DIVERT:F_DIVERT + 2]
    if hover:
        hold = fsw[F_ABORT + 1] if fsw[F_ABORT] > 0.0 else fp[FP_HOVER]  # the abort's own
        hdot_cmd = (hold - fsw[F_ALT]) / (HOVER_LOOP * fp[FP_DESCENT + 2])
        vertical_accel(fp, r_g, v_g, fsw[F_HDOT], hdot_cmd, aim, fp[FP_DIVERT_GAINS],
                       fp[FP_DIVERT_GAINS + 1], a_g)
    else:
        hdot_cmd = descent_rate_command(fp, fsw[F_ALT])
        vertical_accel(fp, r_g, v_g, fsw[F_HDOT], hdot_cmd, aim, fp[FP_HGAIN], fp[FP_HGAIN + 1],
                       a_g)
    # thrust = a - g; engines push and never pull: a command to fall faster than gravity
    # alone would is a coast (zero thrust, attitude kept), not a thrust pointing down; a
    # throttled engine that cannot go below its minimum gives at least that, which the
    # horizontal channel may then tilt (within the limit) rather than leave pointing anywhere
    tz = max(a_g[2] - g_g[2], minimum_thrust(fsw, fp))
    a_g[2] = g_g[2] + tz
    # limit the thrust's tilt from the vertical
    tx, ty = a_g[0] - g_g[0], a_g[1] - g_g[1]
    th = math.sqrt(tx * tx + ty * ty)
    lim = math.tan(fp[FP_TILT_MAX]) * max(tz, 0.0)
    if th > lim:
        k = lim / th if th > 0.0 else 0.0
        a_g[0] = g_g[0] + tx * k
        a_g[1] = g_g[1] + ty * k
    _thrust_from_guid(a_g, g_g, dcm, c, s, fsw[F_THRUST_ACC:F_THRUST_ACC + 3],
                      work[G_M:G_M + 3])


@kernel
def retrograde(fsw, out):
    """Unit vector against the estimated inertial velocity."""
    v = fsw[F_X + 3:F_X + 6]
    vn = math.sqrt(v[0] ** 2 + v[1] ** 2 + v[2] ** 2)
    for i in range(3):
        out[i] = -v[i] / vn


# ASSUMPTION: the profile's tracking loop, critically damped at 0.2 rad/s (a 5 s time
# constant: about one re-solve's interval, and slow beside the attitude loop, whose slews of
# a few degrees a second it must not outrun)
PROFILE_KP = 0.04  # 1/s^2, on the position's departure from the plan
PROFILE_KV = 0.4  # 1/s, on the velocity's


@kernel
def profile_phase(fsw, fp, t, work):
    """Fly the uploaded thrust profile (``F_PROFILE``): the planned thrust acceleration of the
    step that holds t, plus a pull toward the plan's position and velocity at t (interpolated
    between its nodes, cubic in time; at most the plan's reserve), from the guidance frame into
    fsw[F_THRUST_ACC]. Returns the time to go to the profile's end (s; at most 0 once it has
    run out, its last step held, its end state tracked).

    The plan was made from the estimate of its moment; the pull flies it as a path to the
    target, in the frame navigation keeps correcting, against what the plan cannot know (the
    engines' spread, the attitude's lag, stolen cycles) until the next re-solve starts a new
    one from the estimate of its own moment."""
    t0, step, n = fsw[F_PROFILE], fsw[F_PROFILE + 1], int(fsw[F_PROFILE + 2])
    k = min(max(int((t - t0) / step), 0), n - 1)
    h = min(max((t - t0) / step - k, 0.0), 1.0)  # the step's share flown
    r_g, v_g = work[G_R:G_R + 3], work[G_V:G_V + 3]
    g_g, a_g = work[G_G:G_G + 3], work[G_A:G_A + 3]
    c, s = to_guidance(fsw, fp, t, r_g, v_g, g_g, work[G_FRAME:G_FRAME + GF_SIZE])
    # Hermite's cubic through the step's two nodes (exact under a constant acceleration)
    h2, h3 = h * h, h * h * h
    p0, m0, p1, m1 = 2 * h3 - 3 * h2 + 1, h3 - 2 * h2 + h, 3 * h2 - 2 * h3, h3 - h2
    dp, dm0, dm1 = (6 * h2 - 6 * h) / step, 3 * h2 - 4 * h + 1, 3 * h2 - 2 * h
    now = F_PROFILE_ACC + N_PROFILE_STEP * k
    nxt = now + N_PROFILE_STEP
    pull = 0.0
    for i in range(3):
        r0, v0 = fsw[now + 3 + i], fsw[now + 6 + i]
        r1, v1 = fsw[nxt + 3 + i], fsw[nxt + 6 + i]
        r_plan = p0 * r0 + m0 * step * v0 + p1 * r1 + m1 * step * v1
        v_plan = dp * (r0 - r1) + dm0 * v0 + dm1 * v1
        a_g[i] = PROFILE_KP * (r_plan - r_g[i]) + PROFILE_KV * (v_plan - v_g[i])
        pull += a_g[i] * a_g[i]
    # within the reserve the plan left (a navigation fix's jump asks for more than the engines
    # and the attitude's slew can give at once)
    cut = min(1.0, fsw[F_PROFILE + 3] / math.sqrt(pull)) if pull > 0.0 else 1.0
    for i in range(3):  # the total acceleration
        a_g[i] = fsw[now + i] + cut * a_g[i] + g_g[i]
    _thrust_from_guid(a_g, g_g, fsw[F_GUID_DCM:F_GUID_DCM + 9], c, s,
                      fsw[F_THRUST_ACC:F_THRUST_ACC + 3], work[G_M:G_M + 3])
    return t0 + n * step - t


@kernel
def fly_program(program, target, fsw, fp, meas, t, dt, work):
    """Fly one cycle of guidance program ``program`` (``PROGRAM_*``) and command the engines.

    target: offset in ``fsw_params`` of the program's target state (``N_TARGET`` words: r, v, a,
    j in the guidance frame), for the polynomial programs; dt (s): the interval since the
    previous cycle. Returns, for ``PROGRAM_IGNITION_SEARCH``, the thrust (N) the braking
    guidance needs now (NaN when it cannot be evaluated yet); NaN for the others. The time to
    go is left in ``fsw[F_TGO]``, the thrust acceleration in ``fsw[F_THRUST_ACC]``.
    """
    a = fsw[F_THRUST_ACC:F_THRUST_ACC + 3]
    if program in (PROGRAM_RETROGRADE, PROGRAM_DOI_BURN):
        if program == PROGRAM_DOI_BURN:  # measured delta-v of the burn so far
            dv = meas[M_DV:M_DV + 3]
            fsw[F_DOI_DV] += math.sqrt(dv[0] ** 2 + dv[1] ** 2 + dv[2] ** 2)
        retrograde(fsw, fsw[F_CMD_DIR:F_CMD_DIR + 3])
        engines_off(fsw)
        if program == PROGRAM_DOI_BURN and fsw[F_DOI_DV] < fsw[F_TGO]:
            fsw[F_CMD_MAIN] = 1.0
    elif program == PROGRAM_IGNITION_SEARCH:  # coast, pointing where braking will thrust
        engines_off(fsw)
        tgo = polynomial_phase(fsw, fp, t, fp[target:target + N_TARGET], 0.0, work)
        if not math.isnan(tgo) and tgo < fp[FP_IGN_TGO_MAX]:
            fsw[F_TGO] = tgo
            an = math.sqrt(a[0] ** 2 + a[1] ** 2 + a[2] ** 2)
            for i in range(3):
                fsw[F_CMD_DIR + i] = a[i] / an
            return an * estimated_mass(fsw, fp)
        fsw[F_TGO] = 0.0
    elif program == PROGRAM_POLYNOMIAL_COUNTDOWN and fsw[F_PROFILE + 2] > 0.0:
        # the onboard optimiser's profile, once it has given one (sim/optimal.py)
        fsw[F_TGO] = profile_phase(fsw, fp, t, work)
        command_thrust(fsw, fp, a, True)
    elif program in (PROGRAM_POLYNOMIAL, PROGRAM_POLYNOMIAL_COUNTDOWN):
        # a countdown from the approach's duration; without one (0) the cubic's time to go
        counted = program == PROGRAM_POLYNOMIAL_COUNTDOWN and fp[FP_APPR_T] > 0.0
        countdown = fsw[F_TGO] - dt if counted else 0.0
        aim = fp[target:target + N_TARGET]
        if counted and fsw[F_RETARGET_SEEN] > 0.0:  # retargeted late: to the aim, moved
            aim = work[G_TARGET:G_TARGET + N_TARGET]  # (the landing area's no longer moves)
            for i in range(N_TARGET):
                aim[i] = fp[target + i] + (fsw[F_DIVERT + i] if i < 2 else 0.0)
        tgo = polynomial_phase(fsw, fp, t, aim, countdown, work)
        # no solution (past the site): the phase ends; the last thrust is commanded again
        fsw[F_TGO] = 0.0 if math.isnan(tgo) else tgo
        command_thrust(fsw, fp, a, True)
    elif program == PROGRAM_RETRO:
        retro(fsw, fp)
    elif program in (PROGRAM_RATE_OF_DESCENT, PROGRAM_HOVER):
        rate_of_descent(fsw, fp, t, program == PROGRAM_HOVER, work)
        command_thrust(fsw, fp, a, throttleable(fp))
    else:  # PROGRAM_ENGINES_OFF
        engines_off(fsw)
    return math.nan
