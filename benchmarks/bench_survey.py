"""Benchmark: a site survey of hakuto-r-m1, 144 sites (grid 12) x 6 runs, as `touchdown survey`.

    python benchmarks/bench_survey.py [--grid 12] [--runs-per-site 6] [--threads 2]
        [--region 42 52 36 53] [--scenario hakuto-r-m1]

A warm-up survey (one site, two runs) loads or compiles the kernels first. Then the survey:
every site of the grid over the region (by default the README's Atlas and Hercules survey),
the scenario re-aimed at it and flown ``--runs-per-site`` times with its dispersions in the
campaign's compiled loop, tabled per site, with sites.parquet, survey.json and the map
written. Reported: the wall time (whole survey, and of it the flying and the files with the
map), samples per second (whole survey; and after the first chunk, as the progress bar shows
it) and the cost of a site (wall time over sites; runs per site at the steady rate). Beside
it, in the same run, the same number of samples as one campaign at the scenario's own site
(table and summary; ``--no-campaign`` skips it): what a site's re-aimed orbit and its own
terrain cost over a campaign's samples. The last line is the figures as JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numba

from touchdown.campaign.dispersions import campaign_file_for, load_campaign
from touchdown.campaign.execute import run_campaign
from touchdown.campaign.survey import run_survey
from touchdown.scenario import Scenario, resolve

REGION = (42.0, 52.0, 36.0, 53.0)  # deg: south, north, west, east (Atlas and Hercules)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="hakuto-r-m1")
    ap.add_argument("--grid", type=int, default=12, help="sites per side: GRID x GRID sites")
    ap.add_argument("--runs-per-site", type=int, default=6)
    ap.add_argument("--region", type=float, nargs=4, default=REGION,
                    metavar=("LAT0", "LAT1", "LON0", "LON1"))
    ap.add_argument("--threads", type=int, default=numba.config.NUMBA_NUM_THREADS)
    ap.add_argument("--no-campaign", dest="campaign", action="store_false",
                    help="skip the campaign of the same samples at one site")
    args = ap.parse_args(argv)
    numba.set_num_threads(args.threads)
    nominal = Scenario.from_toml(resolve(args.scenario))
    pair = [(nominal, load_campaign(campaign_file_for(nominal.path), nominal))]
    region = tuple(args.region)
    sites = args.grid ** 2
    samples = sites * args.runs_per_site
    with tempfile.TemporaryDirectory(prefix="bench-survey-") as tmp:
        t0 = time.perf_counter()
        run_survey(pair, region, 1, 2, Path(tmp) / "warm", progress=False)
        warm = time.perf_counter() - t0
        t0 = time.perf_counter()
        result = run_survey(pair, region, args.grid, args.runs_per_site, Path(tmp) / "survey",
                            progress=True)
        wall = time.perf_counter() - t0
        s = json.loads((Path(tmp) / "survey" / "survey.json").read_text(encoding="utf-8"))
        campaign = None
        if args.campaign:  # the same samples at the scenario's own site, beside the survey
            campaign = run_campaign(nominal, pair[0][1], samples, Path(tmp) / "campaign",
                                    progress=False, figures=False).summary
    landed = int(result.sites["landed"].sum())
    steady = s["steady_samples_per_s"]
    figures = {"scenario": nominal.name, "sites": sites, "runs_per_site": args.runs_per_site,
               "samples": samples, "threads": args.threads, "warm_up_s": warm,
               "wall_s": wall, "flying_s": s["wall_s"], "files_and_map_s": wall - s["wall_s"],
               "samples_per_s": samples / wall, "steady_samples_per_s": steady,
               "s_per_site": wall / sites, "steady_s_per_site": s["s_per_site"],
               "landed": landed}
    if campaign is not None:
        figures["campaign_steady_samples_per_s"] = campaign["steady_samples_per_s"]
    nan = float("nan")
    print(f"survey of {nominal.name}: {sites} sites (grid {args.grid}) x {args.runs_per_site} "
          f"runs = {samples:,} samples, region {region}, {args.threads} threads")
    print(f"  compile or cache load (a survey of 2 samples first): {warm:7.2f} s")
    print(f"  survey wall (flying, tables, files, map):            {wall:7.2f} s")
    print(f"    flying (of it the first chunk: {s['start_s']:5.2f} s)            "
          f"{s['wall_s']:7.2f} s")
    print(f"    tables, files and the map                          {wall - s['wall_s']:7.2f} s")
    print(f"  samples per second:                                  {samples / wall:7.1f}"
          f"    after the first chunk: {steady or nan:.1f}")
    print(f"  per site ({args.runs_per_site} runs):                                "
          f"{1e3 * wall / sites:7.1f} ms  at that rate: {1e3 * (s['s_per_site'] or nan):.1f} ms")
    if campaign is not None:
        rate = campaign["steady_samples_per_s"]
        print(f"  the same {samples:,} samples as one campaign at one site:   "
              f"{rate or nan:7.1f} samples/s after the first chunk (survey / campaign: "
              f"{(steady or nan) / (rate or nan):.2f})")
    print(f"  landed: {landed:,} of {samples:,} "
          f"({s['scenarios'][nominal.name]['sites_all_landed']} sites always)")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
