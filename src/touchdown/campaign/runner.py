"""Fly campaign samples: all local cores in one compiled loop, or chunks over a Dask cluster.

A chunk of samples is prepared (``prepare_jobs``: each sample's dispersions drawn, its arrays
built and stacked), flown (``fly_chunk``: ``batch.fly_batch``, a ``prange`` loop that calls the
same ``advance`` as a single ``touchdown fly``) and tabled (``chunk_rows``); ``fly_samples`` does
all three, a Dask task's unit of work, and ``run_local`` pipelines them. A sample's numbers
depend only on the root seed and its index, never on the chunk it was flown in, the thread
that flew it or the machine, so a local run, a Dask run and ``campaign rerun`` agree exactly.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

import numba
import numpy as np
import pandas as pd

from touchdown.campaign.batch import fly_batch
from touchdown.campaign.dispersions import Campaign
from touchdown.campaign.table import od_errors, sample_rows
from touchdown.core.bundles import Terrains
from touchdown.core.layout import C_MAX_TICK, N_TRACE
from touchdown.errors import TouchdownError
from touchdown.scenario import Scenario
from touchdown.sim.optimal import Optimiser
from touchdown.sim.run import Arrays, build, fly_until, scenario_terrains, stack, terrains
from touchdown.sim.step import N_WORK

CHUNK_SECONDS = 2.0  # local chunks are sized to report progress about this often
MAX_CHUNK = 4096     # samples; a chunk in flight holds ~40 kB a sample (arrays built, stacked)
DASK_CHUNK = 64      # samples per Dask task
T = TypeVar("T")


@dataclass
class Chunk:
    """Samples drawn and built, ready for ``fly_chunk``: their ids, drawn inputs, stacked
    arrays, initial orbit-determination errors and terrain."""

    ids: list[int]
    inputs: list[dict[str, float]]
    arrays: Arrays
    od: np.ndarray
    ground: Terrains
    optimisers: list[Optimiser | None]  # a sample's onboard optimiser (``sim.optimal``)


def prepare_jobs(jobs: list[tuple[Scenario, int]], campaign: Campaign, seed: int) -> Chunk:
    """Draw and build (nominal scenario, sample id) pairs into one chunk, in order."""
    truth, onboard = scenario_terrains(jobs[0][0])
    tiles = {(n["terrain.truth_tiles"], n["terrain.onboard_tiles"]) for n, _ in jobs}
    if len(tiles) > 1:
        raise TouchdownError("the scenarios of one batch fly over different terrain: run them "
                             "in separate campaigns")
    drawn = [campaign.sample(nominal, seed, i) for nominal, i in jobs]
    a = stack([build(plan, flight_seed, onboard, real) for plan, real, flight_seed, _ in drawn])
    return Chunk([i for _, i in jobs], [inputs for *_, inputs in drawn],
                 a, od_errors(a.world, a.fsw), terrains(truth, onboard),
                 [Optimiser.of(plan) for plan, *_ in drawn])


def prepare_samples(nominal: Scenario, campaign: Campaign, seed: int,
                    ids: Iterable[int]) -> Chunk:
    """Draw and build the given samples of one scenario into one chunk, in order."""
    return prepare_jobs([(nominal, int(i)) for i in ids], campaign, seed)


def fly_chunk(chunk: Chunk, threads: int | None = None) -> None:
    """Fly a chunk's samples to their ends in the compiled loop, on ``threads`` threads (all
    cores when None). The loop releases the GIL: another thread may prepare the next chunk.
    Samples with an onboard optimiser fly one by one, the optimiser solving between compiled
    steps, as a single flight does (``sim.run.fly_until``)."""
    a = chunk.arrays
    if any(chunk.optimisers):
        for i, optimiser in enumerate(chunk.optimisers):
            b = a.row(i)
            fly_until(b.world_bundle(), b.fsw_bundle(), chunk.ground,
                      b.record(np.empty((0, N_TRACE)), np.zeros(1, np.int64)), b.clock,
                      int(b.clock[C_MAX_TICK]) + 1, np.zeros(N_WORK), optimiser)
        return
    before_threads = numba.get_num_threads()  # both settings are the calling thread's own
    if threads is not None:
        numba.set_num_threads(threads)
    # the threads take a sample at a time, not equal shares: flights differ in length (a crash
    # ends one early) and a thread done with its share would wait for the other's
    before = numba.set_parallel_chunksize(1)
    try:
        fly_batch(a.world_bundle(), a.fsw_bundle(), chunk.ground,
                  a.record(np.empty((0, N_TRACE)), np.zeros(1, np.int64)), a.clock)
    finally:
        numba.set_parallel_chunksize(before)
        numba.set_num_threads(before_threads)


def chunk_rows(chunk: Chunk) -> pd.DataFrame:
    """The table rows of a flown chunk, one per sample, in order."""
    return sample_rows(chunk.ids, chunk.inputs, chunk.od, chunk.arrays)


def fly_jobs(jobs: list[tuple[Scenario, int]], campaign: Campaign, seed: int) -> pd.DataFrame:
    """Fly (nominal scenario, sample id) pairs in one compiled loop; one row each, in order."""
    chunk = prepare_jobs(jobs, campaign, seed)
    fly_chunk(chunk)
    return chunk_rows(chunk)


def fly_samples(nominal: Scenario, campaign: Campaign, seed: int,
                ids: Iterable[int]) -> pd.DataFrame:
    """Draw, build and fly the given samples of one scenario; one table row each, in order."""
    return fly_jobs([(nominal, int(i)) for i in ids], campaign, seed)


@contextmanager
def _threads(workers: int | None) -> Iterator[int]:
    """Run the compiled loop on ``workers`` threads (all cores when None)."""
    if workers is None:
        yield numba.config.NUMBA_NUM_THREADS
        return
    if not 1 <= workers <= numba.config.NUMBA_NUM_THREADS:
        raise TouchdownError(f"--workers {workers} is not between 1 and the "
                             f"{numba.config.NUMBA_NUM_THREADS} cores here; give a count in "
                             "that range or leave it out to use them all")
    before = numba.get_num_threads()
    numba.set_num_threads(workers)
    try:
        yield workers
    finally:
        numba.set_num_threads(before)


def run_local(prepare: Callable[[list[T]], Chunk], todo: list[T],
              on_chunk: Callable[[pd.DataFrame], None], workers: int | None = None) -> None:
    """Fly ``todo`` in this process in chunks, handing each finished chunk's rows to
    ``on_chunk``.

    A pipeline of two: while one chunk flies (compiled, on every core, without the GIL), this
    thread prepares the next and tables and stores the one before, so the cores do not wait
    for the Python of drawing, building and storing. Chunks grow until one takes about
    ``CHUNK_SECONDS`` (at most ``MAX_CHUNK`` samples), so progress (and what Ctrl-C keeps)
    stays fresh and memory does not grow with the run (two chunks are held at a time);
    chunking does not change any sample's numbers. On Ctrl-C the chunk in flight is finished
    and dropped.
    """
    if not todo:
        return
    with _threads(workers) as n_threads, ThreadPoolExecutor(1, "touchdown-fly") as flier:
        size = 2 * n_threads
        ready = prepare(todo[:size])
        start, t0 = size, time.perf_counter()
        flying: Future[None] | None = flier.submit(fly_chunk, ready, n_threads)
        while flying is not None:
            following = prepare(todo[start:start + size]) if start < len(todo) else None
            start += size
            flying.result()
            flown, now = ready, time.perf_counter()
            per_sample, t0 = (now - t0) / len(flown.ids), now
            flying = None
            if following is not None:
                ready, flying = following, flier.submit(fly_chunk, following, n_threads)
            on_chunk(chunk_rows(flown))
            size = int(np.clip(CHUNK_SECONDS / max(per_sample, 1e-6), 2 * n_threads, MAX_CHUNK))


def run_dask(nominal: Scenario, campaign: Campaign, seed: int, ids: list[int],
             on_chunk: Callable[[pd.DataFrame], None], address: str,
             on_start: Callable[[int], None] | None = None) -> None:
    """Fly ``ids`` in chunks on the Dask cluster at ``address``; chunks arrive as they finish.

    ``on_start`` is told how many chunks fly at once at first (the cluster's worker threads,
    each loading the kernels with its first chunk), before any arrives.
    """
    from distributed import Client, as_completed

    try:
        client = Client(address, timeout="10s")
    except (OSError, TimeoutError) as exc:
        raise TouchdownError(
            f"could not reach a Dask scheduler at {address} ({exc}); start one with "
            "`dask scheduler` and workers with `dask worker ADDRESS`, or check the address"
        ) from None
    with client:
        if not client.scheduler_info().get("workers"):
            client.wait_for_workers(1, timeout=30)
        futures = [client.submit(fly_samples, nominal, campaign, seed, ids[k:k + DASK_CHUNK],
                                 pure=False)
                   for k in range(0, len(ids), DASK_CHUNK)]
        if on_start is not None:
            on_start(min(len(futures), sum(client.nthreads().values())))
        try:
            for future in as_completed(futures):
                on_chunk(future.result())
        finally:
            client.cancel(futures)
