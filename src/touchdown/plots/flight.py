"""The one-page picture of a flight (shell): true and estimated altitude, range-finder readings,
key events, and the terrain under the ground track, written as a PNG.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib import transforms
from matplotlib.axes import Axes
from matplotlib.backend_bases import RendererBase
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.transforms import Bbox

from touchdown.plots.png import save_png

__all__ = ["MARKED_EVENTS", "label_events", "plot_flight"]

# Events drawn as labelled vertical lines: name -> (label, colour).
MARKED_EVENTS: dict[str, tuple[str, str]] = {
    "lrf_acquired": ("range finder acquired", "tab:green"),
    "lrf_fault_declared": ("range finder declared faulty", "tab:red"),
    "altitude_estimate_zero": ("FSW altitude estimate reaches 0", "tab:purple"),
    "propellant_exhausted": ("propellant exhausted", "tab:brown"),
    "contact": ("contact", "black"),
    "timeout": ("timeout", "black"),
}

TRUE_STYLE = {"color": "tab:blue", "lw": 2.0}
EST_STYLE = {"color": "tab:orange", "lw": 2.0, "ls": (0, (5, 2))}
ACCEPTED_COLOUR = "tab:green"
REJECTED_COLOUR = "tab:red"
ZOOM_S = 90.0  # s, the right-hand panel shows at least the last this many seconds,
ZOOM_MAX_S = 300.0  # s, and at most this many, reaching back to these events:
ZOOM_EVENTS = ("altitude_estimate_zero", "propellant_exhausted", "lrf_fault_declared")
JUMP_KM = 100.0  # km, a step in downrange this large between cycles is a wrap, not flight


def plot_flight(flight: Any, path: str | Path) -> Path:
    """Draw one flight and write it as a PNG.

    Parameters
    ----------
    flight : touchdown.sim.run.Flight
        A flown flight (its ``trace``, ``events`` and ``to_dict()`` are used).
    path : str or Path
        The PNG file to write, or an existing folder (``flight.png`` is written in it). The
        image is written to a temporary name in the same folder, then renamed.

    Returns
    -------
    Path
        The file written.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "flight.png"
    fig = _figure(flight)
    return save_png(fig, path)


def _figure(flight: Any) -> Figure:
    info = flight.to_dict()
    trace: pd.DataFrame = flight.trace
    if trace["altitude_m"].notna().any():  # rows before the world's first update carry no truth
        trace = trace[trace["altitude_m"].notna()]
    events = info["events"]
    t_start = next((e["time_s"] for e in events if e["name"] == "braking_start"), None)
    powered = trace if t_start is None else trace[trace["t_s"] >= t_start]
    if t_start is None or powered.empty:  # no braking burn: show the whole flight
        powered, t_start, since = trace, 0.0, "the epoch"
    else:
        since = "braking start"
    marks = [(e["time_s"], *MARKED_EVENTS[e["name"]]) for e in events
             if e["name"] in MARKED_EVENTS and e["time_s"] >= t_start]

    fig = Figure(figsize=(15, 10), layout="constrained")
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(2, 3, height_ratios=(3, 2), width_ratios=(1, 1, 0.9))
    ax_alt = fig.add_subplot(grid[0, :2])
    ax_zoom = fig.add_subplot(grid[0, 2])
    ax_overview = fig.add_subplot(grid[1, 0])
    ax_terrain = fig.add_subplot(grid[1, 1:])
    fig.suptitle(_title(info, t_start if since == "braking start" else None), fontsize=14,
                 fontweight="bold")

    t_end = float(powered["t_s"].iloc[-1])
    _altitude_panel(ax_alt, powered, t_start, since, full=True)
    what = "Powered descent" if since == "braking start" else "Whole flight (no braking burn)"
    ax_alt.set_title(f"{what}: true altitude, onboard estimate and range-finder readings",
                     fontsize=11, loc="left")
    # The close-up starts early enough to include the end-game events (estimate at zero,
    # propellant out) when they fall in the last few minutes.
    late = [t for t, name in ((e["time_s"], e["name"]) for e in events)
            if name in ZOOM_EVENTS and t_end - ZOOM_MAX_S <= t <= t_end]
    zoom_t0 = max(t_start, min([t_end - ZOOM_S, *(t - 0.1 * ZOOM_S for t in late)]))
    zoom = powered[powered["t_s"] >= zoom_t0]
    _altitude_panel(ax_zoom, zoom, t_start, since, full=False)
    ax_zoom.set_title(f"Last {t_end - float(zoom['t_s'].iloc[0]):.0f} s", fontsize=11,
                      loc="left")
    window = _detail_window(powered)
    _terrain_panel(ax_overview, powered, None, legend=False)
    ax_overview.axvspan(*window, color="gold", alpha=0.25, lw=0, zorder=0)
    ax_overview.set_title(f"Terrain under the ground track, {what.lower()}", fontsize=11,
                          loc="left")
    _terrain_panel(ax_terrain, powered, window, legend=True)
    ax_terrain.set_title(f"Close-up of the shaded part, from {-window[0]:.0f} km before the site",
                         fontsize=11, loc="left")

    # Labels are placed after the layout settles, so that their overlap tests see final sizes.
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    label_events(ax_alt, renderer, marks, t_start)
    label_events(ax_zoom, renderer, [m for m in marks if m[0] >= zoom_t0], t_start)
    return fig


def _title(info: dict[str, Any], t_start: float | None) -> str:
    outcome = info["outcome"].upper()
    if info["outcome"] == "crashed" and info["impact_speed_mps"] is not None:
        outcome += f" at {info['impact_speed_mps']:.1f} m/s"
    braking = ("no braking burn" if t_start is None
               else f"braking started T+{_mmss(t_start)} after the epoch")
    return (f"{info['scenario']}: {outcome}    "
            f"(policy {info['policy']}, seed {info['seed']}; {braking})")


def _mmss(t: float) -> str:
    m, s = divmod(t, 60.0)
    return f"{int(m):02d}:{s:04.1f}"


def _altitude_panel(ax: Axes, rows: pd.DataFrame, t_start: float, since: str,
                    full: bool) -> None:
    """True and estimated altitude (m) and raw range-finder readings against time."""
    x = rows["t_s"].to_numpy() - t_start
    true_alt = rows["altitude_m"].to_numpy()
    est_alt = rows["altitude_est_m"].to_numpy()
    reading = rows["lrf_range_m"].to_numpy()
    has = np.isfinite(reading)
    ok = has & rows["lrf_accepted"].to_numpy(dtype=bool)
    bad = has & ~ok
    scale, unit = (1e3, "km") if full else (1.0, "m")

    ax.axhline(0.0, color="0.35", lw=0.8)
    ax.scatter(x[bad], reading[bad] / scale, s=5, color=REJECTED_COLOUR, alpha=0.45, lw=0,
               label="range-finder slant range, rejected or ignored", zorder=2)
    ax.scatter(x[ok], reading[ok] / scale, s=5, color=ACCEPTED_COLOUR, alpha=0.6, lw=0,
               label="range-finder slant range, accepted", zorder=2)
    ax.plot(x, true_alt / scale, label="true altitude above terrain", zorder=3, **TRUE_STYLE)
    ax.plot(x, est_alt / scale, label="flight software's altitude estimate", zorder=4,
            **EST_STYLE)

    lines = np.concatenate([true_alt[np.isfinite(true_alt)], est_alt[np.isfinite(est_alt)]])
    if lines.size:
        lo, hi = min(0.0, float(lines.min())), max(float(lines.max()), 1.0)
        if full:  # room above the curves for the event labels
            hi = max(hi, float(np.nanmax(reading, initial=0.0)))
        pad = 0.06 * (hi - lo)
        ax.set_ylim((lo - pad) / scale, (hi + (0.35 if full else 0.5) * (hi - lo)) / scale)
    if x.size:
        ax.set_xlim(x[0], x[-1] + 0.02 * (x[-1] - x[0]) + 1e-3)
    ax.set_xlabel(f"time since {since} (s)")
    ax.set_ylabel(f"altitude / slant range ({unit})")
    ax.grid(alpha=0.3)
    if full:
        ax.legend(loc="lower left", fontsize=9, markerscale=3, framealpha=0.95)


def _terrain_panel(ax: Axes, rows: pd.DataFrame, window: tuple[float, float] | None,
                   legend: bool) -> None:
    """Terrain under the ground track, the true path and the path the flight software believed,
    over downrange ``window`` (km), or all of ``rows`` when None."""
    dr = rows["downrange_km"].to_numpy()
    terrain = rows["terrain_m"].to_numpy() / 1e3
    true_h = terrain + rows["altitude_m"].to_numpy() / 1e3
    # The flight software's own height above the sphere (drawn at the true downrange).
    believed_h = rows["height_est_m"].to_numpy() / 1e3
    reading = rows["lrf_range_m"].to_numpy()
    rejected = np.isfinite(reading) & ~rows["lrf_accepted"].to_numpy(dtype=bool)
    inside = np.ones(dr.size, bool) if window is None else (
        (dr >= window[0]) & (dr <= window[1]))

    # The signed distance flips on the far side of the Moon: break the lines there.
    jump = np.flatnonzero(np.abs(np.diff(dr)) > JUMP_KM) + 1
    line_dr = np.insert(dr, jump, np.nan)
    order = np.argsort(dr, kind="stable")
    gaps = np.flatnonzero(np.diff(dr[order]) > JUMP_KM) + 1
    fill_dr = np.insert(dr[order], gaps, np.nan)
    fill_h = np.insert(terrain[order], gaps, np.nan)
    ax.fill_between(fill_dr, fill_h, -1e3, color="0.78", lw=0, label="terrain",
                    zorder=1)
    ax.plot(fill_dr, fill_h, color="0.4", lw=0.8, zorder=1)
    ax.plot(line_dr, np.insert(true_h, jump, np.nan), label="true path", zorder=3,
            **TRUE_STYLE)
    ax.plot(line_dr, np.insert(believed_h, jump, np.nan),
            label="path the flight software believed", zorder=4, **EST_STYLE)
    ax.scatter(dr[rejected], true_h[rejected], s=9, color=REJECTED_COLOUR, lw=0, zorder=5,
               label="range-finder reading rejected or ignored here")
    ax.plot(dr[-1:], true_h[-1:], marker="X", ms=11, color="black", ls="none", zorder=6,
            label="end of flight")
    ax.axvline(0.0, color="0.3", lw=0.8, ls=":")

    heights = np.concatenate([terrain[inside], true_h[inside], believed_h[inside]])
    heights = heights[np.isfinite(heights)]
    if heights.size:
        lo, hi = float(heights.min()), float(heights.max())
        pad = 0.08 * max(hi - lo, 0.1)
        ax.set_ylim(lo - pad, hi + (3.5 if legend else 1.0) * pad)
    if window is not None:
        ax.set_xlim(*window)
    ax.set_xlabel("downrange distance to the site (km; site at 0)")
    ax.set_ylabel("height above the 1737.4 km sphere (km)")
    ax.grid(alpha=0.3)
    if legend:
        ax.legend(loc="upper right", fontsize=9, markerscale=1.5, framealpha=0.95, ncols=2)


def _detail_window(rows: pd.DataFrame) -> tuple[float, float]:
    """Downrange span (km) worth a close look: from the first range-finder reading to the end,
    or the last tenth of the time when there were none."""
    seen = np.flatnonzero(np.isfinite(rows["lrf_range_m"].to_numpy()))
    t = rows["t_s"].to_numpy()
    first = seen[0] if seen.size else int(np.searchsorted(t, t[-1] - 0.1 * (t[-1] - t[0])))
    tail = rows["downrange_km"].to_numpy()[first:]
    tail = tail[np.isfinite(tail)]
    start, end = (float(tail.min()), float(tail.max())) if tail.size else (-1.0, 1.0)
    margin = 0.12 * max(end - start, 1.0)
    return start - margin, end + 0.4 * margin


def label_events(ax: Axes, renderer: RendererBase,
                  marks: list[tuple[float, str, str]], t_start: float) -> None:
    """Vertical lines at the events, each labelled near the top without overlapping another."""
    blend = transforms.blended_transform_factory(ax.transData, ax.transAxes)
    frame = ax.get_window_extent(renderer)
    taken: list[Bbox] = []
    legend = ax.get_legend()
    if legend is not None:
        taken.append(legend.get_window_extent(renderer))
    for t, label, colour in sorted(marks):
        x = t - t_start
        ax.axvline(x, color=colour, lw=1.3, ls=(0, (4, 2)), zorder=1)
        box = None
        for level in range(14):
            y = 0.975 - 0.065 * level
            for ha, dx in (("left", 3), ("right", -3)):
                text = ax.annotate(
                    label, (x, y), xycoords=blend, xytext=(dx, 0), textcoords="offset points",
                    ha=ha, va="top", fontsize=9, color=colour, annotation_clip=False,
                    bbox={"boxstyle": "round,pad=0.25", "fc": "white", "ec": colour, "lw": 0.7,
                          "alpha": 0.92},
                )
                text.set_in_layout(False)
                bb = text.get_window_extent(renderer).expanded(1.02, 1.1)
                inside = frame.x0 <= bb.x0 and bb.x1 <= frame.x1 and frame.y0 <= bb.y0
                if inside and not any(bb.overlaps(other) for other in taken):
                    box = bb
                    break
                text.remove()
            if box is not None:
                break
        if box is None:  # nowhere free: put it at the top anyway rather than drop it
            text = ax.annotate(label, (x, 0.975), xycoords=blend, xytext=(3, 0),
                               textcoords="offset points", ha="left", va="top", fontsize=9,
                               color=colour, annotation_clip=False)
            text.set_in_layout(False)
        else:
            taken.append(box)
