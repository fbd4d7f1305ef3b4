"""Lunar gravity kernels (point mass + J2 + C22) against independent references.

What validates what:

- ``potential_mcmf`` against a slow, obvious spherical-harmonic form written here from the
  textbook expansion U = GM/r [1 - J2 (R/r)^2 P20(sin lat) + C22 (R/r)^2 P22(sin lat) cos 2 lon]
  (Vallado, 4th ed., §8.6), at scattered points.
- ``gravity_mcmf`` against the gradient of ``potential_mcmf`` by central differences (the two
  kernels are written separately, so a slip in either shows).
- ``gravity_mcmf`` on the axes against closed forms of the radial gravity, which fix the sign and
  size of the J2 (oblateness) and C22 (Earth-facing bulge) terms.
- ``gravity_mci`` against ``gravity_mcmf`` rotated by the Moon's spin angle.
- The derived checks of missions.md §3 (circular orbit at 100 km: 1,633.5 m/s, 7,067 s) from the
  constants module, a point-mass orbit integrated with scipy closing after that period, and the
  same orbit through ``coast_or_burn`` agreeing with a scipy DOP853 integration of the full field.
"""

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.integrate import solve_ivp

from touchdown.core.layout import N_SCRATCH_RK4
from touchdown.moon.constants import C22, GM, J2, OMEGA, R_GRAVITY, R_REF, SURFACE_GRAVITY
from touchdown.moon.gravity import gravity_mci, gravity_mcmf, potential_mcmf
from touchdown.world.dynamics import coast_or_burn

# ---------------------------------------------------------------- slow, obvious references


def naive_potential(lat, lon, r):
    """U (m^2/s^2) from the spherical-harmonic expansion, degree 2 only (unnormalised).

    P20(s) = (3 s^2 - 1) / 2, P22(s) = 3 (1 - s^2); the sectoral term is C22 P22 cos(2 lon).
    """
    s = math.sin(lat)
    p20 = 0.5 * (3.0 * s * s - 1.0)
    p22 = 3.0 * (1.0 - s * s)
    q = (R_GRAVITY / r) ** 2
    return GM / r * (1.0 - J2 * q * p20 + C22 * q * p22 * math.cos(2.0 * lon))


def gravity(r_mcmf):
    a = np.empty(3)
    gravity_mcmf(np.asarray(r_mcmf, dtype=np.float64), a)
    return a


def point(lat_deg, lon_deg, radius):
    lat, lon = math.radians(lat_deg), math.radians(lon_deg)
    return radius * np.array([math.cos(lat) * math.cos(lon), math.cos(lat) * math.sin(lon),
                              math.sin(lat)])


# scattered test points: surface, low orbit, high orbit; poles, equator, all quadrants
POINTS = [
    (0.0, 0.0, R_REF), (0.0, 90.0, R_REF), (90.0, 0.0, R_REF), (-90.0, 0.0, R_REF),
    (37.0, 123.0, R_REF + 25e3), (-61.0, 291.0, R_REF + 100e3), (12.5, 200.0, R_REF + 2e3),
    (-3.0, 359.9, 3.0 * R_REF), (80.0, 45.0, R_REF + 15e3), (-45.0, 135.0, R_REF),
]


# ---------------------------------------------------------------- potential and gradient


@pytest.mark.parametrize(("lat_deg", "lon_deg", "radius"), POINTS)
def test_potential_matches_spherical_harmonic_expansion(lat_deg, lon_deg, radius):
    """U agrees with the textbook lat/lon form to 1e-8 m^2/s^2 (~5 ulp of U ~ 2.8e6 m^2/s^2)."""
    u = potential_mcmf(point(lat_deg, lon_deg, radius))
    ref = naive_potential(math.radians(lat_deg), math.radians(lon_deg), radius)
    assert abs(u - ref) < 1e-8


@pytest.mark.parametrize(("lat_deg", "lon_deg", "radius"), POINTS)
def test_gravity_is_gradient_of_potential(lat_deg, lon_deg, radius):
    """grad U by central differences (h = 10 m) equals gravity_mcmf to 1e-9 m/s^2.

    Error budget at h = 10 m: truncation h^2/6 |U'''| <= 6e-11 m/s^2 at the surface, round-off
    ~ ulp(U)/h ~ 5e-11 m/s^2; the J2 and C22 terms being checked are ~1e-3 and ~1e-4 m/s^2.
    """
    r = point(lat_deg, lon_deg, radius)
    h = 10.0  # m
    grad = np.empty(3)
    for i in range(3):
        e = np.zeros(3)
        e[i] = h
        grad[i] = (potential_mcmf(r + e) - potential_mcmf(r - e)) / (2.0 * h)
    assert_allclose(gravity(r), grad, rtol=0.0, atol=1e-9)


# ---------------------------------------------------------------- closed forms on the axes


@pytest.mark.parametrize("radius", [R_REF, R_GRAVITY, R_REF + 100e3])
def test_gravity_on_axes_matches_closed_forms(radius):
    """Radial gravity on the x, y and z axes: GM/r^2 times the J2 and C22 factors, exactly.

    With q = (R/r)^2: equator at 0 E (x): 1 + (3/2 J2 + 9 C22) q; equator at 90 E (y):
    1 + (3/2 J2 - 9 C22) q; pole (z): 1 - 3 J2 q; no tangential component on any axis.
    Tolerance 1e-12 m/s^2 (a few ulp of 1.6 m/s^2); the corrections are 1e-4..1e-3 m/s^2.
    """
    g0 = GM / radius**2
    q = (R_GRAVITY / radius) ** 2
    assert_allclose(gravity([radius, 0.0, 0.0]),
                    [-g0 * (1.0 + (1.5 * J2 + 9.0 * C22) * q), 0.0, 0.0], rtol=0.0, atol=1e-12)
    assert_allclose(gravity([0.0, radius, 0.0]),
                    [0.0, -g0 * (1.0 + (1.5 * J2 - 9.0 * C22) * q), 0.0], rtol=0.0, atol=1e-12)
    assert_allclose(gravity([0.0, 0.0, radius]),
                    [0.0, 0.0, -g0 * (1.0 - 3.0 * J2 * q)], rtol=0.0, atol=1e-12)
    assert_allclose(gravity([0.0, 0.0, -radius]),
                    [0.0, 0.0, g0 * (1.0 - 3.0 * J2 * q)], rtol=0.0, atol=1e-12)


def test_surface_gravity_near_reference_value_with_j2_order_corrections():
    """|g| on the reference sphere is GM/R^2 to within the expected J2 order (< 1.1 mm/s^2).

    The quoted surface gravity 1.624 m/s^2 (4 digits) matches GM/R_REF^2 within its rounding
    (0.5 mm/s^2); oblateness makes the pole weaker than the equator by 4.5 J2 q GM/R^2
    (~1.5 mm/s^2).
    """
    g0 = GM / R_REF**2
    assert abs(g0 - SURFACE_GRAVITY) <= 0.5e-3
    g_eq = np.linalg.norm(gravity(point(0.0, 30.0, R_REF)))
    g_pole = np.linalg.norm(gravity(point(90.0, 0.0, R_REF)))
    q = (R_GRAVITY / R_REF) ** 2
    assert 0.0 < g_eq - g0 < 1.1e-3  # + 3/2 J2 q g0 ~ 0.5 mm/s^2, C22 adds < 0.3 mm/s^2
    assert -1.1e-3 < g_pole - g0 < 0.0  # - 3 J2 q g0 ~ -1.0 mm/s^2
    assert abs((g_eq - g_pole) - 4.5 * J2 * q * g0) < 9.0 * C22 * q * g0 + 1e-9


def test_c22_makes_the_earth_facing_axis_pull_harder_and_pulls_toward_it():
    """C22 > 0 (Moon elongated along x, toward Earth): at the same radius |g| on the x axis
    exceeds |g| on the y axis by 18 C22 q GM/r^2, U is larger there, and at 45 E on the equator
    the tangential pull is westward (toward 0 E) with size 6 C22 q GM/r^2. J2 gives no
    tangential pull on the equator; at 45 N, 45 E (where cos 2 lon = 0 removes the C22 part)
    it pulls south, toward the equatorial bulge, by 3/2 J2 q GM/r^2."""
    radius = R_REF + 10e3
    g0, q = GM / radius**2, (R_GRAVITY / radius) ** 2
    gx, gy = np.linalg.norm(gravity([radius, 0, 0])), np.linalg.norm(gravity([0, radius, 0]))
    assert_allclose(gx - gy, 18.0 * C22 * q * g0, rtol=1e-6)
    assert potential_mcmf(np.array([radius, 0, 0])) > potential_mcmf(np.array([0, radius, 0]))

    lon = math.radians(45.0)
    east = np.array([-math.sin(lon), math.cos(lon), 0.0])
    a = gravity(point(0.0, 45.0, radius))
    assert_allclose(a @ east, -6.0 * C22 * q * g0, rtol=1e-9)

    lat = math.radians(45.0)
    north = np.array([-math.sin(lat) * math.cos(lon), -math.sin(lat) * math.sin(lon),
                      math.cos(lat)])
    a = gravity(point(45.0, 45.0, radius))
    assert_allclose(a @ north, -1.5 * J2 * q * g0, rtol=1e-9)


# ---------------------------------------------------------------- inertial frame


@pytest.mark.parametrize("t", [0.0, 1.0, 3600.0, 86400.0 * 3.3])
def test_gravity_mci_is_gravity_mcmf_rotated_by_the_spin_angle(t):
    """g_mci(t, Rz(W t) r) = Rz(W t) g_mcmf(r) to 1e-13 m/s^2 (rotation round-off only)."""
    th = OMEGA * t
    rz = np.array([[math.cos(th), -math.sin(th), 0.0], [math.sin(th), math.cos(th), 0.0],
                   [0.0, 0.0, 1.0]])
    rng = np.random.default_rng(20240611)
    for _ in range(5):
        r_mcmf = rng.normal(size=3)
        r_mcmf *= (R_REF + rng.uniform(0.0, 200e3)) / np.linalg.norm(r_mcmf)
        a_mci, work3 = np.empty(3), np.empty(3)
        gravity_mci(t, rz @ r_mcmf, a_mci, work3)
        assert_allclose(a_mci, rz @ gravity(r_mcmf), rtol=0.0, atol=1e-13)


# ---------------------------------------------------------------- circular orbit at 100 km

R_100 = R_REF + 100e3  # m, missions.md §3: r = 1,837.4 km


def test_circular_orbit_at_100_km_matches_reference_numbers():
    """missions.md §3: speed 1,633.5 m/s (±0.1, the quoted digit) and period 7,067 s (±1)."""
    assert R_100 == 1_837_400.0
    v = math.sqrt(GM / R_100)
    period = 2.0 * math.pi * math.sqrt(R_100**3 / GM)
    assert abs(v - 1633.5) <= 0.1
    assert abs(period - 7067.0) <= 1.0


def _point_mass_rhs(_t, y):
    r = y[:3]
    return np.concatenate([y[3:], -GM * r / np.linalg.norm(r) ** 3])


def _full_field_rhs(t, y):
    a, w3 = np.empty(3), np.empty(3)
    gravity_mci(t, np.ascontiguousarray(y[:3]), a, w3)
    return np.concatenate([y[3:], a])


def _circular_state(incl_deg):
    """Circular-speed state at 100 km, on the x axis, inclined incl_deg to the equator."""
    i = math.radians(incl_deg)
    v = math.sqrt(GM / R_100)
    return np.array([R_100, 0.0, 0.0]), np.array([0.0, v * math.cos(i), v * math.sin(i)])


def test_point_mass_circular_orbit_closes_after_one_derived_period():
    """Integrated with scipy DOP853 (rtol 1e-12), a point-mass orbit started at the circular
    speed returns to its start after 2 pi sqrt(r^3/GM) within 1 mm and 1 um/s, and stays on
    the circle (|r| within 1 mm) throughout; a 1 s error in the period would miss by 1.6 km."""
    r0, v0 = _circular_state(20.0)
    period = 2.0 * math.pi * math.sqrt(R_100**3 / GM)
    sol = solve_ivp(_point_mass_rhs, (0.0, period), np.concatenate([r0, v0]), method="DOP853",
                    rtol=1e-12, atol=1e-9, dense_output=True)
    assert sol.success
    y1 = sol.y[:, -1]
    assert np.linalg.norm(y1[:3] - r0) < 1e-3
    assert np.linalg.norm(y1[3:] - v0) < 1e-6
    radii = np.linalg.norm(sol.sol(np.linspace(0.0, period, 97))[:3], axis=0)
    assert np.max(np.abs(radii - R_100)) < 1e-3


def test_coast_over_one_period_matches_full_field_reference():
    """coast_or_burn (force 0, RK4, dt = 1 s) over one 100 km period agrees with scipy DOP853
    on the same full field within 1 cm and 0.01 mm/s. Started at the point-mass circular speed,
    the J2/C22 field (radial excess ~5e-4 of GM/r^2 here) leaves the orbit ~8 km from its start
    after one period, so the agreement is not the trivial point-mass closure.

    Measured: 6e-6 m and 5e-9 m/s (the reference's own error ~5e-6 m); dt = 10 s gives 1.7 mm.
    """
    r0, v0 = _circular_state(20.0)
    period = 2.0 * math.pi * math.sqrt(R_100**3 / GM)
    n = round(period)
    dt = period / n
    r, v, u, work = r0.copy(), v0.copy(), np.array([0.0, 0.0, 1.0]), np.zeros(N_SCRATCH_RK4)
    for k in range(n):
        dv = coast_or_burn(k * dt, r, v, 1000.0, 0.0, 0.0, u, dt, work)
        assert dv == 0.0
    sol = solve_ivp(_full_field_rhs, (0.0, period), np.concatenate([r0, v0]), method="DOP853",
                    rtol=1e-12, atol=1e-6)
    assert sol.success
    ref = sol.y[:, -1]
    assert np.linalg.norm(r - ref[:3]) < 1e-2
    assert np.linalg.norm(v - ref[3:]) < 1e-5
    # the non-spherical field is visible: the orbit does not close like a Kepler orbit
    assert 1e3 < np.linalg.norm(r - r0) < 20e3
