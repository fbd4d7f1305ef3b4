"""Fly campaign samples: all local cores in one compiled loop, or chunks over a Dask cluster.

``fly_samples`` is the unit of work everywhere: it draws each sample's dispersions, builds its
arrays and flies them through ``batch.fly_batch``, a ``prange`` loop that calls the same
``advance`` as a single ``touchdown fly``. A sample's numbers depend only on the root seed and
its index, never on the chunk it was flown in, the thread that flew it or the machine, so a
local run, a Dask run and ``campaign rerun`` agree exactly.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import numba
import numpy as np
import pandas as pd

from touchdown.campaign.batch import fly_batch
from touchdown.campaign.dispersions import Campaign
from touchdown.campaign.table import od_errors, sample_rows
from touchdown.core.layout import N_TRACE
from touchdown.errors import TouchdownError
from touchdown.scenario import Scenario
from touchdown.sim.run import build, scenario_terrains, stack, terrains

CHUNK_SECONDS = 2.0  # local chunks are sized to report progress about this often
MAX_CHUNK = 4096     # samples; a chunk in flight holds ~40 kB a sample (arrays built, stacked)
DASK_CHUNK = 64      # samples per Dask task
T = TypeVar("T")


def fly_samples(nominal: Scenario, campaign: Campaign, seed: int,
                ids: Iterable[int]) -> pd.DataFrame:
    """Draw, build and fly the given samples of one scenario; one table row each, in order."""
    return fly_jobs([(nominal, int(i)) for i in ids], campaign, seed)


def fly_jobs(jobs: list[tuple[Scenario, int]], campaign: Campaign, seed: int) -> pd.DataFrame:
    """Fly (nominal scenario, sample id) pairs in one compiled loop; one row each, in order."""
    truth, onboard = scenario_terrains(jobs[0][0])
    tiles = {(n["terrain.truth_tiles"], n["terrain.onboard_tiles"]) for n, _ in jobs}
    if len(tiles) > 1:
        raise TouchdownError("the scenarios of one batch fly over different terrain: run them "
                             "in separate campaigns")
    drawn = [campaign.sample(nominal, seed, i) for nominal, i in jobs]
    built = [build(plan, flight_seed, onboard, real) for plan, real, flight_seed, _ in drawn]
    a = stack(built)
    od = od_errors(a.world, a.fsw)
    # the threads take a sample at a time, not equal shares: flights differ in length (a crash
    # ends one early) and a thread done with its share would wait for the other's
    before = numba.set_parallel_chunksize(1)
    try:
        fly_batch(a.world_bundle(), a.fsw_bundle(), terrains(truth, onboard),
                  a.record(np.empty((0, N_TRACE)), np.zeros(1, np.int64)), a.clock)
    finally:
        numba.set_parallel_chunksize(before)
    return sample_rows([i for _, i in jobs], [inputs for *_, inputs in drawn], od, a)


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


def run_local(fly_chunk: Callable[[list[T]], pd.DataFrame], todo: list[T],
              on_chunk: Callable[[pd.DataFrame], None], workers: int | None = None) -> None:
    """Fly ``todo`` in this process in chunks, handing each finished chunk to ``on_chunk``.

    Chunks grow until one takes about ``CHUNK_SECONDS`` (at most ``MAX_CHUNK`` samples), so
    progress (and what Ctrl-C keeps) stays fresh and memory does not grow with the run; chunking
    does not change any sample's numbers.
    """
    with _threads(workers) as n_threads:
        size, start = 2 * n_threads, 0
        while start < len(todo):
            chunk = todo[start:start + size]
            t0 = time.perf_counter()
            on_chunk(fly_chunk(chunk))
            start += len(chunk)
            per_sample = (time.perf_counter() - t0) / len(chunk)
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
