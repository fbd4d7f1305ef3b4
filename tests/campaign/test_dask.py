"""A real Dask cluster on loopback (a scheduler and two worker processes) flies a campaign."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from touchdown.campaign.dispersions import campaign_file_for, load_campaign
from touchdown.campaign.execute import run_campaign
from touchdown.errors import TouchdownError
from touchdown.moon.dem_tiles import data_dir
from touchdown.scenario import Scenario, resolve

try:
    data_dir()
except Exception as exc:  # pragma: no cover - depends on the machine
    pytest.skip(f"terrain data not available: {exc}", allow_module_level=True)

DASK = shutil.which("dask", path=str(Path(sys.executable).parent)) or shutil.which("dask")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start `dask scheduler` and two `dask worker` processes; yield the scheduler address."""
    if DASK is None:
        pytest.fail("the `dask` command is not installed; `make test` installs it")
    folder = tmp_path_factory.mktemp("dask")
    info = folder / "scheduler.json"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    common = ["--no-dashboard"]
    procs = [subprocess.Popen([DASK, "scheduler", "--host", "127.0.0.1", "--port", "0",
                               "--scheduler-file", str(info), *common], cwd=folder, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        deadline = time.monotonic() + 60
        while not info.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert info.exists(), "the scheduler did not start within 60 s"
        procs += [subprocess.Popen([DASK, "worker", "--scheduler-file", str(info),
                                    "--nthreads", "1", "--nworkers", "1", *common],
                                   cwd=folder, env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL) for _ in range(2)]
        address = json.loads(info.read_text())["address"]
        from distributed import Client

        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=120)
        yield address
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()


def test_dask_campaign_equals_the_local_one(cluster: str, tmp_path: Path) -> None:
    nominal = Scenario.from_toml(resolve("hakuto-r-m1"))
    dispersions = load_campaign(campaign_file_for(nominal.path), nominal)
    on_dask = run_campaign(nominal, dispersions, 6, tmp_path / "dask", seed=2,
                           scheduler=cluster, progress=False)
    local = run_campaign(nominal, dispersions, 6, tmp_path / "local", seed=2, progress=False)
    assert on_dask.summary["runner"].startswith("dask")
    pd.testing.assert_frame_equal(on_dask.samples, local.samples)
    # the as-flown M1 over Atlas: the healthy range finder rejected kilometres up, then a crash
    assert (local.samples["outcome"] == "crashed").all()
    assert (local.samples["lrf_first_rejection_altitude_m"] > 2000.0).all()
    assert (local.samples["failure_mode"] == "range_finder_fault_declared").all()


def test_unreachable_scheduler_names_the_address_and_the_fix(tmp_path: Path) -> None:
    nominal = Scenario.from_toml(resolve("hakuto-r-m1"))
    from touchdown.campaign.dispersions import Campaign

    with pytest.raises(TouchdownError, match=r"tcp://127\.0\.0\.1:9.*dask scheduler"):
        run_campaign(nominal, Campaign(()), 2, tmp_path, scheduler="tcp://127.0.0.1:9",
                     progress=False)


def test_dask_says_how_many_chunks_fly_at_once(cluster: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Each worker thread loads the kernels with its first chunk: the progress bar's rate
    leaves all of them out (``on_start``)."""
    from touchdown.campaign import runner

    monkeypatch.setattr(runner, "DASK_CHUNK", 2)
    nominal = Scenario.from_toml(resolve("hakuto-r-m1"))
    dispersions = load_campaign(campaign_file_for(nominal.path), nominal)
    started: list[int] = []
    chunks: list[pd.DataFrame] = []
    runner.run_dask(nominal, dispersions, 2, list(range(6)), chunks.append, cluster,
                    started.append)
    assert started == [2]  # two workers of one thread each; three chunks
    assert sorted(pd.concat(chunks)["sample"]) == list(range(6))
