"""Site maps: fly a scenario's lander and flight software to every site of a grid.

Each site is the scenario with its target moved there; the orbit is re-aimed so the lander
arrives on the scenario's approach azimuth, so every site gets its own approach over the real
terrain. The success probability per site (with its Wilson interval) is drawn over a hillshade
of the region, one panel per scenario, same sites and seeds for each.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from touchdown.campaign.dispersions import Campaign
from touchdown.campaign.progress import Progress
from touchdown.campaign.runner import prepare_jobs, run_local
from touchdown.campaign.statistics import wilson_interval
from touchdown.errors import ScenarioError
from touchdown.files import jsonable, write_atomic
from touchdown.moon.dem_tiles import Terrain, load_truth_terrain
from touchdown.plots.png import save_png
from touchdown.plots.terrain import draw_hillshade
from touchdown.scenario import Scenario
from touchdown.sim.run import scenario_terrains

# One letter per failure cause, written in a site's cell after its landed/flown count.
CAUSE_LETTER = {"range_finder_fault_declared": "F", "propellant_exhausted": "P",
                "vertical_speed": "V", "horizontal_speed": "H", "tilt": "T", "timeout": "O",
                "other": "?"}


@dataclass
class SurveyResult:
    sites: pd.DataFrame  # one row per scenario and site
    written: list[Path]


def site_grid(region: tuple[float, float, float, float], grid: int) -> list[tuple[float, float]]:
    """Centres (lat, lon deg) of a grid x grid division of region (lat0, lat1, lon0, lon1)."""
    lat0, lat1, lon0, lon1 = region
    if not (lat0 < lat1 and lon0 < lon1):
        raise ScenarioError("--region", "", f"{region} is not LAT0 < LAT1 and LON0 < LON1",
                            "give the south, north, west and east edges in degrees")
    lats = lat0 + (np.arange(grid) + 0.5) * (lat1 - lat0) / grid
    lons = lon0 + (np.arange(grid) + 0.5) * (lon1 - lon0) / grid
    return [(float(a), float(b)) for a in lats for b in lons]


def run_survey(scenarios: list[tuple[Scenario, Campaign]], region: tuple[float, float, float,
                                                                          float],
               grid: int, runs_per_site: int, out: Path, seed: int = 0,
               workers: int | None = None, progress: bool = True) -> SurveyResult:
    """Fly every scenario to every site; write sites.parquet, survey.json and survey.png.

    survey.json says the speed too: wall seconds of the flying, the first chunk's (kernels
    compiled or loaded), samples per second after it and seconds per site at that rate.
    """
    sites = site_grid(region, grid)
    total = len(scenarios) * len(sites) * runs_per_site
    bar = Progress(total, "survey", enabled=progress)
    t0 = time.perf_counter()
    tables = []
    for nominal, campaign in scenarios:
        at_site = [nominal.replace({"target.lat_deg": lat, "target.lon_deg": lon})
                   for lat, lon in sites]
        jobs = [(at_site[k], k * runs_per_site + j)
                for k in range(len(sites)) for j in range(runs_per_site)]
        rows: list[pd.DataFrame] = []

        def keep(chunk: pd.DataFrame, rows: list[pd.DataFrame] = rows) -> None:
            rows.append(chunk)
            bar.add(len(chunk))

        run_local(partial(prepare_jobs, campaign=campaign, seed=seed), jobs, keep, workers)
        samples = pd.concat(rows, ignore_index=True)
        samples["site"] = samples["sample"] // runs_per_site
        tables.append(_per_site(samples, sites, nominal))
    bar.close()
    wall = time.perf_counter() - t0
    table = pd.concat(tables, ignore_index=True)
    out.mkdir(parents=True, exist_ok=True)
    summary = {"region": list(region), "grid": grid, "runs_per_site": runs_per_site,
               "seed": seed,
               "scenarios": {t["scenario"].iloc[0]: {
                   "policy": t["policy"].iloc[0],
                   "success_rate": float(t["landed"].sum() / t["runs"].sum()),
                   "sites_all_landed": int((t["landed"] == t["runs"]).sum()),
                   "sites_none_landed": int((t["landed"] == 0).sum()),
               } for t in tables},
               "samples": total, "wall_s": round(wall, 3),
               "start_s": round(bar.start_s, 3) if bar.start_s is not None else None,
               "steady_samples_per_s": round(bar.rate, 2) if bar.rate else None,
               # one site's runs of one scenario, at the steady rate
               "s_per_site": round(runs_per_site / bar.rate, 4) if bar.rate else None}
    text = json.dumps(jsonable(summary), indent=2) + "\n"
    written = [
        write_atomic(out / "sites.parquet", lambda p: table.to_parquet(p, index=False)),
        write_atomic(out / "survey.json", lambda p: p.write_text(text, "utf-8")),
        survey_map(table, region, grid, out / "survey.png",
                   scenario_terrains(scenarios[0][0])[0]),
    ]
    return SurveyResult(table, written)


def _per_site(samples: pd.DataFrame, sites: list[tuple[float, float]],
              nominal: Scenario) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    for k, (lat, lon) in enumerate(sites):
        s = samples[samples["site"] == k]
        landed = int((s["outcome"] == "landed").sum())
        lo, hi = wilson_interval(landed, len(s))
        modes = s.loc[s["outcome"] != "landed", "failure_mode"].value_counts()
        rows.append({"scenario": nominal.name,
                     "policy": nominal["flight_software.rejection_policy"],
                     "site": k, "lat_deg": lat, "lon_deg": lon, "runs": len(s),
                     "landed": landed, "success_rate": landed / len(s),
                     "ci95_low": lo, "ci95_high": hi,
                     "main_failure": str(modes.index[0]) if len(modes) else ""})
    return pd.DataFrame(rows)


def survey_map(table: pd.DataFrame, region: tuple[float, float, float, float], grid: int,
               path: Path, terrain: Terrain | None = None) -> Path:
    """One panel per scenario: success probability per site over the hillshade of ``terrain``
    (the scenarios' true terrain; Atlas's by default)."""
    names = list(dict.fromkeys(table["scenario"]))
    lat0, lat1, lon0, lon1 = region
    fig = Figure(figsize=(6.2 * len(names) + 1.0, 6.6), layout="constrained")
    axes = fig.subplots(1, len(names), squeeze=False)[0]
    terrain = terrain or load_truth_terrain()
    mesh = None
    for ax, name in zip(axes, names, strict=True):
        t = table[table["scenario"] == name].sort_values("site")
        draw_hillshade(ax, terrain, (lat0, lat1), (lon0, lon1))
        rate = t["success_rate"].to_numpy().reshape(grid, grid)
        mesh = ax.pcolormesh(np.linspace(lon0, lon1, grid + 1), np.linspace(lat0, lat1, grid + 1),
                             rate, cmap="RdYlGn", vmin=0.0, vmax=1.0, alpha=0.5,
                             edgecolors="none")
        for _, r in t.iterrows():
            cause = CAUSE_LETTER.get(r["main_failure"], "")
            ax.text(r["lon_deg"], r["lat_deg"], f"{r['landed']}/{r['runs']}\n{cause}",
                    ha="center", va="center", fontsize=6.5, color="black", linespacing=0.9)
        overall = t["landed"].sum() / t["runs"].sum()
        ax.set_title(f"{name} ({t['policy'].iloc[0]})\n{100 * overall:.0f} % of "
                     f"{t['runs'].sum():,} landings succeed", fontsize=10)
        ax.set_xlabel("longitude (deg E)")
        ax.set_ylabel("latitude (deg N)")
        ax.set_xlim(lon0, lon1)
        ax.set_ylim(lat0, lat1)
        ax.set_aspect(1.0 / math.cos(math.radians(0.5 * (lat0 + lat1))))  # km-true shape
    if mesh is not None:
        fig.colorbar(mesh, ax=list(axes), shrink=0.8, label="probability of landing")
    fig.suptitle("Site survey over LRO terrain: landed/flown per site, each approached on the "
                 "scenario's azimuth; main failure: F range finder judged faulty, H horizontal "
                 "speed, V vertical speed, T tilt, P propellant, O timeout", fontsize=9)
    return save_png(fig, path)
