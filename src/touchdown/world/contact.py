"""Contact with the terrain (compiled): altitude above the truth DEM and the outcome at contact.

A run ends at first contact, classified ``landed`` when the vertical speed (along the local
surface normal), the horizontal speed and the tilt of the body axis from the surface normal are
all within ``landing_limits``; otherwise ``crashed`` with the impact speed.
"""

import math

from touchdown._compile import kernel
from touchdown.moon.constants import OMEGA, R_REF
from touchdown.moon.frames import latlon_from_mcmf, mcmf_from_mci, rotate_z
from touchdown.moon.terrain import terrain_height, terrain_normal
from touchdown.sim.state import (
    CRASHED,
    LANDED,
    W_ALT,
    W_Q,
    W_R,
    W_STATUS,
    W_T,
    W_TD,
    W_TERRAIN_H,
    W_V,
    WP_FOOT,
    WP_LIM,
)
from touchdown.world.attitude import body_z_mci


@kernel
def update_altitude(world, wp, elev, meta, work):
    """Store the true terrain height below and the footpads' height above it; return the latter."""
    r_mcmf, v_mcmf, ll = work[0:3], work[3:6], work[6:9]
    mcmf_from_mci(world[W_T], world[W_R:W_R + 3], world[W_V:W_V + 3], r_mcmf, v_mcmf)
    latlon_from_mcmf(r_mcmf, ll)
    h = terrain_height(elev, meta, ll[0], ll[1])
    world[W_TERRAIN_H] = h
    alt = ll[2] - R_REF - h - wp[WP_FOOT]
    world[W_ALT] = alt
    return alt


@kernel
def classify_contact(world, wp, elev, meta, work):
    """Record the contact state and set the outcome; return the status code."""
    r_mcmf, v_mcmf, ll = work[0:3], work[3:6], work[6:9]
    n, z_mci, z_mcmf = work[9:12], work[12:15], work[15:18]
    t = world[W_T]
    mcmf_from_mci(t, world[W_R:W_R + 3], world[W_V:W_V + 3], r_mcmf, v_mcmf)
    latlon_from_mcmf(r_mcmf, ll)
    terrain_normal(elev, meta, r_mcmf, n)
    vn = v_mcmf[0] * n[0] + v_mcmf[1] * n[1] + v_mcmf[2] * n[2]
    vt2 = 0.0
    for i in range(3):
        vt2 += (v_mcmf[i] - vn * n[i]) ** 2
    body_z_mci(world[W_Q:W_Q + 4], z_mci)
    rotate_z(-OMEGA * t, z_mci, z_mcmf)
    cos_tilt = z_mcmf[0] * n[0] + z_mcmf[1] * n[1] + z_mcmf[2] * n[2]
    tilt = math.acos(max(-1.0, min(1.0, cos_tilt)))
    v_down = -vn
    v_h = math.sqrt(vt2)
    speed = math.sqrt(vn * vn + vt2)
    world[W_TD + 0] = t
    world[W_TD + 1] = ll[0]
    world[W_TD + 2] = ll[1]
    world[W_TD + 3] = v_down
    world[W_TD + 4] = v_h
    world[W_TD + 5] = tilt
    world[W_TD + 6] = speed
    ok = v_down <= wp[WP_LIM] and v_h <= wp[WP_LIM + 1] and tilt <= wp[WP_LIM + 2]
    world[W_STATUS] = LANDED if ok else CRASHED
    return world[W_STATUS]
