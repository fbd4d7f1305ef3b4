"""Navigation (compiled): an EKF on inertial position and velocity, propagated with the IMU and
updated with the laser range finder's slant range, with chi-square innovation gating.

Inputs / Outputs
=============  ==========================================  ========  ==================
name           layout                                      unit      rate
=============  ==========================================  ========  ==================
meas           ``MEAS``: imu_dv_body, imu_dtheta_body,     SI        each FSW cycle
               star_tracker_q, lrf_range
map            elev, meta of the ONBOARD map (coarser      m         per LRF reading
               LOLA product, not the truth DEM)
fsw            ``FSW``: x_mci, cov, q_body_mci, lrf_*      SI        written
events         event log                                   -         on state changes
=============  ==========================================  ========  ==================

Range prediction and the rejection policies (``fsw_params.policy``):

* Both policies take the first ``acquire_n`` readings ungated (acquisition); after that a
  reading is accepted when its normalised innovation squared (NIS) is within ``gate_nis``.
* ``as_flown_m1``: no terrain model, as on Apollo's landing radar and (by ispace's account)
  on M1. The beam is intersected with a sphere through the landing site's height. With no
  terrain model a range says nothing but height, so acquisition is an altitude
  initialisation: each reading sets the estimate's height along the local vertical. ``fault_run``
  consecutive rejections are judged a sensor fault, and the range finder is ignored from then
  on.
* ``terrain_aware``: the predicted range is a ray cast of the estimated beam through the
  onboard map, and acquisition readings are ordinary Kalman updates (through the map's
  slopes they also correct the horizontal position). Rejections never latch: after
  ``reacquire_run`` consecutive rejections the position uncertainty is widened to the size of
  the innovation so that a healthy sensor is re-acquired.

The filter's range noise grows with altitude, sigma = a + b h: with a = 5 m and b = 1/24 the
3-sigma gate is Apollo's landing-radar bound |dH| < 50 ft + H/8 (Luminary 099), the allowance a
filter needs for terrain relief it does not model.

The measurement Jacobian is the surface's: d(range)/d(r) = -n / (n . b), with n the unit
normal where the beam meets the modelled surface and b the beam direction.
"""

import math

from touchdown._compile import kernel
from touchdown.core.eventlog import log_event
from touchdown.core.layout import (
    ALTIMETER_LUMINARY,
    EV_ALTM_ACQ,
    EV_ALTM_REJ,
    EV_IMU_LOST,
    EV_IMU_SWITCH,
    EV_LRF_ACQ,
    EV_LRF_FAULT,
    EV_LRF_REACQ,
    EV_LRF_REJ,
    EV_LRF_WIDEN,
    F_ALT,
    F_ALTM,
    F_CMD_DUTY,
    F_CMD_MAIN,
    F_GROUND_OFFSET,
    F_IMU_OFF,
    F_IMU_UNIT,
    F_LRF_LAST,
    F_LRF_NACC,
    F_LRF_NREJ,
    F_LRF_OFF,
    F_LRF_STATE,
    F_LRF_WIDENED,
    F_MODE,
    F_P,
    F_POLICY_SET,
    F_Q,
    F_TURN,
    F_VELM,
    F_X,
    FP_ACQ_N,
    FP_ALTM_GATE,
    FP_ALTM_SIGMA,
    FP_ALTM_UPDATE,
    FP_BEAM,
    FP_DT,
    FP_FAULT_N,
    FP_GATE,
    FP_GROUND_TAU,
    FP_IMU_UNITS,
    FP_LRF_INCIDENCE_COS,
    FP_LRF_MAX,
    FP_LRF_SIGMA,
    FP_POLICY,
    FP_Q_ACC,
    FP_REACQ_N,
    FP_SITE,
    FP_VEL_BEAMS,
    FP_VELOCIMETER,
    LL_LAT,
    LL_LON,
    LRF_FAULTY,
    LRF_TRACKING,
    LRF_WAITING,
    M_ALTIMETER,
    M_DTH,
    M_DTH_B,
    M_DV,
    M_DV_B,
    M_IMU_OK,
    M_LRF,
    M_ST_Q,
    M_ST_VALID,
    M_VELOCIMETER,
    MAX_BEAMS,
    MODE_APPROACH,
    MODE_HOVER,
    MODE_TERMINAL,
    MODE_VERTICAL,
    N_BEAM_DIR,
    N_LATLON,
    N_RADAR_BEAM,
    NA_A,
    NA_GAIN,
    NA_PH,
    NA_TMP,
    NA_UP,
    NAV_HEIGHT,
    NAV_PREDICT,
    NG_DV,
    NG_G0,
    NG_G1,
    NG_GRADIENT,
    NG_GRAVITY,
    NG_W,
    NG_X,
    NG_Y,
    NG_Z,
    NH_T,
    NH_TMP,
    NH_UP,
    NP_BEAM,
    NP_BEAM_MCMF,
    NP_HIT,
    NP_N_MCMF,
    NP_R_MCMF,
    NS_LATLON,
    NS_R_MCMF,
    NU_A,
    NU_BEAM,
    NU_GAIN,
    NU_H,
    NU_HEIGHT,
    NU_NORMAL,
    NU_PH,
    NU_PREDICT,
    NU_TMP,
    NV_A,
    NV_BEAM,
    NV_GAIN,
    NV_PH,
    NV_TMP,
    POLICY_AS_FLOWN_M1,
    RB_VELOCITY,
)
from touchdown.core.quaternion import quat_compose, quat_rotate, rotvec_quat
from touchdown.fsw.landing_radar import altitude_update
from touchdown.moon.constants import GM, R_REF
from touchdown.moon.frames import latlon_from_mcmf, moon_turn, surface_velocity, turn_z
from touchdown.moon.gravity import gravity_mci_turned
from touchdown.moon.terrain import ray_cast, terrain_height, terrain_normal

NP_SIZE, NH_SIZE = NAV_PREDICT.size, NAV_HEIGHT.size  # scratch words of the callees


@kernel
def _congruence(a, p, tmp):
    """p <- a p a^T for 6x6 matrices, in place; tmp is 6x6 scratch."""
    for i in range(6):
        for j in range(6):
            s = 0.0
            for m in range(6):
                s += a[i, m] * p[m, j]
            tmp[i, j] = s
    for i in range(6):
        for j in range(6):
            s = 0.0
            for m in range(6):
                s += tmp[i, m] * a[j, m]
            p[i, j] = s


@kernel
def propagate(fsw, fp, meas, t, dt, work):
    """Advance the estimate from t to t + dt (s) with the IMU increments and the gravity model.

    The accelerometer increments are used only when the engines were commanded on during the
    cycle; while coasting the estimate follows the gravity model alone.
    """
    q = fsw[F_Q:F_Q + 4]
    # attitude: half the gyro increment, rotate the delta-v at mid-cycle, then the other half
    h0, h1, h2 = 0.5 * meas[M_DTH], 0.5 * meas[M_DTH + 1], 0.5 * meas[M_DTH + 2]
    dq = rotvec_quat(h0, h1, h2)
    quat_compose(q, dq, False)
    dv_mci = work[NG_DV:NG_DV + 3]
    if fsw[F_CMD_MAIN] <= 0.0 and fsw[F_CMD_DUTY] <= 0.0:
        # engines were off: coast on the gravity model alone rather than integrate the
        # accelerometer's bias for an hour (as Apollo's average-G did)
        dv_mci[0], dv_mci[1], dv_mci[2] = 0.0, 0.0, 0.0
    else:
        quat_rotate(q, meas[M_DV:M_DV + 3], dv_mci)
    if meas[M_ST_VALID] > 0.5:  # a star-tracker fix replaces the propagated attitude
        for i in range(4):
            q[i] = meas[M_ST_Q + i]
    else:
        quat_compose(q, dq, False)
    r, v = fsw[F_X:F_X + 3], fsw[F_X + 3:F_X + 6]
    # velocity Verlet: gravity at both ends of the cycle, the IMU delta-v spread evenly
    g, w3, g1 = work[NG_G0:NG_G0 + 3], work[NG_GRAVITY:NG_GRAVITY + 3], work[NG_G1:NG_G1 + 3]
    c, s = moon_turn(t, fsw[F_TURN:F_TURN + 3])
    gravity_mci_turned(c, s, r, g, w3)
    for i in range(3):
        r[i] += v[i] * dt + 0.5 * (g[i] * dt + dv_mci[i]) * dt
    c, s = moon_turn(t + dt, fsw[F_TURN:F_TURN + 3])
    gravity_mci_turned(c, s, r, g1, w3)
    for i in range(3):
        v[i] += 0.5 * (g[i] + g1[i]) * dt + dv_mci[i]
    # covariance: P <- Phi P Phi^T, Phi = [[I, I dt], [G dt, I]], G the point-mass gravity
    # gradient (symmetric). In 3x3 blocks P = [[A, B], [B^T, C]]: Phi P = [[X, Y], [Z, W]] with
    # X = A + dt B^T, Y = B + dt C, Z = dt G A + B^T, W = dt G B + C, and
    # Phi P Phi^T = [[X + dt Y, dt X G + Y], [Z + dt W, dt Z G + W]].
    rn = math.sqrt(r[0] ** 2 + r[1] ** 2 + r[2] ** 2)
    k = GM / rn ** 3
    # flat views indexed by hand: a reshape is a call into Numba's helper library each time
    p = fsw[F_P:F_P + 36]  # p[6 i + j] = P[i, j]
    gm, x, y = work[NG_GRADIENT:NG_GRADIENT + 9], work[NG_X:NG_X + 9], work[NG_Y:NG_Y + 9]
    z, w = work[NG_Z:NG_Z + 9], work[NG_W:NG_W + 9]  # 3x3 each, [3 i + j]
    for i in range(3):
        for j in range(3):
            gm[3 * i + j] = k * (3.0 * r[i] * r[j] / (rn * rn) - (1.0 if i == j else 0.0))
    for i in range(3):
        for j in range(3):
            ga, gb = 0.0, 0.0
            for m in range(3):
                ga += gm[3 * i + m] * p[6 * m + j]
                gb += gm[3 * i + m] * p[6 * m + j + 3]
            x[3 * i + j] = p[6 * i + j] + dt * p[6 * j + i + 3]
            y[3 * i + j] = p[6 * i + j + 3] + dt * p[6 * (i + 3) + j + 3]
            z[3 * i + j] = dt * ga + p[6 * j + i + 3]
            w[3 * i + j] = dt * gb + p[6 * (i + 3) + j + 3]
    for i in range(3):
        for j in range(3):
            xg, zg = 0.0, 0.0
            for m in range(3):
                xg += x[3 * i + m] * gm[3 * m + j]
                zg += z[3 * i + m] * gm[3 * m + j]
            p[6 * i + j] = x[3 * i + j] + dt * y[3 * i + j]
            p[6 * i + j + 3] = dt * xg + y[3 * i + j]
            p[6 * (i + 3) + j] = z[3 * i + j] + dt * w[3 * i + j]
            p[6 * (i + 3) + j + 3] = dt * zg + w[3 * i + j]
    qa = fp[FP_Q_ACC]
    for i in range(3):
        p[7 * i] += qa * dt ** 3 / 3.0
        p[7 * i + 3] += qa * dt ** 2 / 2.0
        p[7 * i + 18] += qa * dt ** 2 / 2.0
        p[7 * i + 21] += qa * dt


@kernel
def lrf_policy(fsw, fp):
    """The range finder's policy in force: the ground's (``lrf_policy``), else the scenario's."""
    return fsw[F_POLICY_SET] - 1.0 if fsw[F_POLICY_SET] > 0.0 else fp[FP_POLICY]


@kernel
def predict_range(fsw, fp, t, elev, meta, n_mci, work):
    """Predicted slant range (m) along the estimated beam and the surface normal n_mci there.

    Returns NaN when the modelled surface is not within reach of the beam.
    """
    r = fsw[F_X:F_X + 3]
    b = work[NP_BEAM:NP_BEAM + 3]
    quat_rotate(fsw[F_Q:F_Q + 4], fp[FP_BEAM:FP_BEAM + 3], b)
    if lrf_policy(fsw, fp) == POLICY_AS_FLOWN_M1:
        rs = R_REF + fp[FP_SITE + 2]
        rb = r[0] * b[0] + r[1] * b[1] + r[2] * b[2]
        rr = r[0] ** 2 + r[1] ** 2 + r[2] ** 2
        disc = rb * rb - (rr - rs * rs)
        if disc < 0.0:
            return math.nan
        rho = -rb - math.sqrt(disc)
        if rho <= 0.0 or rho > fp[FP_LRF_MAX]:
            return math.nan
        for i in range(3):
            n_mci[i] = (r[i] + rho * b[i]) / rs
        return rho
    r_mcmf, b_mcmf = work[NP_R_MCMF:NP_R_MCMF + 3], work[NP_BEAM_MCMF:NP_BEAM_MCMF + 3]
    n_mcmf, p = work[NP_N_MCMF:NP_N_MCMF + 3], work[NP_HIT:NP_HIT + 3]
    c, s = moon_turn(t, fsw[F_TURN:F_TURN + 3])
    turn_z(c, -s, r, r_mcmf)
    turn_z(c, -s, b, b_mcmf)
    rho = ray_cast(elev, meta, r_mcmf, b_mcmf, fp[FP_LRF_MAX])
    if math.isnan(rho):
        return math.nan
    for i in range(3):
        p[i] = r_mcmf[i] + rho * b_mcmf[i]
    terrain_normal(elev, meta, p, n_mcmf)
    turn_z(c, s, n_mcmf, n_mci)
    return rho


@kernel
def _widen(p, h, y):
    """Add (y/|H|)^2 to the position variances so that innovation y fits the gate again."""
    hh = h[0] ** 2 + h[1] ** 2 + h[2] ** 2
    for i in range(3):
        p[i, i] += y * y / hh


@kernel
def _initialise_height(fsw, h, y, r2, work):
    """Altitude initialisation: move the position along the local vertical so the reading fits.

    Only the height changes (not the velocity or the horizontal position, whatever the
    covariance's correlations); the height's variance becomes the reading's, uncorrelated.
    """
    r = fsw[F_X:F_X + 3]
    rn = math.sqrt(r[0] ** 2 + r[1] ** 2 + r[2] ** 2)
    u = work[NH_UP:NH_UP + 3]
    for i in range(3):
        u[i] = r[i] / rn
    hu = h[0] * u[0] + h[1] * u[1] + h[2] * u[2]  # d(range)/d(height)
    if abs(hu) < 1e-6:
        return
    dh = y / hu
    for i in range(3):
        r[i] += dh * u[i]
    # P <- T P T^T + var_h u u^T, with T = I - u u^T acting on the position rows/columns
    p = fsw[F_P:F_P + 36].reshape(6, 6)
    tmat = work[NH_T:NH_T + 36].reshape(6, 6)
    for i in range(6):
        for j in range(6):
            tmat[i, j] = (1.0 if i == j else 0.0) - (u[i] * u[j] if i < 3 and j < 3 else 0.0)
    _congruence(tmat, p, work[NH_TMP:NH_TMP + 36].reshape(6, 6))
    var_h = r2 / (hu * hu)
    for i in range(3):
        for j in range(3):
            p[i, j] += var_h * u[i] * u[j]


@kernel
def update_lrf(fsw, fp, meas, t, elev, meta, events, n_events, work):
    """Use (or reject) this cycle's range reading. Returns 1 if accepted, 0 if not, -1 if none."""
    rho_m = meas[M_LRF]
    last = fsw[F_LRF_LAST:F_LRF_LAST + 4]
    last[0], last[1], last[2], last[3] = rho_m, math.nan, math.nan, 0.0
    if math.isnan(rho_m) or fsw[F_LRF_OFF] > 0.0:  # none, or the ground disabled it
        return -1
    state = fsw[F_LRF_STATE]
    if state == LRF_FAULTY:
        return 0
    n = work[NU_NORMAL:NU_NORMAL + 3]
    rho_p = predict_range(fsw, fp, t, elev, meta, n, work[NU_PREDICT:NU_PREDICT + NP_SIZE])
    last[1] = rho_p
    if math.isnan(rho_p):
        return 0
    b = work[NU_BEAM:NU_BEAM + 3]
    quat_rotate(fsw[F_Q:F_Q + 4], fp[FP_BEAM:FP_BEAM + 3], b)
    nb = n[0] * b[0] + n[1] * b[1] + n[2] * b[2]
    if nb > -fp[FP_LRF_INCIDENCE_COS]:  # grazing: the geometry is too poorly conditioned
        return 0
    h = work[NU_H:NU_H + 3]
    for i in range(3):
        h[i] = -n[i] / nb
    p = fsw[F_P:F_P + 36]  # p[6 i + j] = P[i, j]: flat, as a reshape costs a call
    ph = work[NU_PH:NU_PH + 6]
    for i in range(6):
        ph[i] = p[6 * i] * h[0] + p[6 * i + 1] * h[1] + p[6 * i + 2] * h[2]
    # The allowance for unmodelled relief is a height (Apollo's 50 ft + H/8); along a slanted
    # beam a height error stretches the range by 1/|n.b|, as the position row h does.
    sigma = (fp[FP_LRF_SIGMA] + fp[FP_LRF_SIGMA + 1] * max(fsw[F_ALT], 0.0)) / -nb
    s = h[0] * ph[0] + h[1] * ph[1] + h[2] * ph[2] + sigma * sigma
    y = rho_m - rho_p
    nis = y * y / s
    last[2] = nis
    if state == LRF_WAITING:
        fsw[F_LRF_STATE] = LRF_TRACKING
        fsw[F_LRF_NACC] = 0.0
        fsw[F_LRF_NREJ] = 0.0
        log_event(events, n_events, t, EV_LRF_ACQ, rho_m)
    acquiring = fsw[F_LRF_NACC] < fp[FP_ACQ_N]
    if not acquiring and nis > fp[FP_GATE]:
        fsw[F_LRF_NREJ] += 1.0
        if fsw[F_LRF_NREJ] == 1.0:
            log_event(events, n_events, t, EV_LRF_REJ, y)
        if lrf_policy(fsw, fp) == POLICY_AS_FLOWN_M1:
            if fsw[F_LRF_NREJ] >= fp[FP_FAULT_N]:
                fsw[F_LRF_STATE] = LRF_FAULTY
                log_event(events, n_events, t, EV_LRF_FAULT, y)
        elif fsw[F_LRF_NREJ] >= fp[FP_REACQ_N]:
            _widen(p.reshape(6, 6), h, y)
            fsw[F_LRF_NREJ] = 0.0
            fsw[F_LRF_WIDENED] = 1.0
            log_event(events, n_events, t, EV_LRF_WIDEN, y)
        return 0
    if fsw[F_LRF_NREJ] > 0.0 or fsw[F_LRF_WIDENED] > 0.0:
        log_event(events, n_events, t, EV_LRF_REACQ, y)
    fsw[F_LRF_NREJ] = 0.0
    fsw[F_LRF_WIDENED] = 0.0
    fsw[F_LRF_NACC] += 1.0
    last[3] = 1.0
    if acquiring and lrf_policy(fsw, fp) == POLICY_AS_FLOWN_M1:
        _initialise_height(fsw, h, y, sigma * sigma, work[NU_HEIGHT:NU_HEIGHT + NH_SIZE])
        return 1
    _kalman_update(fsw, ph, h, 0, y, s, sigma * sigma, work[NU_GAIN:NU_GAIN + 6],
                   work[NU_A:NU_A + 36], work[NU_TMP:NU_TMP + 36])
    return 1


@kernel
def _kalman_update(fsw, ph, h, block, y, s, r2, k, a, tmp):
    """A scalar measurement's Kalman update, Joseph form: P = (I - K H) P (I - K H)^T + K R K^T.

    ph: P H^T (6); h: the three non-zero entries of H, on the position (block 0) or the
    velocity (block 3); y: the innovation; s: its variance; r2: the measurement's variance;
    k (6), a (36), tmp (36): scratch. Matrices are flat, [6 i + j] (a reshape costs a call).

    The congruence leaves out the terms of A = I - K H's structural zeros (row i holds the
    diagonal and the block's columns): each sum adds the same other terms in the same order,
    and a zero term (0 x a finite entry of P) adds nothing to a sum that starts at +0, so the
    result is the full product's, bit for bit.
    """
    p = fsw[F_P:F_P + 36]
    for i in range(6):
        k[i] = ph[i] / s
    x = fsw[F_X:F_X + 6]
    for i in range(6):
        x[i] += k[i] * y
    for i in range(6):
        for j in range(6):
            inside = block <= j < block + 3
            a[6 * i + j] = (1.0 if i == j else 0.0) - (k[i] * h[j - block] if inside else 0.0)
    for i in range(6):  # tmp = A P
        for j in range(6):
            acc = 0.0
            for m in range(6):
                if m == i or block <= m < block + 3:
                    acc += a[6 * i + m] * p[6 * m + j]
            tmp[6 * i + j] = acc
    for i in range(6):  # P = tmp A^T
        for j in range(6):
            acc = 0.0
            for m in range(6):
                if m == j or block <= m < block + 3:
                    acc += tmp[6 * i + m] * a[6 * j + m]
            p[6 * i + j] = acc
    for i in range(6):
        for j in range(6):
            p[6 * i + j] += k[i] * k[j] * r2


@kernel
def update_altimeter(fsw, fp, meas, t, alt_est, events, n_events, work):
    """Use (or reject) this cycle's altimeter reading; alt_est (m): the altitude estimate above
    the onboard surface model. Returns 1 if used, 0 if rejected, -1 if there is none.

    ``ALTIMETER_KALMAN``: a Kalman update of the height along the local vertical, the noise
    sigma = a + b h (an allowance for the relief the onboard map lacks), gated on its own
    chi-square threshold (the first reading acquires ungated). ``ALTIMETER_LUMINARY``: Apollo's
    landing-radar rule (``fsw.landing_radar``): the height moves by a weight times the
    difference, the reasonableness test applying from high gate (the approach) on.

    With a ``ground_offset_time`` the estimate also learns, in the phases that fly the altitude
    (hover, vertical and terminal descent), how far the ground the altimeter sees lies above the
    onboard map's surface: a first-order
    filter of what each reading's update left of its innovation (all of it when rejected). A
    coarse map's error is then absorbed into the altitude the vertical phases fly, while the
    position takes what the filter can attribute to it.
    work: ``NAV_ALTIMETER``.
    """
    h_meas = meas[M_ALTIMETER]
    state = fsw[F_ALTM:F_ALTM + 4]
    state[3] = 0.0
    if math.isnan(h_meas):
        return -1
    y = h_meas - alt_est
    state[2] = y
    r = fsw[F_X:F_X + 3]
    rn = math.sqrt(r[0] ** 2 + r[1] ** 2 + r[2] ** 2)
    u = work[NA_UP:NA_UP + 3]
    for i in range(3):
        u[i] = r[i] / rn
    acquired = state[0] > 0.0
    h0 = u[0] * r[0] + u[1] * r[1] + u[2] * r[2]  # the height before the update
    if fp[FP_ALTM_UPDATE] == ALTIMETER_LUMINARY:
        dh = altitude_update(alt_est, h_meas, fsw[F_MODE] >= MODE_APPROACH)
        accepted = not math.isnan(dh)
        if accepted:
            for i in range(3):
                r[i] += dh * u[i]
    else:
        p = fsw[F_P:F_P + 36].reshape(6, 6)
        ph = work[NA_PH:NA_PH + 6]
        for i in range(6):
            ph[i] = p[i, 0] * u[0] + p[i, 1] * u[1] + p[i, 2] * u[2]
        sigma = fp[FP_ALTM_SIGMA] + fp[FP_ALTM_SIGMA + 1] * max(alt_est, 0.0)
        s = u[0] * ph[0] + u[1] * ph[1] + u[2] * ph[2] + sigma * sigma
        accepted = not acquired or y * y / s <= fp[FP_ALTM_GATE]
        if accepted:
            _kalman_update(fsw, ph, u, 0, y, s, sigma * sigma, work[NA_GAIN:NA_GAIN + 6],
                           work[NA_A:NA_A + 36], work[NA_TMP:NA_TMP + 36])
    vertical = fsw[F_MODE] in (MODE_HOVER, MODE_VERTICAL, MODE_TERMINAL)
    if fp[FP_GROUND_TAU] > 0.0 and acquired and vertical:  # what the update left: the map's
        moved = u[0] * r[0] + u[1] * r[1] + u[2] * r[2] - h0
        fsw[F_GROUND_OFFSET] -= min(fp[FP_DT] / fp[FP_GROUND_TAU], 1.0) * (y - moved)
    if not accepted:
        state[1] += 1.0
        if state[1] == 1.0:
            log_event(events, n_events, t, EV_ALTM_REJ, y)
        return 0
    if not acquired:
        state[0] = 1.0
        log_event(events, n_events, t, EV_ALTM_ACQ, h_meas)
    state[1] = 0.0
    state[3] = 1.0
    return 1


@kernel
def imu_usable(fsw, meas, unit):
    """Whether IMU ``unit`` reports and the ground has not disabled it."""
    return meas[M_IMU_OK + unit] > 0.5 and not (int(fsw[F_IMU_OFF]) >> unit) & 1


@kernel
def manage_imus(fsw, fp, meas, t, events, n_events):
    """Redundancy management: navigation flies on the IMU unit in use while it reports, and
    switches to the other unit (if aboard and reporting) when it stops. The increments of the
    unit in use are placed where ``propagate`` reads them (``M_DV``, ``M_DTH``); with no unit
    reporting they are zero (navigation coasts on its model) and ``imu_lost`` is logged once."""
    lost = fsw[F_IMU_UNIT] < 0.0  # no unit reported last cycle (-1: A was in use, -2: B)
    unit = int(-fsw[F_IMU_UNIT] - 1.0) if lost else int(fsw[F_IMU_UNIT])
    if not imu_usable(fsw, meas, unit):
        other = 1 - unit
        if fp[FP_IMU_UNITS] > 1.0 and imu_usable(fsw, meas, other):
            unit = other
            log_event(events, n_events, t, EV_IMU_SWITCH, unit)
    if not imu_usable(fsw, meas, unit):
        if not lost:
            log_event(events, n_events, t, EV_IMU_LOST, unit)
        fsw[F_IMU_UNIT] = -1.0 - unit
        for i in range(3):
            meas[M_DV + i] = 0.0
            meas[M_DTH + i] = 0.0
        return
    fsw[F_IMU_UNIT] = unit
    if unit == 1:
        for i in range(3):
            meas[M_DV + i] = meas[M_DV_B + i]
            meas[M_DTH + i] = meas[M_DTH_B + i]


@kernel
def update_velocimeter(fsw, fp, meas, work):
    """Use (or reject) each velocimeter beam's velocity this cycle: a Kalman update of the
    velocity over the surface along the beam, gated per beam. Returns the beams used.

    The beam's direction comes from the attitude estimate and its mounting; the velocity over
    the surface is v - w x r (the Jacobian's velocity rows are the beam; its position rows, of
    the order of the Moon's rotation rate, are neglected). work: ``NAV_VELOCITY``.
    """
    used, rejected = 0, 0
    r, v = fsw[F_X:F_X + 3], fsw[F_X + 3:F_X + 6]
    b, ph = work[NV_BEAM:NV_BEAM + 3], work[NV_PH:NV_PH + 6]
    sigma = fp[FP_VELOCIMETER]
    p = fsw[F_P:F_P + 36]  # p[6 i + j] = P[i, j]
    for k in range(MAX_BEAMS):  # flat indices throughout: a reshape is a call
        vm = meas[M_VELOCIMETER + N_RADAR_BEAM * k + RB_VELOCITY]
        if math.isnan(vm):
            continue
        beam = fp[FP_VEL_BEAMS + N_BEAM_DIR * k:FP_VEL_BEAMS + N_BEAM_DIR * (k + 1)]
        quat_rotate(fsw[F_Q:F_Q + 4], beam, b)
        vx, vy, vz = surface_velocity(r, v)
        y = vm - (b[0] * vx + b[1] * vy + b[2] * vz)
        for i in range(6):
            ph[i] = p[6 * i + 3] * b[0] + p[6 * i + 4] * b[1] + p[6 * i + 5] * b[2]
        s = b[0] * ph[3] + b[1] * ph[4] + b[2] * ph[5] + sigma * sigma
        if y * y / s > fp[FP_VELOCIMETER + 1]:
            rejected += 1
            continue
        _kalman_update(fsw, ph, b, 3, y, s, sigma * sigma, work[NV_GAIN:NV_GAIN + 6],
                       work[NV_A:NV_A + 36], work[NV_TMP:NV_TMP + 36])
        used += 1
    fsw[F_VELM] = used
    fsw[F_VELM + 1] = rejected
    return used


@kernel
def surface_estimate(fsw, fp, t, elev, meta, out, work):
    """Write the FSW's altitude (m), vertical speed (m/s, up +) and horizontal speed (m/s).

    Altitude is above the policy's surface model: the landing site's height for
    ``as_flown_m1``, the onboard map below the estimated position for ``terrain_aware``.
    """
    r, v = fsw[F_X:F_X + 3], fsw[F_X + 3:F_X + 6]
    rn = math.sqrt(r[0] ** 2 + r[1] ** 2 + r[2] ** 2)
    if lrf_policy(fsw, fp) == POLICY_AS_FLOWN_M1:
        ground = fp[FP_SITE + 2]
    else:
        r_mcmf, ll = work[NS_R_MCMF:NS_R_MCMF + 3], work[NS_LATLON:NS_LATLON + N_LATLON]
        c, s = moon_turn(t, fsw[F_TURN:F_TURN + 3])
        turn_z(c, -s, r, r_mcmf)
        latlon_from_mcmf(r_mcmf, ll)
        ground = terrain_height(elev, meta, ll[LL_LAT], ll[LL_LON])
        if math.isnan(ground):
            ground = fp[FP_SITE + 2]
    vx, vy, vz = surface_velocity(r, v)
    hdot = (vx * r[0] + vy * r[1] + vz * r[2]) / rn
    vh2 = vx * vx + vy * vy + vz * vz - hdot * hdot
    out[0] = rn - R_REF - ground - fsw[F_GROUND_OFFSET]
    out[1] = hdot
    out[2] = math.sqrt(max(vh2, 0.0))
