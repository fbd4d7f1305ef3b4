"""The local runner's pipeline: the next chunk is prepared while one flies, rows stay in order."""

from __future__ import annotations

import threading
import time

import pandas as pd
import pytest

from touchdown.campaign import runner
from touchdown.campaign.dispersions import campaign_file_for, load_campaign
from touchdown.moon.dem_tiles import data_dir
from touchdown.scenario import Scenario, resolve

try:
    data_dir()
except Exception as exc:  # pragma: no cover - depends on the machine
    pytest.skip(f"terrain data not available: {exc}", allow_module_level=True)

WAIT_S = 10.0  # s a stand-in flight waits for the next chunk to be prepared


def test_next_chunk_is_prepared_while_one_flies(monkeypatch: pytest.MonkeyPatch) -> None:
    nominal = Scenario.from_toml(resolve("hakuto-r-m1"))
    campaign = load_campaign(campaign_file_for(nominal.path), nominal)
    log: list[tuple[str, float, float, tuple[int, ...]]] = []
    prepared_chunk = [threading.Event() for _ in range(3)]

    def flying(*bundles: object) -> None:
        """The compiled loop's stand-in, GIL released: it lasts until the next chunk is
        prepared (a runner that prepares only between flights makes it wait WAIT_S, and the
        order below fails), however slow a busy machine makes the preparing."""
        t0 = time.perf_counter()
        assert threading.current_thread() is not threading.main_thread()
        following = sum(e[0] == "fly" for e in log) + 1
        if following < len(prepared_chunk):
            prepared_chunk[following].wait(WAIT_S)
        log.append(("fly", t0, time.perf_counter(), ()))

    def prepare(ids: list[int]) -> runner.Chunk:
        t0 = time.perf_counter()
        chunk = runner.prepare_samples(nominal, campaign, 0, ids)
        log.append(("prepare", t0, time.perf_counter(), tuple(ids)))
        prepared_chunk[sum(e[0] == "prepare" for e in log) - 1].set()
        return chunk

    monkeypatch.setattr(runner, "fly_batch", flying)
    monkeypatch.setattr(runner, "CHUNK_SECONDS", 1e-9)  # the smallest chunks: 2 per thread
    got: list[pd.DataFrame] = []
    todo = list(range(3 * 2 * runner.numba.config.NUMBA_NUM_THREADS))
    runner.run_local(prepare, todo, got.append)

    assert pd.concat(got)["sample"].tolist() == todo  # every sample once, in order
    prepared = [e for e in log if e[0] == "prepare"]
    flights = [e for e in log if e[0] == "fly"]
    assert len(prepared) == len(flights) == 3
    for k in (1, 2):  # chunk k is prepared before chunk k - 1 has landed, while it flies
        assert prepared[k][2] < flights[k - 1][2]
