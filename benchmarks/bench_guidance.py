"""Benchmark: how long fuel-optimal guidance takes to solve, by problem size and per example.

    python benchmarks/bench_guidance.py [--sizes 25 50 100 200] [--repeat 5] [--examples K]
                                        [--closed-loop N]

By size: the 2013 example (pointing within 90°) at a fixed time of flight, cut into N steps:
the wall time of one solve (cvxpy building the cone program, then Clarabel) and Clarabel's own
share, the median of ``--repeat``, with the optimum's propellant and its difference from the
finest size's (the discretisation's error). Per example (``examples/guidance``): the whole
command's work, two stages and the time of flight searched: solves, wall time, solver time.
In the closed loop (``--closed-loop N``): N samples of the ``chandrayaan-3`` campaign flown with
its polynomial approach and with the onboard optimiser (``chandrayaan-3-optimal``), one by one
on one thread, after a warm-up: wall time per sample of each and their ratio, the optimiser's
solves per sample and their wall time, and the propellant each left. The last line is the
figures as JSON.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import time
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


def closed_loop(samples: int) -> dict[str, float]:
    """Seconds per sample and propellant left, polynomial and optimiser, side by side."""
    from touchdown.campaign.dispersions import campaign_file_for, load_campaign
    from touchdown.campaign.runner import fly_chunk, fly_samples, prepare_samples
    from touchdown.scenario import Scenario, resolve

    out: dict[str, float] = {}
    for name in ("chandrayaan-3", "chandrayaan-3-optimal"):
        nominal = Scenario.from_toml(resolve(name))
        campaign = load_campaign(campaign_file_for(nominal.path), nominal)
        fly_samples(nominal, campaign, 0, [samples])  # warm-up: kernels, cvxpy
        t0 = time.perf_counter()
        rows = [fly_samples(nominal, campaign, 0, [i]) for i in range(samples)]
        out[f"{name}_s_per_sample"] = (time.perf_counter() - t0) / samples
        out[f"{name}_propellant_kg"] = statistics.median(
            float(r["propellant_remaining_kg"].iloc[0]) for r in rows)
        if name.endswith("optimal"):  # the solves of one sample, counted again
            chunk = prepare_samples(nominal, campaign, 0, [0])
            optimiser = chunk.optimisers[0]
            assert optimiser is not None
            fly_chunk(chunk)
            out["solves_per_sample"] = len(optimiser.t_s)
            out["solve_wall_s_per_sample"] = sum(optimiser.wall_s)
            out["resolve_median_ms"] = 1e3 * statistics.median(optimiser.wall_s[1:] or [0.0])
    out["ratio"] = out["chandrayaan-3-optimal_s_per_sample"] / out["chandrayaan-3_s_per_sample"]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[25, 50, 100, 200])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--examples", type=int, default=None, metavar="K",
                    help="only the first K examples (all by default)")
    ap.add_argument("--closed-loop", type=int, default=20, metavar="N",
                    help="samples flown each way in the closed loop (0: none)")
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
    loop = closed_loop(args.closed_loop) if args.closed_loop else {}
    if loop:
        print(f"closed loop, {args.closed_loop} chandrayaan-3 samples each way, one thread: "
              f"polynomial {loop['chandrayaan-3_s_per_sample'] * 1e3:.1f} ms a sample, "
              f"optimiser {loop['chandrayaan-3-optimal_s_per_sample']:.2f} s "
              f"({loop['ratio']:.0f}x); {loop['solves_per_sample']} solves a sample, "
              f"{loop['solve_wall_s_per_sample']:.2f} s of them, a re-solve "
              f"{loop['resolve_median_ms']:.0f} ms (median); propellant left (median) "
              f"{loop['chandrayaan-3_propellant_kg']:.1f} kg against "
              f"{loop['chandrayaan-3-optimal_propellant_kg']:.1f} kg")
    print(json.dumps({"sizes": sizes, "examples": examples, "closed_loop": loop}))


if __name__ == "__main__":
    main()
