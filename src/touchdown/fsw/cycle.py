"""One flight-software cycle (compiled): navigation, mode manager, guidance, control, accounting.

Inputs / Outputs
==========  ==============================================  ========  ================
name        layout                                          unit      rate
==========  ==============================================  ========  ================
meas        ``MEAS`` (IMU, star tracker, LRF, footpads)     SI        each cycle
map         onboard map elev, meta                          m         each cycle
fsw         ``FSW`` (estimate, mode, commands; written)     SI        each cycle
fsw_params  ``FSW_PARAMS``                                  SI        constant
events      event log (appended)                            -         on transitions
==========  ==============================================  ========  ================

Modes, in order: orbit_coast -> doi -> descent_coast -> braking -> approach ->
vertical_descent -> terminal_descent -> touchdown. Braking ignites when the braking guidance,
evaluated while coasting, needs ``ignition_throttle`` of full thrust; its time to go comes from
the downrange cubic. The approach (pitch-up) phase flies a fixed duration counted down, since
its target has no downrange speed left to solve the cubic with. A phase ends when its time to
go falls below ``tgo_switch``.

Scheduling: while coasting with the engines off the flight software runs every ``coast_cycle``
(a whole number of cycles) and says so in ``sleep_cycles``; the IMU then reports the increments
over the longer interval. It runs every cycle again from the cycle that reaches the DOI time,
and in the descent coast as soon as the thrust the braking guidance needs comes within
``WAKE_MARGIN`` of ``ignition_throttle`` or, rising as it did since the last cycle, would reach
it within ``WAKE_CYCLES`` coast cycles: DOI and braking ignition are decided on the full-rate
cycle.
"""

import math

from touchdown._compile import kernel
from touchdown.core.eventlog import log_event
from touchdown.core.layout import (
    EV_ALT_ZERO,
    EV_APPROACH,
    EV_BRAKING,
    EV_DOI_END,
    EV_DOI_START,
    EV_PROP_LOW,
    EV_TD_DETECT,
    EV_TERMINAL,
    EV_VERTICAL,
    F_ALT,
    F_ALT_ZERO_SEEN,
    F_CMD_DIR,
    F_CMD_DUTY,
    F_CMD_MAIN,
    F_DOI_DV,
    F_GUID_DCM,
    F_HDOT,
    F_IGN_LAST,
    F_MODE,
    F_MODE_T,
    F_PROP,
    F_PROP_LOW_SEEN,
    F_SLEEP,
    F_TGO,
    F_VH,
    F_X,
    FP_APPR_T,
    FP_APPR_TGT,
    FP_BRAKE_TGT,
    FP_COAST_DT,
    FP_DOI_T,
    FP_DT,
    FP_IGN_THROTTLE,
    FP_MAIN_F,
    FP_PERILUNE,
    FP_RESERVE,
    FP_SITE,
    FP_TERMINAL_ALT,
    FP_TGO_MIN,
    FP_THR_F,
    FP_THR_N,
    FP_TILT_MAX,
    M_DV,
    M_LEG,
    MODE_APPROACH,
    MODE_BRAKING,
    MODE_COAST_DESCENT,
    MODE_COAST_ORBIT,
    MODE_DOI,
    MODE_TERMINAL,
    MODE_TOUCHDOWN,
    MODE_VERTICAL,
)
from touchdown.fsw.control import (
    account_propellant,
    command_thrust,
    engines_off,
    estimated_mass,
)
from touchdown.fsw.guidance import (
    descent_rate_command,
    polynomial_accel,
    solve_tgo,
    to_guidance,
    vertical_accel,
)
from touchdown.fsw.navigation import propagate, surface_estimate, update_lrf
from touchdown.moon.constants import GM, R_REF

N_WORK = 200
COS_GUIDANCE_RANGE = math.cos(math.radians(45.0))  # polynomial guidance within 45 deg of the site
WAKE_MARGIN = 0.1  # -, full rate when the needed throttle is this close to ignition_throttle
WAKE_CYCLES = 3.0  # -, or would reach it within this many coast cycles at its rate of rise


@kernel
def _enter(fsw, mode, t, events, n_events, code, value):
    fsw[F_MODE] = mode
    fsw[F_MODE_T] = t
    log_event(events, n_events, t, code, value)


@kernel
def _thrust_from_guid(a_g, g_g, dcm, c, s, out_mci, work):
    """Thrust acceleration a_g - g_g (guidance frame) rotated into mci; dcm: dcm_guid_mcmf
    (9 words, row-major); c, s: cos, sin of the Moon's rotation angle."""
    m = work[0:3]
    for j in range(3):
        m[j] = 0.0
        for i in range(3):
            m[j] += dcm[3 * i + j] * (a_g[i] - g_g[i])
    out_mci[0] = c * m[0] - s * m[1]
    out_mci[1] = s * m[0] + c * m[1]
    out_mci[2] = m[2]


@kernel
def _polynomial_phase(fsw, fp, t, target, tgo_given, work):
    """Evaluate polynomial guidance toward target; writes the thrust accel (mci) into work[0:3].

    The time to go is tgo_given when positive, else solved from the downrange cubic. Returns
    the time to go (s), NaN when there is no solution.
    """
    r_g, v_g, g_g, a_g = work[3:6], work[6:9], work[9:12], work[12:15]
    dcm = fsw[F_GUID_DCM:F_GUID_DCM + 9]
    c, s = to_guidance(fsw, fp, t, r_g, v_g, g_g, work[24:48])
    r = fsw[F_X:F_X + 3]
    rn = math.sqrt(r[0] ** 2 + r[1] ** 2 + r[2] ** 2)
    if (r_g[2] + R_REF + fp[FP_SITE + 2]) / rn < COS_GUIDANCE_RANGE or r_g[0] > 0.0:
        return math.nan  # the site frame is only meaningful near and before the site
    tgo = tgo_given if tgo_given > 0.0 else solve_tgo(r_g[0], v_g[0], target, fsw[F_TGO])
    if math.isnan(tgo):
        return tgo
    polynomial_accel(r_g, v_g, target, tgo, a_g)
    _thrust_from_guid(a_g, g_g, dcm, c, s, work[0:3], work[48:51])
    return tgo


@kernel
def _vertical_phase(fsw, fp, t, work):
    """Rate-of-descent guidance; writes the thrust accel (mci) into work[0:3]."""
    r_g, v_g, g_g, a_g = work[3:6], work[6:9], work[9:12], work[12:15]
    dcm = fsw[F_GUID_DCM:F_GUID_DCM + 9]
    c, s = to_guidance(fsw, fp, t, r_g, v_g, g_g, work[24:48])
    hdot_cmd = descent_rate_command(fp, fsw[F_ALT])
    vertical_accel(fp, r_g, v_g, fsw[F_HDOT], hdot_cmd, a_g)
    # thrust = a - g; engines push and never pull: a command to fall faster than gravity
    # alone would is a coast (zero thrust, attitude kept), not a thrust pointing down
    tz = max(a_g[2] - g_g[2], 0.0)
    a_g[2] = g_g[2] + tz
    # limit the thrust's tilt from the vertical
    tx, ty = a_g[0] - g_g[0], a_g[1] - g_g[1]
    th = math.sqrt(tx * tx + ty * ty)
    lim = math.tan(fp[FP_TILT_MAX]) * max(tz, 0.0)
    if th > lim:
        k = lim / th if th > 0.0 else 0.0
        a_g[0] = g_g[0] + tx * k
        a_g[1] = g_g[1] + ty * k
    _thrust_from_guid(a_g, g_g, dcm, c, s, work[0:3], work[48:51])


@kernel
def _retrograde(fsw, out):
    v = fsw[F_X + 3:F_X + 6]
    vn = math.sqrt(v[0] ** 2 + v[1] ** 2 + v[2] ** 2)
    for i in range(3):
        out[i] = -v[i] / vn


@kernel
def _schedule(fsw, fp, t, dt, mode, need):
    """Choose the cycles to sleep through before the next one (see the module docstring).

    need: fraction of full thrust the braking guidance needed this cycle (0: not evaluated);
    dt (s): the interval since the previous cycle.
    """
    n = 1
    n_coast = round(fp[FP_COAST_DT] / fp[FP_DT])
    if n_coast > 1 and fsw[F_CMD_MAIN] < 0.5 and fsw[F_CMD_DUTY] <= 0.0:
        if mode == MODE_COAST_ORBIT:
            to_doi = math.ceil((fp[FP_DOI_T] - t) / fp[FP_DT] - 1e-6)
            n = max(1, min(n_coast, to_doi))
        elif mode == MODE_COAST_DESCENT:
            n = n_coast
            if need > 0.0:
                last = fsw[F_IGN_LAST]
                rate = max(need - last, 0.0) / dt if last > 0.0 else 0.0
                ahead = need + rate * WAKE_CYCLES * fp[FP_COAST_DT]
                if max(need + WAKE_MARGIN, ahead) >= fp[FP_IGN_THROTTLE]:
                    n = 1
    fsw[F_IGN_LAST] = need
    fsw[F_SLEEP] = n - 1


@kernel
def fsw_cycle(fsw, fp, meas, t, elev, meta, events, n_events, work):
    """Run one cycle at time t (s): meas holds the IMU increments over [t - dt, t].

    dt is the interval the previous cycle chose to sleep (``sleep_cycles``, 0 at full rate).
    """
    dt = (1.0 + fsw[F_SLEEP]) * fp[FP_DT]
    propagate(fsw, fp, meas, t - dt, dt, work)
    update_lrf(fsw, fp, meas, t, elev, meta, events, n_events, work)
    est = work[120:123]
    surface_estimate(fsw, fp, t, elev, meta, est, work)
    fsw[F_ALT], fsw[F_HDOT], fsw[F_VH] = est[0], est[1], est[2]
    mode = fsw[F_MODE]
    a_mci = work[150:153]
    need = 0.0  # fraction of full thrust the braking guidance needs (0: not evaluated)

    if meas[M_LEG] > 0.5 and mode != MODE_TOUCHDOWN:
        _enter(fsw, MODE_TOUCHDOWN, t, events, n_events, EV_TD_DETECT, fsw[F_ALT])
        mode = MODE_TOUCHDOWN
    if fsw[F_ALT] <= 0.0 and fsw[F_ALT_ZERO_SEEN] == 0.0 and mode >= MODE_APPROACH:
        fsw[F_ALT_ZERO_SEEN] = 1.0
        log_event(events, n_events, t, EV_ALT_ZERO, fsw[F_ALT])
    if fsw[F_PROP] <= fp[FP_RESERVE] and fsw[F_PROP_LOW_SEEN] == 0.0:
        fsw[F_PROP_LOW_SEEN] = 1.0
        log_event(events, n_events, t, EV_PROP_LOW, fsw[F_PROP])

    if mode == MODE_COAST_ORBIT:
        _retrograde(fsw, a_mci)
        for i in range(3):
            fsw[F_CMD_DIR + i] = a_mci[i]
        engines_off(fsw)
        if t >= fp[FP_DOI_T]:
            r = fsw[F_X:F_X + 3]
            rn = math.sqrt(r[0] ** 2 + r[1] ** 2 + r[2] ** 2)
            rp = R_REF + fp[FP_PERILUNE]
            fsw[F_TGO] = math.sqrt(GM / rn) * (1.0 - math.sqrt(2.0 * rp / (rn + rp)))
            fsw[F_DOI_DV] = 0.0
            _enter(fsw, MODE_DOI, t, events, n_events, EV_DOI_START, fsw[F_TGO])
            mode = MODE_DOI
    if mode == MODE_DOI:
        dv = meas[M_DV:M_DV + 3]
        fsw[F_DOI_DV] += math.sqrt(dv[0] ** 2 + dv[1] ** 2 + dv[2] ** 2)
        _retrograde(fsw, a_mci)
        for i in range(3):
            fsw[F_CMD_DIR + i] = a_mci[i]
        engines_off(fsw)
        if fsw[F_DOI_DV] < fsw[F_TGO]:
            fsw[F_CMD_MAIN] = 1.0
        else:
            _enter(fsw, MODE_COAST_DESCENT, t, events, n_events, EV_DOI_END, fsw[F_DOI_DV])
            fsw[F_TGO] = 0.0
            mode = MODE_COAST_DESCENT
    elif mode == MODE_COAST_DESCENT:
        engines_off(fsw)
        tgo = _polynomial_phase(fsw, fp, t, fp[FP_BRAKE_TGT:FP_BRAKE_TGT + 12], 0.0, work)
        if not math.isnan(tgo) and tgo < 3000.0:
            fsw[F_TGO] = tgo
            a = work[0:3]
            an = math.sqrt(a[0] ** 2 + a[1] ** 2 + a[2] ** 2)
            for i in range(3):
                fsw[F_CMD_DIR + i] = a[i] / an
            f_max = fp[FP_MAIN_F] + fp[FP_THR_N] * fp[FP_THR_F]
            force = an * estimated_mass(fsw, fp)
            need = force / f_max
            if force >= fp[FP_IGN_THROTTLE] * f_max:
                _enter(fsw, MODE_BRAKING, t, events, n_events, EV_BRAKING, fsw[F_ALT])
                mode = MODE_BRAKING
        else:
            fsw[F_TGO] = 0.0
    if mode in (MODE_BRAKING, MODE_APPROACH):
        off = FP_BRAKE_TGT if mode == MODE_BRAKING else FP_APPR_TGT
        countdown = fsw[F_TGO] - dt if mode == MODE_APPROACH else 0.0
        tgo = _polynomial_phase(fsw, fp, t, fp[off:off + 12], countdown, work)
        if math.isnan(tgo):
            tgo = 0.0
        fsw[F_TGO] = tgo
        command_thrust(fsw, fp, work[0:3], True)
        if tgo < fp[FP_TGO_MIN]:
            if mode == MODE_BRAKING:
                fsw[F_TGO] = fp[FP_APPR_T]
                _enter(fsw, MODE_APPROACH, t, events, n_events, EV_APPROACH, fsw[F_ALT])
            else:
                _enter(fsw, MODE_VERTICAL, t, events, n_events, EV_VERTICAL, fsw[F_ALT])
    elif mode in (MODE_VERTICAL, MODE_TERMINAL):
        _vertical_phase(fsw, fp, t, work)
        command_thrust(fsw, fp, work[0:3], False)
        if mode == MODE_VERTICAL and fsw[F_ALT] <= fp[FP_TERMINAL_ALT]:
            _enter(fsw, MODE_TERMINAL, t, events, n_events, EV_TERMINAL, fsw[F_ALT])
    elif mode == MODE_TOUCHDOWN:
        engines_off(fsw)
    _schedule(fsw, fp, t, dt, mode, need)
    account_propellant(fsw, fp)
