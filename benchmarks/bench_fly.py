"""Benchmark: wall time of a whole scenario once compiled, and the cost per FSW cycle.

Run with ``make bench`` (or ``python benchmarks/bench_fly.py [SCENARIO ...] [--repeat N]``).
The first flight compiles (or loads the on-disk cache); the timed flights follow it.
"""

from __future__ import annotations

import argparse
import statistics
import time

from touchdown.scenario import Scenario, resolve
from touchdown.sim.run import fly


def bench(name: str, repeat: int) -> None:
    s = Scenario.from_toml(resolve(name))
    t0 = time.perf_counter()
    first = fly(s, seed=1)
    warm = time.perf_counter() - t0
    times = []
    for i in range(repeat):
        t0 = time.perf_counter()
        f = fly(s, seed=1 + i)
        times.append(time.perf_counter() - t0)
    cycles = len(f.trace)
    best, med = min(times), statistics.median(times)
    print(f"{name}: outcome {first.outcome}, {first.to_dict()['flight_time_s']:.0f} s simulated, "
          f"{cycles} flight-software cycles")
    print(f"  first call (compile or cache load): {warm:6.2f} s")
    print(f"  whole flight, median of {repeat}:     {med:6.3f} s  (best {best:.3f} s; goal < 2 s)")
    print(f"  per flight-software cycle:          {1e6 * med / cycles:6.2f} us "
          f"({1e9 * med / (cycles * 10):.0f} ns per 10 ms dynamics substep)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("scenarios", nargs="*", default=["hakuto-r-m1", "hakuto-r-m1-fixed"])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    for name in args.scenarios:
        bench(name, args.repeat)


if __name__ == "__main__":
    main()
