"""Terrain backdrops for maps: a hillshade of a lat/lon box from a ``Terrain``."""

from __future__ import annotations

import math

import numpy as np
from matplotlib.axes import Axes

from touchdown.moon.constants import R_REF
from touchdown.moon.dem_tiles import Terrain

SUN_AZIMUTH_DEG = 315.0   # cartographic convention: light from the north-west,
SUN_ELEVATION_DEG = 35.0  # fairly low, as lunar relief is best read


def hillshade(height_m: np.ndarray, dx_m: float | np.ndarray, dy_m: float) -> np.ndarray:
    """Lambertian shading 0..1 of a height grid (rows south to north, columns west to east);
    ``dx_m`` may be one spacing per row (a column of them: a map in degrees of longitude)."""
    dz_dy, dz_dx = np.gradient(height_m, dy_m, 1.0)
    dz_dx = dz_dx / dx_m
    az, el = math.radians(SUN_AZIMUTH_DEG), math.radians(SUN_ELEVATION_DEG)
    sun = np.array([math.sin(az) * math.cos(el), math.cos(az) * math.cos(el), math.sin(el)])
    norm = np.sqrt(dz_dx**2 + dz_dy**2 + 1.0)
    return np.clip((-dz_dx * sun[0] - dz_dy * sun[1] + sun[2]) / norm, 0.0, 1.0)


def draw_hillshade(ax: Axes, terrain: Terrain, lat: tuple[float, float],
                   lon: tuple[float, float], extent: tuple[float, float, float, float]
                   | None = None, pixels: int = 500) -> np.ndarray:
    """Shade the box lat x lon (deg) into ``ax`` over ``extent`` (default: lon/lat degrees).

    Returns the height grid (m above 1737.4 km), rows south to north.
    """
    aspect = (lon[1] - lon[0]) * math.cos(math.radians(0.5 * (lat[0] + lat[1])))
    ny = max(50, int(pixels * min(1.0, (lat[1] - lat[0]) / max(aspect, 1e-9))))
    nx = max(50, int(pixels * min(1.0, aspect / max(lat[1] - lat[0], 1e-9))))
    lats = np.linspace(lat[0], lat[1], ny)
    lons = np.linspace(lon[0], lon[1], nx)
    h = np.asarray(terrain.height(lats[:, None], lons[None, :]))
    dy = math.radians(lats[1] - lats[0]) * R_REF
    dx = math.radians(lons[1] - lons[0]) * R_REF * math.cos(math.radians(lats.mean()))
    ax.imshow(hillshade(h, dx, dy), cmap="gray", origin="lower", vmin=0.0, vmax=1.0,
              extent=extent or (lon[0], lon[1], lat[0], lat[1]), aspect="auto",
              interpolation="bilinear")
    return h
