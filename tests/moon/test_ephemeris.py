"""Light time, the Earth's elevation and the Sun's direction from the Moon (DE421 + the IAU Moon
rotation model).

What validates what:

- Light time at the HAKUTO-R M1 epoch against the Earth-Moon distance read here from DE421's SPK
  segments with ``jplephem`` directly (UTC to TT by the 37 s of leap seconds in 2023 plus
  32.184 s, TDB - TT by its main periodic term), to 1 microsecond.
- The IAU pole against a physical fact: Cassini's laws keep the Moon's spin axis 1.54 deg from
  the ecliptic pole (Archinal et al. 2011; IERS obliquity 23.4393 deg).
- The prime meridian against the meaning of the mean-Earth frame: over a month the sub-Earth point
  wanders by the optical librations (at most ~8 deg in longitude, ~7 deg in latitude) about
  (0, 0).
- Elevations: ~90 deg at the sub-Earth point, Atlas crater within the libration of the
  spherical estimate 90 - acos(cos lat cos lon), below the horizon on the far side.
- The Sun: at the published new moon of 2023-04-20 it is opposite the Earth as the Moon sees
  them, at the full moon of 2023-05-05 beside it; at Atlas during M1's descent it is low and
  climbing.
- Every time function with a scalar and with an array.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
import pytest
from jplephem.spk import SPK

from touchdown.moon.constants import R_REF
from touchdown.moon.ephemeris import (
    C_LIGHT,
    EphemerisError,
    de421_path,
    load_ephemeris,
    moon_orientation_deg,
)

M1_EPOCH = datetime(2023, 4, 25, 15, 40, tzinfo=UTC)
ATLAS = (47.5, 44.4)  # deg N, deg E


@pytest.fixture(scope="module")
def eph():
    return load_ephemeris()


def jd_tdb_of(utc: datetime) -> tuple[float, float]:
    """(whole, fraction) JD TDB of a 2023 UTC instant, computed by hand."""
    days = (utc - datetime(2000, 1, 1, 12, tzinfo=UTC)).total_seconds() / 86400.0
    tt = days + (37.0 + 32.184) / 86400.0  # TAI - UTC = 37 s since 2017
    g = math.radians(357.53 + 0.98560028 * tt)
    tdb = tt + (0.001657 * math.sin(g) + 0.000014 * math.sin(2 * g)) / 86400.0
    return 2451545.0, tdb


def test_light_time_matches_de421_read_directly(eph):
    kernel = SPK.open(str(de421_path()))
    try:
        jd = jd_tdb_of(M1_EPOCH)
        moon_wrt_emb = kernel[3, 301].compute(*jd)  # km
        earth_wrt_emb = kernel[3, 399].compute(*jd)
    finally:
        kernel.close()
    expected_s = np.linalg.norm(moon_wrt_emb - earth_wrt_emb) * 1000.0 / C_LIGHT
    got = eph.light_time_s(M1_EPOCH, 0.0)
    assert isinstance(got, float)
    assert abs(got - expected_s) < 1e-6
    assert 1.2 < got < 1.4


def test_light_time_scalar_and_array_agree(eph):
    t = np.array([0.0, 600.0, 4500.0])
    arr = eph.light_time_s(M1_EPOCH, t)
    assert arr.shape == (3,)
    assert np.allclose(arr, [eph.light_time_s(M1_EPOCH, x) for x in t], rtol=0, atol=1e-12)
    assert np.all((arr > 1.2) & (arr < 1.4))
    # the range rate is under 0.1 km/s: 75 minutes move the light time by under 2 ms
    assert abs(arr[2] - arr[0]) < 2e-3


def test_light_time_from_the_sub_earth_point_is_one_radius_shorter(eph):
    lat, lon = eph.sub_earth_point_deg(M1_EPOCH, 0.0)
    centre = eph.light_time_s(M1_EPOCH, 0.0)
    site = eph.light_time_s(M1_EPOCH, 0.0, lat, lon)
    assert abs((centre - site) - R_REF / C_LIGHT) < 1e-9
    far = eph.light_time_s(M1_EPOCH, 0.0, -lat, lon + 180.0)
    assert abs((far - centre) - R_REF / C_LIGHT) < 1e-9


def test_iau_pole_is_cassini_angle_from_the_ecliptic_pole():
    d = np.linspace(0.0, 6000.0, 50) + 8515.0  # days from J2000: 2023 to 2039
    alpha0, delta0, _ = moon_orientation_deg(d)
    a, dl = np.radians(alpha0), np.radians(delta0)
    pole = np.stack([np.cos(dl) * np.cos(a), np.cos(dl) * np.sin(a), np.sin(dl)], -1)
    eps = math.radians(23.4393)
    ecliptic_pole = np.array([0.0, -math.sin(eps), math.cos(eps)])
    angle = np.degrees(np.arccos(pole @ ecliptic_pole))
    assert np.all(np.abs(angle - 1.543) < 0.05), angle


def test_sub_earth_point_wanders_by_the_librations_about_zero(eph):
    t = np.arange(0.0, 27.5 * 86400.0, 3600.0)
    lat, lon = eph.sub_earth_point_deg(M1_EPOCH, t)
    assert lat.shape == lon.shape == t.shape
    assert np.all(np.abs(lat) < 7.0) and np.all(np.abs(lon) < 8.2)
    assert np.ptp(lon) > 8.0 and np.ptp(lat) > 8.0  # the librations are there, not frozen
    assert abs(lat.mean()) < 1.0 and abs(lon.mean()) < 1.0
    el = eph.earth_elevation_deg(M1_EPOCH, t, lat, lon)
    assert np.all(el > 89.99)


def test_elevation_at_atlas_far_side_and_array_shapes(eph):
    lat, lon = ATLAS
    simple = 90.0 - math.degrees(math.acos(math.cos(math.radians(lat)) *
                                           math.cos(math.radians(lon))))
    el = eph.earth_elevation_deg(M1_EPOCH, 0.0, lat, lon)
    assert isinstance(el, float)
    assert abs(el - simple) < 10.0
    assert el > 5.0  # the M1 landing was in view of the Earth
    assert eph.earth_elevation_deg(M1_EPOCH, 0.0, 0.0, 180.0) < -70.0
    t = np.linspace(0.0, 4500.0, 7)
    arr = eph.earth_elevation_deg(M1_EPOCH, t, lat, lon)
    assert arr.shape == (7,)
    assert np.allclose(arr, [eph.earth_elevation_deg(M1_EPOCH, x, lat, lon) for x in t])
    path = eph.earth_elevation_deg(M1_EPOCH, t, np.full(7, lat), np.linspace(30.0, 44.4, 7))
    assert path.shape == (7,) and path[-1] == pytest.approx(arr[-1], abs=1e-9)


def test_bad_epoch_says_what_to_give(eph):
    with pytest.raises(EphemerisError, match="must be a datetime"):
        eph.light_time_s("2023-04-25", 0.0)
    with pytest.raises(EphemerisError, match="DE421 covers"):
        eph.light_time_s(datetime(2100, 1, 1, tzinfo=UTC), 0.0)


@pytest.mark.parametrize("utc, phase", [
    (datetime(2023, 4, 20, 4, 12, tzinfo=UTC), "new"),  # published new and full moons
    (datetime(2023, 5, 5, 17, 34, tzinfo=UTC), "full"),
])
def test_the_sun_lights_the_near_side_at_full_moon_and_the_far_side_at_new(eph, utc, phase):
    """At new moon the Moon stands between the Earth and the Sun: seen from the Moon the Sun is
    opposite the Earth (the far side lit); at full moon beside it (the sub-solar point near the
    sub-Earth point), within the librations and the 5 deg tilt of the Moon's orbit."""
    sun = eph.sun_mcmf_unit(utc, 0.0)
    earth = eph.earth_mcmf_m(utc, 0.0)
    angle = math.degrees(math.acos(sun @ earth / np.linalg.norm(earth)))
    assert np.linalg.norm(sun) == pytest.approx(1.0)
    assert angle > 168.0 if phase == "new" else angle < 12.0


def test_the_sun_at_atlas_during_m1_s_descent_is_low_in_the_east(eph):
    """Five days after new moon the morning terminator has moved some 60 deg west from the east
    limb (90 deg E; 12.2 deg a day): at Atlas (44 deg E), east of it, the Sun stands low and
    climbs by the Moon's turn relative to the Sun (360 deg in 29.5 days: 0.51 deg an hour
    at the equator, less at 47 deg N); at 0 deg E it has not yet risen."""
    el = eph.sun_elevation_deg(M1_EPOCH, np.array([0.0, 3600.0]), *ATLAS)
    assert 5.0 < el[0] < 20.0 and 0.0 < el[1] - el[0] < 0.51
    far = eph.sun_elevation_deg(M1_EPOCH, 0.0, 0.0, 0.0)  # the morning terminator is east of 0
    assert far < 0.0
