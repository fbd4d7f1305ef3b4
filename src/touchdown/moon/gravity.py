"""Lunar gravity (compiled): point mass + J2 + C22 in the Moon-fixed frame.

References: Vallado, *Fundamentals of Astrodynamics*, 4th ed., §8.6 (zonal and sectoral
harmonics); coefficients unnormalised, GL0660B zero-tide (see ``constants``).
"""

import math

from touchdown._compile import kernel
from touchdown.moon.constants import C22, GM, J2, OMEGA, R_GRAVITY


@kernel
def gravity_mcmf(r_mcmf, a_mcmf):
    """Write into a_mcmf (m/s^2) the gravity (point mass + J2 + C22) at r_mcmf (m).

    Potential U = GM/r - GM R^2 J2 (3 z^2 - r^2) / (2 r^5) + 3 GM R^2 C22 (x^2 - y^2) / r^5,
    and a = grad U.
    """
    x, y, z = r_mcmf[0], r_mcmf[1], r_mcmf[2]
    r2 = x * x + y * y + z * z
    r = math.sqrt(r2)
    r3 = r2 * r
    r5 = r3 * r2
    k0 = -GM / r3
    kj = -1.5 * J2 * GM * R_GRAVITY * R_GRAVITY / r5
    zr = 5.0 * z * z / r2
    kc = 3.0 * GM * R_GRAVITY * R_GRAVITY * C22 / r5
    q = 5.0 * (x * x - y * y) / r2
    a_mcmf[0] = k0 * x + kj * x * (1.0 - zr) + kc * x * (2.0 - q)
    a_mcmf[1] = k0 * y + kj * y * (1.0 - zr) + kc * y * (-2.0 - q)
    a_mcmf[2] = k0 * z + kj * z * (3.0 - zr) + kc * z * (-q)


@kernel
def potential_mcmf(r_mcmf):
    """Gravity potential U (m^2/s^2, positive convention, a = grad U) at r_mcmf (m)."""
    x, y, z = r_mcmf[0], r_mcmf[1], r_mcmf[2]
    r2 = x * x + y * y + z * z
    r = math.sqrt(r2)
    r5 = r2 * r2 * r
    rg2 = R_GRAVITY * R_GRAVITY
    return (GM / r - GM * rg2 * J2 * (3.0 * z * z - r2) / (2.0 * r5)
            + 3.0 * GM * rg2 * C22 * (x * x - y * y) / r5)


@kernel
def gravity_mci(t, r_mci, a_mci, work3):
    """Write gravity (m/s^2) in the inertial frame at time t (s); work3 is scratch
    (``core.layout.SCRATCH_GRAVITY``: the gravity in mcmf, a 3-vector)."""
    gravity_mci_turned(math.cos(OMEGA * t), math.sin(OMEGA * t), r_mci, a_mci, work3)


@kernel
def gravity_mci_turned(c, s, r_mci, a_mci, work3):
    """``gravity_mci`` given c, s = cos, sin of the Moon's turn OMEGA t since the epoch."""
    # r_mcmf = Rz(-wt) r_mci, into a_mci as scratch
    a_mci[0] = c * r_mci[0] + s * r_mci[1]
    a_mci[1] = -s * r_mci[0] + c * r_mci[1]
    a_mci[2] = r_mci[2]
    gravity_mcmf(a_mci, work3)
    a_mci[0] = c * work3[0] - s * work3[1]
    a_mci[1] = s * work3[0] + c * work3[1]
    a_mci[2] = work3[2]
