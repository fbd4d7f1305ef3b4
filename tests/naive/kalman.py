"""The navigation filter, textbook style: range prediction on a sphere, the range row of the
measurement matrix, the Kalman update in Joseph form, the altitude initialisation, the
covariance widening and the covariance propagation, and a tight numerical integration of the
coast (and of a constant thrust) for the state.

Sources: the module docstring of ``touchdown.fsw.navigation`` and docs/architecture.md
(Navigation, Rejection policies): H = [-n / (n . b), 0, 0, 0], sigma = (a + b alt) / |n . b|,
S = H P H^T + sigma^2, NIS = y^2 / S; Joseph form P = (I - K H) P (I - K H)^T + K R K^T.
"""

import math

import numpy as np
from scipy.integrate import solve_ivp

from touchdown.moon.constants import GM, R_REF
from touchdown.moon.gravity import gravity_mci


def ray_sphere(origin, direction, radius):
    """Distance (m) from origin along the unit direction to the first crossing of the sphere
    |p| = radius (m); NaN when the ray misses it or it lies behind."""
    origin, direction = np.asarray(origin, float), np.asarray(direction, float)
    b = float(origin @ direction)
    c = float(origin @ origin) - radius * radius
    disc = b * b - c
    if disc < 0:
        return math.nan
    rho = -b - math.sqrt(disc)
    return rho if rho > 0 else math.nan


def sphere_prediction(r, b, height):
    """Predicted range (m) along beam b from r to the sphere R_REF + height and the sphere's
    unit normal there (the as-flown model, and any flat map)."""
    rho = ray_sphere(r, b, R_REF + height)
    hit = np.asarray(r, float) + rho * np.asarray(b, float)
    return rho, hit / np.linalg.norm(hit)


def range_row(n, b):
    """d(range)/d(position): -n / (n . b)."""
    n, b = np.asarray(n, float), np.asarray(b, float)
    return -n / float(n @ b)


def range_sigma(a, per_altitude, altitude, n, b):
    """The filter's range noise (m): the height allowance a + b alt stretched by 1/|n . b|."""
    return (a + per_altitude * max(altitude, 0.0)) / abs(float(np.asarray(n) @ np.asarray(b)))


def measurement_matrix(h):
    """1 x 6 H from the position row h."""
    H = np.zeros((1, 6))
    H[0, :3] = h
    return H


def innovation_variance(P, h, sigma):
    """S = H P H^T + sigma^2 (m^2)."""
    H = measurement_matrix(h)
    return float((H @ P @ H.T)[0, 0]) + sigma * sigma


def nis(P, h, sigma, y):
    """Normalised innovation squared y^2 / S."""
    return y * y / innovation_variance(P, h, sigma)


def kalman_update(x, P, h, sigma, y):
    """Scalar Kalman update, Joseph form. Returns the new state and covariance."""
    H = measurement_matrix(h)
    S = innovation_variance(P, h, sigma)
    K = P @ H.T / S  # 6 x 1
    A = np.eye(6) - K @ H
    return x + K[:, 0] * y, A @ P @ A.T + (K @ K.T) * sigma * sigma


def height_initialisation(x, P, h, sigma, y):
    """As-flown acquisition: move the position along the local vertical u by y / (h . u) so the
    reading fits; P <- T P T^T + (sigma / (h . u))^2 u u^T with T = I - u u^T on the position
    block. Velocity and horizontal position are left as they are."""
    u = x[:3] / np.linalg.norm(x[:3])
    hu = float(np.asarray(h) @ u)
    x = x.copy()
    x[:3] += y / hu * u
    T = np.eye(6)
    T[:3, :3] -= np.outer(u, u)
    P = T @ P @ T.T
    P[:3, :3] += (sigma / hu) ** 2 * np.outer(u, u)
    return x, P


def widen(P, h, y):
    """Terrain-aware re-acquisition: add (y / |h|)^2 to each position variance."""
    P = P.copy()
    P[[0, 1, 2], [0, 1, 2]] += y * y / float(np.asarray(h) @ np.asarray(h))
    return P


def gravity_gradient(r):
    """Point-mass gravity gradient d(g)/d(r) = GM / |r|^3 (3 r r^T / |r|^2 - I)."""
    r = np.asarray(r, float)
    rn = float(np.linalg.norm(r))
    return GM / rn**3 * (3.0 * np.outer(r, r) / rn**2 - np.eye(3))


def propagate_covariance(P, r, dt, q_acc):
    """P <- Phi P Phi^T + Q, Phi = [[I, I dt], [G dt, I]] with G the point-mass gradient at r
    (m), Q of white acceleration noise of PSD q_acc: [[dt^3/3, dt^2/2], [dt^2/2, dt]] q_acc per
    axis."""
    G = gravity_gradient(r)
    Phi = np.block([[np.eye(3), dt * np.eye(3)], [dt * G, np.eye(3)]])
    Q = q_acc * np.block([[dt**3 / 3 * np.eye(3), dt**2 / 2 * np.eye(3)],
                          [dt**2 / 2 * np.eye(3), dt * np.eye(3)]])
    return Phi @ P @ Phi.T + Q


def fly_reference(t0, r0, v0, duration, accel_mci=(0.0, 0.0, 0.0)):
    """Position and velocity after `duration` (s) from (r0, v0) at t0 (s) under the gravity
    model (point mass + J2 + C22, ``touchdown.moon.gravity``, checked in tests/moon) plus a
    constant inertial acceleration (m/s^2), integrated by DOP853 to 1e-13 relative."""
    accel = np.asarray(accel_mci, float)
    g, w3 = np.zeros(3), np.zeros(3)

    def rhs(t, y):
        gravity_mci(t, np.ascontiguousarray(y[:3]), g, w3)
        return np.concatenate([y[3:], g + accel])

    sol = solve_ivp(rhs, (t0, t0 + duration), np.concatenate([r0, v0]), method="DOP853",
                    rtol=1e-13, atol=1e-9)
    return sol.y[:3, -1], sol.y[3:, -1]
