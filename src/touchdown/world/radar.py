"""A landing radar or Doppler velocimeter (compiled): several beams, each a slant range and a
velocity along it.

Inputs / Outputs
==========  ==============================================  ========  ================
name        layout                                          unit      rate
==========  ==============================================  ========  ================
world       ``WORLD``: position, velocity, attitude, time    SI        each reading
            (read)
beams       n x 3, each beam's direction in body axes        -         constant
            (unit)
terrain     elev, meta (the truth DEM)                       m         each reading
limits      max_range; range and velocity noise 1-sigma;     m, m/s,   constant
            dropout probability per beam                     -
rng         the sensors' generator words (``world.noise``)  -         per beam: 3 draws
out         n x ``RADAR_BEAM`` (written): range, velocity    m, m/s    each reading
work        ``SCRATCH_RADAR``                                -         each reading
==========  ==============================================  ========  ================

Each beam meets the true terrain where ``moon.terrain.ray_cast`` finds it (the range finder's
cast); its velocity is the lander's velocity over the surface projected on the beam, positive
toward the ground (a Doppler shift measures it; Apollo's landing radar had three velocity beams
and one altimeter beam, missions.md). A beam gives no reading (NaN, both values) when the
terrain is beyond ``max_range`` or on a dropout. Errors in the order noise -> limits; the
dropout and the two noises are drawn for every beam, reading or not, so a beam's limit never
shifts the random numbers of the rest of the flight.
"""

import math

from touchdown._compile import kernel
from touchdown.core.layout import (
    N_MOON_TURN,
    RB_RANGE,
    RB_VELOCITY,
    RD_BEAM,
    RD_BEAM_MCMF,
    RD_R,
    RD_V,
    W_Q,
    W_R,
    W_T,
    W_TURN,
    W_V,
)
from touchdown.core.quaternion import quat_rotate
from touchdown.moon.frames import mcmf_from_mci_turned, moon_turn, turn_z
from touchdown.moon.terrain import ray_cast_from, ray_origin
from touchdown.world.noise import normal_pair, uniform


@kernel
def read_radar_beams(world, beams, elev, meta, max_range, range_sigma, velocity_sigma,
                     dropout, rng, out, work):
    """Every beam's slant range and velocity into out (see the module docstring); returns the
    number of beams with a reading. work: ``SCRATCH_RADAR``."""
    beam_mci, beam_mcmf = work[RD_BEAM:RD_BEAM + 3], work[RD_BEAM_MCMF:RD_BEAM_MCMF + 3]
    r_mcmf, v_mcmf = work[RD_R:RD_R + 3], work[RD_V:RD_V + 3]
    c, s = moon_turn(world[W_T], world[W_TURN:W_TURN + N_MOON_TURN])
    mcmf_from_mci_turned(c, s, world[W_R:W_R + 3], world[W_V:W_V + 3], r_mcmf, v_mcmf)
    n_read = 0
    origin = ray_origin(r_mcmf)  # the beams' common origin
    for k in range(beams.shape[0]):
        quat_rotate(world[W_Q:W_Q + 4], beams[k], beam_mci)
        turn_z(c, -s, beam_mci, beam_mcmf)
        rho = ray_cast_from(elev, meta, origin, beam_mcmf, max_range)
        drop = uniform(rng) < dropout
        n_range, n_vel = normal_pair(rng)
        row = out[k]
        if math.isnan(rho) or drop:
            row[RB_RANGE] = math.nan
            row[RB_VELOCITY] = math.nan
            continue
        along = v_mcmf[0] * beam_mcmf[0] + v_mcmf[1] * beam_mcmf[1] + v_mcmf[2] * beam_mcmf[2]
        row[RB_RANGE] = rho + range_sigma * n_range
        row[RB_VELOCITY] = along + velocity_sigma * n_vel
        n_read += 1
    return n_read

