"""Flight-computer restarts (compiled): what survives a restart, how long the reboot takes, and
how the restart logic brings the engines back.

Inputs / Outputs
==========  ==============================================  ========  ================
name        layout                                          unit      rate
==========  ==============================================  ========  ================
fsw         ``FSW``: restart (read/written); the engine     SI        each cycle
            commands (written when engines stop)
fsw_params  ``FSW_PARAMS``: restart (protected, reboot      SI        constant
            time, time per relight attempt, attempts)
meas        ``MEAS``: imu_dv_body (the relight's proof)     m/s       each cycle
events      event log (appended)                            -         on changes
==========  ==============================================  ========  ================

``computer_restart`` is the trigger (a command, an executive overflow, a watchdog).
``executive`` keeps the computer's queue: in the powered phases each cycle's jobs need
``cpu_load`` of its time and hardware interrupts took ``M_CPU_STEAL`` (Apollo 11's rendezvous
radar); what does not fit waits, and past ``cpu_queue_s`` of waiting work the executive
overflows: a program alarm (Apollo's 1202) and a restart, which flushes the queue. The
estimate (navigation's state and covariance, the mode, the propellant count) is kept in memory
that survives the restart, in both cases:

- *protected* (Apollo's restart protection): guidance, navigation and the throttle run through
  it; the engines keep their last commands during the reboot, then the cycle goes on.
- *unprotected*: the computer comes up in a safe mode with the engines off; after the reboot
  the restart logic commands a relight and lets guidance fly for ``attempt`` seconds; if the
  IMU shows the thrust over the attempt (a mean acceleration of at least half what guidance
  last asked for: an engine fired in whole cycles is off in some of them) the engines are
  back (``engine_relit``), else they are stopped for ``gap`` seconds (at least a cycle) and the
  next attempt follows, up to ``attempts``; after the last the engines stay off.

``restart_gate`` runs at the start of each cycle and says whether guidance may fly it.
"""

import math

from touchdown._compile import kernel
from touchdown.core.eventlog import log_event
from touchdown.core.layout import (
    EV_PROGRAM_ALARM,
    EV_RELIGHT_ATTEMPT,
    EV_RELIT,
    EV_RESTART,
    F_CMD_DUTY,
    F_CMD_MAIN,
    F_CPU_BACKLOG,
    F_RELIGHT_DV,
    F_RESTART,
    F_THRUST_ACC,
    FP_CPU,
    FP_RESTART,
    M_CPU_STEAL,
    M_DV,
    MODE_APPROACH,
    MODE_BRAKING,
    MODE_HOVER,
    MODE_RETRO,
    MODE_TERMINAL,
    MODE_VERTICAL,
    RESTART_BOOTING,
    RESTART_RELIGHT,
    RESTART_RUNNING,
    RESTART_SAFE,
)

RELIT_SHARE = 0.5  # a relight is proven by at least this share of the acceleration asked for


@kernel
def computer_restart(fsw, fp, t, events, n_events):
    """The flight computer restarts at t (s): see the module docstring."""
    state = fsw[F_RESTART:F_RESTART + 4]
    state[3] += 1.0
    log_event(events, n_events, t, EV_RESTART, state[3])
    state[0] = RESTART_BOOTING
    state[1] = t + fp[FP_RESTART + 1]
    state[2] = 0.0
    if fp[FP_RESTART] <= 0.0:  # unprotected: the engines stop
        fsw[F_CMD_MAIN] = 0.0
        fsw[F_CMD_DUTY] = 0.0


@kernel
def restart_gate(fsw, fp, t, meas, events, n_events):
    """Whether guidance flies this cycle at t (s); moves the restart on.

    Returns False while the computer reboots (the engines hold their commands if protected,
    are off if not) and while an unprotected one waits with its engines off after its last
    attempt; True otherwise (in a relight attempt guidance flies and commands the engines).
    """
    state = fsw[F_RESTART:F_RESTART + 4]
    phase = state[0]
    if phase == RESTART_RUNNING:
        return True
    if phase == RESTART_RELIGHT:  # the IMU's measure of what the attempt gave
        dv = meas[M_DV:M_DV + 3]
        fsw[F_RELIGHT_DV] += math.sqrt(dv[0] ** 2 + dv[1] ** 2 + dv[2] ** 2)
    if t < state[1]:  # booting, or a relight attempt under way
        return phase == RESTART_RELIGHT
    if phase == RESTART_BOOTING:
        if fp[FP_RESTART] > 0.0:
            state[0] = RESTART_RUNNING
            return True
        state[0] = RESTART_SAFE
    elif phase == RESTART_RELIGHT:  # the attempt's time is up: did the engines light?
        asked = math.sqrt(fsw[F_THRUST_ACC] ** 2 + fsw[F_THRUST_ACC + 1] ** 2
                          + fsw[F_THRUST_ACC + 2] ** 2)
        seen = fsw[F_RELIGHT_DV] / fp[FP_RESTART + 2]  # the attempt's mean acceleration
        if asked > 0.0 and seen >= RELIT_SHARE * asked:
            state[0] = RESTART_RUNNING
            log_event(events, n_events, t, EV_RELIT, state[2])
            return True
        fsw[F_CMD_MAIN] = 0.0  # the engines off for the gap: the next attempt is a new start
        fsw[F_CMD_DUTY] = 0.0
        state[0] = RESTART_SAFE
        state[1] = t + fp[FP_RESTART + 4]
        return False
    if state[2] >= fp[FP_RESTART + 3]:  # no attempts left: the engines stay off
        return False
    state[2] += 1.0
    state[0] = RESTART_RELIGHT
    state[1] = t + fp[FP_RESTART + 2]
    fsw[F_RELIGHT_DV] = 0.0
    log_event(events, n_events, t, EV_RELIGHT_ATTEMPT, state[2])
    return True


@kernel
def executive(fsw, fp, meas, t, dt, mode, events, n_events):
    """Queue the cycle's work (see the module docstring) over dt (s) in ``mode``; on an
    overflow log the program alarm and restart the computer."""
    load = fp[FP_CPU]
    if load <= 0.0:
        return
    powered = mode in (MODE_BRAKING, MODE_APPROACH, MODE_HOVER, MODE_VERTICAL, MODE_TERMINAL,
                       MODE_RETRO)
    need = (load if powered else 0.0) + meas[M_CPU_STEAL]
    fsw[F_CPU_BACKLOG] = max(fsw[F_CPU_BACKLOG] + (need - 1.0) * dt, 0.0)
    if fsw[F_CPU_BACKLOG] > fp[FP_CPU + 1]:
        log_event(events, n_events, t, EV_PROGRAM_ALARM, fsw[F_CPU_BACKLOG])
        fsw[F_CPU_BACKLOG] = 0.0
        computer_restart(fsw, fp, t, events, n_events)
