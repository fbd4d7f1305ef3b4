"""The hazard-map sensor (``world.hazard_map.read_hazard_map``) over a terrain with a known answer.

What validates what: over a synthetic plane rising eastward (one layer), a lander an hour after
the epoch (the Moon has turned: its position is given in the inertial frame, turned by hand)
reads, without noise, each grid point's height as computed by hand on the tangent-plane grid the
module documents (to 1 mm), and the map's east-west gradient is the plane's; with noise, the
residuals have the declared sigma; a grid that runs off the terrain model counts its missing
points (NaN there); every point draws once, height or not.
"""

import math

import numpy as np
import pytest
from tests.terrain import layer_by_longitude, turned

from touchdown.core import layout as st
from touchdown.moon.constants import R_REF
from touchdown.seeds import seed_words
from touchdown.world.hazard_map import read_hazard_map

LAT, LON = math.radians(44.1), math.radians(19.5)  # Chang'e 3's region
PIX, N_PIX = math.radians(0.001), 401  # ~30 m pixels, a 0.4-degree layer
BASE, SLOPE = -2600.0, 5e4  # m at the centre, m per rad of longitude eastward (~2 deg of slope)
T = 3600.0


def ground(lon):
    return BASE + SLOPE * (lon - LON)


@pytest.fixture(scope="module")
def terrain():
    return layer_by_longitude(ground, LAT, LON, PIX, N_PIX)


def hovering(lat, lon, height):
    r = (R_REF + ground(lon) + height) * np.array(
        [math.cos(lat) * math.cos(lon), math.cos(lat) * math.sin(lon), math.sin(lat)])
    world = np.zeros(st.N_WORLD)
    world[st.W_T] = T
    world[st.W_R:st.W_R + 3] = turned(T, r)
    return world


def read(world, terrain, n=21, spacing=2.0, sigma=0.0, rng=None):
    heights = np.empty((n, n))
    missing = read_hazard_map(world, *terrain, spacing, sigma,
                              seed_words(1) if rng is None else rng, heights,
                              np.zeros(st.N_SCRATCH_HAZARD_MAP))
    return missing, heights


def expected(lat, lon, n=21, spacing=2.0):
    radius = R_REF + ground(lon)
    offsets = (np.arange(n) - (n - 1) / 2) * spacing  # east, by column
    row = ground(lon + offsets / (radius * math.cos(lat)))
    return np.tile(row, (n, 1))  # the plane does not change northward


def test_reads_the_grid_below_by_hand(terrain):
    lat, lon = LAT + 0.0004, LON - 0.0007
    missing, heights = read(hovering(lat, lon, 100.0), terrain)
    assert missing == 0
    np.testing.assert_allclose(heights, expected(lat, lon), atol=1e-3)
    gradient = np.diff(heights, axis=1).mean() / 2.0  # m per m eastward
    radius = R_REF + ground(lon)
    assert gradient == pytest.approx(SLOPE / (radius * math.cos(lat)), rel=1e-4)


def test_noise_has_the_declared_sigma(terrain):
    missing, heights = read(hovering(LAT, LON, 100.0), terrain, n=61, sigma=0.05)
    assert missing == 0
    residual = heights - expected(LAT, LON, n=61)
    assert abs(residual.mean()) < 4 * 0.05 / 61
    assert residual.std(ddof=1) == pytest.approx(0.05, rel=0.06)


def test_off_the_model_counts_and_draws_alike(terrain):
    edge_lon = LON + PIX * (N_PIX - 1) / 2 - PIX * 3  # three pixels from the east edge
    after_edge, after_inside = seed_words(2), seed_words(2)
    missing, heights = read(hovering(LAT, edge_lon, 100.0), terrain, n=41, spacing=30.0,
                            rng=after_edge)
    assert 0 < missing == np.isnan(heights).sum()
    assert np.isnan(heights[:, -1]).all() and not np.isnan(heights[:, 0]).any()
    read(hovering(LAT, LON, 100.0), terrain, n=41, spacing=30.0, rng=after_inside)
    assert (after_edge == after_inside).all()
