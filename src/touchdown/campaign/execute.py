"""Run a campaign end to end: results folder, progress, statistics, figures; rerun one sample."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

from touchdown.campaign.dispersions import Campaign
from touchdown.campaign.figures import campaign_figures
from touchdown.campaign.progress import Progress
from touchdown.campaign.runner import prepare_samples, run_dask, run_local
from touchdown.campaign.statistics import summarize
from touchdown.campaign.store import ResultsDir, manifest
from touchdown.campaign.table import od_errors, sample_rows
from touchdown.errors import CampaignInterruptedError, ResultsError
from touchdown.files import jsonable, write_atomic
from touchdown.scenario import Scenario
from touchdown.sim.run import build, scenario_terrains, stack
from touchdown.telemetry.downlink import DownlinkedFlight, fly_downlink


@dataclass
class CampaignResult:
    samples: pd.DataFrame
    summary: dict[str, Any]
    written: list[Path]


def run_campaign(nominal: Scenario, campaign: Campaign, runs: int, out: Path, seed: int = 0,
                 workers: int | None = None, scheduler: str | None = None,
                 resume: bool = False, progress: bool = True,
                 figures: bool = True) -> CampaignResult:
    """Fly samples 0..runs-1 (those not stored yet), then write the table, summary and (unless
    ``figures`` is False) figures.

    Memory does not grow with the flying: each chunk goes to disk as it finishes. At the end
    the table is read back whole (columnar, under 500 bytes a sample for M1) for the statistics.
    """
    store = ResultsDir(out)
    done = store.open(manifest(nominal, campaign, seed, runs), resume)
    todo = [i for i in range(runs) if i not in done]
    bar = Progress(runs, nominal.name, done=runs - len(todo), enabled=progress)
    flown = 0

    def on_chunk(rows: pd.DataFrame) -> None:
        nonlocal flown
        store.add(rows)
        flown += len(rows)
        bar.add(len(rows))

    t0 = time.perf_counter()
    try:
        if scheduler:
            run_dask(nominal, campaign, seed, todo, on_chunk, scheduler, bar.set_warmup)
        else:
            run_local(partial(prepare_samples, nominal, campaign, seed), todo, on_chunk, workers)
    except KeyboardInterrupt:
        bar.close()
        raise CampaignInterruptedError(runs - len(todo) + flown, runs, out) from None
    bar.close()
    wall = time.perf_counter() - t0
    samples = store.consolidate()
    if (samples["sample"] >= runs).any():
        samples = samples[samples["sample"] < runs]
    target = (nominal["target.lat_deg"], nominal["target.lon_deg"])
    summary = {
        "scenario": nominal.name,
        "policy": nominal["flight_software.rejection_policy"],
        "seed": seed,
        **summarize(samples, target),
        "flown_now": flown,
        "wall_s": round(wall, 3),
        "samples_per_s": round(flown / wall, 2) if flown and wall > 0 else None,
        # the first chunk (kernels compiled or loaded), then the rate after it
        "start_s": round(bar.start_s, 3) if bar.start_s is not None else None,
        "steady_samples_per_s": round(bar.rate, 2) if bar.rate else None,
        "runner": f"dask {scheduler}" if scheduler else "local",
    }
    text = json.dumps(jsonable(summary), indent=2) + "\n"
    written = [store.samples_path,
               write_atomic(store.summary_path, lambda p: p.write_text(text, "utf-8"))]
    if figures:
        written += campaign_figures(samples, summary, campaign.columns(),
                                    f"{nominal.name} ({summary['policy']})", target,
                                    scenario_terrains(nominal)[0], out)
    return CampaignResult(samples, summary, written)


def rerun_sample(folder: Path, sample: int) -> tuple[DownlinkedFlight, pd.Series, list[str]]:
    """Fly one stored sample again, alone, with full telemetry and its downlink.

    Returns the flight with its downlink (``.flight`` is the flight), its stored row and the
    columns whose values differ from that row (empty: the same numbers).
    """
    store = ResultsDir(folder)
    nominal, campaign, seed = store.campaign()
    table = store.samples()
    stored = table[table["sample"] == sample]
    if stored.empty:
        have = f"0..{int(table['sample'].max())}" if len(table) else "none"
        raise ResultsError(f"sample {sample} is not in {folder} (stored samples: {have}); "
                           "give a sample id from samples.parquet")
    plan, real, flight_seed, inputs = campaign.sample(nominal, seed, sample)
    link = fly_downlink(plan, flight_seed, real)
    flight = link.flight
    a, initial = flight.arrays, build(plan, flight_seed, scenario_terrains(plan)[1], real)
    again = sample_rows([sample], [inputs], od_errors(initial.world[None], initial.fsw[None]),
                        stack([a])).iloc[0]
    row = stored.iloc[0]
    differ = [c for c in row.index
              if c not in again or not (row[c] == again[c] or (pd.isna(row[c])
                                                               and pd.isna(again[c])))]
    return link, row, differ
