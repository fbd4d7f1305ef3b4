"""The kernels' arguments: typed bundles of the arrays laid out in ``core.layout``.

A bundle is a ``NamedTuple`` of arrays, which Numba passes to a compiled function as one typed
argument, so ``sim.step.advance`` takes five of them instead of seventeen arrays. The single
run (``sim.run``), the campaign loop (``campaign.runner``) and Dask (which calls the campaign's
chunk function) build the same bundles; a campaign stacks each array over samples and hands row
``i`` of every array to ``advance``. Truth and the flight software stay apart: the flight
software is handed ``FlightSoftware`` and ``Terrains.onboard`` only, never ``World`` or
``Terrains.truth``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class World(NamedTuple):
    """The real lander and its sensors' noise (simulation truth)."""

    state: np.ndarray  # float64 [N_WORLD], ``WORLD``
    params: np.ndarray  # float64 [N_WORLD_PARAMS], ``WORLD_PARAMS``
    rng: np.ndarray  # uint64 [4], the sensors' generator words (``world.noise``)


class FlightSoftware(NamedTuple):
    """What the flight computer holds: its state, its parameters and this cycle's readings."""

    state: np.ndarray  # float64 [N_FSW], ``FSW``
    params: np.ndarray  # float64 [N_FSW_PARAMS], ``FSW_PARAMS``
    meas: np.ndarray  # float64 [N_MEAS], ``MEAS``: written by the sensors, read by the FSW


class Dem(NamedTuple):
    """One terrain model: every layer's heights and one ``TERRAIN_META`` row per layer."""

    elev: np.ndarray  # float64 [n], heights (m above R_REF), the layers one after another
    meta: np.ndarray  # float64 [layers, N_TERRAIN_META]


class Terrains(NamedTuple):
    """The terrain the world flies over and the coarser map the flight software carries."""

    truth: Dem
    onboard: Dem


class Record(NamedTuple):
    """What a flight leaves behind: the event log and the per-cycle trace (zero rows: none)."""

    events: np.ndarray  # float64 [MAX_EVENTS, 3]: time (s), event code, value
    n_events: np.ndarray  # int64 [1], rows used
    trace: np.ndarray  # float64 [rows, N_TRACE], ``TRACE``
    n_trace: np.ndarray  # int64 [1], rows used
