"""The guidance program template (``fsw.program_template.gravity_turn``): the test to copy with it.

What validates what:

- Against a slow, obvious reference (numpy: the velocity over the surface v - omega x r by
  ``np.cross``, its unit vector, thrust / mass) at random states: direction and magnitude to
  1e-12; straight up (along r) when still over the surface; the thrust returned is the throttle
  times every engine's thrust.
- Flown by a point mass (central gravity GM / r^2, the command held over each 0.1 s cycle,
  the estimate taken as the truth) from 20 km, 600 m/s over the turning Moon, 5 degrees below
  the horizontal: the gravity turn does what it is for: the speed over the surface falls at
  every cycle and the flight path only steepens; the lander is still above the ground when the
  speed is down to 20 m/s, its path then more than 60 degrees below the horizontal (73.7: a
  gravity turn reaches the vertical only as the speed goes to zero).
"""

import math

import numpy as np
import pytest

from touchdown.core import layout as st
from touchdown.fsw.program_template import gravity_turn
from touchdown.moon.constants import GM, OMEGA, R_REF
from touchdown.parameters import engine_group as group

DRY, PROP = 300.0, 100.0  # kg: 4 m/s^2 at full thrust, 2.5 times lunar gravity
FULL = 400.0 + 6 * 200.0  # N: M1's main engine and six thrusters


def params():
    fp = np.zeros(st.N_FSW_PARAMS)
    fp[st.FP_DRY] = DRY
    fp[st.FP_MAIN:st.FP_MAIN + st.N_ENGINE_GROUP] = group(1, 400.0, 318.0)
    fp[st.FP_THRUSTERS:st.FP_THRUSTERS + st.N_ENGINE_GROUP] = group(6, 200.0, 290.0, pulsed=True)
    return fp


def estimate(r, v):
    fsw = np.zeros(st.N_FSW)
    fsw[st.F_X:st.F_X + 3], fsw[st.F_X + 3:st.F_X + 6] = r, v
    fsw[st.F_PROP] = PROP
    return fsw


def naive_gravity_turn(r, v, throttle):
    """The thrust acceleration (m/s^2) the program should ask for, by numpy."""
    over_surface = v - np.cross([0.0, 0.0, OMEGA], r)
    return -throttle * FULL / (DRY + PROP) * over_surface / np.linalg.norm(over_surface)


def test_thrusts_against_the_velocity_over_the_surface():
    rng = np.random.default_rng(11)
    fp = params()
    for _ in range(50):
        r = rng.normal(size=3)
        r *= (R_REF + rng.uniform(0.0, 100e3)) / np.linalg.norm(r)
        v = rng.normal(scale=1000.0, size=3)
        throttle = rng.uniform(0.1, 1.0)
        fsw = estimate(r, v)
        assert gravity_turn(fsw, fp, throttle) == pytest.approx(throttle * FULL, rel=1e-15)
        np.testing.assert_allclose(fsw[st.F_THRUST_ACC:st.F_THRUST_ACC + 3],
                                   naive_gravity_turn(r, v, throttle), rtol=1e-12, atol=1e-15)


def test_straight_up_when_still_over_the_surface():
    r = np.array([0.3, -0.5, 0.8])
    r *= (R_REF + 50.0) / np.linalg.norm(r)
    v = np.cross([0.0, 0.0, OMEGA], r)  # turning with the ground: still over the surface
    fsw = estimate(r, v)
    gravity_turn(fsw, params(), 0.5)
    a = fsw[st.F_THRUST_ACC:st.F_THRUST_ACC + 3]
    np.testing.assert_allclose(a, 0.5 * FULL / (DRY + PROP) * r / np.linalg.norm(r), rtol=1e-12)


def test_flown_it_kills_the_speed_and_turns_the_path_toward_the_vertical():
    fp, dt = params(), 0.1
    r = np.array([R_REF + 20e3, 0.0, 0.0])
    dip = math.radians(5.0)
    v = 600.0 * np.array([-math.sin(dip), math.cos(dip), 0.0]) + np.cross([0.0, 0.0, OMEGA], r)
    speeds, dips = [], []
    for _ in range(20_000):
        fsw = estimate(r, v)
        gravity_turn(fsw, fp, 1.0)
        a = fsw[st.F_THRUST_ACC:st.F_THRUST_ACC + 3] - GM * r / np.linalg.norm(r) ** 3
        v = v + a * dt
        r = r + v * dt
        over = v - np.cross([0.0, 0.0, OMEGA], r)
        speed = np.linalg.norm(over)
        assert np.linalg.norm(r) > R_REF, "hit the ground"
        if speed < 20.0:
            break
        speeds.append(speed)
        dips.append(math.degrees(math.asin(-over @ r / (speed * np.linalg.norm(r)))))
    assert len(speeds) > 100
    assert np.all(np.diff(speeds) < 0.0)  # slower every cycle
    assert np.all(np.diff(dips) > -1e-9)  # the path only steepens
    assert speed < 20.0  # the speed is killed above the ground
    assert dips[0] < 6.0 and dips[-1] > 60.0  # from shallow to steep
