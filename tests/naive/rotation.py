"""Quaternions (w, x, y, z) the textbook way: Hamilton product, rotation matrix, axis-angle.

``q_body_mci`` rotates body components into mci: v_mci = matrix(q) @ v_body.
"""

import math

import numpy as np


def matrix(q):
    """3x3 rotation matrix of the unit quaternion q = (w, x, y, z)."""
    w, x, y, z = np.asarray(q, float) / np.linalg.norm(q)
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
        [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
        [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
    ])


def product(p, q):
    """Hamilton product p ⊗ q."""
    pw, pv = p[0], np.asarray(p[1:], float)
    qw, qv = q[0], np.asarray(q[1:], float)
    return np.concatenate([[pw * qw - pv @ qv], pw * qv + qw * pv + np.cross(pv, qv)])


def from_rotvec(v):
    """Unit quaternion of the rotation vector v (rad): angle |v| about v / |v|."""
    v = np.asarray(v, float)
    angle = float(np.linalg.norm(v))
    if angle == 0.0:
        return np.array([1.0, 0.0, 0.0, 0.0])
    return np.concatenate([[math.cos(angle / 2)], math.sin(angle / 2) * v / angle])


def turning(a, b):
    """Unit quaternion of the shortest rotation taking unit vector a onto unit vector b."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    axis = np.cross(a, b)
    s = float(np.linalg.norm(axis))
    angle = math.atan2(s, float(a @ b))
    return from_rotvec(axis / s * angle) if s > 0 else np.array([1.0, 0.0, 0.0, 0.0])


def random_quaternion(rng):
    """A uniformly random unit quaternion with w > 0."""
    q = rng.standard_normal(4)
    q /= np.linalg.norm(q)
    return q if q[0] > 0 else -q
