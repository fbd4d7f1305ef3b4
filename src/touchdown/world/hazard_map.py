"""A hazard-detection lidar or camera (compiled): a height map of the true terrain below the
lander, at a finite resolution and with noise, for ``fsw.hazard``.

Inputs / Outputs
==========  ==============================================  ========  ================
name        layout                                          unit      rate
==========  ==============================================  ========  ================
world       ``WORLD``: position, time (read)                 SI        once, at the
                                                                      hover point
terrain     elev, meta (the truth DEM)                       m         -
spacing     distance between the map's grid points           m         constant
sigma       height noise, 1-sigma per point                  m         constant
rng         the sensors' generator words (``world.noise``)  -         one draw a point
heights     n x n (written): heights (m above R_REF) of      m         -
            the grid centred below the lander, rows north
            to south, columns west to east
work        ``SCRATCH_HAZARD_MAP``                           -         -
==========  ==============================================  ========  ================

Returns the number of points without a height (off the terrain model: NaN there). The grid is
laid on the local tangent plane: a point ``e`` m east and ``n`` m north of the point below is
read at latitude lat + n / R and longitude lon + e / (R cos lat), R the radius of the point
below (ASSUMPTION: over a map a few hundred metres wide the curvature this neglects is
millimetres). Its resolution is the grid's spacing: what lies between grid points (a boulder
smaller than the spacing) is not seen, as with a real sensor's footprint.
"""

import math

from touchdown._compile import kernel
from touchdown.core.layout import (
    HM_LATLON,
    HM_R,
    LL_LAT,
    LL_LON,
    N_LATLON,
)
from touchdown.moon.constants import R_REF
from touchdown.moon.terrain import terrain_height
from touchdown.world.noise import normal
from touchdown.world.sensors import latlon_below


@kernel
def read_hazard_map(world, elev, meta, spacing, sigma, rng, heights, work):
    """Fill heights (n x n) with the noisy terrain heights of the grid below the lander (see
    the module docstring); return the count of points with no height. work:
    ``SCRATCH_HAZARD_MAP``."""
    r_mcmf, ll = work[HM_R:HM_R + 3], work[HM_LATLON:HM_LATLON + N_LATLON]
    latlon_below(world, r_mcmf, ll)
    lat, lon = ll[LL_LAT], ll[LL_LON]
    h0 = terrain_height(elev, meta, lat, lon)
    radius = R_REF + (0.0 if math.isnan(h0) else h0)  # the grid lies on the ground below
    from_centre = (heights.shape[0] - 1) / 2.0
    missing = 0
    for i in range(heights.shape[0]):
        for j in range(heights.shape[1]):
            north = (from_centre - i) * spacing
            east = (j - from_centre) * spacing
            h = terrain_height(elev, meta, lat + north / radius,
                               lon + east / (radius * math.cos(lat)))
            noise = sigma * normal(rng)  # drawn for every point, height or not
            heights[i, j] = h + noise
            if math.isnan(h):
                missing += 1
    return missing
