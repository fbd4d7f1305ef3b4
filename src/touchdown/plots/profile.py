"""A lander's descent profile against history (shell): the simulated altitude and speed from
the powered descent's start, the flight's milestones, and the published phase points as markers,
written as a PNG.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from touchdown.plots.png import save_png

__all__ = ["plot_profile"]

FLOOR_M, FLOOR_MPS = 1.0, 0.1  # log axes: altitudes and speeds shown down to these
PUBLISHED = {"color": "tab:red", "marker": "D", "s": 46, "zorder": 5}
SIMULATED = {"color": "tab:blue", "lw": 1.8}


def plot_profile(trace: pd.DataFrame, milestones: dict[str, float],
                 points: Sequence[Sequence[float]], labels: Sequence[str], title: str,
                 path: Path) -> Path:
    """Altitude and speed against time since the powered descent's start (the milestone
    ``powered_descent_start``, else the flight's first thrust); published points with a time
    are markers, those without one dashed lines at their altitude (and speed)."""
    t0 = milestones.get("powered_descent_start", _first_thrust(trace))
    end = milestones.get("contact", float(trace["t_s"].iloc[-1]))
    shown = trace[(trace["t_s"] >= t0 - 30.0) & (trace["t_s"] <= end + 5.0)]
    t = shown["t_s"].to_numpy() - t0
    speed = np.hypot(shown["vertical_speed_mps"], shown["horizontal_speed_mps"])
    fig = Figure(figsize=(10.5, 7.2), layout="constrained")
    ax_h, ax_v = fig.subplots(2, 1, sharex=True)
    ax_h.plot(t, np.maximum(shown["altitude_m"], FLOOR_M), label="touchdown: altitude",
              **SIMULATED)
    ax_v.plot(t, np.maximum(speed, FLOOR_MPS), label="touchdown: speed", **SIMULATED)
    for (tp, alt, spd), label in zip(points, labels, strict=True):
        _published(ax_h, tp, alt, label, FLOOR_M)
        _published(ax_v, tp, spd, label, FLOOR_MPS)
    for k, (name, tm) in enumerate(milestones.items()):
        for ax in (ax_h, ax_v):
            ax.axvline(tm - t0, color="0.55", lw=0.8, ls=":")
        # labels alternate between two heights, so that close milestones stay readable
        ax_v.annotate(name.replace("_", " "), (tm - t0, 1.0 if k % 2 == 0 else 0.45),
                      xycoords=("data", "axes fraction"), rotation=90, va="top", ha="right",
                      fontsize=8, color="0.35")
    ax_h.set(yscale="log", ylabel="altitude above the terrain (m)", title=title)
    ax_v.set(yscale="log", ylabel="speed over the surface (m/s)",
             xlabel="time since the powered descent's start (s)")
    for ax in (ax_h, ax_v):
        ax.grid(True, which="major", alpha=0.3)
        handles, names = ax.get_legend_handles_labels()
        keep = dict(zip(names, handles, strict=True))
        ax.legend(keep.values(), keep.keys(), loc="lower left", fontsize=8)
    return save_png(fig, path)


def _published(ax, t: float, value: float, label: str, floor: float) -> None:
    """One published point: a marker at its time, or a dashed line when it has none."""
    if math.isnan(value):
        return
    shown = max(value, floor)
    if math.isnan(t):
        ax.axhline(shown, color=PUBLISHED["color"], lw=0.9, ls="--", alpha=0.7)
        ax.annotate(f"{label} (published, time not given)", (0.99, shown),
                    xycoords=("axes fraction", "data"), ha="right", va="bottom", fontsize=8,
                    color=PUBLISHED["color"])
    else:
        ax.scatter([t], [shown], label="published phase points", **PUBLISHED)
        ax.annotate(label, (t, shown), textcoords="offset points", xytext=(6, 6), fontsize=8,
                    color=PUBLISHED["color"])


def _first_thrust(trace: pd.DataFrame) -> float:
    """Time of the first trace row with thrust (the start when none)."""
    burning = trace[trace["thrust_n"] > 0.0]
    return float(burning["t_s"].iloc[0] if len(burning) else trace["t_s"].iloc[0])
