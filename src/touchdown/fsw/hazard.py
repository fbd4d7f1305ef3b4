"""Hazard detection and avoidance (compiled): from a height map of the ground below, the slope and
roughness of every landing spot, and the spot to divert to.

Inputs / Outputs
==========  ==============================================  ========  ================
name        layout                                          unit      rate
==========  ==============================================  ========  ================
heights     n x n heights of the ground below, rows north   m         once, at the
            to south, columns west to east, the centre                 hover point
            cell below the aimed point (a lidar's or a
            camera's map: the sensor's own noise in it)
spacing     distance between grid points                    m         -
footprint   half-width of the lander's footprint, in cells  -         constant
limits      slope (rad), roughness (m), reach (m)           -         constant
slope,      n x n (written): each spot's slope and           rad, m    -
roughness   roughness; NaN where the footprint leaves the
            map
==========  ==============================================  ========  ================

A spot is the square of (2 footprint + 1)^2 grid points centred on a grid point. Its plane is
the least-squares fit h = c + a x + b y over the square (on a square grid centred on the spot
the normal equations decouple: a = sum(x h) / sum(x^2), likewise b, c the mean); its slope is
atan(|(a, b)|) and its roughness the largest |residual| (a boulder or a hole a leg would meet).

The rule (``safest_spot``): a spot is safe when its slope and roughness are within their limits
and it lies within ``reach`` of the centre; among the safe spots the one nearest the centre
(the aimed point) is chosen, a tie going to the smaller slope, then to the first in row order.
No safe spot: (-1, -1), and the caller keeps its aim.

``select_site`` is the flight software's use of it at the hover: from the map the sensor read
(``MEAS``: hazard_map) it aims the final phases (``FSW``: divert, in the guidance frame) at the
chosen spot and logs ``site_selected`` with the distance to it.
"""

import math

from touchdown._compile import kernel
from touchdown.core.eventlog import log_event
from touchdown.core.layout import (
    EV_SITE_SELECTED,
    F_DIVERT,
    F_HDA,
    FP_AZ,
    FP_HDA,
    FP_HDA_SPACING,
    G_FRAME,
    G_G,
    G_R,
    G_V,
    GUIDANCE,
    GUIDANCE_FRAME,
    HAZARD_N,
    HS_GUIDANCE,
    HS_ROUGH,
    HS_SLOPE,
    M_HAZARD,
)
from touchdown.fsw.guidance import to_guidance

N_GUIDANCE, N_FRAME = GUIDANCE.size, GUIDANCE_FRAME.size  # scratch words of to_guidance


@kernel
def spot_maps(heights, spacing, footprint, slope, roughness):
    """Slope (rad) and roughness (m) of every spot (NaN where the footprint leaves the map)."""
    n = heights.shape[0]
    k = footprint
    s2 = 0.0  # sum of x^2 over the square (the same for y)
    for d in range(-k, k + 1):
        s2 += (2 * k + 1) * (d * spacing) ** 2
    count = (2 * k + 1) ** 2
    for i in range(n):
        for j in range(n):
            if i < k or j < k or i >= n - k or j >= n - k or k == 0:
                slope[i, j] = math.nan
                roughness[i, j] = math.nan
                continue
            sh, sxh, syh = 0.0, 0.0, 0.0
            for di in range(-k, k + 1):
                for dj in range(-k, k + 1):
                    h = heights[i + di, j + dj]
                    sh += h
                    sxh += dj * spacing * h  # x east: columns
                    syh += -di * spacing * h  # y north: rows run north to south
            a, b, c = sxh / s2, syh / s2, sh / count
            worst = 0.0
            for di in range(-k, k + 1):
                for dj in range(-k, k + 1):
                    fit = c + a * dj * spacing - b * di * spacing
                    worst = max(worst, abs(heights[i + di, j + dj] - fit))
            slope[i, j] = math.atan(math.sqrt(a * a + b * b))
            roughness[i, j] = worst


@kernel
def safest_spot(slope, roughness, spacing, slope_max, roughness_max, reach):
    """(row, column) of the spot to divert to by the module's rule; (-1, -1) when none."""
    n = slope.shape[0]
    centre = (n - 1) / 2.0
    best_i, best_j = -1, -1
    best_d, best_s = math.inf, math.inf
    for i in range(n):
        for j in range(n):
            s, r = slope[i, j], roughness[i, j]
            if not (s <= slope_max and r <= roughness_max):  # NaN: not a spot
                continue
            d = spacing * math.sqrt((i - centre) ** 2 + (j - centre) ** 2)
            if d > reach:
                continue
            if d < best_d or (d == best_d and s < best_s):
                best_i, best_j, best_d, best_s = i, j, d, s
    return best_i, best_j


@kernel
def select_site(fsw, fp, meas, t, events, n_events, work):
    """Aim the final phases at the safest spot of the hazard map just read (the map is centred
    below the lander); keep the aim when there is none. work: ``HAZARD_SELECT``."""
    n = HAZARD_N
    heights = meas[M_HAZARD:M_HAZARD + n * n].reshape(n, n)
    slope = work[HS_SLOPE:HS_SLOPE + n * n].reshape(n, n)
    roughness = work[HS_ROUGH:HS_ROUGH + n * n].reshape(n, n)
    spacing = fp[FP_HDA_SPACING]
    spot_maps(heights, spacing, int(fp[FP_HDA + 1]), slope, roughness)
    i, j = safest_spot(slope, roughness, spacing, fp[FP_HDA + 2], fp[FP_HDA + 3], fp[FP_HDA + 4])
    fsw[F_HDA] = 0.0
    if i < 0:
        log_event(events, n_events, t, EV_SITE_SELECTED, math.nan)
        return
    centre = (n - 1) / 2.0
    north, east = (centre - i) * spacing, (j - centre) * spacing
    g = work[HS_GUIDANCE:HS_GUIDANCE + N_GUIDANCE]
    to_guidance(fsw, fp, t, g[G_R:G_R + 3], g[G_V:G_V + 3], g[G_G:G_G + 3],
                g[G_FRAME:G_FRAME + N_FRAME])
    ca, sa = math.cos(fp[FP_AZ]), math.sin(fp[FP_AZ])
    down, cross = sa * east + ca * north, -ca * east + sa * north  # as guidance.site_frame
    fsw[F_DIVERT] = g[G_R] + down
    fsw[F_DIVERT + 1] = g[G_R + 1] + cross
    log_event(events, n_events, t, EV_SITE_SELECTED, math.sqrt(down * down + cross * cross))
