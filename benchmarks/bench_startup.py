"""Benchmark: how long `touchdown fly` takes as a whole process, warm and on a first run.

    python benchmarks/bench_startup.py [--repeat 10] [--baseline REV | --baseline none]
                                       [--scenario hakuto-r-m1]
    python benchmarks/bench_startup.py --compile [--scenario hakuto-r-m1]

Warm (the default): ``touchdown fly SCENARIO -q`` is run ``--repeat`` times as a new Python
process each (``python -c "from touchdown.cli import main; main()"``, what the ``touchdown``
script runs), after one untimed run that fills the compiled cache; reported is the median wall
time from starting the process to its exit, and the median CPU time (user + system) of the
process, steadier where others share the machine. Goal (issue 21): <= 0.7 s for hakuto-r-m1.

Side by side: ``--baseline REV`` (default 2d84487, main at the start of issue 21) exports that
revision's ``src`` and ``scenarios`` (``git archive``, read-only on the repository) into a
folder under the temporary folder, kept for the next run with a compiled cache of its own (the
first time, its untimed first run compiles, about a minute), and the two trees' runs alternate;
it prints both medians and their ratio. ``--baseline none``: this tree alone. This tree is the
``src`` beside this script, with ``NUMBA_CACHE_DIR`` as set (else ``.numba-cache`` beside
``src``).

``--compile``: a first run. One process flies SCENARIO with an empty compiled cache (a new
temporary folder) and reports its wall time, the time of the flight call, and the kernels whose
compilation took longest, timed with Numba's compile events: inclusive (with the callees it
compiled) and self (without them).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from trees import BASELINE, ROOT, tree_env  # the benchmarks' own module, beside this one
from trees import trees as side_by_side

GOAL_S = 0.7
CLI = "from touchdown.cli import main; main()"


def fly_once(env: dict[str, str], scenario: str) -> tuple[float, float]:
    """Wall time and CPU time (user + system, s) of one ``touchdown fly SCENARIO -q``
    process. On a machine others share, the CPU time is the steadier of the two."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-c", CLI, "fly", scenario, "-q"], env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode != 0:
        raise RuntimeError(f"touchdown fly {scenario} exited {r.returncode}:\n{r.stderr}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def warm(scenario: str, repeat: int, baseline: str | None) -> dict[str, Any]:
    """Median whole-process times of this tree (and the baseline's, alternating)."""
    trees = side_by_side(baseline)
    first = {name: fly_once(env, scenario)[0] for name, env in trees.items()}  # fills caches
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in trees}
    for _ in range(repeat):
        for name in reversed(list(trees)):  # the baseline first, as bench_ground does
            runs[name].append(fly_once(trees[name], scenario))
    out: dict[str, Any] = {"scenario": scenario, "repeat": repeat, "baseline_rev": baseline,
                           "goal_s": GOAL_S}
    for name, rs in runs.items():
        wall, cpu = [w for w, _ in rs], [c for _, c in rs]
        out[name] = {"median_s": statistics.median(wall), "wall_s": wall,
                     "cpu_median_s": statistics.median(cpu), "cpu_s": cpu,
                     "first_s": first[name]}
    if baseline is not None:
        out["ratio"] = out["baseline"]["median_s"] / out["new"]["median_s"]
        out["cpu_ratio"] = out["baseline"]["cpu_median_s"] / out["new"]["cpu_median_s"]
    return out


class CompileTimes:
    """Numba's compile events, timed: ``rows`` holds (kernel, depth, inclusive s, self s)."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, int, float, float]] = []
        self._open: list[list[Any]] = []  # [name, start, seconds of callees]

    def on_start(self, ev: Any) -> None:
        f = ev.data["dispatcher"].py_func
        self._open.append([f"{f.__module__}.{f.__qualname__}", time.perf_counter(), 0.0])

    def on_end(self, ev: Any) -> None:
        name, t0, inner = self._open.pop()
        total = time.perf_counter() - t0
        if self._open:
            self._open[-1][2] += total
        self.rows.append((name, len(self._open), total, total - inner))

    def record(self, work: Callable[[], Any]) -> Any:
        """Run ``work`` with the compile events timed into ``rows``."""
        from numba.core import event

        class Listener(event.Listener):
            def on_start(_, ev: Any) -> None:  # noqa: N805 (the listener's own self unused)
                self.on_start(ev)

            def on_end(_, ev: Any) -> None:  # noqa: N805
                self.on_end(ev)

        with event.install_listener("numba:compile", Listener()):
            return work()


def first_run(scenario: str) -> dict[str, Any]:
    """A flight with an empty compiled cache, in a process of its own (``--first-run``)."""
    with tempfile.TemporaryDirectory() as cache:
        env = tree_env(ROOT / "src", Path(cache))
        t0 = time.perf_counter()
        r = subprocess.run([sys.executable, __file__, "--first-run", "--scenario", scenario],
                           env=env, capture_output=True, text=True)
        wall = time.perf_counter() - t0
    if r.returncode != 0:
        raise RuntimeError(f"the first run failed:\n{r.stdout}{r.stderr}")
    out = json.loads(r.stdout.strip().splitlines()[-1])
    return {"scenario": scenario, "process_s": wall, **out}


def _first_run_here(scenario: str) -> dict[str, Any]:
    from touchdown.cli.common import load_scenario
    from touchdown.sim.run import fly

    s = load_scenario(scenario)
    times = CompileTimes()
    t0 = time.perf_counter()
    times.record(lambda: fly(s, seed=0))
    kernels = sorted(times.rows, key=lambda r: -r[3])
    return {"fly_call_s": time.perf_counter() - t0,
            "compiled_s": sum(r[2] for r in times.rows if r[1] == 0),
            "kernels": len(times.rows),
            "top_level": [{"kernel": n, "s": t} for n, d, t, _ in times.rows if d == 0],
            "by_self_s": [{"kernel": n, "self_s": s, "inclusive_s": t}
                          for n, _, t, s in kernels]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="hakuto-r-m1")
    parser.add_argument("--repeat", type=int, default=10,
                        help="timed runs of each tree, alternating; the median is reported")
    parser.add_argument("--baseline", default=BASELINE, metavar="REV",
                        help=f"revision to compare with, side by side (default {BASELINE}, "
                             "main at the start of issue 21); 'none': no comparison")
    parser.add_argument("--compile", action="store_true",
                        help="a first run with an empty compiled cache, kernel by kernel")
    parser.add_argument("--first-run", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.first_run:  # the child of --compile
        print(json.dumps(_first_run_here(args.scenario)))
        return
    if args.compile:
        r = first_run(args.scenario)
        print(f"first run of touchdown fly {r['scenario']}, empty compiled cache:")
        print(f"  process {r['process_s']:.1f} s, of which flying (compiling) "
              f"{r['fly_call_s']:.1f} s; {r['kernels']} kernels compiled")
        for k in r["top_level"]:
            print(f"  {k['kernel']:<45} {k['s']:6.1f} s with its callees")
        print("  longest by themselves (without the callees they compiled):")
        for k in r["by_self_s"][:12]:
            print(f"    {k['kernel']:<45} {k['self_s']:6.2f} s (with callees "
                  f"{k['inclusive_s']:.2f} s)")
        print(json.dumps(r))
        return
    baseline = None if args.baseline.lower() in ("", "none") else args.baseline
    r = warm(args.scenario, max(1, args.repeat), baseline)
    print(f"touchdown fly {r['scenario']} -q, whole process, warm, median of {r['repeat']}:")
    for name, label in (("new", "this tree"), ("baseline", f"baseline {baseline}")):
        if name in r:
            w = r[name]["wall_s"]
            print(f"  {label:<18} {r[name]['median_s']:.2f} s  (runs {min(w):.2f}-"
                  f"{max(w):.2f} s; CPU {r[name]['cpu_median_s']:.2f} s)")
    if "ratio" in r:
        print(f"  ratio baseline / this tree: {r['ratio']:.2f} (CPU {r['cpu_ratio']:.2f})")
    met = "met" if r["new"]["median_s"] <= GOAL_S else "NOT MET"
    print(f"  goal <= {GOAL_S} s: {met}")
    print(json.dumps(r))


if __name__ == "__main__":
    main()
