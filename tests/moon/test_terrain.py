"""Terrain kernels on synthetic grids: heights, slopes, normals, ray casts, layers, wrap."""

import math

import numpy as np
import pytest

from touchdown.core.layout import (
    TM_COLS,
    TM_GRAD_MAX,
    TM_HEIGHT_MAX,
    TM_LAT0,
    TM_LON0,
    TM_OFFSET,
    TM_PIXEL,
    TM_ROWS,
    TM_WRAPS,
)
from touchdown.errors import DataRangeError
from touchdown.moon.constants import R_REF
from touchdown.moon.dem_tiles import Terrain, Tile
from touchdown.moon.terrain import (
    META_COLS,
    fill_bounds,
    ray_cast,
    terrain_height,
    terrain_height_bound,
    terrain_height_grad,
    terrain_height_many,
    terrain_max_in_box,
    terrain_normal,
    terrain_slope,
)

# ---------------------------------------------------------------- slow, obvious references


def naive_bilinear(grid, lat0_deg, lon0_deg, pix_deg, lat_deg, lon_deg):
    """Bilinear height (m) of one non-wrapping layer at arrays of lat/lon (deg); NaN outside."""
    grid = np.asarray(grid, dtype=np.float64)
    fr = (lat0_deg - np.asarray(lat_deg)) / pix_deg
    fc = (np.mod(np.asarray(lon_deg) - lon0_deg, 360.0)) / pix_deg
    inside = (fr >= 0) & (fr <= grid.shape[0] - 1) & (fc >= 0) & (fc <= grid.shape[1] - 1)
    i = np.clip(np.floor(fr).astype(int), 0, grid.shape[0] - 2)
    j = np.clip(np.floor(fc).astype(int), 0, grid.shape[1] - 2)
    t, u = fr - i, fc - j
    h = ((1 - t) * (1 - u) * grid[i, j] + (1 - t) * u * grid[i, j + 1]
         + t * (1 - u) * grid[i + 1, j] + t * u * grid[i + 1, j + 1])
    return np.where(inside, h, np.nan)


def naive_first_hit(f_of_s, max_range, step):
    """First s (m) where f goes from > 0 to <= 0: march every `step` m, then bisect to 1e-6 m."""
    s = np.arange(0.0, max_range + step, step)
    f = f_of_s(s)
    below = np.flatnonzero(f <= 0.0)
    if below.size == 0:
        return math.nan
    lo, hi = s[below[0] - 1], s[below[0]]
    while hi - lo > 1e-6:
        mid = 0.5 * (lo + hi)
        if f_of_s(np.array([mid]))[0] > 0.0:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


# ---------------------------------------------------------------- helpers


def make_terrain(layers):
    """elev, meta from [(grid_m, lat_first_deg, lon_first_deg, pix_deg, wraps), ...]."""
    meta = np.zeros((len(layers), META_COLS))
    offset = 0
    for k, (grid, lat0, lon0, pix, wraps) in enumerate(layers):
        rows, cols = np.shape(grid)
        row = meta[k]
        row[TM_OFFSET], row[TM_ROWS], row[TM_COLS] = offset, rows, cols
        row[TM_LAT0], row[TM_LON0] = math.radians(lat0), math.radians(lon0)
        row[TM_PIXEL], row[TM_WRAPS] = math.radians(pix), 1.0 if wraps else 0.0
        offset += rows * cols
    elev = np.concatenate([np.asarray(layer[0], dtype=np.float32).ravel() for layer in layers])
    fill_bounds(elev, meta)
    return elev, meta


def global_layer(grid):
    """A wrapping layer covering the whole sphere with `grid` (rows x cols, m)."""
    rows, cols = np.shape(grid)
    pix = 180.0 / rows
    assert abs(pix * cols - 360.0) < 1e-12
    return (grid, 90.0 - pix / 2, pix / 2, pix, True)


def enu(lat_deg, lon_deg):
    """East, north, up unit vectors (mcmf) at lat, lon (deg)."""
    lat, lon = math.radians(lat_deg), math.radians(lon_deg)
    sl, cl, so, co = math.sin(lat), math.cos(lat), math.sin(lon), math.cos(lon)
    return (np.array([-so, co, 0.0]), np.array([-sl * co, -sl * so, cl]),
            np.array([cl * co, cl * so, sl]))


def beam(lat_deg, lon_deg, tilt_deg, az_deg):
    """Unit direction tilted tilt_deg from nadir toward azimuth az_deg (from north, to east)."""
    e, n, u = enu(lat_deg, lon_deg)
    tilt, az = math.radians(tilt_deg), math.radians(az_deg)
    return -math.cos(tilt) * u + math.sin(tilt) * (math.cos(az) * n + math.sin(az) * e)


def ray_sphere(origin, direction, radius):
    """First distance (m) from origin along unit direction to the sphere |p| = radius (m)."""
    b = float(origin @ direction)
    c = float(origin @ origin) - radius * radius
    disc = b * b - c
    return math.nan if disc < 0 else -b - math.sqrt(disc)


def latlon_deg(p):
    return (math.degrees(math.atan2(p[2], math.hypot(p[0], p[1]))),
            math.degrees(math.atan2(p[1], p[0])))


H0 = -1234.5  # m, height of the constant terrain (exact in float32)


@pytest.fixture(scope="module")
def flat():
    return make_terrain([global_layer(np.full((180, 360), H0))])


# ---------------------------------------------------------------- (a) constant height


def test_constant_terrain_height_is_exact_and_slope_zero(flat):
    elev, meta = flat
    rng = np.random.default_rng(11)
    out = np.empty(3)
    for lat, lon in zip(rng.uniform(-89.9, 89.9, 50), rng.uniform(-720, 720, 50), strict=True):
        lat_r, lon_r = math.radians(lat), math.radians(lon)
        assert terrain_height(elev, meta, lat_r, lon_r) == H0
        assert terrain_slope(elev, meta, lat_r, lon_r) == 0.0
        assert terrain_height_grad(elev, meta, lat_r, lon_r, out) == 0
        assert out[1] == 0.0 and out[2] == 0.0
    # the polar caps beyond the first and last row centres are covered too
    assert terrain_height(elev, meta, math.radians(89.99), 1.0) == H0
    assert terrain_height(elev, meta, -math.pi / 2, 0.0) == H0


def test_constant_terrain_normal_is_radial(flat):
    elev, meta = flat
    n = np.empty(3)
    for lat, lon in [(0.0, 0.0), (45.3, 44.4), (-60.0, 200.0)]:
        _, _, up = enu(lat, lon)
        assert terrain_normal(elev, meta, 1.75e6 * up, n) == H0
        np.testing.assert_allclose(n, up, atol=1e-12)


def test_vertical_ray_on_constant_terrain_hits_at_altitude(flat):
    elev, meta = flat
    _, _, up = enu(46.74, 44.38)
    origin = (R_REF + H0 + 10_000.0) * up
    assert abs(ray_cast(elev, meta, origin, -up, 30_000.0) - 10_000.0) < 1e-3


def test_slant_rays_on_constant_terrain_match_ray_sphere(flat):
    elev, meta = flat
    rng = np.random.default_rng(7)
    for _ in range(200):
        lat, lon = rng.uniform(-85, 85), rng.uniform(0, 360)
        alt = rng.uniform(1.0, 20_000.0)
        d = beam(lat, lon, rng.uniform(0, 85), rng.uniform(0, 360))
        origin = (R_REF + H0 + alt) * enu(lat, lon)[2]
        expected = ray_sphere(origin, d, R_REF + H0)
        got = ray_cast(elev, meta, origin, d, 1e6)
        if math.isnan(expected):  # beyond the horizon
            assert math.isnan(got)
        else:
            assert abs(got - expected) < 1e-3, (lat, lon, alt, got, expected)


# ---------------------------------------------------------------- (b) planar ramp


RAMP_PIX = 0.1  # deg
RAMP_STEP = 100.0  # m per row (southward) or per column (eastward)


@pytest.fixture(scope="module")
def ramps():
    rows, cols = 101, 101
    i, j = np.mgrid[0:rows, 0:cols]
    lat_ramp = make_terrain([(RAMP_STEP * i, 20.0, 30.0, RAMP_PIX, False)])
    lon_ramp = make_terrain([(RAMP_STEP * j, 20.0, 30.0, RAMP_PIX, False)])
    return lat_ramp, lon_ramp


def test_lat_ramp_is_reproduced_exactly_with_its_slope(ramps):
    elev, meta = ramps[0]
    pix = math.radians(RAMP_PIX)
    rng = np.random.default_rng(3)
    out = np.empty(3)
    for lat, lon in zip(rng.uniform(10.01, 19.99, 40), rng.uniform(30.01, 39.99, 40),
                        strict=True):
        lat_r, lon_r = math.radians(lat), math.radians(lon)
        plane = RAMP_STEP * (math.radians(20.0) - lat_r) / pix
        h = terrain_height(elev, meta, lat_r, lon_r)
        assert abs(h - plane) < 1e-6
        assert terrain_height_grad(elev, meta, lat_r, lon_r, out) == 0
        assert abs(out[1] + RAMP_STEP / pix) < 1e-6 and out[2] == 0.0
        slope = terrain_slope(elev, meta, lat_r, lon_r)
        assert abs(slope - math.atan(RAMP_STEP / pix / (R_REF + h))) < 1e-12


def test_lon_ramp_slope_uses_cos_lat_metric(ramps):
    elev, meta = ramps[1]
    pix = math.radians(RAMP_PIX)
    lat, lon = math.radians(15.0), math.radians(35.05)
    h = terrain_height(elev, meta, lat, lon)
    assert abs(h - RAMP_STEP * 50.5) < 1e-6
    expected = math.atan(RAMP_STEP / pix / ((R_REF + h) * math.cos(lat)))
    assert abs(terrain_slope(elev, meta, lat, lon) - expected) < 1e-12


def test_normal_is_cross_product_of_surface_tangents():
    rng = np.random.default_rng(5)
    elev, meta = make_terrain([(rng.uniform(-500, 500, (40, 40)), 50.0, 10.0, 0.05, False)])

    def surface(lat, lon):
        return (R_REF + terrain_height(elev, meta, lat, lon)) * np.array(
            [math.cos(lat) * math.cos(lon), math.cos(lat) * math.sin(lon), math.sin(lat)])

    n = np.empty(3)
    for lat_deg, lon_deg in [(49.0123, 10.5377), (48.5551, 11.2219), (48.2137, 11.8771)]:
        lat, lon, eps = math.radians(lat_deg), math.radians(lon_deg), 1e-8
        t_lat = surface(lat + eps, lon) - surface(lat - eps, lon)
        t_lon = surface(lat, lon + eps) - surface(lat, lon - eps)
        ref = np.cross(t_lon, t_lat)
        ref /= np.linalg.norm(ref)
        p = (R_REF + 9_000.0) * enu(lat_deg, lon_deg)[2]
        h = terrain_normal(elev, meta, p, n)
        assert abs(h - terrain_height(elev, meta, lat, lon)) < 1e-9  # m (lat from r_mcmf)
        np.testing.assert_allclose(n, ref, atol=1e-6)
        assert abs(math.acos(n @ enu(lat_deg, lon_deg)[2])
                   - terrain_slope(elev, meta, lat, lon)) < 1e-6


# ---------------------------------------------------------------- (c) ridge, cliff, spike

PIX_C = 0.01  # deg (about 303 m)
RIDGE_J, RIDGE_H = 100, 500.0  # column of the one-cell ridge, its height (m)
CLIFF_J, CLIFF_H = 150, 1000.0  # first column of the plateau, its height (m)
SPIKE_IJ, SPIKE_H = (120, 60), 800.0  # pixel of the one-pixel spike, its height (m)
LAT0_C, LON0_C = 1.0, 0.0  # deg, first pixel centre


@pytest.fixture(scope="module")
def rough():
    grid = np.zeros((201, 201))
    grid[:, RIDGE_J] = RIDGE_H
    grid[:, CLIFF_J:] = CLIFF_H
    grid[SPIKE_IJ] = SPIKE_H
    # a regional layer over a flat global one, so rays never leave coverage
    elev, meta = make_terrain([(grid, LAT0_C, LON0_C, PIX_C, False),
                               global_layer(np.zeros((180, 360)))])
    return grid, elev, meta


def reference_hit(grid, origin, d, max_range, step=0.02, lat0=LAT0_C, lon0=LON0_C):
    """First hit by a fine march over one layer (first pixel centre lat0, lon0 deg) above a
    flat global layer at 0 m."""
    def f_of_s(s):
        p = origin[None, :] + s[:, None] * d[None, :]
        lat = np.degrees(np.arctan2(p[:, 2], np.hypot(p[:, 0], p[:, 1])))
        lon = np.degrees(np.arctan2(p[:, 1], p[:, 0]))
        h = naive_bilinear(grid, lat0, lon0, PIX_C, lat, lon)
        h = np.where(np.isnan(h), 0.0, h)  # the global layer below is flat at 0 m
        return np.linalg.norm(p, axis=1) - R_REF - h
    return naive_first_hit(f_of_s, max_range, step)


def aimed_ray(start_latlon_deg, start_alt, target_latlon_deg, target_alt):
    """Origin (m) and unit direction from a start point to a target point (lat, lon deg, alt m)."""
    o = (R_REF + start_alt) * enu(*start_latlon_deg)[2]
    t = (R_REF + target_alt) * enu(*target_latlon_deg)[2]
    return o, (t - o) / np.linalg.norm(t - o)


RIDGE_LON = LON0_C + RIDGE_J * PIX_C  # deg
SPIKE_LAT = LAT0_C - SPIKE_IJ[0] * PIX_C
SPIKE_LON = LON0_C + SPIKE_IJ[1] * PIX_C


@pytest.mark.parametrize(
    ("what", "start", "start_alt", "target", "target_alt"),
    [
        ("clips the ridge top by 2 m", (0.0037, 0.5), 3000.0, (0.0037, RIDGE_LON), RIDGE_H - 2),
        ("clears the ridge by 2 m", (0.0037, 0.5), 3000.0, (0.0037, RIDGE_LON), RIDGE_H + 2),
        ("grazes the ridge at 0.5 m", (-0.2, 0.7), 700.0, (-0.2, RIDGE_LON), RIDGE_H - 0.5),
        ("hits the cliff face", (0.3, 1.2), 2500.0, (0.3, 1.55), 0.0),
        ("clips the spike tip by 1 m", (0.2, 0.4), 2000.0, (SPIKE_LAT, SPIKE_LON), SPIKE_H - 1),
        ("clears the spike tip by 1 m", (0.2, 0.4), 2000.0, (SPIKE_LAT, SPIKE_LON), SPIKE_H + 1),
    ],
)
def test_ray_cast_does_not_skip_thin_features(rough, what, start, start_alt, target, target_alt):
    grid, elev, meta = rough
    origin, d = aimed_ray(start, start_alt, target, target_alt)
    max_range = 60_000.0
    expected = reference_hit(grid, origin, d, max_range)
    got = ray_cast(elev, meta, origin, d, max_range)
    assert abs(got - expected) < 1e-3, (what, got, expected)
    _, hit_lon = latlon_deg(origin + got * d)
    if "clips" in what or "grazes" in what:  # the hit is on the feature, not the plain beyond
        assert abs(hit_lon - target[1]) < PIX_C
    if "clears" in what:
        assert hit_lon > target[1] + PIX_C


def test_random_rays_over_rough_grid_match_fine_march(rough):
    grid, elev, meta = rough
    rng = np.random.default_rng(2024)
    for _ in range(12):
        lat, lon = rng.uniform(-0.8, 0.8), rng.uniform(0.2, 1.8)
        alt = rng.uniform(600.0, 4000.0)
        d = beam(lat, lon, rng.uniform(40.0, 88.0), rng.uniform(0.0, 360.0))
        origin = (R_REF + alt) * enu(lat, lon)[2]
        expected = reference_hit(grid, origin, d, 25_000.0, step=0.05)
        got = ray_cast(elev, meta, origin, d, 25_000.0)
        if math.isnan(expected):
            assert math.isnan(got)
        else:
            assert abs(got - expected) < 1e-3, (lat, lon, alt, got, expected)


@pytest.mark.parametrize("lat0", [60.0, 80.0])
def test_random_rays_at_high_latitude_match_fine_march(lat0):
    """Steep random relief (0-300 m per 0.01 deg pixel, east-west slopes up to ~11 at 80 N)
    where the east metric stretches: rays of every heading and tilt hit where a 5 cm march
    says, so the heading-split slope bound with its turn allowances skips nothing."""
    rng = np.random.default_rng(int(lat0))
    grid = rng.uniform(0.0, 300.0, (121, 121))
    elev, meta = make_terrain([(grid, lat0, 10.0, PIX_C, False),
                               global_layer(np.zeros((180, 360)))])
    hits = 0
    for _ in range(10):
        lat, lon = lat0 - rng.uniform(0.3, 0.9), 10.0 + rng.uniform(0.3, 0.9)
        origin = (R_REF + rng.uniform(400.0, 3000.0)) * enu(lat, lon)[2]
        d = beam(lat, lon, rng.uniform(30.0, 89.0), rng.uniform(0.0, 360.0))
        expected = reference_hit(grid, origin, d, 8_000.0, step=0.05, lat0=lat0, lon0=10.0)
        got = ray_cast(elev, meta, origin, d, 8_000.0)
        if math.isnan(expected):
            assert math.isnan(got)
        else:
            hits += 1
            assert abs(got - expected) < 1e-3, (lat, lon, got, expected)
    assert hits >= 5


@pytest.mark.parametrize("clearance", [-2.0, 2.0])
def test_eastward_ray_at_80n_meets_a_one_pixel_ridge(clearance):
    """At 80 N a 500 m ridge one pixel wide (0.01 deg, 53 m east-west) is nearly 10 m/m
    steep across; a ray heading east that passes 2 m under its top stops on it, one that
    passes 2 m over it goes on to the plain."""
    lat0, j_ridge = 80.0, 60
    grid = np.zeros((41, 121))
    grid[:, j_ridge] = 500.0
    elev, meta = make_terrain([(grid, lat0, 10.0, PIX_C, False),
                               global_layer(np.zeros((180, 360)))])
    lat, ridge_lon = lat0 - 0.2, 10.0 + j_ridge * PIX_C
    origin, d = aimed_ray((lat, 10.3), 800.0, (lat, ridge_lon), 500.0 + clearance)
    got = ray_cast(elev, meta, origin, d, 20_000.0)
    _, hit_lon = latlon_deg(origin + got * d)
    if clearance < 0.0:
        assert abs(hit_lon - ridge_lon) < PIX_C
    else:
        assert hit_lon > ridge_lon + PIX_C


# ---------------------------------------------------------------- (d) misses


def test_ray_pointing_up_or_passing_above_returns_nan(flat):
    elev, meta = flat
    _, north, up = enu(10.0, 20.0)
    origin = (R_REF + H0 + 5000.0) * up
    assert math.isnan(ray_cast(elev, meta, origin, up, 1e6))
    assert math.isnan(ray_cast(elev, meta, origin, north, 1e5))  # rises over the curved ground
    # would hit at 10 km, but the range stops short
    assert math.isnan(ray_cast(elev, meta, (R_REF + H0 + 10_000.0) * up, -up, 9_999.0))


def test_origin_below_surface_returns_nan(flat):
    elev, meta = flat
    _, _, up = enu(-30.0, 100.0)
    origin = (R_REF + H0 - 1.0) * up
    assert math.isnan(ray_cast(elev, meta, origin, -up, 1e5))
    assert math.isnan(ray_cast(elev, meta, origin, up, 1e5))


def test_ray_leaving_the_only_layer_returns_nan():
    elev, meta = make_terrain([(np.zeros((11, 11)), 1.0, 0.0, 0.2, False)])
    _, _, up = enu(0.0, 1.0)
    origin = (R_REF + 1000.0) * up
    assert abs(ray_cast(elev, meta, origin, -up, 5000.0) - 1000.0) < 1e-3
    assert math.isnan(ray_cast(elev, meta, origin, beam(0.0, 1.0, 89.0, 0.0), 1e6))


# ---------------------------------------------------------------- (e) layers and wrap


@pytest.fixture(scope="module")
def layered():
    """A 200 m plateau layer (lat 9.95..5.05, lon 350.05..9.95 across 0 E) over a global ramp."""
    plateau = (np.full((50, 200), 200.0), 9.95, 350.05, 0.1, False)
    cols = np.arange(360, dtype=float)
    ramp = np.tile(10.0 * cols, (180, 1))  # m, 10 m per degree of longitude, seam at 0 E
    return make_terrain([plateau, global_layer(ramp)])


def test_first_covering_layer_wins(layered):
    elev, meta = layered
    h = lambda lat, lon: terrain_height(elev, meta, math.radians(lat), math.radians(lon))  # noqa: E731
    out = np.empty(3)
    assert h(7.0, 355.0) == 200.0
    assert h(7.0, 5.0) == 200.0 == h(7.0, -355.0)  # the plateau spans 0 E
    assert terrain_height_grad(elev, meta, math.radians(7.0), math.radians(5.0), out) == 0
    # between the plateau's outer pixel edge and its first centre: the global layer serves
    assert terrain_height_grad(elev, meta, math.radians(9.97), math.radians(5.0), out) == 1
    assert abs(out[0] - 10.0 * 4.5) < 1e-9
    assert abs(h(20.0, 100.25) - 10.0 * 99.75) < 1e-9


def test_global_layer_wraps_across_the_seam(layered):
    elev, meta = layered
    h = lambda lat, lon: terrain_height(elev, meta, math.radians(lat), math.radians(lon))  # noqa: E731
    # between the last column centre (359.5 E) and the first (0.5 E): 3590 m -> 0 m
    expected = 3590.0 * 0.6
    for lon in (359.9, -0.1, 719.9, -360.1):
        assert abs(h(-40.0, lon) - expected) < 1e-6
    assert abs(h(-40.0, 0.5) - 0.0) < 1e-9
    # polar cap (beyond the 89.5 N row centre): blends from the row to its first value (0 m)
    w = (89.99 - 89.5) / 0.5
    assert abs(h(89.99, 200.25) - (1.0 - w) * 10.0 * 199.75) < 1e-6
    assert h(90.0, 200.25) == 0.0 == h(-90.0, 13.0)


def test_vertical_ray_at_the_pole_hits_the_cap(layered):
    elev, meta = layered
    for z in (1.0, -1.0):
        origin = np.array([0.0, 0.0, z * (R_REF + 5000.0)])
        assert abs(ray_cast(elev, meta, origin, -origin, 1e4) - 5000.0) < 1e-3
        origin[0] = 20.0  # 20 m off the axis: lon 0, height blends toward 0 m
        got = ray_cast(elev, meta, origin, np.array([0.0, 0.0, -z]), 1e4)
        expected = naive_first_hit(
            lambda s, o=origin, zz=z: np.array([
                math.hypot(o[0], o[2] - zz * si) - R_REF
                - terrain_height(elev, meta, math.atan2(o[2] - zz * si, o[0]), 0.0)
                for si in s]), 1e4, 1.0)
        assert abs(got - expected) < 1e-3


def test_ray_into_a_higher_layer_stops_at_its_edge(layered):
    elev, meta = layered
    # descend westward at 7 N toward the plateau's east edge (last centre 9.95 E), reaching it
    # between the global ramp's height there (94.5 m) and the plateau's (200 m)
    origin, d = aimed_ray((7.0, 11.0), 1000.0, (7.0, 9.0), -200.0)
    got = ray_cast(elev, meta, origin, d, 100_000.0)
    p = origin + got * d
    _, hit_lon = latlon_deg(p)
    assert abs(hit_lon - 9.95) < 1e-7  # about 3 mm
    assert 94.5 < np.linalg.norm(p) - R_REF < 200.0


def test_nan_and_uncovered_points_give_nan():
    elev, meta = make_terrain([(np.zeros((3, 3)), 1.0, 1.0, 1.0, False)])
    assert math.isnan(terrain_height(elev, meta, math.radians(5.0), math.radians(2.0)))
    assert math.isnan(terrain_height(elev, meta, math.nan, 0.0))
    out = np.empty(3)
    assert terrain_height_grad(elev, meta, 0.0, math.inf, out) == -1
    assert np.isnan(out).all()


# ---------------------------------------------------------------- shell on synthetic tiles


def synthetic_tile(grid, lat0, lon0, ppd, name):
    rows, cols = grid.shape
    lat = lat0 - np.arange(rows) / ppd
    lon = lon0 + np.arange(cols) / ppd
    half = 0.5 / ppd
    return Tile(name=name, product="synthetic", elevation_m=grid.astype(np.float32),
                lat_deg=lat, lon_deg=lon, ppd=ppd,
                bounds_deg=(lat[-1] - half, lat[0] + half, lon[0] - half, lon[-1] + half),
                wraps=abs(cols / ppd - 360.0) < 1e-9)


@pytest.fixture(scope="module")
def shell_terrain():
    i, j = np.mgrid[0:21, 0:31]
    grid = 3.0 * i + 2.0 * j  # m
    return Terrain.from_tiles([synthetic_tile(grid, 45.0, 40.0, 4.0, "ramp.npz")], "synthetic")


def test_shell_height_accepts_scalar_and_array(shell_terrain):
    t = shell_terrain
    h = t.height(44.5, 40.5)  # row 2, column 2
    assert isinstance(h, float) and abs(h - 10.0) < 1e-9
    lat = np.array([[44.5, 44.375], [43.0, 44.0]])
    lon = np.array([[40.5, 40.625], [41.0, 42.0]])
    expected = 3.0 * (45.0 - lat) * 4.0 + 2.0 * (lon - 40.0) * 4.0
    got = t.height(lat, lon)
    assert got.shape == (2, 2)
    np.testing.assert_allclose(got, expected, atol=1e-9)
    np.testing.assert_allclose(t.height(lat[0], 40.5), expected[0, 0] + [0.0, 1.5], atol=1e-9)
    slope = t.slope_deg(44.5, 40.5)
    assert isinstance(slope, float) and 0.0 < slope < 1.0


def test_shell_height_outside_coverage_raises_range_error(shell_terrain):
    with pytest.raises(DataRangeError, match="no layer covers lat 50 deg") as info:
        shell_terrain.height([44.0, 50.0], [41.0, 41.0])
    assert info.value.covered == (39.875, 45.125, 39.875, 47.625)


def test_shell_bounds_match_the_kernel():
    rng = np.random.default_rng(9)
    tiles = [synthetic_tile(rng.uniform(-300, 300, (9, 13)), 10.0, 20.0, 2.0, "a.npz"),
             synthetic_tile(rng.uniform(-900, 900, (18, 36)), 90 - 5.0, 5.0, 0.1, "g.npz")]
    t = Terrain.from_tiles(tiles, "two")
    assert t.tiles[1].wraps and not t.tiles[0].wraps
    meta = t.meta.copy()
    fill_bounds(t.elev, meta)
    np.testing.assert_allclose(t.meta[:, TM_GRAD_MAX], meta[:, TM_GRAD_MAX], rtol=1e-12)
    np.testing.assert_array_equal(t.meta[:, TM_HEIGHT_MAX], meta[:, TM_HEIGHT_MAX])


def test_shell_ray_cast_matches_kernel(shell_terrain):
    t = shell_terrain
    _, _, up = enu(44.0, 42.0)
    h = t.height(44.0, 42.0)
    assert abs(t.ray_cast((R_REF + 5000.0) * up, -up, 1e4) - (5000.0 - h)) < 1e-3
    with pytest.raises(ValueError, match="shape"):
        t.ray_cast([1.0, 2.0], -up, 1e4)


# ---------------------------------------------------------------- (f) bounds for skipping


def sampled_max(elev, meta, lat_lo, lat_hi, lon_lo, lon_hi, n=161):
    """Largest terrain height (m) on an n x n grid of points of the box (deg), edges included."""
    lat, lon = np.meshgrid(np.linspace(lat_lo, lat_hi, n), np.linspace(lon_lo, lon_hi, n))
    out = np.empty(lat.size)
    terrain_height_many(elev, meta, np.radians(lat.ravel()), np.radians(lon.ravel()), out)
    return np.nanmax(out)


def test_layer_maxima_and_overall_bound(layered):
    """meta[:, TM_HEIGHT_MAX] is each layer's highest value; terrain_height_bound their
    maximum."""
    _, meta = layered
    assert meta[0, TM_HEIGHT_MAX] == 200.0 and meta[1, TM_HEIGHT_MAX] == 3590.0
    assert terrain_height_bound(meta) == 3590.0
    # without the column (the last one): no bound
    assert terrain_height_bound(meta[:, :TM_HEIGHT_MAX]) == math.inf


@pytest.mark.parametrize(("lat_lo", "lat_hi", "lon_lo", "lon_hi"), [
    (6.0, 6.3, 2.0, 2.5),        # inside the plateau only
    (9.8, 10.4, 4.0, 4.6),       # across the plateau's north edge: global cells too
    (-30.0, -29.2, 359.1, 360.9),  # across the global layer's longitude seam
    (-30.0, -29.2, -0.9, 0.9),   # the same box, longitudes given the other way
    (88.9, 89.9, 150.0, 151.0),  # into the north polar cap
    (-0.5, 0.4, 179.6, 180.2),   # an ordinary global box
])
def test_max_in_box_bounds_every_point_of_the_box(layered, lat_lo, lat_hi, lon_lo, lon_hi):
    """The bound is at or above the height at every sampled point of the box (whatever layer
    serves it), and no higher than the grid values of the cells within a pixel of it."""
    elev, meta = layered
    box = np.radians([lat_lo, lat_hi, lon_lo, lon_hi])
    bound = terrain_max_in_box(elev, meta, *box)
    assert sampled_max(elev, meta, lat_lo, lat_hi, lon_lo, lon_hi) <= bound + 1e-9
    ramp_top = 10.0 * (math.floor(lon_hi % 360.0) + 1.0)  # m, the ramp's next column east
    seam = lon_lo % 360.0 > lon_hi % 360.0  # the box holds the 3590 m column
    plateau = lat_hi > 5.0 and lat_lo < 10.0 and (lon_lo % 360.0 < 10.0
                                                   or lon_lo % 360.0 > 350.0)
    assert bound <= max(ramp_top if not seam else 3590.0, 200.0 if plateau else 0.0) + 1e-9


def test_max_in_box_of_rough_grid_is_the_highest_covering_pixel(rough):
    """Random boxes over the ridge, cliff and spike grid: the bound is exactly the highest
    pixel of the cells meeting the box (none lower would do: the surface reaches it)."""
    grid, elev, meta = rough
    rng = np.random.default_rng(11)
    for _ in range(30):
        lat_lo, lon_lo = rng.uniform(-0.9, 0.9), rng.uniform(0.05, 1.9)
        lat_hi, lon_hi = lat_lo + rng.uniform(0.0, 0.05), lon_lo + rng.uniform(0.0, 0.05)
        bound = terrain_max_in_box(elev, meta, *np.radians([lat_lo, lat_hi, lon_lo, lon_hi]))
        i0 = math.floor((LAT0_C - lat_hi) / PIX_C)
        i1 = math.ceil((LAT0_C - lat_lo) / PIX_C)
        j0 = math.floor((lon_lo - LON0_C) / PIX_C)
        j1 = math.ceil((lon_hi - LON0_C) / PIX_C)
        assert bound == grid[i0:i1 + 1, j0:j1 + 1].max()
        assert sampled_max(elev, meta, lat_lo, lat_hi, lon_lo, lon_hi, n=41) <= bound


def test_ray_cast_below_a_far_mountain_matches_fine_march(rough):
    """A 9 km mountain on the global layer far from the rough regional layer: rays over the
    region start where they come down to the region's own top (1,000 m), not the mountain's,
    and still match the fine march; a ray whose reach includes the mountain also does."""
    grid, _, _ = rough
    mountain = np.zeros((180, 360))
    mountain[60:62, 100:102] = 9000.0  # m, near 29.5 N 100.5 E
    elev, meta = make_terrain([(grid, LAT0_C, LON0_C, PIX_C, False), global_layer(mountain)])
    rng = np.random.default_rng(7)
    hits = 0
    for _ in range(8):
        lat, lon = rng.uniform(-0.6, 0.6), rng.uniform(0.4, 1.6)
        alt = rng.uniform(3000.0, 15_000.0)
        d = beam(lat, lon, rng.uniform(20.0, 70.0), rng.uniform(0.0, 360.0))
        origin = (R_REF + alt) * enu(lat, lon)[2]
        expected = reference_hit(grid, origin, d, 25_000.0, step=0.05)
        got = ray_cast(elev, meta, origin, d, 25_000.0)
        if math.isnan(expected):
            assert math.isnan(got)
        else:
            assert abs(got - expected) < 1e-3, (lat, lon, alt, got, expected)
            hits += 1
    assert hits >= 4
    origin, d = aimed_ray((29.5, 99.0), 12_000.0, (29.51, 100.51), 8000.0)
    got = ray_cast(elev, meta, origin, d, 200_000.0)
    _, hit_lon = latlon_deg(origin + got * d)
    assert 100.0 < hit_lon < 100.6  # on the mountain's west face
