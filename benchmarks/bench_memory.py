"""Benchmark: peak resident memory of a large campaign of hakuto-r-m1 (table and summary).

    python benchmarks/bench_memory.py [--runs 100000] [--threads 2] [--figures]

A warm-up campaign of a few samples loads or compiles the kernels and loads the terrain; then
the process's peak resident memory is reset (Linux's /proc/self/clear_refs; where it cannot
be, the whole process's peak is reported and says so) and the campaign flies ``--runs``
samples as ``touchdown campaign --no-figures`` does (``--figures``: with its figures). A thread
reads the resident memory every 0.2 s. Reported: the resident memory before the campaign, the
most it reached while the samples flew (per quarter of the flying: flat when nothing per
sample is kept), the peak of the whole campaign (the end reads the table back whole for the
summary), the growth per sample beside the table's bytes per row, and the wall time. The last
line is the figures as JSON.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

import numba

from touchdown.campaign.dispersions import campaign_file_for, load_campaign
from touchdown.campaign.execute import run_campaign
from touchdown.campaign.store import ResultsDir
from touchdown.scenario import Scenario, resolve

MB = 1e6


def status_bytes(key: str) -> int | None:
    """A field of /proc/self/status in bytes (VmRSS, VmHWM); None off Linux."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            line = next((x for x in f if x.startswith(key + ":")), None)
    except OSError:
        return None
    return 1024 * int(line.split()[1]) if line else None


def reset_peak() -> bool:
    """Restart the process's high-water mark from its present size (Linux 4.0 on)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def peak_bytes() -> int:
    """The peak resident memory since the last reset (else the process's whole life)."""
    hwm = status_bytes("VmHWM")
    return hwm if hwm is not None else 1024 * resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


class Sampler(threading.Thread):
    """Reads the resident memory every ``every_s`` into ``readings`` [(t, bytes)]."""

    def __init__(self, every_s: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.every_s, self.readings = every_s, []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(self.every_s):
            rss = status_bytes("VmRSS")
            if rss is not None:
                self.readings.append((time.perf_counter(), rss))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=100_000)
    ap.add_argument("--threads", type=int, default=numba.config.NUMBA_NUM_THREADS)
    ap.add_argument("--figures", action="store_true", help="draw the figures too")
    args = ap.parse_args(argv)
    numba.set_num_threads(args.threads)
    nominal = Scenario.from_toml(resolve("hakuto-r-m1"))
    dispersions = load_campaign(campaign_file_for(nominal.path), nominal)
    flown_at: list[float] = []
    consolidate = ResultsDir.consolidate

    def noting_the_end(store: ResultsDir):  # type: ignore[no-untyped-def]
        flown_at.append(time.perf_counter())  # the flying is over; the table is read back
        return consolidate(store)

    ResultsDir.consolidate = noting_the_end  # type: ignore[method-assign]
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        run_campaign(nominal, dispersions, 2 * args.threads, Path(tmp) / "warm",
                     progress=False, figures=args.figures)
        flown_at.clear()
        reset = reset_peak()
        before = status_bytes("VmRSS") or 0
        sampler = Sampler()
        t0 = time.perf_counter()
        sampler.start()
        result = run_campaign(nominal, dispersions, args.runs, Path(tmp) / "campaign",
                              progress=True, figures=args.figures)
        wall = time.perf_counter() - t0
        sampler.stop.set()
        sampler.join()
        peak = peak_bytes()
    table = result.samples
    row = float(table.memory_usage(deep=True).sum()) / len(table)
    end = flown_at[0]
    quarters = [max((b for t, b in sampler.readings if t0 + q * (end - t0) / 4 <= t
                     < t0 + (q + 1) * (end - t0) / 4), default=0) for q in range(4)]
    figures = {"runs": args.runs, "threads": args.threads, "figures": args.figures,
               "peak_reset": reset, "before_mb": before / MB, "peak_mb": peak / MB,
               "grew_mb": (peak - before) / MB, "flying_max_mb_by_quarter":
               [q / MB for q in quarters], "grew_bytes_per_sample": (peak - before) / args.runs,
               "table_mb": row * len(table) / MB, "row_bytes": row, "wall_s": wall,
               "flying_s": end - t0, "samples_per_s": args.runs / wall}
    print(f"{args.runs:,} samples of {nominal.name}, {args.threads} threads, "
          f"{'with' if args.figures else 'no'} figures")
    print(f"  resident before the campaign:   {before / MB:8.1f} MB")
    print("  most while flying, by quarter:  "
          + ", ".join(f"{q / MB:.1f}" for q in quarters) + " MB")
    print(f"  peak of the campaign:           {peak / MB:8.1f} MB"
          + ("" if reset else "  (the whole process's: the peak could not be reset here)"))
    print(f"  growth per sample:              {(peak - before) / args.runs:8.0f} bytes "
          f"(a table row: {row:.0f} bytes; the table {row * len(table) / MB:.1f} MB)")
    print(f"  wall:                           {wall:8.1f} s ({args.runs / wall:.1f} samples/s;"
          f" flying {end - t0:.1f} s)")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
