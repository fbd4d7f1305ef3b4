"""Contact (``world.contact``): the bound that lets the loop take long steps never misses one.

What validates what:

- ``contact_possible`` against a fine march: random landers over a rough synthetic terrain
  (a 1,000 m cliff and a 500 m one-cell ridge inside a regional layer, over a global layer
  with a 3 km hill), at 0.5 m to 3 km above it, with random velocities, thrust directions
  and steps of 0.1 to 10 s. Whenever it answers "impossible", a 1 ms RK4 march with gravity
  and any thrust within the stated bound stays above the terrain (footpads included) for the
  whole step. It must also answer "impossible" often enough to be useful (73 of the 120
  steps here; of the 47 it cannot rule out, 31 do reach the terrain), and keep its box.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from touchdown.core.layout import (
    N_MEAS,
    N_SCRATCH_ALTITUDE,
    N_SCRATCH_CLASSIFY,
    N_SCRATCH_CONTACT,
    N_SCRATCH_READ_LRF,
    N_TERRAIN_BOX,
    N_TERRAIN_META,
    N_WORLD,
    N_WORLD_PARAMS,
    N_WORLD_SCRATCH,
    TB_CHORD,
    TB_HEIGHT,
    TM_COLS,
    TM_LAT0,
    TM_LON0,
    TM_OFFSET,
    TM_PIXEL,
    TM_ROWS,
    TM_WRAPS,
    W_Q,
    W_R,
    W_T,
    W_TERRAIN_BOX,
    W_V,
    WP_FOOT,
    WP_LRF_BEAM,
    WP_LRF_MAX,
)
from touchdown.moon.constants import OMEGA, R_REF
from touchdown.moon.gravity import gravity_mci
from touchdown.moon.terrain import fill_bounds
from touchdown.world.contact import classify_contact, contact_possible, update_altitude
from touchdown.world.sensors import read_lrf

FOOT = 1.2  # m


def make_terrain():
    """A rough 2 x 2 deg regional layer (0.01 deg pixels) over a global one with a hill."""
    grid = np.zeros((201, 201))
    grid[:, 100] = 500.0  # one-cell ridge at 1 E
    grid[:, 150:] = 1000.0  # cliff from 1.5 E
    grid[120, 60] = 800.0  # spike
    globe = np.zeros((180, 360))
    globe[85:95, 5:8] = 3000.0  # hill east of the region
    layers = [(grid, 1.0, 0.0, 0.01), (globe, 89.5, 0.5, 1.0)]
    meta = np.zeros((2, N_TERRAIN_META))
    offset = 0
    for k, (g, lat0, lon0, pix) in enumerate(layers):
        row = meta[k]
        row[TM_OFFSET], row[TM_ROWS], row[TM_COLS] = offset, g.shape[0], g.shape[1]
        row[TM_LAT0], row[TM_LON0] = math.radians(lat0), math.radians(lon0)
        row[TM_PIXEL], row[TM_WRAPS] = math.radians(pix), 1.0 if k == 1 else 0.0
        offset += g.size
    elev = np.concatenate([g.ravel() for g, *_ in layers]).astype(np.float32)
    fill_bounds(elev, meta)
    return elev, meta


def march_min_altitude(world, wp, elev, meta, a_thrust, dt, h=1e-3):
    """Lowest footpad altitude (m) over [0, dt] by RK4 steps of h with gravity + a_thrust."""
    w = world.copy()
    r, v = w[W_R:W_R + 3], w[W_V:W_V + 3]
    work, g, tmp = np.zeros(N_SCRATCH_ALTITUDE), np.zeros(3), np.zeros(3)

    def acc(t, x):
        gravity_mci(t, x, g, tmp)
        return g + a_thrust

    t0 = w[W_T]
    lowest = update_altitude(w, wp, elev, meta, work)
    for k in range(round(dt / h)):
        t = t0 + k * h
        k1r, k1v = v.copy(), acc(t, r)
        k2r, k2v = v + 0.5 * h * k1v, acc(t + 0.5 * h, r + 0.5 * h * k1r)
        k3r, k3v = v + 0.5 * h * k2v, acc(t + 0.5 * h, r + 0.5 * h * k2r)
        k4r, k4v = v + h * k3v, acc(t + h, r + h * k3r)
        r += h / 6.0 * (k1r + 2 * k2r + 2 * k3r + k4r)
        v += h / 6.0 * (k1v + 2 * k2v + 2 * k3v + k4v)
        w[W_T] = t + h
        lowest = min(lowest, update_altitude(w, wp, elev, meta, work))
    return lowest


def lander_over(elev, meta, lat, lon, alt, v_mcmf, t):
    """World array of a lander alt (m) above the terrain at lat, lon (deg), at time t (s)."""
    from touchdown.moon.terrain import terrain_height

    h = terrain_height(elev, meta, math.radians(lat), math.radians(lon))
    c, s = math.cos(math.radians(lat)), math.sin(math.radians(lat))
    up = np.array([c * math.cos(math.radians(lon)), c * math.sin(math.radians(lon)), s])
    r_mcmf = (R_REF + h + FOOT + alt) * up
    v_in = v_mcmf + np.cross([0.0, 0.0, OMEGA], r_mcmf)  # surface-relative to inertial
    rot = np.array([[math.cos(OMEGA * t), -math.sin(OMEGA * t), 0.0],
                    [math.sin(OMEGA * t), math.cos(OMEGA * t), 0.0], [0.0, 0.0, 1.0]])
    world = np.zeros(N_WORLD)
    world[W_T] = t
    world[W_R:W_R + 3] = rot @ r_mcmf
    world[W_V:W_V + 3] = rot @ v_in
    return world


def test_contact_possible_never_misses_a_contact():
    elev, meta = make_terrain()
    wp = np.zeros(N_WORLD_PARAMS)
    wp[WP_FOOT] = FOOT
    rng = np.random.default_rng(3)
    ruled_out = 0
    for trial in range(120):
        lat, lon = rng.uniform(-0.8, 0.8), rng.uniform(0.1, 1.9)
        alt = 10.0 ** rng.uniform(-0.3, 3.5)  # m, 0.5 m to 3 km
        speed = 10.0 ** rng.uniform(0.0, 2.5)  # m/s
        v = rng.standard_normal(3)
        v *= speed / np.linalg.norm(v)
        dt = (0.1, 1.0, 10.0)[trial % 3]
        accel = rng.uniform(0.0, 5.0)  # m/s^2, the bound given
        a_dir = rng.standard_normal(3)
        world = lander_over(elev, meta, lat, lon, alt, v, 1000.0)
        if contact_possible(world, wp, dt, accel, elev, meta, np.zeros(N_SCRATCH_CONTACT)):
            continue
        ruled_out += 1
        a_thrust = accel * a_dir / np.linalg.norm(a_dir)
        lowest = march_min_altitude(world, wp, elev, meta, a_thrust, dt, h=min(1e-3, dt / 100))
        assert lowest > 0.0, (trial, lat, lon, alt, speed, dt)
    assert ruled_out >= 40  # it rules contact out often: long steps are possible


def test_contact_possible_rules_out_a_slow_descent_high_up_and_keeps_its_box():
    """20 m above flat ground at 1 m/s: no contact in 0.1 s (so no 10 ms steps), with the box
    made once and kept for the next steps; 0.05 m up at 1 m/s down: possible."""
    elev, meta = make_terrain()
    wp = np.zeros(N_WORLD_PARAMS)
    wp[WP_FOOT] = FOOT
    world = lander_over(elev, meta, -0.5, 0.3, 20.0, np.zeros(3), 50.0)
    r_hat = world[W_R:W_R + 3] / np.linalg.norm(world[W_R:W_R + 3])
    world[W_V:W_V + 3] -= r_hat  # 1 m/s down
    assert not contact_possible(world, wp, 0.1, 3.0, elev, meta, np.zeros(N_SCRATCH_CONTACT))
    box = world[W_TERRAIN_BOX:W_TERRAIN_BOX + N_TERRAIN_BOX].copy()
    assert box[TB_CHORD] > 0.0 and box[TB_HEIGHT] == 0.0
    assert not contact_possible(world, wp, 0.1, 3.0, elev, meta, np.zeros(N_SCRATCH_CONTACT))
    assert np.array_equal(world[W_TERRAIN_BOX:W_TERRAIN_BOX + N_TERRAIN_BOX], box)
    low = lander_over(elev, meta, -0.5, 0.3, 0.05, np.zeros(3), 50.0)
    low[W_V:W_V + 3] -= r_hat
    assert contact_possible(low, wp, 0.1, 3.0, elev, meta, np.zeros(N_SCRATCH_CONTACT))


@pytest.mark.parametrize("alt", [5e3, 50e3])
def test_contact_ruled_out_high_above_every_layer(alt):
    """Above the highest layer value the answer needs no box (and leaves it unset)."""
    elev, meta = make_terrain()
    wp = np.zeros(N_WORLD_PARAMS)
    world = lander_over(elev, meta, 0.0, 1.0, alt, np.array([0.0, 1600.0, -30.0]), 10.0)
    assert not contact_possible(world, wp, 1.0, 0.0, elev, meta, np.zeros(N_SCRATCH_CONTACT))
    assert world[W_TERRAIN_BOX + TB_CHORD] == 0.0


def test_kernels_write_only_inside_their_declared_scratch():
    """``contact_possible`` (making a new box), ``update_altitude``, ``classify_contact`` and
    ``read_lrf`` write only inside the scratch their ``core.layout`` declarations size
    (N_SCRATCH_*), and each fits the loop's N_WORLD_SCRATCH: Numba clamps a slice past the
    end and does not bounds-check, so a kernel handed fewer words than it slices writes past
    them. A sentinel after the declared words must stay."""
    elev, meta = make_terrain()
    wp = np.zeros(N_WORLD_PARAMS)
    wp[WP_FOOT] = FOOT
    wp[WP_LRF_BEAM + 2], wp[WP_LRF_MAX] = -1.0, 1e4
    world = lander_over(elev, meta, -0.5, 0.3, 0.05, np.zeros(3), 50.0)
    world[W_Q] = 1.0
    rng, meas = np.array([1, 2, 3, 4], dtype=np.uint64), np.zeros(N_MEAS)
    kernels = {
        "contact_possible": (N_SCRATCH_CONTACT,
                             lambda w: contact_possible(world, wp, 0.1, 3.0, elev, meta, w)),
        "update_altitude": (N_SCRATCH_ALTITUDE,
                            lambda w: update_altitude(world, wp, elev, meta, w)),
        "classify_contact": (N_SCRATCH_CLASSIFY,
                             lambda w: classify_contact(world, wp, elev, meta, w)),
        "read_lrf": (N_SCRATCH_READ_LRF,
                     lambda w: read_lrf(world, wp, elev, meta, rng, meas, w)),
    }
    for name, (n, call) in kernels.items():
        assert n <= N_WORLD_SCRATCH, name
        buf = np.full(n + 16, -7.0)
        call(buf[:n])
        assert np.all(buf[n:] == -7.0), f"{name} wrote past its {n} scratch words"
        assert not np.any(buf[:n] == -7.0), f"{name} left declared words unused"
    assert world[W_TERRAIN_BOX + TB_CHORD] > 0.0  # contact_possible did make a box
