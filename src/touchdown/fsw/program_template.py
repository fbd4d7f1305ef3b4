"""A guidance program, as a template (compiled): a gravity turn. Copy this module to start a new
guidance program; ``tests/fsw/test_program_template.py`` is the test to copy with it.

Inputs / Outputs
==========  ==============================================  ========  ================
name        layout                                          unit      rate
==========  ==============================================  ========  ================
fsw         ``FSW``: the navigation estimate and the         SI        each cycle
            propellant estimate (read); ``thrust_acc_mci``
            (written)
fsw_params  ``FSW_PARAMS``: dry mass, engines' thrust        SI        constant
throttle    fraction of full thrust to fly                   -         each cycle
==========  ==============================================  ========  ================

Returns the thrust (N) it asks for. A gravity turn (Surveyor's and Luna 9's main retro burn)
thrusts against the velocity over the surface, v - omega x r: the thrust kills speed along the
flight path while gravity turns the path toward the vertical, so the lander arrives over the
ground descending vertically when the burn is timed right. At (almost) no speed over the surface
it thrusts straight up, against gravity.

A guidance program reads the flight software's estimate only (``FSW``, ``FSW_PARAMS`` and the
cycle's measurements), never the world; it writes the thrust acceleration it wants into
``fsw[F_THRUST_ACC]`` and leaves the engine commands to ``fsw.control`` (``command_thrust``),
called by ``fsw.guidance.fly_program``.

To make a real program of it:

1. Copy this module into ``fsw/`` (or add the kernel to ``fsw/guidance.py``) and name it for
   what it flies.
2. Give it a code: ``PROGRAM_*`` and its name in ``core.layout.PROGRAMS``.
3. Declare its parameters once, in ``touchdown/parameters.py`` (TOML key, unit conversion,
   bounds, ``FSW_PARAMS`` slot), and read them from ``fp`` (here the throttle is an argument).
   Scratch words, if it needs any, are a layout of their own in ``core.layout`` (like
   ``GUIDANCE``), handed in as ``work``.
4. Dispatch it in ``fsw.guidance.fly_program``, and fly it in a mode: ``fsw.modes.MODE_PROGRAM``
   (with the mode's target, its transition in ``transition_due``, its entry action in
   ``enter_mode``).
5. Test it as ``tests/fsw/test_program_template.py`` does: against a slow, obvious reference
   in Python (``tests/naive/``), then flown by a point mass to show it meets its purpose.
"""

import math

from touchdown._compile import kernel
from touchdown.core.layout import F_THRUST_ACC, F_X
from touchdown.fsw.control import estimated_mass
from touchdown.fsw.modes import full_thrust
from touchdown.moon.frames import surface_velocity

STILL = 1e-3  # m/s: below this speed over the surface there is no flight path to turn


@kernel
def gravity_turn(fsw, fp, throttle):
    """Thrust ``throttle`` of full thrust against the velocity over the surface (straight up
    when still); the thrust acceleration (m/s^2, inertial) into fsw[F_THRUST_ACC]. Returns the
    thrust (N)."""
    r, v = fsw[F_X:F_X + 3], fsw[F_X + 3:F_X + 6]
    u0, u1, u2 = surface_velocity(r, v)
    speed = math.sqrt(u0 * u0 + u1 * u1 + u2 * u2)
    if speed < STILL:  # straight up
        rn = math.sqrt(r[0] ** 2 + r[1] ** 2 + r[2] ** 2)
        u0, u1, u2, speed = -r[0], -r[1], -r[2], rn
    force = throttle * full_thrust(fp)
    a = force / estimated_mass(fsw, fp)
    fsw[F_THRUST_ACC] = -a * u0 / speed
    fsw[F_THRUST_ACC + 1] = -a * u1 / speed
    fsw[F_THRUST_ACC + 2] = -a * u2 / speed
    return force
