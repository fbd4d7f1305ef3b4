"""The sensor template (``world.sensor_template.read_altimeter``): the test to copy with it.

What validates what: on a synthetic terrain whose height is known everywhere (a plane rising
eastward, one layer), a lander placed at a chosen latitude, longitude and height, at the epoch
and an hour later (the Moon has turned: the position is given in the inertial frame, turned by
hand), reads

- on average its true height above the ground straight below (within 4 standard errors of
  2,000 readings), with the scenario's noise (sample standard deviation within 6 %);
- NaN above the maximum range and off the map;
- one normal draw per call, reading or not: the generator's words after a NaN call equal those
  after a reading (a limit never shifts the random numbers of the rest of the flight).
"""

import math

import numpy as np
import pytest
from tests.terrain import layer_by_longitude, turned

from touchdown.core import layout as st
from touchdown.moon.constants import R_REF
from touchdown.seeds import seed_words
from touchdown.world.sensor_template import read_altimeter

LAT, LON = math.radians(10.0), math.radians(40.0)  # map centre
PIX = math.radians(0.01)  # rad (~300 m)
N = 201  # pixels a side: 2 degrees
BASE, SLOPE = -1500.0, 2e5  # m at the centre, m per rad of longitude eastward
SIGMA, MAX_RANGE = 2.0, 10e3  # m


def ground(lon):
    return BASE + SLOPE * (lon - LON)


@pytest.fixture(scope="module")
def terrain():
    return layer_by_longitude(ground, LAT, LON, PIX, N)


def lander(lat, lon, height_above_ground, t):
    """A world state at t (s) over (lat, lon) (rad), height_above_ground (m) over the plane."""
    radius = R_REF + ground(lon) + height_above_ground
    r_mcmf = radius * np.array([math.cos(lat) * math.cos(lon), math.cos(lat) * math.sin(lon),
                                math.sin(lat)])
    world = np.zeros(st.N_WORLD)
    world[st.W_T] = t
    world[st.W_R:st.W_R + 3] = turned(t, r_mcmf)
    return world


def work():
    return np.zeros(st.N_SCRATCH_ALTIMETER)


@pytest.mark.parametrize("t", [0.0, 3600.0])
@pytest.mark.parametrize(("dlat", "dlon", "height"), [(0.0, 0.0, 100.0),
                                                      (0.3, -0.6, 2500.0),
                                                      (-0.5, 0.7, 9000.0)])
def test_reads_the_height_above_the_ground_below_with_its_noise(terrain, t, dlat, dlon,
                                                                   height):
    elev, meta = terrain
    world = lander(LAT + math.radians(dlat), LON + math.radians(dlon), height, t)
    rng = seed_words(7)
    readings = np.array([read_altimeter(world, elev, meta, SIGMA, MAX_RANGE, rng, work())
                         for _ in range(2000)])
    assert abs(readings.mean() - height) < 4 * SIGMA / math.sqrt(len(readings))
    assert readings.std(ddof=1) == pytest.approx(SIGMA, rel=0.06)


def test_no_reading_above_its_range_or_off_the_map(terrain):
    elev, meta = terrain
    rng = seed_words(1)
    assert math.isnan(read_altimeter(lander(LAT, LON, MAX_RANGE + 50.0, 0.0), elev, meta, SIGMA,
                                      MAX_RANGE, rng, work()))
    off_map = lander(LAT + math.radians(3.0), LON, 100.0, 0.0)
    assert math.isnan(read_altimeter(off_map, elev, meta, SIGMA, MAX_RANGE, rng, work()))


def test_one_draw_per_call_reading_or_not(terrain):
    elev, meta = terrain
    low, high = lander(LAT, LON, 100.0, 0.0), lander(LAT, LON, 2 * MAX_RANGE, 0.0)
    after_reading, after_none = seed_words(3), seed_words(3)
    assert not math.isnan(read_altimeter(low, elev, meta, SIGMA, MAX_RANGE, after_reading,
                                         work()))
    assert math.isnan(read_altimeter(high, elev, meta, SIGMA, MAX_RANGE, after_none, work()))
    assert (after_reading == after_none).all()
    assert not (after_reading == seed_words(3)).all()  # and a draw was made


def test_the_real_altimeter_reads_as_the_template_with_its_dropouts(terrain):
    """``world.sensors.read_altimeter`` (the landers' altimeter, made from this template):
    without dropouts its readings agree with the template's within their noise (its own draws:
    a dropout draw comes first); with 30 % dropouts about 30 % are NaN (within 4 standard
    errors of 2,000)."""
    from touchdown.world.sensors import read_altimeter as real

    elev, meta = terrain
    world = lander(LAT, LON, 800.0, 0.0)
    wp = np.zeros(st.N_WORLD_PARAMS)
    wp[st.WP_ALTIMETER:st.WP_ALTIMETER + 3] = (MAX_RANGE, SIGMA, 0.0)
    meas = np.zeros(st.N_MEAS)
    a, b = seed_words(3), seed_words(3)
    for _ in range(50):
        expected = read_altimeter(world, elev, meta, SIGMA, MAX_RANGE, a, work())
        real(world, wp, elev, meta, b, meas, work())
        assert abs(meas[st.M_ALTIMETER] - expected) < 12 * SIGMA  # the same truth below
    wp[st.WP_ALTIMETER + 2] = 0.3
    missing = 0
    for _ in range(2000):
        real(world, wp, elev, meta, b, meas, work())
        missing += math.isnan(meas[st.M_ALTIMETER])
    assert abs(missing / 2000 - 0.3) < 4 * math.sqrt(0.3 * 0.7 / 2000)
