"""Benchmark: how long fuel-optimal guidance takes to solve, by problem size and per example.

    python benchmarks/bench_guidance.py [--sizes 25 50 100 200] [--repeat 5] [--examples]

By size: the 2013 example (pointing within 90°) at a fixed time of flight, cut into N steps:
the wall time of one solve (cvxpy building the cone program, then Clarabel) and Clarabel's own
share, the median of ``--repeat``, with the optimum's propellant and its difference from the
finest size's (the discretisation's error). Per example (``examples/guidance``): the whole
command's work, two stages and the time of flight searched: solves, wall time, solver time.
The last line is the figures as JSON.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
from pathlib import Path

from touchdown.lcvx.problem import load_problem
from touchdown.lcvx.solve import solve, solve_fixed

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "guidance"
SIZED = "acikmese-carson-blackmore-2013-pointing-90"
TF_S = 46.0  # s, near that example's optimal time of flight


def by_size(sizes: list[int], repeat: int) -> dict[str, dict[str, float]]:
    problem = load_problem(EXAMPLES / f"{SIZED}.toml")
    out: dict[str, dict[str, float]] = {}
    for n in sizes:
        p = dataclasses.replace(problem, dt_s=TF_S / n)
        runs = [solve_fixed(p, TF_S, "min_fuel", 0.0) for _ in range(repeat)]
        assert all(r.solved for r in runs), runs[0].status
        out[str(n)] = {"wall_ms": 1e3 * statistics.median(r.solve_time_s for r in runs),
                       "solver_ms": 1e3 * statistics.median(r.solver_time_s for r in runs),
                       "propellant_kg": runs[0].propellant_kg}
    finest = out[str(max(sizes))]["propellant_kg"]
    for row in out.values():
        row["vs_finest_kg"] = row["propellant_kg"] - finest
    return out


def per_example(names: list[str]) -> dict[str, dict[str, float]]:
    out = {}
    for name in names:
        s = solve(load_problem(EXAMPLES / f"{name}.toml"))
        out[name] = {"status": s.status, "solves": s.solves, "wall_s": s.solve_time_s,
                     "solver_s": s.solver_time_s, "time_of_flight_s": s.time_of_flight_s,
                     "propellant_kg": s.propellant_kg}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[25, 50, 100, 200])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--examples", type=int, default=None, metavar="K",
                    help="only the first K examples (all by default)")
    args = ap.parse_args()
    sizes = by_size(sorted(args.sizes), args.repeat)
    print(f"{SIZED}, time of flight {TF_S:g} s, median of {args.repeat} solves:")
    print(f"{'steps':>6} {'solve ms':>9} {'Clarabel ms':>12} {'propellant kg':>14} "
          f"{'vs finest':>10}")
    for n, r in sizes.items():
        print(f"{n:>6} {r['wall_ms']:9.1f} {r['solver_ms']:12.1f} {r['propellant_kg']:14.3f} "
              f"{r['vs_finest_kg']:+10.3f}")
    names = sorted(f.stem for f in EXAMPLES.glob("*.toml"))[:args.examples]
    examples = per_example(names)
    print("each example as `touchdown guidance solve` does it (two stages, time searched):")
    for name, r in examples.items():
        print(f"  {name:45s} {r['status']:8s} {r['solves']:3d} solves {r['wall_s']:6.2f} s "
              f"(Clarabel {r['solver_s']:5.2f} s)")
    print(json.dumps({"sizes": sizes, "examples": examples}))


if __name__ == "__main__":
    main()
