"""Frame conversions: lat/lon <-> Moon-fixed, site ENU axes, Moon-fixed <-> inertial.

What validates what:

- ``mcmf_from_latlon`` / ``latlon_from_mcmf`` against numpy spherical formulas over a grid
  (array check), and round trips at single points including the poles and the antimeridian.
- ``enu_axes``: orthonormal, right-handed, up along the position, and east/north along the
  derivatives of the position with respect to longitude/latitude (finite differences).
- ``mcmf_from_mci`` / ``mci_from_mcmf``: round trips, the sense of the Moon's rotation (a point
  fixed in inertial space drifts west), and a point fixed on the surface: its inertial velocity is
  the time derivative of its inertial position (central differences) and its surface-relative
  velocity is zero.
"""

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose

from touchdown.moon.constants import OMEGA, R_REF
from touchdown.moon.frames import (
    enu_axes,
    latlon_from_mcmf,
    mci_from_mcmf,
    mcmf_from_latlon,
    mcmf_from_mci,
    rotate_z,
)

TWO_PI = 2.0 * math.pi
# Round-off: ulp(1.7e6 m) = 2.3e-10 m, so 1e-8 m is tens of ulp; 1e-14 rad is 2e-8 m on the
# surface.
POS_TOL = 1e-8  # m
ANG_TOL = 1e-14  # rad


def to_mcmf(lat, lon, radius):
    out = np.empty(3)
    mcmf_from_latlon(lat, lon, radius, out)
    return out


def to_latlon(r):
    out = np.empty(3)
    latlon_from_mcmf(np.asarray(r, dtype=np.float64), out)
    return out


# ---------------------------------------------------------------- lat/lon <-> mcmf


def test_latlon_grid_matches_spherical_formulas():
    """Array check: a 37 x 73 grid (poles and antimeridian included) against numpy formulas,
    and back: latitudes exact to 1e-14 rad, longitudes (away from the poles) wrapped to
    [0, 2 pi), radii to 1e-8 m."""
    lat = np.radians(np.linspace(-90.0, 90.0, 37))
    lon = np.radians(np.linspace(-180.0, 180.0, 73))
    la, lo = np.meshgrid(lat, lon, indexing="ij")
    radius = R_REF + 1234.5
    ref = radius * np.stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)], -1)
    got = np.empty_like(ref)
    back = np.empty_like(ref)
    for i in range(lat.size):
        for j in range(lon.size):
            got[i, j] = to_mcmf(la[i, j], lo[i, j], radius)
            back[i, j] = to_latlon(got[i, j])
    assert_allclose(got, ref, rtol=0.0, atol=POS_TOL)
    assert_allclose(back[..., 0], la, rtol=0.0, atol=ANG_TOL)
    assert_allclose(back[..., 2], radius, rtol=0.0, atol=POS_TOL)
    inner = slice(1, -1)  # longitude is undefined at the poles
    dlon = np.angle(np.exp(1j * (back[inner, :, 1] - lo[inner])))
    assert np.max(np.abs(dlon)) < 1e-13
    assert np.all((back[..., 1] >= 0.0) & (back[..., 1] < TWO_PI))


@pytest.mark.parametrize(("lat_deg", "lon_deg", "lon_back_deg"), [
    (0.0, 0.0, 0.0),
    (26.13, 3.63, 3.63),  # Apollo 15 site
    (-89.9, 222.0, 222.0),
    (45.0, -90.0, 270.0),  # west longitudes come back east-positive
    (10.0, 180.0, 180.0),  # antimeridian
    (-10.0, -180.0, 180.0),
    (5.0, 359.999999, 359.999999),
    (0.0, 540.0, 180.0),
])
def test_latlon_round_trip_at_single_points(lat_deg, lon_deg, lon_back_deg):
    """Scalar check: lat and wrapped lon back to 1e-12 deg (3e-8 m on the surface), radius to
    1e-8 m, and the position reproduced to 1e-8 m."""
    radius = R_REF + 100e3
    r = to_mcmf(math.radians(lat_deg), math.radians(lon_deg), radius)
    lat, lon, rad = to_latlon(r)
    assert abs(math.degrees(lat) - lat_deg) < 1e-12
    assert abs(math.degrees(lon) - lon_back_deg) < 1e-12
    assert abs(rad - radius) < POS_TOL
    assert_allclose(to_mcmf(lat, lon, rad), r, rtol=0.0, atol=POS_TOL)


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_poles_round_trip(sign):
    """At a pole latitude is +-90 deg exactly, longitude is a valid value, and the position is
    reproduced to 1e-8 m (cos(pi/2) ~ 6e-17 leaves ~1e-10 m of x)."""
    r = np.array([0.0, 0.0, sign * R_REF])
    lat, lon, rad = to_latlon(r)
    assert lat == sign * math.pi / 2
    assert 0.0 <= lon < TWO_PI
    assert rad == R_REF
    assert_allclose(to_mcmf(lat, lon, rad), r, rtol=0.0, atol=POS_TOL)
    assert_allclose(to_mcmf(sign * math.pi / 2, 1.234, R_REF), r, rtol=0.0, atol=POS_TOL)


def test_longitude_stays_below_two_pi_just_west_of_prime_meridian():
    """The docstring promises lon in [0, 2 pi). A point 0.1 nm west of 0 E has atan2 ~ -6e-17,
    and -6e-17 + 2 pi rounds to 2 pi exactly."""
    lon = to_latlon([R_REF, -1e-10, 0.0])[1]
    assert 0.0 <= lon < TWO_PI


# ---------------------------------------------------------------- ENU axes


@pytest.mark.parametrize(("lat_deg", "lon_deg"),
                         [(0.0, 0.0), (26.13, 3.63), (-45.0, 200.0), (89.0, -30.0), (-1.0, 180.0)])
def test_enu_axes_orthonormal_right_handed_and_aligned(lat_deg, lon_deg):
    """Rows orthonormal to 1e-15, east x north = up, up = r/|r|, east along dr/dlon and north
    along dr/dlat (central differences, step 1e-6 rad: truncation ~1e-13)."""
    lat, lon = math.radians(lat_deg), math.radians(lon_deg)
    d = np.empty((3, 3))
    enu_axes(lat, lon, d)
    assert_allclose(d @ d.T, np.eye(3), rtol=0.0, atol=1e-15)
    assert_allclose(np.cross(d[0], d[1]), d[2], rtol=0.0, atol=1e-15)
    r = to_mcmf(lat, lon, R_REF)
    assert_allclose(d[2], r / np.linalg.norm(r), rtol=0.0, atol=1e-15)
    h = 1e-6
    d_lon = to_mcmf(lat, lon + h, 1.0) - to_mcmf(lat, lon - h, 1.0)
    d_lat = to_mcmf(lat + h, lon, 1.0) - to_mcmf(lat - h, lon, 1.0)
    assert_allclose(d_lon / np.linalg.norm(d_lon), d[0], rtol=0.0, atol=1e-9)
    assert_allclose(d_lat / np.linalg.norm(d_lat), d[1], rtol=0.0, atol=1e-9)
    assert d[0, 2] == 0.0  # east has no polar (z) component
    assert d[1, 2] > 0.0  # north points toward the north pole


# ---------------------------------------------------------------- rotations and mci <-> mcmf


def test_rotate_z_is_counter_clockwise_and_inverted_by_minus_angle():
    out, back = np.empty(3), np.empty(3)
    rotate_z(math.pi / 2, np.array([1.0, 0.0, 2.0]), out)
    assert_allclose(out, [0.0, 1.0, 2.0], rtol=0.0, atol=1e-16)
    v = np.array([3.0, -4.0, 5.0])
    rotate_z(0.7, v, out)
    rotate_z(-0.7, out, back)
    assert_allclose(back, v, rtol=0.0, atol=1e-15)


def test_inertially_fixed_point_drifts_west_as_the_moon_turns():
    """The Moon turns east (+z) at OMEGA: after 1 h an inertially fixed point over 0 E is at
    lon = -OMEGA * 3600 s (0.549 deg west), with surface-relative speed OMEGA r westward."""
    t = 3600.0
    r_mcmf, v_mcmf = np.empty(3), np.empty(3)
    r_mci = np.array([R_REF, 0.0, 0.0])
    mcmf_from_mci(t, r_mci, np.zeros(3), r_mcmf, v_mcmf)
    lon = to_latlon(r_mcmf)[1]
    assert abs((lon - TWO_PI) + OMEGA * t) < 1e-14
    enu = np.empty((3, 3))
    enu_axes(0.0, lon, enu)
    assert_allclose(enu @ v_mcmf, [-OMEGA * R_REF, 0.0, 0.0], rtol=0.0, atol=1e-12)


@pytest.mark.parametrize("t", [0.0, 1.5, 3600.0, 86400.0, 2.0 * math.pi / OMEGA])
def test_mci_mcmf_round_trip(t):
    """Random states (fixed seed) survive mci -> mcmf -> mci and mcmf -> mci -> mcmf to
    1e-8 m and 1e-11 m/s (velocity ~2 km/s: ulp 4.5e-13 m/s); at t = 0 and after a full
    sidereal turn the positions coincide."""
    rng = np.random.default_rng(7)
    for _ in range(10):
        r = rng.normal(size=3) * 1e6 + np.array([R_REF, 0.0, 0.0])
        v = rng.normal(size=3) * 1e3
        r1, v1, r2, v2 = (np.empty(3) for _ in range(4))
        mcmf_from_mci(t, r, v, r1, v1)
        mci_from_mcmf(t, r1, v1, r2, v2)
        assert_allclose(r2, r, rtol=0.0, atol=POS_TOL)
        assert_allclose(v2, v, rtol=0.0, atol=1e-11)
        mci_from_mcmf(t, r, v, r1, v1)
        mcmf_from_mci(t, r1, v1, r2, v2)
        assert_allclose(r2, r, rtol=0.0, atol=POS_TOL)
        assert_allclose(v2, v, rtol=0.0, atol=1e-11)
        if t == 0.0 or t > 1e6:
            mcmf_from_mci(t, r, v, r1, v1)
            assert_allclose(r1, r, rtol=0.0, atol=POS_TOL)


@pytest.mark.parametrize(("lat_deg", "lon_deg", "t"),
                         [(0.0, 0.0, 0.0), (26.13, 3.63, 2500.0), (-70.0, 250.0, 1e5)])
def test_surface_fixed_point_has_zero_relative_velocity(lat_deg, lon_deg, t):
    """A point fixed on the surface: its inertial velocity has size OMEGA R cos(lat) (4.62 m/s
    at the equator) and equals d r_mci / dt by central differences (h = 1 s: truncation
    OMEGA^3 R h^2 / 6 ~ 5e-12 m/s, round-off ~1e-10 m/s; tolerance 1e-8 m/s); mapped back to
    mcmf its surface-relative velocity is zero to 1e-12 m/s."""
    lat = math.radians(lat_deg)
    r_fix = to_mcmf(lat, math.radians(lon_deg), R_REF)
    zero = np.zeros(3)
    r_mci, v_mci = np.empty(3), np.empty(3)
    mci_from_mcmf(t, r_fix, zero, r_mci, v_mci)
    assert abs(np.linalg.norm(v_mci) - OMEGA * R_REF * math.cos(lat)) < 1e-12
    h = 1.0
    rp, rm, scratch = np.empty(3), np.empty(3), np.empty(3)
    mci_from_mcmf(t + h, r_fix, zero, rp, scratch)
    mci_from_mcmf(t - h, r_fix, zero, rm, scratch)
    assert_allclose((rp - rm) / (2.0 * h), v_mci, rtol=0.0, atol=1e-8)
    r_back, v_rel = np.empty(3), np.empty(3)
    mcmf_from_mci(t, r_mci, v_mci, r_back, v_rel)
    assert_allclose(r_back, r_fix, rtol=0.0, atol=POS_TOL)
    assert_allclose(v_rel, zero, rtol=0.0, atol=1e-12)
