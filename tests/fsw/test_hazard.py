"""Hazard detection and avoidance (``fsw.hazard``) on crafted maps with a known safe spot.

What validates what:

- ``spot_maps`` against a slow, obvious reference: every spot's plane fitted by
  ``numpy.linalg.lstsq`` over its square (x east, y north), slope = atan of the plane's
  gradient, roughness = the largest |residual|, on a random rough map (1e-9); a plane tilted by
  a known angle reads that slope and no roughness; NaN where the footprint leaves the map.
- ``safest_spot`` on a crafted 41 x 41 map, 1 m spacing, the aimed point in the middle of a
  boulder field on a 15-degree slope: the only safe ground is a flat 9 x 9 patch to the
  north-east, and the spot chosen is that patch's nearest spot to the centre whose footprint
  lies inside it; with the patch out of reach, no spot (-1, -1); on flat ground, the centre.
"""

import math

import numpy as np
import pytest

from touchdown.fsw.hazard import safest_spot, spot_maps

SPACING = 1.0  # m
K = 2  # footprint half-width in cells: a 5 m square (a ~4 m lander's legs)


def maps(heights, k=K, spacing=SPACING):
    slope, rough = np.empty_like(heights), np.empty_like(heights)
    spot_maps(heights, spacing, k, slope, rough)
    return slope, rough


def naive_maps(heights, k=K, spacing=SPACING):
    n = heights.shape[0]
    slope, rough = np.full((n, n), np.nan), np.full((n, n), np.nan)
    di, dj = np.mgrid[-k:k + 1, -k:k + 1]
    design = np.column_stack([np.ones(di.size), dj.ravel() * spacing, -di.ravel() * spacing])
    for i in range(k, n - k):
        for j in range(k, n - k):
            h = heights[i - k:i + k + 1, j - k:j + k + 1].ravel()
            coef, *_ = np.linalg.lstsq(design, h, rcond=None)
            slope[i, j] = math.atan(math.hypot(coef[1], coef[2]))
            rough[i, j] = np.abs(h - design @ coef).max()
    return slope, rough


def test_maps_equal_the_least_squares_reference():
    heights = np.random.default_rng(3).normal(0.0, 0.3, (25, 25)).cumsum(axis=1)
    slope, rough = maps(heights)
    ref_slope, ref_rough = naive_maps(heights)
    np.testing.assert_allclose(slope, ref_slope, atol=1e-9, equal_nan=True)
    np.testing.assert_allclose(rough, ref_rough, atol=1e-9, equal_nan=True)
    assert np.isnan(slope[:K]).all() and np.isnan(slope[:, -K:]).all()


def test_a_tilted_plane_reads_its_angle_and_no_roughness():
    n, tilt = 15, math.radians(12.0)
    i, j = np.mgrid[0:n, 0:n]
    east, north = j * 0.5, -i * 0.5
    heights = math.tan(tilt) * (0.6 * east + 0.8 * north)  # downhill toward the south-west
    slope, rough = maps(heights, spacing=0.5)
    inner = (slice(K, n - K), slice(K, n - K))
    np.testing.assert_allclose(slope[inner], tilt, atol=1e-12)
    np.testing.assert_allclose(rough[inner], 0.0, atol=1e-12)


def crafted(patch_at=(8, 28)):
    """41 x 41: a 15-degree slope strewn with 0.6 m boulders, but a flat 9 x 9 patch whose
    top-left corner is at patch_at (row, column)."""
    n = 41
    columns = np.tile(np.arange(n), (n, 1))
    heights = math.tan(math.radians(15.0)) * columns * SPACING
    rng = np.random.default_rng(8)
    boulders = rng.random((n, n)) < 0.15
    heights = heights + 0.6 * boulders
    r0, c0 = patch_at
    heights[r0:r0 + 9, c0:c0 + 9] = 5.0
    return heights


SLOPE_MAX, ROUGH_MAX = math.radians(8.0), 0.2  # Chang'e-3-like limits (rad, m)


def test_picks_the_nearest_spot_of_the_only_safe_patch():
    heights = crafted()
    slope, rough = maps(heights)
    ref = naive_maps(heights)
    safe = (ref[0] <= SLOPE_MAX) & (ref[1] <= ROUGH_MAX)
    # the safe spots are exactly the patch's inner 5 x 5 (the footprint inside the patch)
    rows, cols = np.nonzero(safe)
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (10, 14, 30, 34)
    i, j = safest_spot(slope, rough, SPACING, SLOPE_MAX, ROUGH_MAX, 30.0)
    centre = 20
    d = np.hypot(rows - centre, cols - centre)
    assert (i, j) == (rows[d.argmin()], cols[d.argmin()]) == (14, 30)


def test_no_spot_within_reach_and_flat_ground_keeps_the_aim():
    slope, rough = maps(crafted())
    assert safest_spot(slope, rough, SPACING, SLOPE_MAX, ROUGH_MAX, 10.0) == (-1, -1)
    flat = np.zeros((21, 21))
    slope, rough = maps(flat)
    assert safest_spot(slope, rough, SPACING, SLOPE_MAX, ROUGH_MAX, 5.0) == (10, 10)


@pytest.mark.parametrize("patch_at", [(25, 4), (2, 2), (30, 29)])
def test_the_choice_follows_the_patch(patch_at):
    heights = crafted(patch_at)
    slope, rough = maps(heights)
    r0, c0 = patch_at
    i, j = safest_spot(slope, rough, SPACING, SLOPE_MAX, ROUGH_MAX, 40.0)
    assert r0 + K <= i <= r0 + 8 - K and c0 + K <= j <= c0 + 8 - K
