"""Quaternion and attitude kernels shared by the world and the flight software.

Quaternions are (w, x, y, z), unit norm; ``q_body_mci`` rotates body components into mci:
``v_mci = rotate(q_body_mci, v_body)``.
"""

import math

from touchdown._compile import kernel


@kernel
def _rotate(w, x, y, z, v, out):
    """Write into out the vector v rotated by the unit quaternion (w, x, y, z)."""
    tx = 2.0 * (y * v[2] - z * v[1])
    ty = 2.0 * (z * v[0] - x * v[2])
    tz = 2.0 * (x * v[1] - y * v[0])
    out[0] = v[0] + w * tx + (y * tz - z * ty)
    out[1] = v[1] + w * ty + (z * tx - x * tz)
    out[2] = v[2] + w * tz + (x * ty - y * tx)


@kernel
def quat_rotate(q, v, out):
    """Write R(q) v into out (out may not alias v)."""
    _rotate(q[0], q[1], q[2], q[3], v, out)


@kernel
def quat_rotate_inverse(q, v, out):
    """Write R(q)^T v into out (out may not alias v)."""
    _rotate(q[0], -q[1], -q[2], -q[3], v, out)


@kernel
def body_z_mci(q, out):
    """Write the body +z axis (the thrust axis) in mci components: the third column of R(q)."""
    w, x, y, z = q[0], q[1], q[2], q[3]
    out[0] = 2.0 * (x * z + w * y)
    out[1] = 2.0 * (y * z - w * x)
    out[2] = 1.0 - 2.0 * (x * x + y * y)


@kernel
def rotvec_quat(ax, ay, az):
    """The unit quaternion (w, x, y, z) of the rotation vector (ax, ay, az) (rad); w > 1 (an
    identity that ``quat_compose`` skips) when the angle is below 1e-15 rad."""
    angle = math.sqrt(ax * ax + ay * ay + az * az)
    if angle < 1e-15:
        return 2.0, 0.0, 0.0, 0.0
    s = math.sin(0.5 * angle) / angle
    return math.cos(0.5 * angle), ax * s, ay * s, az * s


@kernel
def quat_apply_rotvec(q, ax, ay, az, left):
    """Compose q in place with the rotation vector (ax, ay, az) (rad).

    ``left=True``: q <- dq ⊗ q (rotation vector in mci); ``left=False``: q <- q ⊗ dq (body).
    """
    quat_compose(q, rotvec_quat(ax, ay, az), left)


@kernel
def quat_compose(q, dq, left):
    """Compose q in place with the unit quaternion dq from ``rotvec_quat``, then normalise.

    ``left=True``: q <- dq ⊗ q; ``left=False``: q <- q ⊗ dq.
    """
    dw, dx, dy, dz = dq
    if dw > 1.0:
        return
    w, x, y, z = q[0], q[1], q[2], q[3]
    if left:
        q[0] = dw * w - dx * x - dy * y - dz * z
        q[1] = dw * x + dx * w + dy * z - dz * y
        q[2] = dw * y - dx * z + dy * w + dz * x
        q[3] = dw * z + dx * y - dy * x + dz * w
    else:
        q[0] = w * dw - x * dx - y * dy - z * dz
        q[1] = w * dx + x * dw + y * dz - z * dy
        q[2] = w * dy - x * dz + y * dw + z * dx
        q[3] = w * dz + x * dy - y * dx + z * dw
    n = math.sqrt(q[0] ** 2 + q[1] ** 2 + q[2] ** 2 + q[3] ** 2)
    for i in range(4):
        q[i] /= n


@kernel
def quat_from_z_axis(z_mci, q):
    """Write into q an attitude whose body +z is along unit z_mci (shortest rotation from mci z)."""
    c = z_mci[2]
    if c < -1.0 + 1e-12:
        q[0], q[1], q[2], q[3] = 0.0, 1.0, 0.0, 0.0
        return
    # axis = ez x z_mci = (-z_y, z_x, 0); q = (1 + c, axis) normalised
    w, x, y = 1.0 + c, -z_mci[1], z_mci[0]
    n = math.sqrt(w * w + x * x + y * y)
    q[0], q[1], q[2], q[3] = w / n, x / n, y / n, 0.0
