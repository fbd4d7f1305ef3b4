"""The campaign's compiled loop (kernel): every sample of a chunk flown to its end, one per
local core (``prange``), through the same ``sim.step.advance`` as a single flight."""

from __future__ import annotations

import numpy as np
from numba import prange

from touchdown._compile import kernel
from touchdown.core.bundles import Dem, FlightSoftware, Record, Terrains, World
from touchdown.core.layout import C_MAX_TICK, N_TRACE
from touchdown.sim.step import N_WORK, advance


@kernel(parallel=True)
def fly_batch(world, fsw, terrains, record, clock):
    """Fly every sample to the end of its flight, spread over the local cores.

    world, fsw and record are bundles whose arrays are stacked over samples (row i is sample
    i's); terrains is shared. Campaigns keep summary rows, not per-cycle traces. (The bundles
    are taken apart before the parallel loop and made again inside it: a ``prange`` body
    takes arrays from outside, not tuples of them.)
    """
    state, params, rng = world.state, world.params, world.rng
    fsw_state, fsw_params, meas = fsw.state, fsw.params, fsw.meas
    events, n_events = record.events, record.n_events
    truth_elev, truth_meta = terrains.truth.elev, terrains.truth.meta
    map_elev, map_meta = terrains.onboard.elev, terrains.onboard.meta
    for i in prange(state.shape[0]):
        ground = Terrains(Dem(truth_elev, truth_meta), Dem(map_elev, map_meta))
        advance(World(state[i], params[i], rng[i]),
                FlightSoftware(fsw_state[i], fsw_params[i], meas[i]), ground,
                Record(events[i], n_events[i], np.empty((0, N_TRACE)), np.zeros(1, np.int64)),
                clock[i], clock[i, C_MAX_TICK] + 1, np.zeros(N_WORK))
