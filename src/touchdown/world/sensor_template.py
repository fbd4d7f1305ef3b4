"""A sensor, as a template (compiled): a nadir radar altimeter. Copy this module to start a new
sensor; ``tests/world/test_sensor_template.py`` is the test to copy with it.

Inputs / Outputs
==========  ==============================================  ========  ================
name        layout                                          unit      rate
==========  ==============================================  ========  ================
world       ``WORLD``: position, time, the Moon's turn       SI        each reading
            (read)
terrain     elev, meta (the truth DEM, ``Dem``)              m         each reading
sigma       the noise's 1-sigma                              m         constant
max_range   no reading above it                              m         constant
rng         the sensors' generator words (``world.noise``)  -         one draw a call
work        ``SCRATCH_ALTIMETER``                            -         each reading
==========  ==============================================  ========  ================

Returns the reading: the true height of the lander above the terrain straight below it (along
the local vertical, not along the body axis: a radar altimeter's wide beam sees the nearest
ground), plus noise; NaN above ``max_range`` or where the terrain model has no height.

A sensor model keeps truth and measurement side by side and applies its errors in the order
bias -> scale -> noise -> limits (``world.sensors``). It draws its random numbers on every call,
reading or not, so that the flight with or without a reading (a fault, a dropout) draws the
same numbers everywhere else.

To make a real sensor of it:

1. Copy this module into ``world/`` (or add the kernel to ``world/sensors.py``) and name it for
   what it measures.
2. Declare its reading in ``core.layout.MEAS`` (``M_*``: unit and meaning), its scratch words
   as a layout of their own (like ``SCRATCH_ALTIMETER``) and any truth it keeps in ``WORLD``.
3. Declare its scenario parameters once, in ``touchdown/parameters.py`` (TOML key, unit
   conversion, bounds and the ``WORLD_PARAMS`` slot each fills); read them here from ``wp``
   instead of the arguments ``sigma`` and ``max_range``.
4. Call it from ``sim.step._sense`` at its rate (a ``C_*_EVERY`` in ``CLOCK``, like the range
   finder's), with the world's scratch area.
5. Give the flight software what it needs to use the reading (``fsw/navigation.py``), never the
   truth.
6. Test it as ``tests/world/test_sensor_template.py`` does: against the truth computed by hand
   on a terrain whose answer is known, its noise's statistics, its limits.
"""

import math

from touchdown._compile import kernel
from touchdown.core.layout import (
    AM_LATLON,
    AM_R,
    LL_LAT,
    LL_LON,
    LL_RADIUS,
    N_LATLON,
)
from touchdown.moon.constants import R_REF
from touchdown.moon.terrain import terrain_height
from touchdown.world.noise import normal
from touchdown.world.sensors import latlon_below


@kernel
def read_altimeter(world, elev, meta, sigma, max_range, rng, work):
    """One reading (m) of the height above the terrain below, or NaN (see the module docstring).
    work: ``SCRATCH_ALTIMETER``."""
    r_mcmf, ll = work[AM_R:AM_R + 3], work[AM_LATLON:AM_LATLON + N_LATLON]
    latlon_below(world, r_mcmf, ll)
    noise = sigma * normal(rng)  # drawn for every call (see the module docstring)
    height = ll[LL_RADIUS] - R_REF - terrain_height(elev, meta, ll[LL_LAT], ll[LL_LON])
    if math.isnan(height) or height > max_range:
        return math.nan
    return height + noise
