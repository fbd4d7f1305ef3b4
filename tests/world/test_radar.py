"""The landing radar (``world.radar.read_radar_beams``) against a terrain with a known answer.

What validates what: over a synthetic terrain at one height everywhere (one layer, 4 degrees
wide), a lander an hour after the epoch (the Moon has turned), at a random attitude, with four
beams (Apollo-like: one near nadir, three canted 20-30 degrees), reads, without noise:

- each beam's slant range equal to the ray-sphere intersection at R_REF + h solved by hand
  (numpy), to 1 mm;
- each beam's velocity equal to the velocity over the surface, v - omega x r, projected on the
  beam (numpy, in the Moon-fixed frame, turned into the inertial one by hand), to 1e-9 m/s;

and with noise, the sample mean and standard deviation of 2,000 readings of each beam match the
truth and the noise's sigma. Beyond the maximum range, and on a dropout, both values are NaN;
the generator's words after a reading equal those after a dropout (the draws never shift).
"""

import math

import numpy as np
import pytest
from tests.naive import rotation as rot
from tests.terrain import layer_by_longitude, turned

from touchdown.core import layout as st
from touchdown.moon.constants import OMEGA, R_REF
from touchdown.seeds import seed_words
from touchdown.world.radar import read_radar_beams

LAT, LON = math.radians(0.7), math.radians(23.4)  # Mare Tranquillitatis
H = -1900.0  # m: the terrain's height everywhere
PIX, N = math.radians(0.02), 201  # a 4-degree layer
T = 3600.0  # s after the epoch


@pytest.fixture(scope="module")
def terrain():
    return layer_by_longitude(lambda lon: H, LAT, LON, PIX, N)


def case(rng, height=2000.0):
    """A world state at T, the Moon-fixed truths, and four beams (body axes)."""
    up = np.array([math.cos(LAT) * math.cos(LON), math.cos(LAT) * math.sin(LON), math.sin(LAT)])
    r_m = (R_REF + H + height) * up
    east = np.array([-math.sin(LON), math.cos(LON), 0.0])
    v_rel = -12.0 * up + 35.0 * east + rng.normal(0.0, 3.0, 3)  # m/s over the surface
    omega = np.array([0.0, 0.0, OMEGA])
    q = rng.normal(size=4)
    q /= np.linalg.norm(q)
    world = np.zeros(st.N_WORLD)
    world[st.W_T] = T
    world[st.W_R:st.W_R + 3] = turned(T, r_m)
    world[st.W_V:st.W_V + 3] = turned(T, v_rel + np.cross(omega, r_m))
    world[st.W_Q:st.W_Q + 4] = q
    beams_m = []  # Moon-fixed beam directions: down, and three canted around it
    for tilt, az in ((2.0, 0.0), (20.0, 0.0), (25.0, 120.0), (30.0, 240.0)):
        t, z = math.radians(tilt), math.radians(az)
        north = np.cross(up, east)
        b = -math.cos(t) * up + math.sin(t) * (math.cos(z) * north + math.sin(z) * east)
        beams_m.append(b / np.linalg.norm(b))
    r_q = rot.matrix(q)  # body -> inertial
    beams_body = np.array([r_q.T @ turned(T, b) for b in beams_m])
    return world, r_m, v_rel, np.array(beams_m), beams_body


def sphere_range(r, b, radius):
    """The nearest s > 0 with |r + s b| = radius."""
    rb = r @ b
    return -rb - math.sqrt(rb * rb - (r @ r - radius * radius))


def read(world, beams, terrain, rng, max_range=20e3, sig=(0.0, 0.0), dropout=0.0):
    out = np.zeros((len(beams), st.N_RADAR_BEAM))
    n = read_radar_beams(world, beams, *terrain, max_range, sig[0], sig[1], dropout, rng, out,
                         np.zeros(st.N_SCRATCH_RADAR))
    return n, out


def test_ranges_and_velocities_equal_the_geometry_by_hand(terrain):
    world, r_m, v_rel, beams_m, beams_body = case(np.random.default_rng(1))
    n, out = read(world, beams_body, terrain, seed_words(0))
    assert n == 4
    for k, b in enumerate(beams_m):
        assert out[k, st.RB_RANGE] == pytest.approx(sphere_range(r_m, b, R_REF + H), abs=1e-3)
        assert out[k, st.RB_VELOCITY] == pytest.approx(v_rel @ b, abs=1e-9)
    # the 30-degree beam: about height / cos 30 (the surface curves away a little)
    assert 2000.0 / math.cos(math.radians(29.0)) < out[3, st.RB_RANGE] < 2000.0 / math.cos(
        math.radians(31.0))


def test_noise_has_the_declared_sigma(terrain):
    world, r_m, v_rel, beams_m, beams_body = case(np.random.default_rng(2))
    rng = seed_words(4)
    reads = np.array([read(world, beams_body, terrain, rng, sig=(3.0, 0.2))[1]
                      for _ in range(2000)])
    for k, b in enumerate(beams_m):
        rho, vel = reads[:, k, st.RB_RANGE], reads[:, k, st.RB_VELOCITY]
        assert abs(rho.mean() - sphere_range(r_m, b, R_REF + H)) < 4 * 3.0 / math.sqrt(2000)
        assert abs(vel.mean() - v_rel @ b) < 4 * 0.2 / math.sqrt(2000)
        assert rho.std(ddof=1) == pytest.approx(3.0, rel=0.06)
        assert vel.std(ddof=1) == pytest.approx(0.2, rel=0.06)


def test_no_reading_beyond_range_or_on_a_dropout_and_the_same_draws(terrain):
    world, _, _, _, beams_body = case(np.random.default_rng(3))
    n, out = read(world, beams_body, terrain, seed_words(5), max_range=2100.0)
    assert n == 1  # only the near-nadir beam reaches the ground within 2.1 km
    assert np.isnan(out[1:]).all() and not np.isnan(out[0]).any()
    after_read, after_drop = seed_words(6), seed_words(6)
    assert read(world, beams_body, terrain, after_read)[0] == 4
    n, out = read(world, beams_body, terrain, after_drop, dropout=1.0)
    assert n == 0 and np.isnan(out).all()
    assert (after_read == after_drop).all()
