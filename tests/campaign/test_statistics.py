"""Campaign statistics against known answers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from touchdown.campaign.statistics import ellipse, summarize, wilson_interval


@pytest.mark.parametrize(("k", "n", "low", "high"), [
    # Newcombe (1998), Statistics in Medicine 17:857, Table I, method 3 (Wilson, no correction)
    (81, 263, 0.2553, 0.3662),
    (15, 148, 0.0624, 0.1605),
    (0, 20, 0.0000, 0.1611),
    (1, 29, 0.0061, 0.1718),
])
def test_wilson_interval_matches_newcombe(k: int, n: int, low: float, high: float) -> None:
    lo, hi = wilson_interval(k, n)
    assert lo == pytest.approx(low, abs=6e-5)
    assert hi == pytest.approx(high, abs=6e-5)


def test_wilson_interval_is_symmetric_and_shrinks_with_n() -> None:
    lo, hi = wilson_interval(7, 10)
    lo2, hi2 = wilson_interval(3, 10)
    assert (lo, hi) == pytest.approx((1 - hi2, 1 - lo2))
    assert wilson_interval(700, 1000)[1] - wilson_interval(700, 1000)[0] < hi - lo
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_ellipse_of_a_rotated_normal_cloud() -> None:
    rng = np.random.default_rng(1)
    a, b, az = 300.0, 100.0, math.radians(30.0)  # 1-sigma semi-axes, major axis 30 deg E of N
    u = rng.standard_normal((200_000, 2)) * (a, b)  # (along major, along minor)
    major = np.array([math.sin(az), math.cos(az)])  # (east, north)
    minor = np.array([math.cos(az), -math.sin(az)])
    pts = u[:, :1] * major + u[:, 1:] * minor + (50.0, -20.0)
    e = ellipse(pts[:, 0], pts[:, 1])
    assert e is not None
    assert e["semi_major_m"] == pytest.approx(3 * a, rel=0.01)
    assert e["semi_minor_m"] == pytest.approx(3 * b, rel=0.01)
    assert e["orientation_deg_from_north"] == pytest.approx(30.0, abs=0.5)
    assert (e["centre_east_m"], e["centre_north_m"]) == pytest.approx((50.0, -20.0), abs=3.0)
    assert e["inside"] == pytest.approx(1 - math.exp(-4.5), abs=0.002)  # 2-D normal, k = 3
    assert ellipse(np.zeros(2), np.zeros(2)) is None


def test_summary_counts_rates_and_failure_modes() -> None:
    outcomes = ["landed"] * 7 + ["crashed"] * 2 + ["timeout"]
    modes = [""] * 7 + ["tilt", "propellant_exhausted", "timeout"]
    df = pd.DataFrame({
        "outcome": outcomes, "failure_mode": modes,
        "propellant_remaining_kg": np.arange(10.0),
        "contact_lat_deg": 47.5 + np.linspace(-0.01, 0.01, 10),
        "contact_lon_deg": 44.4 + np.linspace(0.01, -0.01, 10) ** 2,
        "vertical_speed_mps": np.full(10, 1.0), "horizontal_speed_mps": np.full(10, 0.2),
    })
    s = summarize(df, (47.5, 44.4))
    assert (s["runs"], s["landed"], s["crashed"], s["timeout"]) == (10, 7, 2, 1)
    assert s["success_rate"] == 0.7
    assert s["success_rate_ci95"] == pytest.approx(wilson_interval(7, 10))
    assert s["failure_modes"] == {"tilt": 1, "propellant_exhausted": 1, "timeout": 1}
    assert s["propellant_remaining_kg"]["p50"] == pytest.approx(4.5)
    assert s["landing_ellipse_3sigma_m"]["points"] == 7


def test_computer_events_count_the_samples_that_met_them_and_crashed():
    """Program alarms, restarts and restarts that stopped the engine (relight attempts): the
    samples that met each and how many crashed; kinds no sample met, and tables from before
    the columns, give nothing."""
    from touchdown.campaign.statistics import computer_events

    samples = pd.DataFrame({"outcome": ["crashed", "landed", "landed", "crashed"],
                            "program_alarms": [0, 5, 3, 0], "computer_restarts": [1, 5, 3, 0],
                            "relight_attempts": [6, 0, 0, 0]})
    assert computer_events(samples) == {
        "program alarm": {"samples": 2, "crashed": 0},
        "computer restart": {"samples": 3, "crashed": 1},
        "engine stopped by a restart": {"samples": 1, "crashed": 1}}
    assert computer_events(samples.assign(program_alarms=0, computer_restarts=0,
                                          relight_attempts=0)) == {}
    assert computer_events(samples[["outcome"]]) == {}
