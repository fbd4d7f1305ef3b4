"""Benchmark: a whole Monte Carlo campaign of hakuto-r-m1, and Basilisk beside it in one run.

    python benchmarks/bench_campaign.py [--runs 10000] [--basilisk-samples 20] [--threads 2]

touchdown: ``--runs`` dispersed samples, each flown from the epoch through DOI, the coast, the
braking burn and the descent to the ground (or impact), all local cores, with the results
table, summary and figures written as ``touchdown campaign`` does. Reported: wall time, samples
per second, and microseconds per sample-cycle (one 0.1 s flight-software cycle of one sample).

Basilisk (only when ``bsk`` is importable, i.e. in the benchmark's own environment, see
``benchmarks/README.md``): the reduced powered descent of ``basilisk_descent.py`` through
Basilisk's Monte Carlo Controller with the same number of processes as touchdown has threads.
The ratio compares wall seconds per sample, both sides on the same cores in the same run.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import sys
import tempfile
import time
from pathlib import Path

import numba

from touchdown.campaign.dispersions import campaign_file_for, load_campaign
from touchdown.campaign.execute import run_campaign
from touchdown.scenario import Scenario, resolve

CYCLE_S = 0.1  # hakuto-r-m1's flight-software cycle


def touchdown_side(runs: int, threads: int, out: Path) -> dict[str, float]:
    nominal = Scenario.from_toml(resolve("hakuto-r-m1"))
    dispersions = load_campaign(campaign_file_for(nominal.path), nominal)
    numba.set_num_threads(threads)
    t0 = time.perf_counter()
    run_campaign(nominal, dispersions, 2 * threads, out / "warm", progress=False)
    warm = time.perf_counter() - t0
    t0 = time.perf_counter()
    result = run_campaign(nominal, dispersions, runs, out / "campaign", progress=True)
    wall = time.perf_counter() - t0
    t = result.samples
    sample_cycles = float((t["flight_time_s"] / CYCLE_S).sum())
    s = result.summary
    print(f"touchdown: {runs:,} samples of {nominal.name} (DOI to the ground), {threads} threads")
    print(f"  compile or cache load (first {2 * threads} samples): {warm:7.2f} s")
    print(f"  campaign wall incl. table, summary, figures:  {wall:7.2f} s  (goal <= 60 s "
          f"for 10,000)")
    print(f"  flying only (runner's own clock):             {s['wall_s']:7.2f} s")
    print(f"  samples per second:                           {runs / wall:7.1f}")
    print(f"  per sample-cycle:                             {1e6 * wall / sample_cycles:7.3f} us"
          f" wall, {1e6 * wall * threads / sample_cycles:.3f} us of one core "
          f"({sample_cycles / runs:,.0f} cycles per sample)")
    print(f"  outcome: {s['landed']:,} landed, {s['crashed']:,} crashed "
          f"({', '.join(f'{k} {v}' for k, v in s['failure_modes'].items())})")
    return {"samples": runs, "wall_s": wall, "s_per_sample": wall / runs}


def basilisk_side(samples: int, threads: int, out: Path) -> dict[str, float]:
    sys.path.insert(0, str(Path(__file__).parent))
    from basilisk_descent import run_basilisk_campaign

    r = run_basilisk_campaign(samples, threads, out)
    o = r["outcomes"]
    print(f"Basilisk {importlib.metadata.version('bsk')}: {samples} samples of the reduced "
          f"powered descent, Monte Carlo Controller, {threads} processes")
    print(f"  campaign wall:        {r['wall_s']:7.2f} s   ({r['s_per_sample']:.3f} s per sample;"
          f" inside the workers {r['in_worker_s_per_sample']:.3f} s)")
    print(f"  outcome: {o['touched_down']} touched down, {o['soft']} soft; failed runs: "
          f"{len(r['failed'])}")
    return r


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=10_000, help="touchdown samples")
    ap.add_argument("--basilisk-samples", type=int, default=20,
                    help="Basilisk samples (0: skip Basilisk)")
    ap.add_argument("--threads", type=int, default=numba.config.NUMBA_NUM_THREADS,
                    help="threads (touchdown) and processes (Basilisk)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-campaign-") as tmp:
        out = Path(tmp)
        td = touchdown_side(args.runs, args.threads, out)
        have_bsk = importlib.util.find_spec("Basilisk") is not None
        if args.basilisk_samples > 0 and not have_bsk:
            print("Basilisk: not installed here; `make bench` sets up .venv-bench with it")
        if args.basilisk_samples > 0 and have_bsk:
            bsk = basilisk_side(args.basilisk_samples, args.threads, out / "bsk")
            ratio = bsk["s_per_sample"] / td["s_per_sample"]
            print(f"per sample, same {args.threads} cores, same run: touchdown "
                  f"{1e3 * td['s_per_sample']:.2f} ms (full closed loop, DOI to the ground) vs "
                  f"Basilisk {1e3 * bsk['s_per_sample']:.0f} ms (powered descent only): "
                  f"{ratio:,.0f} x (goal >= 50 x)")
            print(json.dumps({"touchdown": td, "basilisk_s_per_sample": bsk["s_per_sample"],
                              "ratio": ratio}))


if __name__ == "__main__":
    main()
