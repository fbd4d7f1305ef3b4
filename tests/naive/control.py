"""Control, textbook style: thrust direction, force, duty cycle of the pulsed thrusters, and
the propellant flow of the commands (F / (Isp g0) per engine)."""

import numpy as np

from touchdown.core.engines import G0


def thrust_command(a, mass, main_on, main_force, thruster_force, thruster_count):
    """Unit thrust direction, force |a| m (N) and the duty (0..1, not yet quantised) the
    thrusters must add to the main engine (when on): clip((m |a| - F_main) / (n F_thr), 0, 1)."""
    a = np.asarray(a, float)
    an = float(np.linalg.norm(a))
    force = an * mass
    f_main = main_force if main_on else 0.0
    duty = min(max((force - f_main) / (thruster_count * thruster_force), 0.0), 1.0)
    return a / an, force, duty


def quantise(duty, cycle, pulse):
    """Nearest duty whose on-time duty * cycle is a whole number of pulses."""
    return round(duty * cycle / pulse) * pulse / cycle


def propellant_used(main_on, duty, main_force, main_isp, thruster_force, thruster_count,
                    thruster_isp, cycle, sleep_cycles):
    """kg flowed over the (1 + sleep) cycles the commands are held: F / (Isp g0) each."""
    mdot = main_force / (main_isp * G0) if main_on else 0.0
    mdot += duty * thruster_count * thruster_force / (thruster_isp * G0)
    return mdot * (1 + sleep_cycles) * cycle
