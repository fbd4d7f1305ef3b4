"""Benchmark: wall time of a whole scenario once compiled, and where a flight's time goes.

Run with ``make bench`` (or ``python benchmarks/bench_fly.py [SCENARIO ...] [--repeat N]``).
The first flight compiles (or loads the on-disk cache); the timed flights follow it. Three
numbers per scenario, each the median over seeds 1..N:

- ``fly()``: what ``touchdown fly`` costs (arrays, the compiled loop, the per-cycle trace and
  its DataFrame);
- the compiled loop alone with the trace off, as a campaign sample runs it, split at braking
  ignition into the coast (epoch, DOI, descent coast) and the powered descent to the ground;
- ``build()``: the arrays of one run (a campaign builds one per sample).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from touchdown.core import layout as st
from touchdown.core.layout import C_MAX_TICK, TICK_S
from touchdown.moon.dem_tiles import load_onboard_map, load_truth_terrain
from touchdown.scenario import Scenario, resolve
from touchdown.sim.run import build, fly, terrains
from touchdown.sim.step import N_WORK, advance


def loop_only(s: Scenario, seed: int, truth, onboard) -> tuple[float, float, float]:
    """(build s, coast s, powered s): the compiled loop with no trace, split at ignition."""
    t0 = time.perf_counter()
    a = build(s, seed, onboard)
    t1 = time.perf_counter()
    ground = terrains(truth, onboard)
    no_trace = np.empty((0, st.N_TRACE))

    def until(tick: int) -> None:
        advance(a.world_bundle(), a.fsw_bundle(), ground,
                a.record(no_trace, np.zeros(1, np.int64)), a.clock, tick, np.zeros(N_WORK))

    # ignition time from a first pass (the same seed gives the same flight)
    probe = build(s, seed, onboard)
    advance(probe.world_bundle(), probe.fsw_bundle(), ground,
            probe.record(no_trace, np.zeros(1, np.int64)), probe.clock,
            probe.clock[C_MAX_TICK] + 1, np.zeros(N_WORK))
    ev = probe.events[:probe.n_events[0]]
    t_ign = float(ev[ev[:, st.E_CODE] == st.EV_BRAKING, st.E_T][0])
    t2 = time.perf_counter()
    until(round(t_ign / TICK_S))
    t3 = time.perf_counter()
    until(int(a.clock[C_MAX_TICK]) + 1)
    t4 = time.perf_counter()
    return t1 - t0, t3 - t2, t4 - t3


def bench(name: str, repeat: int) -> None:
    s = Scenario.from_toml(resolve(name))
    truth, onboard = load_truth_terrain(), load_onboard_map()
    t0 = time.perf_counter()
    first = fly(s, seed=1)
    warm = time.perf_counter() - t0
    loop_only(s, 1, truth, onboard)  # compiles the trace-less variant too
    times, parts = [], []
    for i in range(repeat):
        t0 = time.perf_counter()
        f = fly(s, seed=1 + i)
        times.append(time.perf_counter() - t0)
        parts.append(loop_only(s, 1 + i, truth, onboard))
    cycles = len(f.trace)
    med, best = statistics.median(times), min(times)
    b, coast, powered = (statistics.median(p[k] for p in parts) for k in range(3))
    total = [p[1] + p[2] for p in parts]
    print(f"{name}: outcome {first.outcome}, {first.to_dict()['flight_time_s']:.0f} s simulated, "
          f"{cycles} flight-software cycles")
    print(f"  first call (compile or cache load):   {warm:7.2f} s")
    print(f"  fly(), median of {repeat}:                {1e3 * med:7.1f} ms  (best "
          f"{1e3 * best:.1f} ms; goal < 2 s)")
    print(f"  compiled loop, no trace, median:      {1e3 * statistics.median(total):7.1f} ms  "
          f"(best {1e3 * min(total):.1f} ms; {1e6 * statistics.median(total) / cycles:.2f} us "
          "per flight-software cycle)")
    print(f"    coast, epoch to braking ignition:   {1e3 * coast:7.1f} ms")
    print(f"    powered descent to the ground:      {1e3 * powered:7.1f} ms")
    print(f"  build() of one run's arrays:          {1e3 * b:7.1f} ms")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("scenarios", nargs="*", default=["hakuto-r-m1", "hakuto-r-m1-fixed"])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    for name in args.scenarios:
        bench(name, args.repeat)


if __name__ == "__main__":
    main()
