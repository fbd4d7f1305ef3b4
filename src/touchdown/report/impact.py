"""The impact point in the report (shell): the ground's estimate from the last navigation state
(``ground.impact``), and, for a simulated flight, how it compares with where the simulated
lander struck. The comparison is simulation truth, kept apart and marked as such: no finding
uses it."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import numpy as np

from touchdown.ground.impact import ImpactEstimate, fixes_from_frame, impact_estimate
from touchdown.moon.dem_tiles import Terrain
from touchdown.moon.frames import tangent_plane_en
from touchdown.report.received import Received
from touchdown.report.values import when
from touchdown.telemetry.run_folder import Truth


def estimate(rx: Received, terrain: Terrain) -> ImpactEstimate | None:
    """The impact point the last received nav packets give (None: none received)."""
    return impact_estimate(fixes_from_frame(rx["nav"]), terrain)


@dataclass(frozen=True)
class AgainstTruth:
    """The estimate against the simulation: where and when the lander struck (deg, s), the
    miss (m) and whether the 95 % ellipse held it; the navigation's errors at the state the
    estimate starts from (m; height: estimate minus truth) and the time error (s: estimated
    impact minus the true contact)."""

    lat_deg: float
    lon_deg: float
    t_contact: float
    miss_m: float
    inside_ellipse: bool
    horizontal_error_m: float
    height_error_m: float
    time_error_s: float
    note: str = "simulation truth: from the simulator, not used by any finding"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def against_truth(est: ImpactEstimate, truth: Truth) -> AgainstTruth | None:
    """How the estimate compares with the simulated contact (None: the run has none)."""
    contact = truth.flight.get("touchdown")
    if not contact or contact.get("lat_deg") is None:
        return None
    lat, lon = float(contact["lat_deg"]), float(contact["lon_deg"])
    east, north = (float(v) for v in tangent_plane_en(lat, lon, est.lat_deg, est.lon_deg))
    b = math.radians(est.major_bearing_deg)
    along = east * math.sin(b) + north * math.cos(b)
    across = east * math.cos(b) - north * math.sin(b)
    inside = (along / est.semi_major_m) ** 2 + (across / est.semi_minor_m) ** 2 <= 1.0
    tr = truth.trace
    k = int(np.clip(np.searchsorted(tr["t_s"].to_numpy(), est.t_state), 0, len(tr) - 1))
    row = tr.iloc[k]
    e, n = (float(v) for v in tangent_plane_en(est.last_lat_deg, est.last_lon_deg,
                                              float(row["lat_deg"]), float(row["lon_deg"])))
    true_height = float(row["terrain_m"] + row["altitude_m"])
    nav_height = float(row["height_est_m"])
    return AgainstTruth(lat, lon, float(contact["time_s"]), math.hypot(east, north), inside,
                        math.hypot(e, n), nav_height - true_height,
                        est.t_impact - float(contact["time_s"]))


def explanation(est: ImpactEstimate, cmp: AgainstTruth, epoch: datetime | None) -> list[str]:
    """Why the estimate is where it is against the truth, in sentences with the numbers."""
    held = "inside" if cmp.inside_ellipse else "outside"
    low = "low" if cmp.height_error_m < 0 else "high"
    early = "early" if cmp.time_error_s < 0 else "late"
    per_axis = est.position_sigma_m / math.sqrt(3.0)
    return [
        f"Simulation truth (not telemetry): the simulated lander struck at "
        f"{latlon(cmp.lat_deg, cmp.lon_deg)} at {when(cmp.t_contact, epoch)}, "
        f"{cmp.miss_m / 1e3:.1f} km from the estimate, {held} its 95 % ellipse "
        f"({est.semi_major_m / 1e3:.1f} km).",
        f"At {when(est.t_state, epoch)}, the state the estimate starts from, the navigation "
        f"was {cmp.horizontal_error_m / 1e3:.1f} km off horizontally and its height "
        f"{abs(cmp.height_error_m) / 1e3:.1f} km {low}. The estimate carries the navigation's "
        "error unchanged: a fall from a wrong position ends at a wrong position"
        + (", and the state came after the contact: the lander sent it from the ground."
           if est.t_state >= cmp.t_contact else
           f", and the height error puts the impact {abs(cmp.time_error_s):.1f} s {early}."),
        f"The ellipse is the filter's belief about its own error (σ {est.position_sigma_m:,.0f} "
        "m, 3-D), not the error: the horizontal error fell " + held + " it, and the height "
        f"error is {abs(cmp.height_error_m) / per_axis:.1f} of the filter's σ per axis "
        f"({per_axis:,.0f} m). A filter whose measurements no longer correct it "
        "drifts without knowing it, so an estimate from a lander whose navigation was wrong is "
        "wrong by as much; only independent data (orbital images, Earth-based tracking) can say by "
        "how much.",
    ]


def latlon(lat: float, lon: float) -> str:
    """47.500° N, 44.400° E: to 0.001° (30 m) as the report rounds positions (longitudes
    east 0-360 in, west of 0 as W)."""
    east = (lon + 180.0) % 360.0 - 180.0
    return (f"{abs(lat):.3f}° {'S' if lat < 0 else 'N'}, "
            f"{abs(east):.3f}° {'W' if east < 0 else 'E'}")
