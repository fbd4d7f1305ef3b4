"""Control (compiled): thrust acceleration -> thrust direction and engine commands.

The 400 N main engine is on/off; the 200 N descent thrusters are pulsed together with an
on-time quantised to ``pulse_resolution``. Their duty cycle makes up the thrust asked for
above what the main engine gives (braking, approach) or all of it (vertical phases, main off).
"""

import math

from touchdown._compile import kernel
from touchdown.core.engines import G0
from touchdown.core.layout import (
    F_CMD_DIR,
    F_CMD_DUTY,
    F_CMD_MAIN,
    F_PROP,
    F_SLEEP,
    FP_DRY,
    FP_DT,
    FP_MAIN_F,
    FP_MAIN_ISP,
    FP_PULSE,
    FP_THR_F,
    FP_THR_ISP,
    FP_THR_N,
)


@kernel
def estimated_mass(fsw, fp):
    """Dry mass plus the propellant estimate (kg)."""
    return fp[FP_DRY] + max(fsw[F_PROP], 0.0)


@kernel
def command_thrust(fsw, fp, a_thrust_mci, main_on):
    """Point along a_thrust_mci (m/s^2) with engines giving |a| m; return the thrust (N)."""
    a = math.sqrt(a_thrust_mci[0] ** 2 + a_thrust_mci[1] ** 2 + a_thrust_mci[2] ** 2)
    if a > 1e-9:
        for i in range(3):
            fsw[F_CMD_DIR + i] = a_thrust_mci[i] / a
    force = a * estimated_mass(fsw, fp)
    f_main = fp[FP_MAIN_F] if main_on else 0.0
    f_thr = fp[FP_THR_N] * fp[FP_THR_F]
    duty = min(max((force - f_main) / f_thr, 0.0), 1.0)
    steps = fp[FP_DT] / fp[FP_PULSE]
    fsw[F_CMD_DUTY] = round(duty * steps) / steps
    fsw[F_CMD_MAIN] = 1.0 if main_on else 0.0
    return force


@kernel
def engines_off(fsw):
    """Stop all descent engines (the attitude command is kept)."""
    fsw[F_CMD_MAIN] = 0.0
    fsw[F_CMD_DUTY] = 0.0


@kernel
def account_propellant(fsw, fp):
    """Subtract the nominal flow of this cycle's commands, held until the next cycle, from the
    propellant estimate (kg)."""
    mdot = 0.0
    if fsw[F_CMD_MAIN] > 0.5:
        mdot += fp[FP_MAIN_F] / (fp[FP_MAIN_ISP] * G0)
    mdot += fsw[F_CMD_DUTY] * fp[FP_THR_N] * fp[FP_THR_F] / (fp[FP_THR_ISP] * G0)
    fsw[F_PROP] -= mdot * (1.0 + fsw[F_SLEEP]) * fp[FP_DT]
