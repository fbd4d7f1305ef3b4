"""Control (compiled): thrust acceleration -> thrust direction and engine commands.

Two engine groups (``core.engines``): the main engine and the pulsed descent thrusters. A
throttleable main engine (``throttle_min`` below 1: Apollo's descent engine, Chang'e 3's,
Chandrayaan-3's four) gives the thrust asked for through the throttle logic
(``throttle_command``: its minimum, its forbidden band, full thrust held until the command falls
low enough) in every powered phase; a fixed-thrust one (M1's 400 N engine, Luna 9's retro) is on
at full thrust in the phases that ask for it and off in the others, or, with
``main_engine_cycled``, fired in whole cycles in every powered phase so that its average is the
thrust asked for (a sigma-delta on the cycles: Beresheet's one 400 N engine). The thrusters, pulsed
together with an on-time quantised to ``pulse_resolution``, make up the rest (M1: above the main
engine in braking and approach, all of it in the vertical phases).
"""

import math

from touchdown._compile import kernel
from touchdown.core.engines import (
    G0,
    group_mass_flow,
    group_thrust,
    isp,
    lit_share,
    throttle_command,
)
from touchdown.core.layout import (
    EG_COUNT,
    EG_THROTTLE_MIN,
    EG_THRUST,
    F_CMD_DIR,
    F_CMD_DUTY,
    F_CMD_LIT,
    F_CMD_MAIN,
    F_HDOT,
    F_MAIN_OWED,
    F_PROP,
    F_SLEEP,
    F_THRUST_ERR,
    F_VH,
    FP_DRY,
    FP_DT,
    FP_MAIN,
    FP_MAIN_CYCLED,
    FP_PULSE,
    FP_THRUST_LEARN,
    FP_THRUSTERS,
    M_DV,
    N_ENGINE_GROUP,
)


@kernel
def estimated_mass(fsw, fp):
    """Dry mass plus the propellant estimate (kg)."""
    return fp[FP_DRY] + max(fsw[F_PROP], 0.0)


@kernel
def estimated_speed(fsw):
    """The estimated speed over the surface (m/s)."""
    return math.sqrt(fsw[F_HDOT] ** 2 + fsw[F_VH] ** 2)


@kernel
def pulsed_duty(fp, duty):
    """A thrusters' duty cycle rounded to a whole number of pulses in a cycle."""
    steps = fp[FP_DT] / fp[FP_PULSE]
    return round(duty * steps) / steps


@kernel
def throttleable(fp):
    """True when the main engine can be throttled (else it is on/off at full thrust)."""
    return fp[FP_MAIN + EG_THROTTLE_MIN] < 1.0


@kernel
def main_share(fsw, main):
    """The share of the main group's rated thrust its lit engines give (``F_CMD_LIT``), times
    their thrust over the model as the flight software knows it (1 until ``learn_thrust``
    learns otherwise)."""
    return lit_share(main, fsw[F_CMD_LIT]) * (1.0 + fsw[F_THRUST_ERR])


@kernel
def learn_thrust(fsw, fp, meas, dt):
    """Learn the main engines' thrust over their model from the IMU: over a cycle flown on the
    main engine alone at the throttle last commanded, the measured acceleration over the one
    the model gives moves the estimate with time constant ``thrust_learning_time``."""
    tau = fp[FP_THRUST_LEARN]
    if tau <= 0.0 or fsw[F_CMD_MAIN] <= 0.0 or fsw[F_CMD_DUTY] > 0.0 or fsw[F_SLEEP] > 0.0:
        return
    main = fp[FP_MAIN:FP_MAIN + N_ENGINE_GROUP]
    model = (lit_share(main, fsw[F_CMD_LIT]) * group_thrust(main, fsw[F_CMD_MAIN])
             / estimated_mass(fsw, fp))
    dv = meas[M_DV:M_DV + 3]
    seen = math.sqrt(dv[0] ** 2 + dv[1] ** 2 + dv[2] ** 2) / dt
    if model > 0.0 and seen > 0.0:
        fsw[F_THRUST_ERR] += (seen / model - 1.0 - fsw[F_THRUST_ERR]) * min(dt / tau, 1.0)


@kernel
def minimum_thrust(fsw, fp):
    """The least thrust acceleration (m/s^2) the engines give while flying the vertical phases:
    a throttleable main engine's minimum (it stays lit), else 0 (engines off)."""
    if not throttleable(fp):
        return 0.0
    main = fp[FP_MAIN:FP_MAIN + N_ENGINE_GROUP]
    share = main_share(fsw, main)
    return share * group_thrust(main, main[EG_THROTTLE_MIN]) / estimated_mass(fsw, fp)


@kernel
def command_thrust(fsw, fp, a_thrust_mci, main_on):
    """Point along a_thrust_mci (m/s^2) with engines giving |a| m; return the thrust (N).

    main_on: the phase flies the main engine (a fixed-thrust one at full thrust, a throttleable
    one at the throttle the logic gives, with the engines of the group that are lit,
    ``F_CMD_LIT``); a cycled one (``main_engine_cycled``) flies every phase that commands
    thrust here, cycle by cycle; the thrusters make up the rest.
    """
    a = math.sqrt(a_thrust_mci[0] ** 2 + a_thrust_mci[1] ** 2 + a_thrust_mci[2] ** 2)
    if a > 1e-9:
        for i in range(3):
            fsw[F_CMD_DIR + i] = a_thrust_mci[i] / a
    force = a * estimated_mass(fsw, fp)
    main = fp[FP_MAIN:FP_MAIN + N_ENGINE_GROUP]
    share = main_share(fsw, main)
    throttle = 0.0
    if fp[FP_MAIN_CYCLED] > 0.0 and not throttleable(fp):
        # cycled: full thrust in the cycles that bring what is owed back within half a cycle
        full = share * group_thrust(main, 1.0)
        f_main = min(force, full)  # on average; the thrusters make up the rest
        fsw[F_MAIN_OWED] += f_main / full
        if fsw[F_MAIN_OWED] >= 0.5:
            throttle = 1.0
            fsw[F_MAIN_OWED] -= 1.0
    else:
        if main_on:
            throttle = 1.0
            if throttleable(fp):
                throttle = throttle_command(main, force / (share * group_thrust(main, 1.0)),
                                            fsw[F_CMD_MAIN])
        f_main = group_thrust(main, throttle)
        if share != 1.0:
            f_main *= share
    f_thr = group_thrust(fp[FP_THRUSTERS:FP_THRUSTERS + N_ENGINE_GROUP], 1.0)
    duty = min(max((force - f_main) / f_thr, 0.0), 1.0) if f_thr > 0.0 else 0.0
    fsw[F_CMD_DUTY] = pulsed_duty(fp, duty)
    fsw[F_CMD_MAIN] = throttle
    return force


@kernel
def limit_turn(prev, cmd, max_angle):
    """Turn the unit direction ``cmd`` back toward ``prev`` so that it lies at most max_angle
    (rad) from it, in their common plane (in place; unchanged when already within). Returns how
    far it was held back (rad; 0 when within)."""
    c = prev[0] * cmd[0] + prev[1] * cmd[1] + prev[2] * cmd[2]
    if c >= math.cos(max_angle):
        return 0.0
    # the unit vector in the plane, perpendicular to prev, on cmd's side
    px, py, pz = cmd[0] - c * prev[0], cmd[1] - c * prev[1], cmd[2] - c * prev[2]
    n = math.sqrt(px * px + py * py + pz * pz)
    if n < 1e-12:  # exactly opposite: any perpendicular will do
        px, py, pz = (-prev[1], prev[0], 0.0) if abs(prev[2]) < 0.9 else (0.0, -prev[2], prev[1])
        n = math.sqrt(px * px + py * py + pz * pz)
    ca, sa = math.cos(max_angle), math.sin(max_angle)
    cmd[0] = ca * prev[0] + sa * px / n
    cmd[1] = ca * prev[1] + sa * py / n
    cmd[2] = ca * prev[2] + sa * pz / n
    return math.acos(max(-1.0, min(1.0, c))) - max_angle


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
    if fsw[F_CMD_MAIN] > 0.0:
        main = fp[FP_MAIN:FP_MAIN + N_ENGINE_GROUP]
        mdot += lit_share(main, fsw[F_CMD_LIT]) * group_mass_flow(main, fsw[F_CMD_MAIN])
    thr = fp[FP_THRUSTERS:FP_THRUSTERS + N_ENGINE_GROUP]  # pulsed: the rated Isp throughout
    mdot += fsw[F_CMD_DUTY] * thr[EG_COUNT] * thr[EG_THRUST] / (isp(thr, 1.0) * G0)
    fsw[F_PROP] -= mdot * (1.0 + fsw[F_SLEEP]) * fp[FP_DT]
