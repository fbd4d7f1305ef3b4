"""Benchmark: every shipped lander's campaign beside M1's, in one run on the same machine.

    python benchmarks/bench_library.py [--runs 1000] [--threads 2] [--landers NAME ...]

For each lander (``touchdown.library.shipped``, or those named), a campaign of ``--runs``
dispersed samples as ``touchdown campaign`` flies it (table, summary, figures), after a warm-up
of a few samples that loads or compiles the kernels. Reported per lander: samples per second,
the simulated powered flight of its seed-0 flight (seconds with an engine on), the campaign's
wall time per sample and per simulated powered second, and the compiled flight alone per
simulated powered second (``--compiled`` samples built and flown by ``fly_batch`` on one
thread, the best of three, the serial Python of drawing and building each sample left out),
each with its ratio to hakuto-r-m1's measured in the same run (goal: no lander's compiled
flight above 2x; a short flight's campaign ratio is dominated by the per-sample Python that M1
spreads over ten times the powered flight). The last line is the figures as JSON.

With ``--baseline REV`` (issue 21: ``2d84487``, main at its start) the same measurements run
for this tree and for that revision (``trees.py``: its ``src`` exported, its own compiled
cache), each lander in two processes of their own, alternating, on the same machine in the
same run; reported per lander: samples per second and the compiled flight's milliseconds per
sample of each, and their ratio (goal: campaigns at least twice as fast per sample).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numba
import numpy as np

from touchdown.campaign.batch import fly_batch
from touchdown.campaign.dispersions import campaign_file_for, load_campaign
from touchdown.campaign.execute import run_campaign
from touchdown.core.layout import N_TRACE
from touchdown.library import shipped
from touchdown.scenario import Scenario, resolve
from touchdown.sim.run import build, fly, scenario_terrains, stack, terrains

sys.path.insert(0, str(Path(__file__).resolve().parent))
from trees import trees  # the benchmarks' own module, beside this one

BASELINE = "hakuto-r-m1"
GOAL = 2.0  # no lander slower than M1 per simulated powered second by more than this
SPEEDUP_GOAL = 2.0  # issue 21: campaigns at least this much faster per sample than the baseline


def powered_seconds(s: Scenario) -> float:
    """Seconds of the seed-0 flight with an engine on (one trace row per cycle)."""
    trace = fly(s, 0).trace
    cycle = s["flight_software.cycle_s"]
    return float((trace["thrust_n"] > 0.0).sum() * cycle)


def compiled_ms(s: Scenario, samples: int, repeat: int = 3) -> float:
    """Milliseconds of one thread's compiled flight per sample (seeds 0..samples-1), the best
    of ``repeat`` flights of the same samples (the machine's noise only ever adds time)."""
    truth, onboard = scenario_terrains(s)
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    best = float("inf")
    try:
        for _ in range(repeat):
            a = stack([build(s, i, onboard) for i in range(samples)])
            t0 = time.perf_counter()
            fly_batch(a.world_bundle(), a.fsw_bundle(), terrains(truth, onboard),
                      a.record(np.empty((0, N_TRACE)), np.zeros(1, np.int64)), a.clock)
            best = min(best, time.perf_counter() - t0)
    finally:
        numba.set_num_threads(threads)
    return 1e3 * best / samples


def measure(s: Scenario, runs: int, threads: int, out: Path,
            compiled: int) -> dict[str, float]:
    dispersions = load_campaign(campaign_file_for(s.path), s)
    run_campaign(s, dispersions, 2 * threads, out / f"{s.name}-warm", progress=False)
    t0 = time.perf_counter()
    result = run_campaign(s, dispersions, runs, out / s.name, progress=False)
    wall = time.perf_counter() - t0
    powered = powered_seconds(s)
    flight_ms = compiled_ms(s, compiled)
    return {"samples": runs, "wall_s": wall, "samples_per_s": runs / wall,
            "powered_s": powered, "ms_per_sample": 1e3 * wall / runs,
            "us_per_powered_s": 1e6 * wall / runs / powered,
            "compiled_ms_per_sample": flight_ms,
            "compiled_us_per_powered_s": 1e3 * flight_ms / powered,
            "landed": int(result.summary["landed"])}


def side_by_side(names: list[str], args: argparse.Namespace, rev: str) -> int:
    """Each lander measured by this tree and by revision ``rev``, alternating processes."""
    envs = trees(rev)
    figures: dict[str, dict[str, dict[str, float]]] = {}
    for name in names:
        figures[name] = {}
        for tree in ("baseline", "new"):
            cmd = [sys.executable, __file__, "--one", "--landers", name, "--runs",
                   str(args.runs), "--threads", str(args.threads), "--compiled",
                   str(args.compiled)]
            r = subprocess.run(cmd, env=envs[tree], capture_output=True, text=True)
            if r.returncode != 0:
                raise RuntimeError(f"{tree} {name} failed:\n{r.stdout}{r.stderr}")
            figures[name][tree] = json.loads(r.stdout.strip().splitlines()[-1])
    print(f"{args.runs:,} samples per lander, {args.threads} threads, one run: this tree "
          f"beside {rev} (each in its own process, alternating)")
    print(f"{'lander':<16}{'samples/s':>11}{rev:>11}{'ratio':>8}"
          f"{'compiled ms':>13}{rev:>11}{'ratio':>8}")
    for name, f in figures.items():
        new, old = f["new"], f["baseline"]
        f["ratio"] = new["samples_per_s"] / old["samples_per_s"]
        f["compiled_ratio"] = old["compiled_ms_per_sample"] / new["compiled_ms_per_sample"]
        print(f"{name:<16}{new['samples_per_s']:>11.1f}{old['samples_per_s']:>11.1f}"
              f"{f['ratio']:>7.2f}x{new['compiled_ms_per_sample']:>13.2f}"
              f"{old['compiled_ms_per_sample']:>11.2f}{f['compiled_ratio']:>7.2f}x")
    worst = min(f["ratio"] for f in figures.values())
    print(f"smallest campaign speed-up per sample: {worst:.2f}x (goal >= {SPEEDUP_GOAL:g}x: "
          f"{'met' if worst >= SPEEDUP_GOAL else 'NOT met'})")
    print(json.dumps({"runs": args.runs, "threads": args.threads, "baseline_rev": rev,
                      "landers": figures}))
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=numba.config.NUMBA_NUM_THREADS)
    ap.add_argument("--compiled", type=int, default=40,
                    help="samples for the compiled flight's own timing (one thread)")
    ap.add_argument("--landers", nargs="*", default=None,
                    help="scenario names (default: every shipped lander)")
    ap.add_argument("--baseline", metavar="REV", default=None,
                    help="also measure revision REV, side by side (issue 21: 2d84487)")
    ap.add_argument("--one", action="store_true", help=argparse.SUPPRESS)  # a child's lander
    args = ap.parse_args(argv)
    numba.set_num_threads(args.threads)
    names = args.landers or [s.name for s in shipped()]
    if args.one:
        with tempfile.TemporaryDirectory() as tmp:
            print(json.dumps(measure(Scenario.from_toml(resolve(names[0])), args.runs,
                                     args.threads, Path(tmp), args.compiled)))
        return 0
    names = [BASELINE, *[n for n in names if n != BASELINE]]
    if args.baseline:
        return side_by_side(names, args, args.baseline)
    figures: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            figures[name] = measure(Scenario.from_toml(resolve(name)), args.runs, args.threads,
                                    Path(tmp), args.compiled)
    base = figures[BASELINE]["us_per_powered_s"]
    base_compiled = figures[BASELINE]["compiled_us_per_powered_s"]
    print(f"{args.runs:,} samples per lander, {args.threads} threads, one run")
    print(f"{'lander':<16}{'samples/s':>10}{'landed':>8}{'powered s':>11}{'ms/sample':>11}"
          f"{'us/powered s':>14}{'vs M1':>7}{'compiled us/powered s':>23}{'vs M1':>7}")
    for name, f in figures.items():
        f["ratio_to_m1"] = f["us_per_powered_s"] / base
        f["compiled_ratio_to_m1"] = f["compiled_us_per_powered_s"] / base_compiled
        print(f"{name:<16}{f['samples_per_s']:>10.1f}{f['landed']:>8}{f['powered_s']:>11.0f}"
              f"{f['ms_per_sample']:>11.2f}{f['us_per_powered_s']:>14.1f}"
              f"{f['ratio_to_m1']:>6.2f}x{f['compiled_us_per_powered_s']:>23.1f}"
              f"{f['compiled_ratio_to_m1']:>6.2f}x")
    worst = max(f["compiled_ratio_to_m1"] for f in figures.values())
    print(f"slowest compiled flight per simulated powered second: {worst:.2f}x M1 (goal <= "
          f"{GOAL:g}x: {'met' if worst <= GOAL else 'NOT met'})")
    print(json.dumps({"runs": args.runs, "threads": args.threads, "landers": figures}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
