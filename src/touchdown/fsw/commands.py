"""The uplinked command timeline (compiled): commands from the ground, executed by the flight
software at the start of the first cycle at or after their arrival (sent + one-way light time).

Inputs / Outputs
==========  ==============================================  ========  ================
name        layout                                          unit      rate
==========  ==============================================  ========  ================
fsw         ``FSW``: command_next (read/written); what a    -         each cycle
            command changes
fsw_params  ``FSW_PARAMS``: n_commands, commands            s, -      constant
            (``UPLINK`` rows, in arrival order)
events      event log (appended: command_received, and      -         per command
            what the command logs)
==========  ==============================================  ========  ================

Commands (``COMMANDS``): ``computer_reset`` restarts the flight computer (``fsw.restart``);
``imu_reset`` (argument: the unit, 0 for A, 1 for B) resets an IMU unit, which redundancy
management then re-admits once it reports, and, in a flight software with Beresheet's flaw
(``FP_IMU_RESET_RESTARTS``), also restarts the flight computer.
"""

from touchdown._compile import kernel
from touchdown.core.eventlog import log_event
from touchdown.core.layout import (
    COMMAND_COMPUTER_RESET,
    COMMAND_IMU_RESET,
    EV_COMMAND,
    F_CMD_NEXT,
    FP_COMMANDS,
    FP_IMU_RESET_RESTARTS,
    FP_N_COMMANDS,
    MAX_COMMANDS,
    N_UPLINK,
    UC_ARRIVAL,
    UC_CODE,
)
from touchdown.fsw.restart import computer_restart

N_TIMELINE = MAX_COMMANDS * N_UPLINK  # words of the timeline


@kernel
def execute_commands(fsw, fp, t, events, n_events):
    """Execute, in order, every command of the timeline that has arrived by t (s)."""
    timeline = fp[FP_COMMANDS:FP_COMMANDS + N_TIMELINE].reshape(MAX_COMMANDS, N_UPLINK)
    k = int(fsw[F_CMD_NEXT])
    while k < fp[FP_N_COMMANDS] and timeline[k, UC_ARRIVAL] <= t:
        code = int(timeline[k, UC_CODE])
        log_event(events, n_events, t, EV_COMMAND, code)
        if code == COMMAND_COMPUTER_RESET or (code == COMMAND_IMU_RESET
                                               and fp[FP_IMU_RESET_RESTARTS] > 0.0):
            computer_restart(fsw, fp, t, events, n_events)
        k += 1
    fsw[F_CMD_NEXT] = k
