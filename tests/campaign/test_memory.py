"""A campaign's memory does not grow with its samples beyond the table's own bytes.

Each run is a fresh process: the campaign's drawing, building, tabling and storing of N
samples, then the table read back with its summary (no figures), with the compiled flight
left out (its kernel keeps nothing between chunks, and flying would take minutes here). The
peak resident memory above the process's memory before the campaign (Linux's high-water mark,
reset just before) is measured for N and 4N samples: the growth per added sample must stay
within a few copies of a table row, as it does when nothing per sample is held but the table.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from touchdown.moon.dem_tiles import data_dir

try:
    data_dir()
except Exception as exc:  # pragma: no cover - depends on the machine
    pytest.skip(f"terrain data not available: {exc}", allow_module_level=True)

if not Path("/proc/self/clear_refs").exists():  # pragma: no cover - depends on the machine
    pytest.skip("needs Linux's /proc/self/clear_refs to reset the peak", allow_module_level=True)

N = 3000
# table rows a sample: the table and its parts while they are folded (2.5-2.9 x for 100,000
# rows alone; 3.1 x for this probe at 100,000 samples), the summary's columns; a row kept as a
# dict per sample adds ~5 x more
COPIES = 4.0
SLACK_BYTES = 8 * 2**20  # the allocator's noise: the same run's growth varies by ~5 MB

PROBE = """
import json, sys, tempfile
from pathlib import Path
from touchdown.campaign import execute, runner
from touchdown.campaign.dispersions import campaign_file_for, load_campaign
from touchdown.scenario import Scenario, resolve

runner.fly_batch = lambda *bundles: None  # built and tabled as flown, not flown
runner.MAX_CHUNK = 250                    # the same chunks for every N
runs = int(sys.argv[1])
nominal = Scenario.from_toml(resolve("hakuto-r-m1"))
campaign = load_campaign(campaign_file_for(nominal.path), nominal)

def status_bytes(key):
    line = next(x for x in open("/proc/self/status") if x.startswith(key + ":"))
    return 1024 * int(line.split()[1])

with tempfile.TemporaryDirectory() as tmp:
    execute.run_campaign(nominal, campaign, 8, Path(tmp) / "warm", progress=False,
                         figures=False)  # terrain, imports: what any campaign loads first
    Path("/proc/self/clear_refs").write_text("5")  # the peak restarts from here
    before = status_bytes("VmRSS")
    result = execute.run_campaign(nominal, campaign, runs, Path(tmp) / "run", progress=False,
                                  figures=False)
    peak = status_bytes("VmHWM")
    table = result.samples
    print(json.dumps({"runs": len(table), "grew": peak - before,
                      "row_bytes": int(table.memory_usage(deep=True).sum()) / len(table)}))
"""


def peak_growth(runs: int) -> dict[str, float]:
    """The probe's figures for a campaign of ``runs`` samples, in a fresh process."""
    r = subprocess.run([sys.executable, "-c", PROBE, str(runs)], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_memory_per_sample_does_not_grow_with_the_run() -> None:
    small, large = peak_growth(N), peak_growth(4 * N)
    assert small["runs"] == N and large["runs"] == 4 * N
    per_sample = (large["grew"] - small["grew"]) / (3 * N)
    bound = COPIES * large["row_bytes"] + SLACK_BYTES / (3 * N)
    assert per_sample <= bound, (
        f"peak memory grew {per_sample:,.0f} bytes a sample from {N:,} to {4 * N:,} samples "
        f"(a table row is {large['row_bytes']:,.0f} bytes; bound {bound:,.0f}): something "
        "holds per-sample objects or arrays")
