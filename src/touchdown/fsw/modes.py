"""The mode manager (compiled): the phases of a landing, the guidance program each flies, the
transitions between them and the conditions that trigger them, and the monitors that watch
for touchdown and for low estimates.

Inputs / Outputs
==========  ==============================================  ========  ================
name        layout                                          unit      rate
==========  ==============================================  ========  ================
fsw         ``FSW``: mode, mode_t, tgo, doi_dv (written);   SI        each cycle
            altitude, propellant estimates (read)
fsw_params  ``FSW_PARAMS``: doi_time, perilune_altitude,    SI        constant
            ignition_throttle, tgo_switch,
            approach_duration, terminal_altitude,
            propellant_reserve
meas        ``MEAS``: leg_contact                           -         each cycle
events      event log (appended)                            -         on transitions
==========  ==============================================  ========  ================

A scenario's ``guidance.phases`` lists the modes it flies, in order (M1's, the default:
orbit_coast to terminal_descent); each mode flies one program (``PROGRAM_*``, flown by
``fsw.guidance.fly_program``) and ends on its own condition, entering the next phase:

================  ========================  ==============================================
mode              program                   ends when
================  ========================  ==============================================
orbit_coast       retrograde                t >= doi_time (the next mode flies in the
                                            same cycle)
doi               doi_burn                  measured delta-v >= its target
descent_coast     ignition_search           the braking guidance needs ignition_throttle of
                                            full thrust (the next flies in the same cycle)
braking           polynomial (cubic tgo)    tgo < tgo_switch
approach          polynomial_countdown      tgo < tgo_switch (flying the onboard
                  (or the onboard           optimiser's profile: at its end)
                  optimiser's profile)
vertical_descent  rate_of_descent           altitude <= terminal_altitude
hover             hover                     the hover's duration has passed
terminal_descent  rate_of_descent           a contact probe touched, or the altitude
                                            estimate <= cutoff_altitude (when set)
free_fall         engines_off               (touchdown detected)
retro_coast       retrograde                below the retro's altimeter mark, once the
                                            retro's stopping distance (full thrust, the
                                            estimated mass) and one cycle's fall reach
                                            the height above its cut-off (the next mode
                                            flies in the same cycle)
retro             retro (full thrust        the altitude estimate <= the retro's cut-off, or
                  against the velocity)     the speed <= the vertical phases' profile at
                                            that height
touchdown         engines_off               -
================  ========================  ==============================================

From any mode a closed footpad switch enters touchdown. A transition logs the next mode's
entry event (``MODE_EVENT``; leaving the hover also logs ``hover_end``); a mode flown "in the
same cycle" as the one it follows gives its commands at once (DOI ignites at its time; braking
at the cycle its thrust is needed). A mode without a next phase runs until touchdown.
"""

import math

from touchdown._compile import kernel
from touchdown.core.engines import group_thrust
from touchdown.core.eventlog import log_event
from touchdown.core.layout import (
    EV_ALT_ZERO,
    EV_APPROACH,
    EV_BRAKING,
    EV_DOI_END,
    EV_DOI_START,
    EV_ENGINE_CUTOFF,
    EV_HOVER_END,
    EV_HOVER_START,
    EV_PROBE_CONTACT,
    EV_PROP_LOW,
    EV_RETARGET,
    EV_RETRO_START,
    EV_TD_DETECT,
    EV_TERMINAL,
    EV_VERTICAL,
    F_ABORT,
    F_ALT,
    F_ALT_ZERO_SEEN,
    F_CMD_LIT,
    F_DIVERT,
    F_DOI_DV,
    F_HDA,
    F_MODE,
    F_MODE_T,
    F_PROBE_SEEN,
    F_PROFILE,
    F_PROP,
    F_PROP_LOW_SEEN,
    F_RETARGET_SEEN,
    F_TGO,
    F_X,
    FP_APPR_T,
    FP_APPR_TGT,
    FP_BRAKE_TGT,
    FP_CUTOFF_ALT,
    FP_DOI_T,
    FP_DT,
    FP_HDA,
    FP_HOVER,
    FP_IGN_THROTTLE,
    FP_MAIN,
    FP_MODE_ENGINES,
    FP_NEXT_MODE,
    FP_PERILUNE,
    FP_RESERVE,
    FP_RETARGET,
    FP_RETRO,
    FP_TERMINAL_ALT,
    FP_TGO_MIN,
    FP_THRUSTERS,
    M_LEG,
    M_PROBE,
    MODE_APPROACH,
    MODE_BRAKING,
    MODE_COAST_DESCENT,
    MODE_COAST_ORBIT,
    MODE_DOI,
    MODE_HOVER,
    MODE_RETRO,
    MODE_RETRO_COAST,
    MODE_TERMINAL,
    MODE_TOUCHDOWN,
    MODE_VERTICAL,
    MODES,
    N_ENGINE_GROUP,
    NO_MODE,
    PROGRAM_DOI_BURN,
    PROGRAM_ENGINES_OFF,
    PROGRAM_HOVER,
    PROGRAM_IGNITION_SEARCH,
    PROGRAM_POLYNOMIAL,
    PROGRAM_POLYNOMIAL_COUNTDOWN,
    PROGRAM_RATE_OF_DESCENT,
    PROGRAM_RETRO,
    PROGRAM_RETROGRADE,
)
from touchdown.fsw.control import estimated_speed
from touchdown.fsw.guidance import descent_rate_command, retro_stopping_distance
from touchdown.moon.constants import GM, R_REF

NONE = NO_MODE  # no next mode, no target, no event
# per mode (indexed by MODE_*): the program it flies, the offset of its target state in
# FSW_PARAMS, whether the mode that follows it flies in the cycle it is entered, and the event
# logged on entering the mode. The mode that follows is the scenario's (``FP_NEXT_MODE``).
MODE_PROGRAM = (PROGRAM_RETROGRADE, PROGRAM_DOI_BURN, PROGRAM_IGNITION_SEARCH,
                PROGRAM_POLYNOMIAL, PROGRAM_POLYNOMIAL_COUNTDOWN, PROGRAM_RATE_OF_DESCENT,
                PROGRAM_RATE_OF_DESCENT, PROGRAM_ENGINES_OFF, PROGRAM_HOVER,
                PROGRAM_ENGINES_OFF, PROGRAM_RETROGRADE, PROGRAM_RETRO)
MODE_TARGET = (NONE, NONE, FP_BRAKE_TGT, FP_BRAKE_TGT, FP_APPR_TGT, NONE, NONE, NONE, NONE,
               NONE, NONE, NONE)
NEXT_SAME_CYCLE = (True, False, True, False, False, False, False, False, False, False, True,
                   False)
MODE_EVENT = (NONE, EV_DOI_START, EV_DOI_END, EV_BRAKING, EV_APPROACH, EV_VERTICAL, EV_TERMINAL,
              EV_TD_DETECT, EV_HOVER_START, EV_ENGINE_CUTOFF, NONE, EV_RETRO_START)
assert all(len(table) == len(MODES) for table in (MODE_PROGRAM, MODE_TARGET, NEXT_SAME_CYCLE,
                                                  MODE_EVENT))


@kernel
def next_mode(fp, mode):
    """The mode that follows ``mode`` in the scenario's phases (NONE after the last)."""
    return int(fp[FP_NEXT_MODE + mode])


@kernel
def full_thrust(fp):
    """Thrust (N) of every descent engine at once: main engine and all thrusters."""
    return (group_thrust(fp[FP_MAIN:FP_MAIN + N_ENGINE_GROUP], 1.0)
            + group_thrust(fp[FP_THRUSTERS:FP_THRUSTERS + N_ENGINE_GROUP], 1.0))


@kernel
def enter_mode(fsw, fp, mode, t, events, n_events):
    """Enter ``mode`` at t (s): its entry action, then its entry event with its value."""
    value = fsw[F_ALT]
    if mode == MODE_DOI:  # the burn's delta-v target: circular speed to the transfer's
        r = fsw[F_X:F_X + 3]
        rn = math.sqrt(r[0] ** 2 + r[1] ** 2 + r[2] ** 2)
        rp = R_REF + fp[FP_PERILUNE]
        fsw[F_TGO] = math.sqrt(GM / rn) * (1.0 - math.sqrt(2.0 * rp / (rn + rp)))
        fsw[F_DOI_DV] = 0.0
        value = fsw[F_TGO]
    elif mode == MODE_COAST_DESCENT:
        value = fsw[F_DOI_DV]
        fsw[F_TGO] = 0.0
    elif mode == MODE_APPROACH:  # a fixed duration, counted down
        fsw[F_TGO] = fp[FP_APPR_T]
    fsw[F_CMD_LIT] = fp[FP_MODE_ENGINES + mode]  # the engines the mode fires (0: all)
    if mode == MODE_HOVER and fp[FP_HDA] > 0.0:  # ask the hazard sensor for a map
        fsw[F_HDA] = 1.0
    if fsw[F_MODE] == MODE_HOVER and mode != MODE_HOVER:
        log_event(events, n_events, t, EV_HOVER_END,
                  math.sqrt(fsw[F_DIVERT] ** 2 + fsw[F_DIVERT + 1] ** 2))
    fsw[F_MODE] = mode
    fsw[F_MODE_T] = t
    if MODE_EVENT[mode] != NONE:  # (the coasts a flight starts in have no entry event)
        log_event(events, n_events, t, MODE_EVENT[mode], value)


@kernel
def transition_due(fsw, fp, mode, t, result):
    """True when ``mode`` has met the condition that ends it (see the module docstring).

    result: what the mode's program returned (the thrust needed, N, for ignition_search).
    """
    if mode == MODE_COAST_ORBIT:
        return t >= fp[FP_DOI_T]
    if mode == MODE_DOI:
        return not fsw[F_DOI_DV] < fsw[F_TGO]
    if mode == MODE_COAST_DESCENT:
        return not math.isnan(result) and result >= fp[FP_IGN_THROTTLE] * full_thrust(fp)
    if mode == MODE_APPROACH and fsw[F_PROFILE + 2] > 0.0:  # a profile flies to its end
        return fsw[F_TGO] <= 0.0
    if mode in (MODE_BRAKING, MODE_APPROACH):
        return fsw[F_TGO] < fp[FP_TGO_MIN]
    if mode == MODE_VERTICAL:
        return fsw[F_ALT] <= fp[FP_TERMINAL_ALT]
    if mode == MODE_HOVER:  # (held by the ground's abort until it resumes the landing)
        return fsw[F_ABORT] == 0.0 and t - fsw[F_MODE_T] >= fp[FP_HOVER + 1]
    if mode == MODE_RETRO_COAST:  # armed at the altimeter's mark, fired when it must be
        if fsw[F_ALT] > fp[FP_RETRO]:
            return False
        stop = retro_stopping_distance(fsw, fp)  # NaN (cannot stop): fire at once
        return not stop + estimated_speed(fsw) * fp[FP_DT] < fsw[F_ALT] - fp[FP_RETRO + 1]
    if mode == MODE_RETRO:  # at its cut-off height, or slowed to what the verniers take there
        return (fsw[F_ALT] <= fp[FP_RETRO + 1]
                or estimated_speed(fsw) <= -descent_rate_command(fp, fp[FP_RETRO + 1]))
    if mode == MODE_TERMINAL:  # engine cut-off: on a probe's contact or at a set height
        return fsw[F_PROBE_SEEN] > 0.0 or (fp[FP_CUTOFF_ALT] > 0.0
                                            and fsw[F_ALT] <= fp[FP_CUTOFF_ALT])
    return False


@kernel
def monitor(fsw, fp, meas, t, events, n_events):
    """Touchdown from any mode on a footpad switch; log (once) a contact probe's touch, the
    altitude estimate reaching zero below the approach and the propellant estimate reaching
    the reserve; move the approach's target (once, logged) when its time to go reaches the
    retarget's (``FP_RETARGET``; the aim of the phases after, fsw[F_DIVERT], with it).
    Returns the mode."""
    mode = int(fsw[F_MODE])
    if meas[M_LEG] > 0.5 and mode != MODE_TOUCHDOWN:
        enter_mode(fsw, fp, MODE_TOUCHDOWN, t, events, n_events)
        mode = MODE_TOUCHDOWN
    if meas[M_PROBE] > 0.5 and fsw[F_PROBE_SEEN] == 0.0:
        fsw[F_PROBE_SEEN] = 1.0
        log_event(events, n_events, t, EV_PROBE_CONTACT, fsw[F_ALT])
    if fsw[F_ALT] <= 0.0 and fsw[F_ALT_ZERO_SEEN] == 0.0 and mode >= MODE_APPROACH:
        fsw[F_ALT_ZERO_SEEN] = 1.0
        log_event(events, n_events, t, EV_ALT_ZERO, fsw[F_ALT])
    if fsw[F_PROP] <= fp[FP_RESERVE] and fsw[F_PROP_LOW_SEEN] == 0.0:
        fsw[F_PROP_LOW_SEEN] = 1.0
        log_event(events, n_events, t, EV_PROP_LOW, fsw[F_PROP])
    if (mode == MODE_APPROACH and fsw[F_RETARGET_SEEN] == 0.0
            and 0.0 < fsw[F_TGO] <= fp[FP_RETARGET]):
        fsw[F_RETARGET_SEEN] = 1.0
        fsw[F_DIVERT] += fp[FP_RETARGET + 1]
        fsw[F_DIVERT + 1] += fp[FP_RETARGET + 2]
        log_event(events, n_events, t, EV_RETARGET,
                  math.sqrt(fp[FP_RETARGET + 1] ** 2 + fp[FP_RETARGET + 2] ** 2))
    return mode
