"""The investigation report's figures: their helpers on small inputs, and the figures of a flight
that crosses the 0/360 meridian, coasts on a sparse trace and has no range finder (Beresheet)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from touchdown.moon.dem_tiles import load_truth_terrain
from touchdown.report.build import load_source
from touchdown.report.figures import (
    Context,
    altitude,
    engines,
    ground_map,
    held,
    modes,
    unwrap_lon,
    window_mean,
)
from touchdown.report.findings import investigate
from touchdown.report.track import reported_track
from touchdown.scenario import Scenario, resolve
from touchdown.telemetry.downlink import fly_downlink
from touchdown.telemetry.run_folder import write_run_folder


@pytest.fixture(scope="module")
def beresheet(tmp_path_factory) -> Context:
    """What the report draws from, for Beresheet as flown (seed 0)."""
    root = tmp_path_factory.mktemp("figures")
    link = fly_downlink(Scenario.from_toml(resolve("beresheet")), 0)
    write_run_folder(root / "run", link.flight, link)
    rx, truth = load_source(root / "run", root / "report", None)
    terrain = load_truth_terrain()
    track = reported_track(rx, terrain)
    return Context(rx, investigate(rx, track), track, truth, terrain)


def line(fig: Figure, label: str) -> Line2D:
    found = [ln for ax in fig.axes for ln in ax.get_lines() if label in str(ln.get_label())]
    assert len(found) == 1, [ln.get_label() for ax in fig.axes for ln in ax.get_lines()]
    return found[0]


# ---------------------------------------------------------------- helpers, on small inputs

def test_unwrap_lon_keeps_a_track_across_the_meridian_continuous() -> None:
    lon = np.array([340.0, 359.5, 0.5, 19.0, 19.7])
    assert np.allclose(unwrap_lon(lon, 19.35), [-20.0, -0.5, 0.5, 19.0, 19.7])
    assert np.allclose(unwrap_lon(np.array([1.0, 359.0]), 358.0), [361.0, 359.0])
    # a track that does not cross it is left exactly as it was
    far = np.array([44.0, 44.4, 44.41, 150.0, 223.0])
    assert np.array_equal(unwrap_lon(far, 44.4), far)


def test_window_mean_is_a_window_of_time_not_of_rows() -> None:
    # sparse coast rows (10 s apart, engine off), then the burn at 10 Hz
    t = np.concatenate([np.arange(0.0, 100.0, 10.0), 100.0 + 0.1 * np.arange(300)])
    y = np.where(t > 100.05, 400.0, 0.0)
    mean = window_mean(t, y, 2.0)
    assert np.all(mean[t < 99.0] == 0.0)
    assert np.allclose(mean[(t > 101.05) & (t < 128.9)], 400.0)
    assert 0.0 < mean[t == 100.0][0] < 400.0
    # on evenly spaced rows it is the centred mean of 2 s of rows, as it always was
    even = 0.1 * np.arange(500)
    noisy = np.random.default_rng(1).normal(300.0, 50.0, even.size)
    rows = pd.Series(noisy).rolling(20, min_periods=1, center=True).mean().to_numpy()
    assert np.allclose(window_mean(even, noisy, 2.0), rows)


def test_held_steps_across_sparse_rows_only() -> None:
    t, y = np.array([0.0, 10.0, 10.1, 10.2]), np.array([0.0, 5.0, 6.0, 7.0])
    x, v = held(t, y, 2.0)
    assert x.tolist() == [0.0, 10.0, 10.0, 10.1, 10.2]
    assert v.tolist() == [0.0, 0.0, 5.0, 6.0, 7.0]
    assert [a.tolist() for a in held(t[1:], y[1:], 2.0)] == [t[1:].tolist(), y[1:].tolist()]


# ---------------------------------------------------------------- Beresheet's figures

def test_map_of_a_track_across_the_meridian_is_drawn_around_the_site(
        beresheet: Context) -> None:
    lon = beresheet.track["lon_deg"].to_numpy()
    assert lon.max() > 300.0 and lon.min() < 60.0  # the flight does cross 0/360
    fig = ground_map(beresheet)
    ax = fig.axes[0]
    lo, hi = ax.get_xlim()
    assert hi - lo < 90.0, (lo, hi)
    x = line(fig, "reported track").get_xdata()
    assert np.all((x > lo - 20.0) & (x < hi + 20.0))
    assert np.max(np.abs(np.diff(x))) < 1.0  # no jump of 360 deg along the track
    target = line(fig, "target").get_xdata()[0]
    assert lo < target < hi
    assert abs(target - beresheet.rx.info.target_lon_deg) < 1e-9
    fig.draw_without_rendering()
    box = ax.get_window_extent()
    assert box.height > 0.1 * box.width  # not a thin strip
    labels = [t.get_text() for t in ax.get_xticklabels() if lo <= t.get_position()[0] <= hi]
    assert labels and all(0.0 <= float(s.replace("\u2212", "-")) < 360.0 for s in labels)


def test_true_thrust_mean_is_zero_while_the_engine_was_off(beresheet: Context) -> None:
    trace = beresheet.truth.trace  # type: ignore[union-attr]
    burn = trace[(trace["thrust_n"] > 0.0) & (trace["t_s"] >= beresheet.descent[0])]["t_s"]
    ignition = float(burn.iloc[0])  # the braking burn's, after a coast on rows 10 s apart
    fig = engines(beresheet)
    x, y = (np.asarray(a, dtype=float) for a in line(fig, "thrust (N").get_data())
    off = x < ignition - 1.0
    assert np.count_nonzero(off) >= 2  # the sparse coast rows are drawn
    assert np.all(y[off] == 0.0), y[off]
    assert np.nanmax(y) == pytest.approx(float(trace["thrust_n"].max()))


def test_close_panels_without_a_range_finder_say_what_they_show(beresheet: Context) -> None:
    assert not beresheet.rx.event_times("lrf_acquired")
    fig = altitude(beresheet)
    for ax in fig.axes:
        assert "range finder's acquisition" not in ax.get_title(loc="left")
    assert "last 10 minutes" in fig.axes[1].get_title(loc="left")
    legend = fig.axes[0].get_legend()
    assert legend is not None
    texts = [t.get_text() for t in legend.get_texts()]
    assert "altitude estimate (flight software)" in texts
    assert not [t for t in texts if "range reading" in t], texts
    fig = modes(beresheet)
    assert "last 10 minutes" in fig.axes[1].get_title(loc="left")
