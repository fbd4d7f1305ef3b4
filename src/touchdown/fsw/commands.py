"""The uplinked commands (compiled): commands from the ground, executed by the flight software
at the start of the first cycle at or after their arrival (sent + one-way light time).

Inputs / Outputs
==========  ==============================================  ========  ================
name        layout                                          unit      rate
==========  ==============================================  ========  ================
fsw         ``FSW``: command_next, telecommands (read/      -         each cycle
            written); what a command changes
fsw_params  ``FSW_PARAMS``: n_commands, commands            s, -      constant
            (``UPLINK`` rows, in arrival order)
events      event log (appended: command_received, then     -         per command
            command_executed or command_rejected, and
            what the command logs)
==========  ==============================================  ========  ================

Commands (``COMMANDS``; the command dictionary, ``telemetry/dictionary.toml``, describes each,
its arguments and the telemetry that verifies it):

- ``computer_reset`` restarts the flight computer (``fsw.restart``);
- ``imu_reset`` (the unit, 0 A or 1 B) resets an IMU unit, which redundancy management then
  re-admits once it reports, and, in a flight software with Beresheet's flaw
  (``FP_IMU_RESET_RESTARTS``), also restarts the flight computer; ``imu_enable`` and
  ``imu_disable`` (the unit) let redundancy management use it or not;
- ``engine_arm`` and ``engine_disarm``: a disarmed lander fires no descent engine, whatever
  guidance and the restart logic ask (``disarmed``, applied at the end of the cycle);
- ``lrf_enable`` and ``lrf_disable``: navigation uses the range finder's readings or not;
  ``lrf_reset`` re-admits a range finder declared faulty (it is acquired afresh);
  ``lrf_policy`` (``POLICIES``) sets the policy navigation judges its readings by;
- ``mode_override`` (``MODES``) enters that mode now, if the scenario flies it;
- ``telemetry_rate`` (a packet by its place in the telemetry dictionary, a period in s) sets
  how often the telemetry task sends that packet (``F_TM_PERIOD``, read by
  ``telemetry.onboard``);
- ``abort`` stops the descent: the lander holds the altitude it has, in the hover program
  on the engines it flies on (``F_ABORT``), until a ``mode_override`` resumes the landing;
  refused outside powered descent or without a throttleable main engine;
- ``time_sync`` (s) moves the onboard clock by that much (``F_CLOCK``: the telemetry's time
  stamps are mission time plus it).

A command the flight software cannot carry out in its state (a unit not aboard, a mode the
scenario does not fly, a range finder it does not have) is refused: ``command_rejected`` and
the reason ``TC_STATE``. A row whose code is negative is a command the lander's receiver
refused before it reached the flight software (``telemetry.uplink``: a damaged packet, an
unknown command, an argument out of range): -code is the reason, the argument its code. The
counters and the last code and rejection (``F_TC``) go down in the ``commanding`` packet.
"""

from touchdown._compile import kernel
from touchdown.core.eventlog import log_event
from touchdown.core.layout import (
    COMMAND_ABORT,
    COMMAND_COMPUTER_RESET,
    COMMAND_ENGINE_ARM,
    COMMAND_ENGINE_DISARM,
    COMMAND_IMU_DISABLE,
    COMMAND_IMU_ENABLE,
    COMMAND_IMU_RESET,
    COMMAND_LRF_DISABLE,
    COMMAND_LRF_ENABLE,
    COMMAND_LRF_POLICY,
    COMMAND_LRF_RESET,
    COMMAND_MODE_OVERRIDE,
    COMMAND_TELEMETRY_RATE,
    COMMAND_TIME_SYNC,
    EV_COMMAND,
    EV_COMMAND_DONE,
    EV_COMMAND_REJECTED,
    F_ABORT,
    F_ALT,
    F_CLOCK,
    F_CMD_LIT,
    F_CMD_NEXT,
    F_DISARMED,
    F_IMU_OFF,
    F_LRF_NACC,
    F_LRF_NREJ,
    F_LRF_OFF,
    F_LRF_STATE,
    F_LRF_WIDENED,
    F_MODE,
    F_POLICY_SET,
    F_TC,
    F_TM_PERIOD,
    FP_COMMANDS,
    FP_IMU_RESET_RESTARTS,
    FP_IMU_UNITS,
    FP_LRF_MAX,
    FP_N_COMMANDS,
    LRF_WAITING,
    MAX_COMMANDS,
    MODE_APPROACH,
    MODE_BRAKING,
    MODE_HOVER,
    MODE_TERMINAL,
    MODE_VERTICAL,
    MODES,
    N_TM_PERIODS,
    N_UPLINK,
    TC_OK,
    TC_STATE,
    UC_ARG,
    UC_ARRIVAL,
    UC_CODE,
)
from touchdown.fsw.control import engines_off, throttleable
from touchdown.fsw.modes import NONE, enter_mode, next_mode
from touchdown.fsw.restart import computer_restart

N_TIMELINE = MAX_COMMANDS * N_UPLINK  # words of the timeline


@kernel
def flies(fp, mode):
    """Whether the scenario's phases include ``mode``."""
    if next_mode(fp, mode) != NONE:
        return True
    for m in range(len(MODES)):  # noqa: SIM110 (a compiled loop, no generator)
        if next_mode(fp, m) == mode:
            return True
    return False


@kernel
def execute(fsw, fp, t, code, arg, arg2, events, n_events):
    """Carry out one command (its arguments' raw values arg, arg2); returns False when the
    flight software cannot in its state."""
    if code == COMMAND_COMPUTER_RESET:
        computer_restart(fsw, fp, t, events, n_events)
    elif code in (COMMAND_IMU_RESET, COMMAND_IMU_ENABLE, COMMAND_IMU_DISABLE):
        unit = int(arg)
        if unit >= fp[FP_IMU_UNITS]:
            return False
        bit = 1 << unit
        off = int(fsw[F_IMU_OFF])
        if code == COMMAND_IMU_ENABLE:
            fsw[F_IMU_OFF] = off & ~bit
        elif code == COMMAND_IMU_DISABLE:
            fsw[F_IMU_OFF] = off | bit
        elif fp[FP_IMU_RESET_RESTARTS] > 0.0:
            computer_restart(fsw, fp, t, events, n_events)
    elif code in (COMMAND_ENGINE_ARM, COMMAND_ENGINE_DISARM):
        fsw[F_DISARMED] = 1.0 if code == COMMAND_ENGINE_DISARM else 0.0
    elif code in (COMMAND_LRF_ENABLE, COMMAND_LRF_DISABLE, COMMAND_LRF_RESET,
                  COMMAND_LRF_POLICY):
        if fp[FP_LRF_MAX] <= 0.0:
            return False  # no range finder aboard
        if code == COMMAND_LRF_RESET:
            fsw[F_LRF_STATE] = LRF_WAITING
            fsw[F_LRF_NACC] = 0.0
            fsw[F_LRF_NREJ] = 0.0
            fsw[F_LRF_WIDENED] = 0.0
        elif code == COMMAND_LRF_POLICY:
            fsw[F_POLICY_SET] = arg + 1.0
        else:
            fsw[F_LRF_OFF] = 1.0 if code == COMMAND_LRF_DISABLE else 0.0
    elif code == COMMAND_TELEMETRY_RATE:
        if int(arg) >= N_TM_PERIODS:
            return False
        fsw[F_TM_PERIOD + int(arg)] = arg2
    elif code == COMMAND_TIME_SYNC:
        fsw[F_CLOCK] += arg
    elif code == COMMAND_ABORT:
        mode = int(fsw[F_MODE])
        if not throttleable(fp) or mode not in (MODE_BRAKING, MODE_APPROACH, MODE_HOVER,
                                                MODE_VERTICAL, MODE_TERMINAL):
            return False  # a hold needs a throttle, and a descent to stop
        fsw[F_ABORT] = 1.0
        fsw[F_ABORT + 1] = fsw[F_ALT]
        if mode != MODE_HOVER:
            lit = fsw[F_CMD_LIT]  # it holds on the engines it flies on
            enter_mode(fsw, fp, MODE_HOVER, t, events, n_events)
            fsw[F_CMD_LIT] = lit
    elif code == COMMAND_MODE_OVERRIDE:
        mode = int(arg)
        if not flies(fp, mode) or mode == int(fsw[F_MODE]):
            return False
        fsw[F_ABORT] = 0.0  # the ground resumes the landing where it says
        enter_mode(fsw, fp, mode, t, events, n_events)
    return True


@kernel
def execute_commands(fsw, fp, t, events, n_events):
    """Execute, in order, every command of the timeline that has arrived by t (s)."""
    k = int(fsw[F_CMD_NEXT])
    if k >= fp[FP_N_COMMANDS]:  # none left (most cycles): no view (a reshape costs a call)
        return
    timeline = fp[FP_COMMANDS:FP_COMMANDS + N_TIMELINE].reshape(MAX_COMMANDS, N_UPLINK)
    while k < fp[FP_N_COMMANDS] and timeline[k, UC_ARRIVAL] <= t:
        code = int(timeline[k, UC_CODE])
        if code < 0:  # refused by the receiver (-reason), its code in the argument (-1: none)
            fsw[F_TC + 1] += 1.0
            fsw[F_TC + 3] = -code
            if timeline[k, UC_ARG] >= 0.0:
                fsw[F_TC + 2] = timeline[k, UC_ARG]
            log_event(events, n_events, t, EV_COMMAND_REJECTED, timeline[k, UC_ARG])
            k += 1
            continue
        log_event(events, n_events, t, EV_COMMAND, code)
        fsw[F_TC + 2] = code
        if execute(fsw, fp, t, code, timeline[k, UC_ARG], timeline[k, UC_ARG + 1], events,
                   n_events):
            fsw[F_TC] += 1.0
            fsw[F_TC + 3] = TC_OK
            log_event(events, n_events, t, EV_COMMAND_DONE, code)
        else:
            fsw[F_TC + 1] += 1.0
            fsw[F_TC + 3] = TC_STATE
            log_event(events, n_events, t, EV_COMMAND_REJECTED, code)
        k += 1
    fsw[F_CMD_NEXT] = k


@kernel
def disarmed(fsw):
    """Hold every descent engine off while the ground has them disarmed."""
    if fsw[F_DISARMED] > 0.0:
        engines_off(fsw)
