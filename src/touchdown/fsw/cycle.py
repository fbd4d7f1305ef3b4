"""One flight-software cycle (compiled): navigation, then the mode manager (``fsw.modes``) and the
guidance program of the mode (``fsw.guidance.fly_program``), the cycle's schedule and the
propellant accounting.

Inputs / Outputs
==========  ==============================================  ========  ================
name        layout                                          unit      rate
==========  ==============================================  ========  ================
fsw         ``FlightSoftware``: state (``FSW``: estimate,  SI        each cycle
            mode, commands; written), params, meas
onboard     ``Dem``: the onboard map                        m         each cycle
record      ``Record``: the event log (appended)            -         on transitions
work        ``FSW_CYCLE`` scratch                           -         each cycle
==========  ==============================================  ========  ================

The modes, their programs and their transitions are tabled in ``fsw.modes``. Braking ignites
when the braking guidance, evaluated while coasting, needs ``ignition_throttle`` of full
thrust; its time to go comes from the downrange cubic. The approach (pitch-up) phase flies a
fixed duration counted down, since its target has no downrange speed left to solve the cubic
with.

Scheduling: while coasting with the engines off the flight software runs every ``coast_cycle``
(a whole number of cycles) and says so in ``sleep_cycles``; the IMU then reports the increments
over the longer interval. It runs every cycle again from the cycle that reaches the DOI time,
and in the descent coast as soon as the thrust the braking guidance needs comes within
``wake_margin`` of ``ignition_throttle`` or, rising as it did since the last cycle, would reach
it within ``wake_cycles`` coast cycles (``FP_WAKE``): DOI and braking ignition are decided on
the full-rate cycle. On a direct approach's retro coast it sleeps while the estimated speed
cannot bring the retro's altimeter mark within the next cycles, and runs every cycle from the
one before.
"""

import math

from touchdown._compile import kernel
from touchdown.core.layout import (
    F_ALT,
    F_CMD_DIR,
    F_CMD_DUTY,
    F_CMD_MAIN,
    F_HDA,
    F_HDOT,
    F_IGN_LAST,
    F_MODE,
    F_SLEEP,
    F_TURN_HELD,
    F_VH,
    FC_ALTIMETER,
    FC_GUIDANCE,
    FC_HAZARD,
    FC_PREV_DIR,
    FC_PROPAGATE,
    FC_SURFACE,
    FC_SURFACE_WORK,
    FC_UPDATE,
    FC_VELOCITY,
    FP_COAST_DT,
    FP_DOI_T,
    FP_DT,
    FP_IGN_THROTTLE,
    FP_RETRO,
    FP_TURN_RATE_MAX,
    FP_WAKE,
    GUIDANCE,
    HAZARD_SELECT,
    M_HAZARD_VALID,
    MODE_COAST_DESCENT,
    MODE_COAST_ORBIT,
    MODE_RETRO_COAST,
    MODES,
    NAV_ALTIMETER,
    NAV_PROPAGATE,
    NAV_SURFACE,
    NAV_UPDATE,
    NAV_VELOCITY,
)
from touchdown.fsw.commands import disarmed, execute_commands
from touchdown.fsw.control import account_propellant, estimated_speed, learn_thrust, limit_turn
from touchdown.fsw.guidance import fly_program
from touchdown.fsw.hazard import select_site
from touchdown.fsw.modes import (
    MODE_PROGRAM,
    MODE_TARGET,
    NEXT_SAME_CYCLE,
    NONE,
    enter_mode,
    full_thrust,
    monitor,
    next_mode,
    transition_due,
)
from touchdown.fsw.navigation import (
    manage_imus,
    propagate,
    surface_estimate,
    update_altimeter,
    update_lrf,
    update_velocimeter,
)
from touchdown.fsw.restart import executive, restart_gate

# scratch words of the callees
N_PROPAGATE, N_UPDATE, N_SURFACE = NAV_PROPAGATE.size, NAV_UPDATE.size, NAV_SURFACE.size
N_ALTIMETER, N_VELOCITY = NAV_ALTIMETER.size, NAV_VELOCITY.size
N_HAZARD = HAZARD_SELECT.size
N_GUIDANCE = GUIDANCE.size


@kernel
def _schedule(fsw, fp, t, dt, mode, need):
    """Choose the cycles to sleep through before the next one (see the module docstring).

    need: fraction of full thrust the braking guidance needed this cycle (0: not evaluated);
    dt (s): the interval since the previous cycle.
    """
    n = 1
    n_coast = round(fp[FP_COAST_DT] / fp[FP_DT])
    if n_coast > 1 and fsw[F_CMD_MAIN] <= 0.0 and fsw[F_CMD_DUTY] <= 0.0:
        if mode == MODE_COAST_ORBIT:
            to_doi = math.ceil((fp[FP_DOI_T] - t) / fp[FP_DT] - 1e-6)
            n = max(1, min(n_coast, to_doi))
        elif mode == MODE_COAST_DESCENT:
            n = n_coast
            if need > 0.0:
                last = fsw[F_IGN_LAST]
                rate = max(need - last, 0.0) / dt if last > 0.0 else 0.0
                ahead = need + rate * fp[FP_WAKE + 1] * fp[FP_COAST_DT]
                if max(need + fp[FP_WAKE], ahead) >= fp[FP_IGN_THROTTLE]:
                    n = 1
        elif mode == MODE_RETRO_COAST:  # full rate from the cycle before the mark can come
            fall = estimated_speed(fsw) * fp[FP_DT]
            to_mark = math.floor((fsw[F_ALT] - fp[FP_RETRO]) / fall) - 1 if fall > 0.0 else 1
            n = max(1, min(n_coast, to_mark))
    fsw[F_IGN_LAST] = need
    fsw[F_SLEEP] = n - 1


@kernel
def fsw_cycle(fsw, t, onboard, record, work):
    """Run one cycle at time t (s): ``fsw.meas`` holds the IMU increments over [t - dt, t].

    dt is the interval the previous cycle chose to sleep (``sleep_cycles``, 0 at full rate).
    """
    x, fp, meas = fsw.state, fsw.params, fsw.meas
    events, n_events = record.events, record.n_events
    dt = (1.0 + x[F_SLEEP]) * fp[FP_DT]
    manage_imus(x, fp, meas, t, events, n_events)
    propagate(x, fp, meas, t - dt, dt, work[FC_PROPAGATE:FC_PROPAGATE + N_PROPAGATE])
    update_lrf(x, fp, meas, t, onboard.elev, onboard.meta, events, n_events,
               work[FC_UPDATE:FC_UPDATE + N_UPDATE])
    update_velocimeter(x, fp, meas, work[FC_VELOCITY:FC_VELOCITY + N_VELOCITY])
    est = work[FC_SURFACE:FC_SURFACE + 3]
    surface_estimate(x, fp, t, onboard.elev, onboard.meta, est,
                     work[FC_SURFACE_WORK:FC_SURFACE_WORK + N_SURFACE])
    if update_altimeter(x, fp, meas, t, est[0], events, n_events,
                        work[FC_ALTIMETER:FC_ALTIMETER + N_ALTIMETER]) == 1:
        surface_estimate(x, fp, t, onboard.elev, onboard.meta, est,
                         work[FC_SURFACE_WORK:FC_SURFACE_WORK + N_SURFACE])
    x[F_ALT], x[F_HDOT], x[F_VH] = est[0], est[1], est[2]
    learn_thrust(x, fp, meas, dt)

    if meas[M_HAZARD_VALID] > 0.5 and x[F_HDA] > 0.5:
        select_site(x, fp, meas, t, events, n_events, work[FC_HAZARD:FC_HAZARD + N_HAZARD])
    mode = monitor(x, fp, meas, t, events, n_events)
    execute_commands(x, fp, t, events, n_events)
    executive(x, fp, meas, t, dt, mode, events, n_events)
    flying = restart_gate(x, fp, t, meas, events, n_events)
    need = 0.0  # fraction of full thrust the braking guidance needs (0: not evaluated)
    guidance = work[FC_GUIDANCE:FC_GUIDANCE + N_GUIDANCE]
    prev = work[FC_PREV_DIR:FC_PREV_DIR + 3]
    for i in range(3):
        prev[i] = x[F_CMD_DIR + i]
    for _ in range(len(MODES) if flying else 0):  # a mode, and the next in the same cycle
        result = fly_program(MODE_PROGRAM[mode], MODE_TARGET[mode], x, fp, meas, t, dt,
                             guidance)
        if mode == MODE_COAST_DESCENT and not math.isnan(result):
            need = result / full_thrust(fp)
        nxt = next_mode(fp, mode)
        if nxt == NONE or not transition_due(x, fp, mode, t, result):
            break
        enter_mode(x, fp, nxt, t, events, n_events)
        if not NEXT_SAME_CYCLE[mode]:
            break
        mode = nxt
    if fp[FP_TURN_RATE_MAX] > 0.0:  # the software's attitude-rate limit on the command
        x[F_TURN_HELD] = limit_turn(prev, x[F_CMD_DIR:F_CMD_DIR + 3], fp[FP_TURN_RATE_MAX] * dt)
    disarmed(x)
    _schedule(x, fp, t, dt, int(x[F_MODE]), need)
    account_propellant(x, fp)
