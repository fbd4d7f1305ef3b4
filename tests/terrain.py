"""Test helpers for terrain: skip what needs the tiles (``../shared/data``) where they are
missing; synthetic layers with a known answer; Moon-fixed vectors turned into the inertial frame."""

import math

import numpy as np
import pytest

from touchdown.core import layout as st
from touchdown.moon.constants import OMEGA
from touchdown.moon.dem_tiles import data_dir
from touchdown.moon.terrain import fill_bounds


def _have_terrain() -> bool:
    try:
        data_dir()
    except Exception:  # pragma: no cover - depends on the machine
        return False
    return True


needs_terrain = pytest.mark.skipif(not _have_terrain(), reason="terrain data not available")


def layer_by_longitude(height_of_lon, lat_centre, lon_centre, pixel, n):
    """One terrain layer (elev, meta as ``moon.terrain`` wants them) of n x n pixels of ``pixel``
    rad centred on (lat_centre, lon_centre), its height a function of longitude alone (rad -> m),
    with the bounds ``fill_bounds`` writes."""
    lat0 = lat_centre + pixel * (n - 1) / 2  # first (northern) row centre
    lon0 = lon_centre - pixel * (n - 1) / 2
    row = np.array([height_of_lon(lon) for lon in lon0 + pixel * np.arange(n)])
    elev = np.tile(row, (n, 1)).astype(np.float32).ravel()
    meta = np.zeros((1, st.N_TERRAIN_META))
    meta[0, [st.TM_OFFSET, st.TM_ROWS, st.TM_COLS, st.TM_LAT0, st.TM_LON0, st.TM_PIXEL]] = (
        0, n, n, lat0, lon0, pixel)
    fill_bounds(elev, meta)
    return elev, meta


def turned(t, v):
    """A Moon-fixed vector in the inertial frame t (s) after the epoch: turned by OMEGA t."""
    a = OMEGA * t
    return np.array([math.cos(a) * v[0] - math.sin(a) * v[1],
                     math.sin(a) * v[0] + math.cos(a) * v[1], v[2]])
