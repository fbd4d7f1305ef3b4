"""Campaign statistics: success rate with its Wilson interval, landing ellipse, failure modes."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from touchdown.moon.frames import tangent_plane_en

Z95 = 1.959963984540054  # two-sided 95 % normal quantile
PERCENTILES = (1, 5, 50, 95, 99)


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (Wilson 1927); (0, 1) when n is 0."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1.0 - p) / n + z * z / (4 * n * n))
    lo = 0.0 if successes == 0 else max(0.0, centre - half)  # exact ends, free of rounding
    hi = 1.0 if successes == n else min(1.0, centre + half)
    return lo, hi


def ellipse(east_m: np.ndarray, north_m: np.ndarray, k: float = 3.0) -> dict[str, Any] | None:
    """The k-sigma dispersion ellipse of points (m): centre, semi-axes, orientation.

    Semi-axes are k times the square roots of the sample covariance's eigenvalues; the major
    axis's orientation is an azimuth (degrees from north toward east, 0-180). ``inside`` is the
    fraction of the points the ellipse contains (98.9 % for a 2-D normal at k = 3). None with
    fewer than three points.
    """
    east_m, north_m = np.asarray(east_m, float), np.asarray(north_m, float)
    if east_m.size < 3:
        return None
    pts = np.column_stack([east_m, north_m])
    centre = pts.mean(axis=0)
    cov = np.cov(pts, rowvar=False)
    vals, vecs = np.linalg.eigh(cov)  # ascending
    major = vecs[:, 1]
    azimuth = math.degrees(math.atan2(major[0], major[1])) % 180.0
    d = pts - centre
    with np.errstate(divide="ignore", invalid="ignore"):
        m2 = np.einsum("ij,jk,ik->i", d, np.linalg.pinv(cov), d)
    return {
        "centre_east_m": float(centre[0]),
        "centre_north_m": float(centre[1]),
        "semi_major_m": float(k * math.sqrt(max(vals[1], 0.0))),
        "semi_minor_m": float(k * math.sqrt(max(vals[0], 0.0))),
        "orientation_deg_from_north": float(azimuth),
        "sigma": k,
        "points": int(east_m.size),
        "inside": float(np.mean(m2 <= k * k)),
    }


def contact_en(samples: pd.DataFrame, target: tuple[float, float]) -> tuple[np.ndarray,
                                                                             np.ndarray]:
    """Contact points, east and north (m) of the nominal target (lat, lon deg)."""
    return tangent_plane_en(samples["contact_lat_deg"], samples["contact_lon_deg"], *target)


def summarize(samples: pd.DataFrame, target: tuple[float, float]) -> dict[str, Any]:
    """summary.json's statistics of a samples table (simulation truth).

    Ellipses are of contact points about the nominal target (lat, lon deg), so the landing
    ellipse includes any dispersion of the target itself.
    """
    n = len(samples)
    counts = samples["outcome"].value_counts()
    landed = int(counts.get("landed", 0))
    lo, hi = wilson_interval(landed, n)
    ok = samples[samples["outcome"] == "landed"]
    bad = samples[samples["outcome"] == "crashed"]
    prop = samples["propellant_remaining_kg"].to_numpy()
    prop_landed = ok["propellant_remaining_kg"].to_numpy()
    modes = samples.loc[samples["outcome"] != "landed", "failure_mode"].value_counts()
    return {
        "runs": n,
        "landed": landed,
        "crashed": int(counts.get("crashed", 0)),
        "timeout": int(counts.get("timeout", 0)),
        "success_rate": landed / n if n else None,
        "success_rate_ci95": [lo, hi],
        "propellant_remaining_kg": _percentiles(prop),
        "propellant_remaining_landed_kg": _percentiles(prop_landed),
        "landing_ellipse_3sigma_m": ellipse(*contact_en(ok, target)),
        "impact_ellipse_3sigma_m": ellipse(*contact_en(bad, target)),
        "touchdown_vertical_speed_mps": _percentiles(ok["vertical_speed_mps"].to_numpy()),
        "touchdown_horizontal_speed_mps": _percentiles(ok["horizontal_speed_mps"].to_numpy()),
        "failure_modes": {str(k): int(v) for k, v in modes.items()},
        "computer_events": computer_events(samples),
    }


# what the flight computer met, counted over the samples (columns of ``campaign.table``)
COMPUTER_EVENTS = (("program_alarms", "program alarm"),
                   ("computer_restarts", "computer restart"),
                   ("relight_attempts", "engine stopped by a restart"))


def computer_events(samples: pd.DataFrame) -> dict[str, dict[str, int]]:
    """For each kind of event the flight computer met, the samples that met it and how many of
    them crashed (kinds no sample met are left out; tables from before the columns: none)."""
    out = {}
    for column, label in COMPUTER_EVENTS:
        if column in samples:
            met = samples[samples[column] > 0]
            if len(met):
                out[label] = {"samples": len(met),
                              "crashed": int((met["outcome"] == "crashed").sum())}
    return out


def _percentiles(x: np.ndarray) -> dict[str, float] | None:
    x = x[np.isfinite(x)]
    if x.size == 0:
        return None
    values = np.percentile(x, PERCENTILES)
    return {f"p{p}": float(v) for p, v in zip(PERCENTILES, values, strict=True)}
