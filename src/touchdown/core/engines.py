"""Engine groups (compiled): throttle limits, the throttle logic, specific impulse and mass flow.

A group (``core.layout.ENGINE_GROUP``) is ``count`` identical engines fired together along one
body direction, either throttled (a fraction of rated thrust between ``throttle_min`` and 1)
or pulsed (on/off at full thrust, a duty cycle: M1's thrusters). The world and the flight
software share these rules, each with its own copy of a group's numbers (the real engines'
and the nominal ones), so they live in ``core``.

Inputs / Outputs
==========  ==============================================  ========  ================
name        layout                                          unit      rate
==========  ==============================================  ========  ================
group       ``ENGINE_GROUP`` (read)                         SI        constant
throttle    fraction of one engine's rated thrust           -         each command
==========  ==============================================  ========  ================

- ``engine_throttle``: what an engine gives for a command: nothing at or below zero, else the
  command held within [throttle_min, 1] (hardware: a throttled engine cannot run below its
  minimum; the forbidden band is the flight software's rule, not the valve's).
- ``throttle_command``: the flight software's throttle logic for a throttle the guidance wants,
  after Apollo's descent engine (missions.md: throttleable between ~10 % and ~60 % of rated
  thrust or above ~92 %; full thrust until the guidance command falls below ~57 %): from full
  thrust, stay at full until the wanted throttle falls below ``full_until``; otherwise a wanted
  throttle inside the forbidden band is held at the band's lower edge; above the band it is
  given as wanted (up to 1); never below ``throttle_min``. Without a band (lower = upper) it is
  the wanted throttle within [throttle_min, 1].
- ``isp``: specific impulse linear in throttle between (throttle_min, isp_min) and (1, isp_full)
  (Apollo's DPS: 285 s at 10 %, 311 s at full; ASSUMPTION: linear between the two published
  points).
- ``group_thrust`` and ``group_mass_flow``: the whole group's thrust along body +z (N: its
  engines' thrust times the cosine of their cant) and propellant flow (kg/s) at a throttle.

Every group fires along body +z: its engines are parallel to it or canted symmetrically about
it (``cos_cant``), so their side forces cancel. ``touchdown.parameters.engine_group`` builds a
group's words.
"""

from touchdown._compile import kernel
from touchdown.core.layout import (
    EG_BAND,
    EG_COS_CANT,
    EG_COUNT,
    EG_FULL_BELOW,
    EG_ISP,
    EG_THROTTLE_MIN,
    EG_THRUST,
)

G0 = 9.80665  # m/s^2, standard gravity (for specific impulse)


@kernel
def engine_throttle(group, command):
    """The throttle an engine runs at for ``command`` (0 at or below zero)."""
    if command <= 0.0:
        return 0.0
    return min(max(command, group[EG_THROTTLE_MIN]), 1.0)


@kernel
def throttle_command(group, wanted, current):
    """The throttle the flight software commands when guidance wants ``wanted`` and the engine
    runs at ``current`` (see the module docstring)."""
    lo, hi = group[EG_BAND], group[EG_BAND + 1]
    t_min = group[EG_THROTTLE_MIN]
    w = min(max(wanted, t_min), 1.0)
    if hi <= lo:  # no forbidden band
        return w
    if current >= hi and wanted >= group[EG_FULL_BELOW]:
        return 1.0  # at full thrust: stay there until the command falls low enough
    if current >= hi:  # leaving full thrust for the lower range
        return min(w, lo)
    if lo < w < hi:
        return lo
    return w


@kernel
def isp(group, throttle):
    """Specific impulse (s) at ``throttle`` (within [throttle_min, 1])."""
    full, low = group[EG_ISP], group[EG_ISP + 1]
    t_min = group[EG_THROTTLE_MIN]
    if throttle >= 1.0 or t_min >= 1.0:  # exactly the rated Isp at full thrust
        return full
    return low + (full - low) * (throttle - t_min) / (1.0 - t_min)


@kernel(inline=True)
def group_thrust(group, throttle):
    """Thrust (N) of the whole group along body +z with each engine at ``throttle``."""
    return group[EG_COUNT] * group[EG_THRUST] * throttle * group[EG_COS_CANT]


@kernel
def lit_share(group, lit):
    """The share of the group's engines that fire when ``lit`` of them do (0: all)."""
    if lit <= 0.0 or lit >= group[EG_COUNT]:
        return 1.0
    return lit / group[EG_COUNT]


@kernel
def group_mass_flow(group, throttle):
    """Propellant flow (kg/s) of the whole group with each engine at ``throttle`` (0 when off)."""
    if throttle <= 0.0:
        return 0.0
    return group[EG_COUNT] * group[EG_THRUST] * throttle / (isp(group, throttle) * G0)

