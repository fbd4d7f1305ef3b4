"""Guidance, textbook style: the landing-site frame from east/north/up, Klumpp's polynomial
law and its downrange cubic (Klumpp 1974, Automatica 10, 133-146), the target's own polynomial
trajectory, the constant-deceleration descent profile, the rate and PD laws of the vertical
phases, and a point-mass flight in uniform gravity that holds each command over a cycle.
"""

import math

import numpy as np

from touchdown.moon.constants import R_REF


def enu(lat, lon):
    """East, north, up unit vectors (mcmf) at lat, lon (rad): up is radial, east = z x up."""
    up = np.array([math.cos(lat) * math.cos(lon), math.cos(lat) * math.sin(lon), math.sin(lat)])
    east = np.cross([0.0, 0.0, 1.0], up)
    east /= np.linalg.norm(east)
    return east, np.cross(up, east), up


def site_axes(lat, lon, azimuth):
    """Rows downrange (along the approach azimuth, from north to east), crossrange to the left
    (up x downrange) and up, and the site position (m) at height h on R_REF + h."""
    east, north, up = enu(lat, lon)
    down = math.cos(azimuth) * north + math.sin(azimuth) * east
    return np.array([down, np.cross(up, down), up])


def site_position(lat, lon, height):
    return (R_REF + height) * enu(lat, lon)[2]


def klumpp_accel(r, v, target, tgo):
    """a = a_T + 6 (v_T + v) / T + 12 (r_T - r) / T^2 with T = -tgo."""
    target = np.asarray(target, float)
    T = -tgo
    return target[6:9] + 6 * (target[3:6] + v) / T + 12 * (target[0:3] - r) / T**2


def cubic_coefficients(r_x, v_x, target):
    """Downrange cubic j_T T^3 + 6 a_T T^2 + (6 v + 18 v_T) T + 24 (r_T - r), highest first."""
    return [target[9], 6 * target[6], 6 * v_x + 18 * target[3], 24 * (target[0] - r_x)]


def negative_real_roots(r_x, v_x, target):
    """The cubic's real roots T < 0, by numpy.roots (a companion-matrix eigenvalue solve)."""
    roots = np.roots(cubic_coefficients(r_x, v_x, target))
    real = roots[np.abs(roots.imag) <= 1e-9 * np.maximum(1.0, np.abs(roots))].real
    return np.sort(real[real < 0])


def time_to_go(r_x, v_x, target):
    """Time to go (s): minus the cubic's negative real root nearest zero (the first time ahead
    at which the polynomial through the state meets the target)."""
    roots = negative_real_roots(r_x, v_x, target)
    assert roots.size > 0, "the case should have a negative root"
    return -float(roots[-1])


def target_trajectory(target, tau):
    """Position, velocity of the target's polynomial at tau (s) from the target time (< 0
    before it): r_T + v_T tau + a_T tau^2 / 2 + j_T tau^3 / 6."""
    target = np.asarray(target, float)
    rt, vt, at, jt = target[0:3], target[3:6], target[6:9], target[9:12]
    return (rt + vt * tau + at * tau**2 / 2 + jt * tau**3 / 6,
            vt + at * tau + jt * tau**2 / 2)


def descent_rate(altitude, deceleration, final_speed, terminal_altitude):
    """-sqrt(v_f^2 + 2 a_d h) above the terminal altitude, -v_f at or below it."""
    if altitude <= terminal_altitude:
        return -final_speed
    return -math.sqrt(final_speed**2 + 2 * deceleration * altitude)


def vertical_law(r, v, hdot, hdot_cmd, kp, kv, tau):
    """Horizontal PD on the site-relative position and velocity, vertical rate tracking."""
    return np.array([-kp * r[0] - kv * v[0], -kp * r[1] - kv * v[1], (hdot_cmd - hdot) / tau])


def fly(r, v, gravity, dt, command, steps):
    """Fly a point mass in uniform gravity for `steps` cycles of dt (s). Each cycle
    command(k, r, v) returns the total acceleration asked (m/s^2); the thrust a - g is held over
    the cycle and the motion integrated exactly (constant acceleration). Returns r, v."""
    r, v = np.array(r, float), np.array(v, float)
    g = np.asarray(gravity, float)
    for k in range(steps):
        a = command(k, r, v)
        if a is None:
            break
        thrust = a - g  # what the flight software asks of the engines (cycle._thrust_from_guid)
        total = thrust + g  # what the point mass feels: the engines deliver it exactly
        r = r + v * dt + total * dt * dt / 2
        v = v + total * dt
    return r, v
