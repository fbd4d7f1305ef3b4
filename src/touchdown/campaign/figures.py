"""Campaign figures: where the landers came down, propellant margins, outcome by parameter."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Ellipse
from matplotlib.ticker import MaxNLocator

from touchdown.campaign.statistics import contact_en, wilson_interval
from touchdown.campaign.table import OD_COLUMNS
from touchdown.moon.constants import R_REF
from touchdown.moon.dem_tiles import Terrain
from touchdown.plots.png import save_png
from touchdown.plots.terrain import draw_hillshade

OUTCOME_STYLE = {
    "landed": {"color": "tab:green", "marker": "o", "s": 9, "label": "landed"},
    "crashed": {"color": "tab:red", "marker": "x", "s": 14, "label": "crashed (impact point)"},
    "timeout": {"color": "tab:gray", "marker": "s", "s": 9, "label": "timed out"},
}


def _rate_text(summary: dict[str, Any]) -> str:
    lo, hi = summary["success_rate_ci95"]
    return (f"{summary['landed']:,} of {summary['runs']:,} landed "
            f"({100 * summary['success_rate']:.1f} %, 95 % CI {100 * lo:.1f}-{100 * hi:.1f} %)")


def dispersion_map(samples: pd.DataFrame, summary: dict[str, Any], title: str,
                   target: tuple[float, float], terrain: Terrain, path: Path) -> Path:
    """Contact points over a hillshade of the truth terrain, with the 3-sigma landing ellipse."""
    east, north = (v / 1e3 for v in contact_en(samples, target))
    fin = np.isfinite(east) & np.isfinite(north)
    reach = max(2.0, 1.15 * float(np.max(np.abs(np.concatenate([east[fin], north[fin]])),
                                         initial=0.0)))
    fig = Figure(figsize=(8.0, 7.4), layout="constrained")
    ax = fig.add_subplot()
    dlat = math.degrees(reach * 1e3 / R_REF)
    dlon = dlat / math.cos(math.radians(target[0]))
    draw_hillshade(ax, terrain, (target[0] - dlat, target[0] + dlat),
                   (target[1] - dlon, target[1] + dlon), extent=(-reach, reach, -reach, reach))
    for outcome, style in OUTCOME_STYLE.items():
        sel = (samples["outcome"] == outcome).to_numpy() & fin
        if sel.any():
            ax.scatter(east[sel], north[sel], linewidths=1.0, zorder=3,
                       **{**style, "label": f"{style['label']}: {sel.sum():,}"})
    for key, colour, what in (("landing_ellipse_3sigma_m", "yellow", "landing"),
                              ("impact_ellipse_3sigma_m", "orangered", "impact")):
        ell = summary[key]
        if ell:
            ax.add_patch(Ellipse((ell["centre_east_m"] / 1e3, ell["centre_north_m"] / 1e3),
                                 2 * ell["semi_minor_m"] / 1e3, 2 * ell["semi_major_m"] / 1e3,
                                 angle=-ell["orientation_deg_from_north"], fill=False,
                                 color=colour, lw=2.0, zorder=4, ls="-" if what == "landing"
                                 else "--",
                                 label=f"3σ {what} ellipse {2 * ell['semi_major_m']:,.0f} x "
                                       f"{2 * ell['semi_minor_m']:,.0f} m"))
    ax.plot(0, 0, marker="*", color="deepskyblue", ms=16, mec="black", zorder=5,
            ls="none", label="nominal target")
    ax.set_xlim(-reach, reach)
    ax.set_ylim(-reach, reach)
    ax.set_aspect("equal")
    ax.set_xlabel("east of the target (km)")
    ax.set_ylabel("north of the target (km)")
    ax.set_title(f"{title}\n{_rate_text(summary)}\nterrain: LRO truth model, hillshade",
                 fontsize=10)
    ax.legend(loc="upper right", fontsize=8, framealpha=0.85)
    return save_png(fig, path)


def propellant_histogram(samples: pd.DataFrame, summary: dict[str, Any], title: str,
                         path: Path) -> Path:
    """Propellant left at contact, landed and crashed samples stacked."""
    fig = Figure(figsize=(8.0, 4.6), layout="constrained")
    ax = fig.add_subplot()
    prop = samples["propellant_remaining_kg"].to_numpy()
    top = max(1.0, float(np.nanmax(prop, initial=0.0)))
    bins = np.linspace(0.0, top * 1.02, 41)
    groups = [(o, s) for o, s in OUTCOME_STYLE.items() if (samples["outcome"] == o).any()]
    ax.hist([prop[(samples["outcome"] == o).to_numpy()] for o, _ in groups], bins=bins,
            stacked=True, color=[s["color"] for _, s in groups],
            label=[s["label"].split(" (")[0] for _, s in groups])
    pl = summary["propellant_remaining_landed_kg"]
    if pl:
        ax.axvline(pl["p1"], color="black", ls="--", lw=1.2,
                   label=f"1st percentile of landed: {pl['p1']:.1f} kg")
    ax.set_xlabel("true propellant left at contact (kg)")
    ax.set_ylabel("samples")
    ax.set_title(f"{title}: propellant margin\n{_rate_text(summary)}", fontsize=10)
    ax.legend(fontsize=8)
    return save_png(fig, path)


def outcome_by_parameter(samples: pd.DataFrame, columns: list[str], title: str,
                         path: Path, bins: int = 8) -> Path:
    """Success rate (Wilson 95 % bars) across equal-count bins of each dispersed input."""
    columns = [c for c in (*columns, *OD_COLUMNS) if c in samples and samples[c].nunique() > 1]
    ncol = 4
    nrow = max(1, math.ceil(len(columns) / ncol))
    height = 2.5 * nrow + 0.9
    fig = Figure(figsize=(3.2 * ncol, height))
    # a fixed grid with one shared y axis: a constrained layout measured every label of
    # every panel again and again (most of a small campaign's wall time)
    fig.subplots_adjust(left=0.05, right=0.98, bottom=0.3 / height, top=1.0 - 0.85 / height,
                        wspace=0.08, hspace=0.45)
    axes = fig.subplots(nrow, ncol, sharey=True, squeeze=False).ravel()
    for ax in axes[len(columns):]:
        ax.set_visible(False)
    fig.suptitle(f"{title}: success rate by dispersed input (95 % Wilson intervals)",
                 fontsize=11)
    landed = (samples["outcome"] == "landed").to_numpy()
    for k, col in enumerate(columns):
        ax = axes[k]
        x = samples[col].to_numpy()
        edges = np.unique(np.quantile(x, np.linspace(0, 1, bins + 1)))
        which = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, len(edges) - 2)
        mids, rates, err = [], [], []
        for b in range(len(edges) - 1):
            sel = which == b
            n, k_ok = int(sel.sum()), int(landed[sel].sum())
            if n == 0:
                continue
            lo, hi = wilson_interval(k_ok, n)
            mids.append(float(np.median(x[sel])))
            rates.append(k_ok / n)
            err.append((max(k_ok / n - lo, 0.0), max(hi - k_ok / n, 0.0)))
        ax.errorbar(mids, rates, yerr=np.array(err).T, fmt="o-", color="tab:blue", ms=3,
                    capsize=2, lw=1)
        ax.set_ylim(-0.05, 1.05)
        ax.set_yticks((0.0, 0.5, 1.0))
        ax.xaxis.set_major_locator(MaxNLocator(4))  # few ticks: their labels are the cost
        ax.set_title(col, fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        if k % ncol == 0:
            ax.set_ylabel("landed", fontsize=8)
    return save_png(fig, path)


def campaign_figures(samples: pd.DataFrame, summary: dict[str, Any], columns: list[str],
                     title: str, target: tuple[float, float], terrain: Terrain,
                     folder: Path) -> list[Path]:
    """All campaign figures into ``folder``."""
    return [
        dispersion_map(samples, summary, title, target, terrain, folder / "dispersion.png"),
        propellant_histogram(samples, summary, title, folder / "propellant.png"),
        outcome_by_parameter(samples, columns, title, folder / "outcome_by_parameter.png"),
    ]
