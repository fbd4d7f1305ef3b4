"""Frames and their conversions (compiled): Moon-fixed, Moon-centred inertial, site ENU.

Frame names used in vector suffixes across touchdown (a closed list):

=========  ==================================================================================
``mcmf``   Moon-centred, Moon-fixed, mean-Earth/polar-axis (ME); x to 0 E on the equator,
           z to the north pole; latitude planetocentric, longitude east-positive.
``mci``    Moon-centred inertial: aligned with ``mcmf`` at the scenario epoch (t = 0) and not
           rotating. The Moon turns about z at ``OMEGA``; libration over one landing (~1 h)
           is neglected (an assumption, < 1e-3 deg).
``enu``    East-north-up at a site on the reference sphere.
``guid``   Guidance frame at the landing site: x downrange (approach azimuth), y crossrange
           (left), z up.
``body``   Lander body: +z along the main engines' thrust (out of the top deck), the range
           finder looks along -z.
=========  ==================================================================================
"""

import math

import numpy as np
from numpy.typing import ArrayLike

from touchdown._compile import kernel
from touchdown.core.layout import LL_LAT, LL_LON, LL_RADIUS, MT_COS, MT_SIN, MT_T
from touchdown.moon.constants import OMEGA, R_REF

FRAMES = ("mcmf", "mci", "enu", "guid", "body")


@kernel
def latlon_from_mcmf(r_mcmf, ll):
    """Write into ll (``core.layout.LATLON``) the planetocentric lat (rad), east lon in
    [0, 2 pi) (rad) and radius (m) of r_mcmf."""
    x, y, z = r_mcmf[0], r_mcmf[1], r_mcmf[2]
    rho = math.hypot(x, y)
    ll[LL_LAT] = math.atan2(z, rho)
    lon = math.atan2(y, x)
    if lon < 0.0:
        lon += 2.0 * math.pi
    ll[LL_LON] = lon if lon < 2.0 * math.pi else 0.0  # -1e-17 + 2 pi rounds to 2 pi
    ll[LL_RADIUS] = math.hypot(rho, z)


@kernel
def mcmf_from_latlon(lat, lon, radius, out):
    """Write into out (m) the Moon-fixed position at lat, lon (rad) and radius (m)."""
    c = math.cos(lat)
    out[0] = radius * c * math.cos(lon)
    out[1] = radius * c * math.sin(lon)
    out[2] = radius * math.sin(lat)


@kernel
def enu_axes(lat, lon, dcm_enu_mcmf):
    """Write the 3x3 matrix whose rows are east, north, up (mcmf components) at lat, lon (rad)."""
    sl, cl = math.sin(lat), math.cos(lat)
    so, co = math.sin(lon), math.cos(lon)
    dcm_enu_mcmf[0, 0], dcm_enu_mcmf[0, 1], dcm_enu_mcmf[0, 2] = -so, co, 0.0
    dcm_enu_mcmf[1, 0], dcm_enu_mcmf[1, 1], dcm_enu_mcmf[1, 2] = -sl * co, -sl * so, cl
    dcm_enu_mcmf[2, 0], dcm_enu_mcmf[2, 1], dcm_enu_mcmf[2, 2] = cl * co, cl * so, sl


@kernel
def turn_z(c, s, v_in, v_out):
    """Write v_in rotated about z by the angle of cosine c and sine s into v_out (no alias)."""
    v_out[0] = c * v_in[0] - s * v_in[1]
    v_out[1] = s * v_in[0] + c * v_in[1]
    v_out[2] = v_in[2]


@kernel
def rotate_z(angle, v_in, v_out):
    """Write v_in rotated by +angle (rad) about z into v_out (v_out may not alias v_in)."""
    turn_z(math.cos(angle), math.sin(angle), v_in, v_out)


@kernel
def moon_turn(t, memo):
    """cos and sin of the Moon's turn OMEGA t since the epoch (t in s, mci -> mcmf is a turn
    by minus it). memo (``core.layout.MOON_TURN``: t, cos, sin) keeps the last instant asked,
    so the several frame changes of one instant compute them once; a zeroed memo is
    recognised as empty."""
    if not (memo[MT_T] == t and memo[MT_COS] * memo[MT_COS] + memo[MT_SIN] * memo[MT_SIN] > 0.5):
        memo[MT_T] = t
        memo[MT_COS] = math.cos(OMEGA * t)
        memo[MT_SIN] = math.sin(OMEGA * t)
    return memo[MT_COS], memo[MT_SIN]


@kernel
def surface_velocity(r_mci, v_mci):
    """The velocity over the turning surface, v - omega x r (m/s, inertial axes), as a tuple."""
    return v_mci[0] + OMEGA * r_mci[1], v_mci[1] - OMEGA * r_mci[0], v_mci[2]


@kernel
def mcmf_from_mci(t, r_mci, v_mci, r_mcmf, v_mcmf):
    """Moon-fixed position (m) and velocity relative to the surface (m/s) at time t (s)."""
    mcmf_from_mci_turned(math.cos(OMEGA * t), math.sin(OMEGA * t), r_mci, v_mci, r_mcmf,
                         v_mcmf)


@kernel
def mcmf_from_mci_turned(c, s, r_mci, v_mci, r_mcmf, v_mcmf):
    """``mcmf_from_mci`` given c, s = cos, sin of the Moon's turn then (``moon_turn``)."""
    turn_z(c, -s, r_mci, r_mcmf)
    turn_z(c, -s, v_mci, v_mcmf)
    # v_rel = v_inertial - omega x r, expressed in mcmf
    v_mcmf[0] += OMEGA * r_mcmf[1]
    v_mcmf[1] -= OMEGA * r_mcmf[0]


@kernel
def mci_from_mcmf(t, r_mcmf, v_mcmf, r_mci, v_mci):
    """Inertial position (m) and velocity (m/s) at time t (s) of a Moon-fixed state."""
    vx = v_mcmf[0] - OMEGA * r_mcmf[1]
    vy = v_mcmf[1] + OMEGA * r_mcmf[0]
    c, s = math.cos(OMEGA * t), math.sin(OMEGA * t)
    turn_z(c, s, r_mcmf, r_mci)
    v_mci[0] = c * vx - s * vy
    v_mci[1] = s * vx + c * vy
    v_mci[2] = v_mcmf[2]


def tangent_plane_en(lat_deg: ArrayLike, lon_deg: ArrayLike, lat0_deg: float,
                     lon0_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """East and north (m) of (lat0, lon0) on the 1737.4 km sphere: small-area map coordinates."""
    dlon = (np.asarray(lon_deg, float) - lon0_deg + 180.0) % 360.0 - 180.0
    north = np.radians(np.asarray(lat_deg, float) - lat0_deg) * R_REF
    return np.radians(dlon) * R_REF * math.cos(math.radians(lat0_deg)), north


def latlon_from_tangent_plane(east_m: ArrayLike, north_m: ArrayLike, lat0_deg: float,
                              lon0_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """The inverse of ``tangent_plane_en``: (lat, lon) deg of points east and north (m) of
    (lat0, lon0), longitudes in 0-360."""
    lat = lat0_deg + np.degrees(np.asarray(north_m, float) / R_REF)
    dlon = np.degrees(np.asarray(east_m, float) / (R_REF * math.cos(math.radians(lat0_deg))))
    return lat, (lon0_deg + dlon) % 360.0
