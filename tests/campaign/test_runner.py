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

FLIGHT_S = 0.3  # a stand-in flight's length, long beside preparing a few samples


def test_next_chunk_is_prepared_while_one_flies(monkeypatch: pytest.MonkeyPatch) -> None:
    nominal = Scenario.from_toml(resolve("hakuto-r-m1"))
    campaign = load_campaign(campaign_file_for(nominal.path), nominal)
    log: list[tuple[str, float, float, tuple[int, ...]]] = []

    def flying(*bundles: object) -> None:  # the compiled loop's stand-in: sleeps, GIL released
        t0 = time.perf_counter()
        assert threading.current_thread() is not threading.main_thread()
        time.sleep(FLIGHT_S)
        log.append(("fly", t0, time.perf_counter(), ()))

    def prepare(ids: list[int]) -> runner.Chunk:
        t0 = time.perf_counter()
        chunk = runner.prepare_samples(nominal, campaign, 0, ids)
        log.append(("prepare", t0, time.perf_counter(), tuple(ids)))
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
