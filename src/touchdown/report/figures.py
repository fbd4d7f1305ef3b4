"""The investigation report's figures (shell): one PNG each, drawn from what the ground received.

Telemetry is drawn in solid colours; simulation truth, when the flight was simulated, is drawn
in grey dashes and labelled "simulation truth" so that no one mistakes it for telemetry. Times
are onboard, T+mm:ss since the scenario epoch.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MultipleLocator, ScalarFormatter

from touchdown.ground.impact import ImpactEstimate
from touchdown.moon.constants import R_REF
from touchdown.moon.dem_tiles import Terrain
from touchdown.plots.flight import label_events
from touchdown.plots.png import save_png
from touchdown.plots.terrain import draw_hillshade
from touchdown.report.findings import Investigation
from touchdown.report.impact import AgainstTruth
from touchdown.report.received import Received
from touchdown.report.track import signed_range_km
from touchdown.telemetry.dictionary import ALARM_SEVERITIES
from touchdown.telemetry.run_folder import Truth

EST = {"color": "tab:orange", "lw": 1.8}
ACCEPTED = "tab:green"
REJECTED = "tab:red"
TRUTH = {"color": "0.35", "lw": 1.4, "ls": (0, (4, 2))}
TRUTH_LABEL = "simulation truth"
IMPACT = "tab:purple"  # the impact point estimate
LIMIT_COLOURS = dict(zip(ALARM_SEVERITIES, ("gold", "darkorange", "orangered", "red", "purple"),
                         strict=True))
TICK_STEPS_S = (10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0)
CLOSE_S = 600.0  # the close-up panels without a range finder: the last 10 minutes
THRUST_MEAN_S = 2.0  # the simulation truth's thrust is drawn as a mean over this much time
MODE_COLOURS = ("#c7d7e8", "#6a9fd4", "#dfe7ef", "#f0a35e", "#e3c94f", "#8cc084", "#4f9d69",
                "#555555")


@dataclass(frozen=True)
class FigureSpec:
    key: str
    title: str
    caption: str


FIGURES = (
    FigureSpec("altitude", "Altitude",
               "The flight software's altitude estimate and the range finder's readings (made "
               "vertical along the beam's tilt), accepted and rejected or ignored."),
    FigureSpec("terrain", "Terrain under the track",
               "The map's terrain under the reported ground track, the path the lander "
               "reported, and where the range finder was rejected or ignored."),
    FigureSpec("velocity", "Velocity", "Vertical and horizontal speed the lander reported."),
    FigureSpec("engines", "Engine commands",
               "Main engine command, descent thrusters' duty cycle and the thrust tilt."),
    FigureSpec("propellant", "Propellant",
               "The onboard propellant count (from commanded burn time) and its limits."),
    FigureSpec("modes", "Modes and events", "Guidance mode over time, with the onboard events."),
    FigureSpec("link", "Link", "Packets received per 10 s of onboard time, by type; "
               "no-signal spans and the loss of signal."),
    FigureSpec("map", "Ground track", "The reported ground track on a shaded relief map "
               "(LRO GLD100 + LOLA), with the target, the rejections and the impact point "
               "estimate with its 95 % ellipse (inset: around it, with the simulated contact "
               "where the flight was simulated)."),
    FigureSpec("images", "Camera images received",
               "The camera's images as far as they came down, by the onboard time they were "
               "taken; strips that did not come whole are grey."),
    FigureSpec("images_unsent", "What the camera saw and the ground never received",
               "Simulation truth: the images the camera took that the ground had less than "
               "90 % of when the signal ended (or that were not kept), those nearest the "
               "range finder's first rejection."),
)
NUMBER = {f.key: k + 1 for k, f in enumerate(FIGURES)}


def _tplus(x: float, _pos: int = 0) -> str:
    sign = "-" if x < 0 else "+"
    m, s = divmod(abs(x), 60.0)
    return f"T{sign}{int(m):02d}:{int(s):02d}"


def _time_axis(ax: Axes, span: tuple[float, float] | None = None) -> None:
    """T+mm:ss ticks on whole minutes (or half minutes, or tens of minutes)."""
    ax.xaxis.set_major_formatter(FuncFormatter(_tplus))
    if span is not None:
        ax.set_xlim(*span)
    lo, hi = ax.get_xlim()
    step = next((s for s in TICK_STEPS_S if (hi - lo) / s <= 9), TICK_STEPS_S[-1])
    ax.xaxis.set_major_locator(MultipleLocator(step))
    ax.set_xlabel("onboard time since the scenario epoch")
    ax.grid(alpha=0.3)


def window_mean(t: np.ndarray, y: np.ndarray, width: float) -> np.ndarray:
    """Mean of ``y`` over the rows within [t - width/2, t + width/2) of each row's time ``t``
    (s, ascending), NaNs left out: a window of time, whatever the rows' spacing."""
    t, y = np.asarray(t, dtype=float), np.asarray(y, dtype=float)
    ok = np.isfinite(y)
    total = np.concatenate([[0.0], np.cumsum(np.where(ok, y, 0.0))])
    count = np.concatenate([[0], np.cumsum(ok)])
    eps = 1e-6 * width  # rows on a grid of width/n: t - width/2 in, t + width/2 out
    lo = np.searchsorted(t, t - 0.5 * width - eps, "left")
    hi = np.searchsorted(t, t + 0.5 * width - eps, "left")
    n = count[hi] - count[lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, (total[hi] - total[lo]) / n, np.nan)


def held(t: np.ndarray, y: np.ndarray, gap: float) -> tuple[np.ndarray, np.ndarray]:
    """The points (t, y) with a step added where rows are more than ``gap`` (s) apart: the value
    held to the next row rather than a line ramped to it (the trace's sparse coast rows)."""
    t, y = np.asarray(t, dtype=float), np.asarray(y, dtype=float)
    k = np.flatnonzero(np.diff(t) > gap) + 1
    return np.insert(t, k, t[k]), np.insert(y, k, y[k - 1])


def unwrap_lon(lon: np.ndarray | float, ref: float) -> np.ndarray:
    """East longitudes (deg) moved by whole turns to within 180 deg of ``ref``, so that a track
    across the 0/360 meridian stays continuous (unchanged where it already is)."""
    lon = np.asarray(lon, dtype=float)
    return lon - 360.0 * np.round((lon - ref) / 360.0)


class _EastLongitude(ScalarFormatter):
    """Tick labels of unwrapped longitudes as east longitudes in [0, 360)."""

    def __call__(self, x: float, pos: int | None = None) -> str:
        return super().__call__(x % 360.0, pos)


def _new(rows: int = 1, height: float = 4.6, cols: int = 1) -> tuple[Figure, list[Axes]]:
    fig = Figure(figsize=(11, height), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, cols, squeeze=False).ravel().tolist()
    return fig, axes


def _title(fig: Figure, key: str, rx: Received) -> None:
    spec = FIGURES[NUMBER[key] - 1]
    fig.suptitle(f"Fig. {NUMBER[key]}  {spec.title} — {rx.info.scenario or rx.source}",
                 fontsize=12, fontweight="bold", x=0.01, ha="left")


@dataclass
class Context:
    """What every figure draws from."""

    rx: Received
    inv: Investigation
    track: pd.DataFrame
    truth: Truth | None
    terrain: Terrain
    impact: ImpactEstimate | None = None
    impact_truth: AgainstTruth | None = None

    @property
    def descent(self) -> tuple[float, float]:
        """From the braking burn (or the first range reading) to the end of the signal."""
        start = self.rx.event_times("braking_start")
        t0 = start[0] if start else self.rx.t_first
        return t0 - 30.0, self.rx.t_last + 20.0

    @property
    def close(self) -> tuple[float, float]:
        """From the range finder's acquisition (or the last 10 minutes) to the end."""
        acq = self.rx.event_times("lrf_acquired")
        t0 = acq[0] if acq else self.rx.t_last - CLOSE_S
        return t0 - 30.0, self.rx.t_last + 15.0

    @property
    def close_title(self) -> str:
        """What the close-up panels show (``close``)."""
        if self.rx.event_times("lrf_acquired"):
            return "From the range finder's acquisition"
        return f"The last {CLOSE_S / 60:g} minutes of the signal (no range finder acquired)"

    @property
    def lon_ref(self) -> float | None:
        """The longitude (deg E) the figures' longitudes are unwrapped around: the target's,
        or the last reported one."""
        if self.rx.info.target_lon_deg is not None:
            return float(self.rx.info.target_lon_deg)
        lon = self.track["lon_deg"].to_numpy() if "lon_deg" in self.track else np.empty(0)
        return float(lon[-1]) if lon.size else None

    def lon(self, lon: np.ndarray | float) -> np.ndarray:
        """``unwrap_lon`` around ``lon_ref``."""
        ref = self.lon_ref
        return np.asarray(lon, dtype=float) if ref is None else unwrap_lon(lon, ref)

    def truth_rows(self, span: tuple[float, float]) -> pd.DataFrame | None:
        if self.truth is None:
            return None
        tr = self.truth.trace
        return tr[(tr["t_s"] >= span[0]) & (tr["t_s"] <= span[1])]

    def marks(self) -> list[tuple[float, str, str]]:
        """Labelled vertical lines: the key onboard events and the findings' times."""
        out = []
        for name, label, colour in (("lrf_fault_declared", "range finder judged faulty",
                                     "tab:red"),
                                    ("altitude_estimate_zero", "estimate reaches 0",
                                     "tab:purple"),
                                    ("touchdown_detected", "touchdown detected", "black")):
            out += [(t, label, colour) for t in self.rx.event_times(name)[:1]]
        if self.inv.no_thrust_t is not None:
            out.append((self.inv.no_thrust_t, "no thrust (inferred)", "tab:brown"))
        if self.inv.outcome.get("outcome") == "impact":
            out.append((self.inv.outcome["t_s"], "impact (inferred)", "black"))
        return out


def _events(ax: Axes, ctx: Context, span: tuple[float, float]) -> None:
    fig = ax.get_figure()
    assert fig is not None
    fig.draw_without_rendering()
    label_events(ax, fig.canvas.get_renderer(),  # type: ignore[attr-defined]
                 [m for m in ctx.marks() if span[0] <= m[0] <= span[1]], 0.0)


def _if(shown: pd.Series, label: str) -> str | None:
    """The legend label of a series, or none when it has nothing to show."""
    return label if bool(shown.any()) else None


def _clip(df: pd.DataFrame, span: tuple[float, float], col: str = "t") -> pd.DataFrame:
    return df[(df[col] >= span[0]) & (df[col] <= span[1])]


# ---------------------------------------------------------------- the figures

def altitude(ctx: Context) -> Figure:
    fig, (ax_all, ax_close) = _new(2, 8.6)
    lrf = ctx.inv.lrf
    for ax, span, scale, unit in ((ax_all, ctx.descent, 1e3, "km"), (ax_close, ctx.close, 1e3,
                                                                        "km")):
        nav = _clip(ctx.rx["nav"], span)
        rows = _clip(lrf, span)
        has = np.isfinite(rows["vertical_m"])
        ok = has & (rows["accepted"] == 1)
        bad = has & (rows["accepted"] != 1) & (rows["state"] != 0)
        waiting = has & (rows["state"] == 0)
        tr = ctx.truth_rows(span)
        if tr is not None:
            ax.plot(tr["t_s"], tr["altitude_m"] / scale, label=f"{TRUTH_LABEL}: altitude",
                    **TRUTH)
        ax.scatter(rows["t"][waiting], rows["vertical_m"][waiting] / scale, s=5, color="0.6",
                   lw=0, label=_if(waiting, "range reading before acquisition"))
        ax.scatter(rows["t"][ok], rows["vertical_m"][ok] / scale, s=6, color=ACCEPTED, lw=0,
                   label=_if(ok, "range reading, accepted"))
        ax.scatter(rows["t"][bad], rows["vertical_m"][bad] / scale, s=9, color=REJECTED,
                   marker="D", lw=0, label=_if(bad, "range reading, rejected or ignored"))
        ax.plot(nav["t"], nav["altitude_m"] / scale, label="altitude estimate (flight software)",
                **EST)
        ax.axhline(0.0, color="0.3", lw=0.8)
        ax.set_ylabel(f"altitude ({unit})")
        _time_axis(ax, span)
    ax_all.set_title("Powered descent", loc="left", fontsize=10)
    ax_close.set_title(ctx.close_title, loc="left", fontsize=10)
    ax_all.legend(loc="upper right", fontsize=8, markerscale=2, framealpha=0.95)
    _title(fig, "altitude", ctx.rx)
    _events(ax_close, ctx, ctx.close)
    return fig


def terrain(ctx: Context) -> Figure:
    fig, (ax,) = _new(1, 5.6)
    tk = _clip(ctx.track, ctx.close)
    if "site_km" not in tk or tk.empty:
        ax.text(0.5, 0.5, "no target or no track received", transform=ax.transAxes,
                ha="center")
        _title(fig, "terrain", ctx.rx)
        return fig
    x = tk["site_km"].to_numpy()
    ax.fill_between(x, tk["terrain_m"] / 1e3, -1e3, color="0.8", lw=0,
                    label="terrain under the reported track (map)")
    ax.plot(x, tk["terrain_m"] / 1e3, color="0.45", lw=0.8)
    ax.plot(x, tk["height_m"] / 1e3, label="path the lander reported (its height estimate)",
            **EST)
    lrf = _clip(ctx.inv.lrf, ctx.close)
    bad = lrf[np.isfinite(lrf["vertical_m"]) & (lrf["accepted"] != 1) & (lrf["state"] != 0)]
    t = tk["t"].to_numpy()
    if not bad.empty:
        bx = np.interp(bad["t"], t, x)
        bh = np.interp(bad["t"], t, tk["height_m"])
        ax.scatter(bx, bh / 1e3, s=10, color=REJECTED, marker="D", lw=0, zorder=5,
                   label="range finder rejected or ignored here")
        ax.scatter(bx, (bh - bad["vertical_m"]) / 1e3, s=6, color=REJECTED, alpha=0.4, lw=0,
                   label="ground where those readings put it")
    tr = ctx.truth_rows(ctx.close)
    if tr is not None and ctx.rx.info.target_lat_deg is not None:
        tx = signed_range_km(tr["lat_deg"].to_numpy(), tr["lon_deg"].to_numpy(),
                             (ctx.rx.info.target_lat_deg, ctx.rx.info.target_lon_deg))
        ax.plot(tx, (tr["terrain_m"] + tr["altitude_m"]) / 1e3,
                label=f"{TRUTH_LABEL}: path", **TRUTH)
    for f in ctx.inv.by_key("terrain_step") + ctx.inv.by_key("sensor_suspect"):
        t0, t1 = f.evidence["t_from_s"], f.evidence["t_to_s"]
        ax.axvspan(float(np.interp(t0, t, x)), float(np.interp(t1, t, x)), color="gold",
                   alpha=0.35, lw=0, label="terrain step at the range jump")
    ax.axvline(0.0, color="0.3", lw=0.8, ls=":")
    shown = [c.get_offsets()[:, 1] for c in ax.collections[1:] if len(c.get_offsets())]
    heights = np.concatenate([tk["terrain_m"] / 1e3, tk["height_m"] / 1e3, *shown])
    heights = heights[np.isfinite(heights)]
    span = float(heights.max() - heights.min())
    ax.set_ylim(heights.min() - 0.05 * span, heights.max() + 0.3 * span)
    ax.set_xlabel("distance to the target along the track (km; target at 0)")
    ax.set_ylabel("height above the 1737.4 km sphere (km)")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper right", fontsize=8, framealpha=0.95, ncols=2)
    note = ctx.inv.notes.get("terrain")
    if note:
        ax.set_title(textwrap.fill(note, 140), loc="left", fontsize=9)
    _title(fig, "terrain", ctx.rx)
    return fig


def velocity(ctx: Context) -> Figure:
    fig, (ax_h, ax_v) = _new(2, 7.0)
    nav = _clip(ctx.rx["nav"], ctx.descent)
    tr = ctx.truth_rows(ctx.descent)
    for ax, col, what in ((ax_h, "horizontal_speed_mps", "horizontal speed"),
                          (ax_v, "vertical_speed_mps", "vertical speed (up +)")):
        if tr is not None:
            ax.plot(tr["t_s"], tr[col], label=f"{TRUTH_LABEL}: {what}", **TRUTH)
        ax.plot(nav["t"], nav[col], label=f"{what}, reported", **EST)
        ax.set_ylabel(f"{what} (m/s)")
        _time_axis(ax, ctx.descent)
        ax.legend(loc="upper right", fontsize=8)
    ax_v.axhline(0.0, color="0.3", lw=0.8)
    _title(fig, "velocity", ctx.rx)
    _events(ax_v, ctx, ctx.descent)
    return fig


def engines(ctx: Context) -> Figure:
    fig, (ax, ax_tilt) = _new(2, 7.0)
    gnc = _clip(ctx.rx["gnc"], ctx.descent)
    ax.step(gnc["t"], 100 * gnc["thruster_duty"], where="post", color="tab:blue", lw=1.2,
            label="descent thrusters, duty cycle (%)")
    ax.step(gnc["t"], 100 * gnc["main_engine"], where="post", color="tab:orange", lw=1.6,
            label="main engine throttle (%)")
    ax.set_ylim(-5, 115)
    ax.set_ylabel("command (%)")
    if ctx.inv.no_thrust_t is not None:
        ax.axvspan(ctx.inv.no_thrust_t, ctx.descent[1], color="tab:brown", alpha=0.15, lw=0,
                   label="no thrust delivered (inferred)")
    tr = ctx.truth_rows(ctx.descent)
    if tr is not None:
        twin = ax.twinx()
        mean = window_mean(tr["t_s"].to_numpy(), tr["thrust_n"].to_numpy(), THRUST_MEAN_S)
        twin.plot(*held(tr["t_s"].to_numpy(), mean, THRUST_MEAN_S),
                  label=f"{TRUTH_LABEL}: thrust (N, {THRUST_MEAN_S:g} s mean)", **TRUTH)
        twin.set_ylabel(f"{TRUTH_LABEL}: thrust (N)", color="0.35")
        twin.set_ylim(bottom=-0.05 * max(float(tr["thrust_n"].max()), 1.0))
        twin.legend(loc="upper right", fontsize=8)
    ax.legend(loc="upper left", fontsize=8)
    _time_axis(ax, ctx.descent)
    ax_tilt.plot(gnc["t"], gnc["thrust_tilt_deg"], color="tab:purple", lw=1.4,
                 label="commanded thrust from local vertical")
    ax_tilt.set_ylabel("thrust tilt (deg)")
    ax_tilt.legend(loc="upper right", fontsize=8)
    _time_axis(ax_tilt, ctx.descent)
    _title(fig, "engines", ctx.rx)
    return fig


def propellant(ctx: Context) -> Figure:
    fig, (ax,) = _new(1, 4.8)
    prop = _clip(ctx.rx["prop"], ctx.descent).dropna(subset=["propellant_kg"])
    field = ctx.rx.dictionary.parameters["prop.propellant_kg"]
    tr = ctx.truth_rows(ctx.descent)
    if tr is not None:
        ax.plot(tr["t_s"], tr["propellant_kg"], label=f"{TRUTH_LABEL}: propellant", **TRUTH)
    ax.step(prop["t"], prop["propellant_kg"], where="post", label="onboard count (telemetry)",
            **EST)
    for sev in ALARM_SEVERITIES:
        if sev in field.limits:
            lo = field.limits[sev][0]
            ax.axhline(lo, color=LIMIT_COLOURS[sev], lw=0.9, ls=":",
                       label=f"{sev} limit ({lo:g} kg)")
    if ctx.inv.no_thrust_t is not None:
        ax.axvline(ctx.inv.no_thrust_t, color="tab:brown", lw=1.5,
                   label="no thrust from here (inferred)")
    ax.set_ylabel("propellant (kg)")
    ax.legend(loc="upper right", fontsize=8)
    _time_axis(ax, ctx.descent)
    _title(fig, "propellant", ctx.rx)
    return fig


def _mode_bars(ax: Axes, ctx: Context, span: tuple[float, float], labels: bool) -> None:
    gnc = ctx.rx["gnc"].dropna(subset=["mode"])
    t, m = gnc["t"].to_numpy(), gnc["mode"].to_numpy().astype(int)
    names = ctx.rx.dictionary.parameters["gnc.mode"].enum
    change = np.flatnonzero(np.diff(m)) + 1
    starts = np.concatenate([[0], change]) if t.size else np.empty(0, dtype=int)
    ends = np.concatenate([change, [len(t) - 1]]) if t.size else np.empty(0, dtype=int)
    for a, b in zip(starts, ends, strict=True):
        t0, t1 = t[a], t[b] if b > a else t[a] + 1.0
        ax.barh(0, t1 - t0, left=t0, height=0.6, color=MODE_COLOURS[m[a] % len(MODE_COLOURS)],
                edgecolor="white")
        v0, v1 = max(t0, span[0]), min(t1, span[1])  # the visible part
        if v1 - v0 > 0.06 * (span[1] - span[0]):
            ax.text(0.5 * (v0 + v1), 0, names.get(int(m[a]), "?").replace("_", " "),
                    ha="center", va="center", fontsize=8)
    ev = ctx.rx.events
    ev = ev[(ev["t"] >= span[0]) & (ev["t"] <= span[1])]
    shown = ev.drop_duplicates("name")
    for k, (_, e) in enumerate(shown.iterrows()):
        y = -0.55 - 0.28 * (k % 4) if labels else -0.55
        ax.plot([e["t"], e["t"]], [-0.3, y], color="0.3", lw=0.7)
        ax.plot(e["t"], y, "v", color="tab:red" if "lrf" in e["name"] else "0.2", ms=5)
        if labels:
            ax.text(e["t"], y - 0.04, f" {e['name'].replace('_', ' ')}", fontsize=7,
                    va="top")
    ax.set_ylim(-1.7, 0.5)
    ax.set_yticks([])
    _time_axis(ax, span)


def modes(ctx: Context) -> Figure:
    fig, (ax_all, ax_close) = _new(2, 6.4)
    fig.get_layout_engine().set(h_pad=0.1)  # type: ignore[union-attr]
    _mode_bars(ax_all, ctx, (ctx.rx.t_first - 60.0, ctx.rx.t_last + 60.0), labels=False)
    ax_all.set_ylim(-0.9, 0.5)
    _mode_bars(ax_close, ctx, ctx.close, labels=True)
    ax_all.set_title("Whole flight, from the first packet received (events named below)",
                     loc="left", fontsize=10)
    ax_close.set_title(ctx.close_title, loc="left", fontsize=10)
    _title(fig, "modes", ctx.rx)
    return fig


def link(ctx: Context) -> Figure:
    fig, (ax,) = _new(1, 4.6)
    arr = ctx.rx.arrivals
    lo, hi = 0.0, ctx.rx.t_last + 60.0
    bins = np.arange(lo, hi + 10.0, 10.0)
    bottom = np.zeros(bins.size - 1)
    for k, name in enumerate(sorted(arr["packet"].unique())):
        counts, _ = np.histogram(arr.loc[arr["packet"] == name, "t"], bins)
        ax.bar(bins[:-1], counts, width=10.0, bottom=bottom, align="edge", lw=0,
               color=f"C{k}", label=name)
        bottom += counts
    t = np.sort(arr["t"].to_numpy())
    gaps = np.flatnonzero(np.diff(t) > 30.0)
    spans = [(0.0, t[0])] + [(t[g], t[g + 1]) for g in gaps] if t.size else []
    for k, (a, b) in enumerate(spans):
        ax.axvspan(a, b, color="0.85", lw=0, zorder=0, label="no signal" if k == 0 else None)
    for los in ctx.rx.losses:
        ax.axvline(los.t_onboard_last, color="tab:red", lw=1.5)
        ax.annotate(f"LOS {_tplus(los.t_los)}", (los.t_onboard_last, 0.95),
                    xycoords=("data", "axes fraction"), ha="right", va="top", color="tab:red",
                    fontsize=9, xytext=(-4, 0), textcoords="offset points")
    ax.set_ylabel("packets per 10 s")
    ax.legend(loc="upper left", fontsize=8, ncols=4)
    _time_axis(ax, (lo, hi))
    _title(fig, "link", ctx.rx)
    return fig


def ground_map(ctx: Context) -> Figure:
    """Longitudes unwrapped around the target's (``Context.lon``): a track across the 0/360
    meridian is drawn continuous, the ticks still read east longitudes in [0, 360)."""
    fig, (ax,) = _new(1, 7.5)
    tk = _clip(ctx.track, ctx.descent)
    info = ctx.rx.info
    tk_lon = ctx.lon(tk["lon_deg"].to_numpy())
    lats, lons = list(tk["lat_deg"]), list(tk_lon)
    if info.target_lat_deg is not None and info.target_lon_deg is not None:
        lats.append(info.target_lat_deg)
        lons.append(float(ctx.lon(info.target_lon_deg)))
    if not lats:
        _title(fig, "map", ctx.rx)
        return fig
    close = _clip(ctx.track, ctx.close)
    la = list(close["lat_deg"]) + lats[-1:]
    lo = list(ctx.lon(close["lon_deg"].to_numpy())) + lons[-1:]
    ring = np.array(ctx.impact.ellipse()) if ctx.impact is not None else np.empty((0, 2))
    la += list(ring[:, 0])  # the impact ellipse and the simulated contact in the box too
    lo += list(ctx.lon(ring[:, 1]))
    if ctx.impact_truth is not None:
        la.append(ctx.impact_truth.lat_deg)
        lo.append(float(ctx.lon(ctx.impact_truth.lon_deg)))
    pad = 0.3
    box_lat = (min(la) - pad, max(la) + pad)
    mid = math.cos(math.radians(0.5 * sum(box_lat)))
    half = max((box_lat[1] - box_lat[0]) / mid / 2, (max(lo) - min(lo)) / 2 + pad)
    c = 0.5 * (min(lo) + max(lo))
    box_lon = (c - half, c + half)
    draw_hillshade(ax, ctx.terrain, box_lat, box_lon, pixels=700)
    ax.plot(tk_lon, tk["lat_deg"], label="reported track", **EST)
    tr = ctx.truth_rows(ctx.descent)
    if tr is not None:
        ax.plot(ctx.lon(tr["lon_deg"].to_numpy()), tr["lat_deg"], label=f"{TRUTH_LABEL}: track",
                **{**TRUTH, "color": "tab:cyan"})
    lrf = ctx.inv.lrf
    bad = lrf[np.isfinite(lrf["range_m"]) & (lrf["accepted"] != 1) & (lrf["state"] != 0)]
    if not bad.empty:
        t = tk["t"].to_numpy()
        ax.scatter(np.interp(bad["t"], t, tk_lon), np.interp(bad["t"], t, tk["lat_deg"]),
                   s=5, color=REJECTED, marker="D", lw=0, zorder=5, alpha=0.6,
                   label="range finder rejected or ignored")
    for f in ctx.inv.by_key("terrain_step") + ctx.inv.by_key("sensor_suspect"):
        ax.plot(ctx.lon(f.evidence["lon_deg"]), f.evidence["lat_deg"], "o", ms=14, mfc="none",
                mec="gold", mew=2.5, label="terrain step at the range jump")
    if info.target_lat_deg is not None:
        ax.plot(ctx.lon(info.target_lon_deg), info.target_lat_deg, "*", ms=18, color="yellow",
                mec="black", label="target")
    if not tk.empty:
        ax.plot(tk_lon[-1], tk["lat_deg"].iloc[-1], "X", ms=12, color="black", mec="white",
                label="last reported position")
    if ctx.impact is not None:
        _impact(ax, ctx, ring, legend=True)
        inset = ax.inset_axes((0.02, 0.6, 0.38, 0.38))
        half_m = 1.5 * max(ctx.impact.semi_major_m, ctx.impact_truth.miss_m
                           if ctx.impact_truth is not None else 0.0, 1000.0)
        dlat = math.degrees(half_m / R_REF)
        dlon = dlat / mid
        c_lat, c_lon = ctx.impact.lat_deg, float(ctx.lon(ctx.impact.lon_deg))
        draw_hillshade(inset, ctx.terrain, (c_lat - dlat, c_lat + dlat),
                       (c_lon - dlon, c_lon + dlon), pixels=300)
        inset.plot(tk_lon, tk["lat_deg"], **EST)
        if tr is not None:
            inset.plot(ctx.lon(tr["lon_deg"].to_numpy()), tr["lat_deg"],
                       **{**TRUTH, "color": "tab:cyan"})
        _impact(inset, ctx, ring, legend=False)
        if not tk.empty:
            inset.plot(tk_lon[-1], tk["lat_deg"].iloc[-1], "X", ms=9, color="black", mec="white")
        inset.set_xlim(c_lon - dlon, c_lon + dlon)
        inset.set_ylim(c_lat - dlat, c_lat + dlat)
        inset.set_aspect(1.0 / mid)
        inset.set_xticks([])
        inset.set_yticks([])
        inset.set_title(f"the impact point, ±{half_m / 1e3:.1f} km", fontsize=8, pad=2)
        ax.indicate_inset_zoom(inset, edgecolor="black")
    ax.set_xlim(*box_lon)
    ax.set_ylim(*box_lat)
    if box_lon[0] < 0.0 or box_lon[1] >= 360.0:
        ax.xaxis.set_major_formatter(_EastLongitude(useOffset=False))
    ax.set_xlabel("east longitude (deg)")
    ax.set_ylabel("latitude (deg)")
    ax.set_aspect(1.0 / mid)
    ax.legend(loc="lower right", fontsize=8, framealpha=0.95)
    _title(fig, "map", ctx.rx)
    return fig


def _impact(ax: Axes, ctx: Context, ring: np.ndarray, legend: bool) -> None:
    """The impact point estimate with its 95 % ellipse and, for a simulated flight, where the
    simulated lander struck."""
    assert ctx.impact is not None
    ax.fill(ctx.lon(ring[:, 1]), ring[:, 0], color=IMPACT, alpha=0.2, lw=0)
    ax.plot(ctx.lon(ring[:, 1]), ring[:, 0], color=IMPACT, lw=1.8, label="impact point "
            "estimate, 95 % ellipse (from the last nav state)" if legend else None)
    ax.plot(ctx.lon(ctx.impact.lon_deg), ctx.impact.lat_deg, "+", ms=14, mew=2.5, color=IMPACT)
    if ctx.impact_truth is not None:
        ax.plot(ctx.lon(ctx.impact_truth.lon_deg), ctx.impact_truth.lat_deg, "o", ms=9,
                mfc="none", mec="0.2", mew=2, ls="none",
                label=f"{TRUTH_LABEL}: contact" if legend else None)


IMAGES_SHOWN = 12  # images in a figure at most
MOSTLY = 0.9  # an image this much received is not among those the ground never had


def _key_time(ctx: Context) -> float:
    """The moment the image figures centre on: the range finder's first rejection, else the
    end of the signal."""
    rejected = ctx.rx.event_times("lrf_rejected")
    return rejected[0] if rejected else ctx.rx.t_last


def _image_grid(images: list[tuple[str, np.ndarray, bool]]) -> tuple[Figure, list[Axes]]:
    """A grid of (title, pixels, truth) images, four to a row."""
    cols = min(4, len(images))
    rows = -(-len(images) // cols)
    fig, axes = _new(rows, 2.9 * rows + 0.6, cols)
    for ax in axes:
        ax.set_axis_off()
    for ax, (title, pixels, truth) in zip(axes, images, strict=False):
        ax.imshow(pixels, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
        ax.set_title(title, fontsize=8.5, color="0.3" if truth else "black")
        if truth:
            for spine in ax.spines.values():
                spine.set(visible=True, color=TRUTH["color"], ls="--", lw=1.5)
    return fig, axes


def images_received(ctx: Context) -> Figure | None:
    """The images that came down, whole or in part."""
    got = ctx.rx.images.assembler.images
    shown = [i for _, i in sorted(got.items()) if i.info is not None and i.octets_received]
    if not shown:
        return None
    if len(shown) > IMAGES_SHOWN:  # evenly through the flight, and the one nearest the key
        key = _key_time(ctx)
        nearest = min(range(len(shown)), key=lambda k: abs(shown[k].t - key))
        picks = {round(k) for k in np.linspace(0, len(shown) - 1, IMAGES_SHOWN - 1)}
        shown = [shown[k] for k in sorted(picks | {nearest})]
    fig, _ = _image_grid([
        (f"#{i.image_id}  {_tplus(i.t)}  "
         + ("complete" if i.complete else
            f"{100 * i.octets_received // max(int(i.info['octets']), 1)} % received"),
         i.pixels(), False) for i in shown])
    _title(fig, "images", ctx.rx)
    return fig


def images_unsent(ctx: Context) -> Figure | None:
    """Simulation truth: what the camera took and the ground never had whole."""
    if ctx.truth is None:
        return None
    missing = [i for i in ctx.truth.images if i["octets_received"] < MOSTLY * i["octets"]
               or not i["kept"]]
    if not missing:
        return None
    from PIL import Image as PilImage

    key = _key_time(ctx)
    missing = sorted(sorted(missing, key=lambda i: abs(i["t_s"] - key))[:IMAGES_SHOWN],
                     key=lambda i: i["t_s"])
    fig, _ = _image_grid([
        (f"#{i['image_id']}  {_tplus(i['t_s'])}  "
         + ("never received" if i["received"] == "no" else
            f"{100 * i['octets_received'] // max(i['octets'], 1)} % received")
         + ("" if i["kept"] else " (not kept)"),
         np.asarray(PilImage.open(i["path"]).convert("L")), True) for i in missing])
    _title(fig, "images_unsent", ctx.rx)
    fig.text(0.99, 0.005, f"{TRUTH_LABEL.upper()}: from the simulator, never telemetry",
             ha="right", va="bottom", fontsize=9, color="white",
             bbox={"facecolor": "firebrick", "edgecolor": "none", "pad": 3})
    return fig


DRAW: dict[str, Callable[[Context], Figure | None]] = {
    "altitude": altitude, "terrain": terrain, "velocity": velocity, "engines": engines,
    "propellant": propellant, "modes": modes, "link": link, "map": ground_map,
    "images": images_received, "images_unsent": images_unsent,
}


def write_figures(ctx: Context, folder: Path) -> dict[str, Path]:
    """Every figure the flight has (the camera's only with images) as
    ``folder/figN-KEY.png``; {key: path}."""
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for f in FIGURES:
        fig = DRAW[f.key](ctx)
        if fig is not None:
            out[f.key] = save_png(fig, folder / f"fig{NUMBER[f.key]}-{f.key}.png")
    return out
