"""Where the lander came down: the impact point its last navigation state predicts (shell).

After loss of signal the ground's best guess of where to look (for an orbiter to image, as LRO
imaged HAKUTO-R Mission 1's site the next day) is the last received ``nav`` packet carried
forward: from its position, height and speeds, a fall with no thrust under lunar gravity until
the path meets the published terrain map (GLD100/LOLA, ``load_truth_terrain``: public data, not
simulation state). The direction of the horizontal motion is the bearing of the reported track
over its last ``BEARING_BASE_S`` (the packet gives speeds, not a heading).

The uncertainty is the navigation filter's own, carried through the fall: the packet gives the
square roots of the traces of the position and velocity covariances, taken as isotropic
(ASSUMPTION: each axis gets a third of the variance; the packet has no cross terms). Across the
track the spread is σp² + (σv t)²; along it the fall time's spread (from the height's and the
vertical speed's) adds (v_h σt)². The ellipse holds 95 % of a normal distribution in two
dimensions (radius factor √(χ²₂(0.95)) = 2.45).

Everything rests on the lander's own estimates (``status.CAVEAT``): a lander whose navigation
was wrong by kilometres gives an impact point wrong by as much, and the filter's covariance
does not know it was wrong.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import numpy as np

from touchdown.moon.constants import SURFACE_GRAVITY
from touchdown.moon.frames import latlon_from_tangent_plane, tangent_plane_en

CONFIDENCE = 0.95
ELLIPSE_K = math.sqrt(-2.0 * math.log(1.0 - CONFIDENCE))  # 2.448: 95 % of a 2-D normal
BEARING_BASE_S = 10.0  # s of reported track the direction of motion is taken over
FALL_STEP_S = 0.25  # s: the fall is walked over the map at this step, the crossing interpolated
FALL_MAX_S = 3600.0  # s: longer than any fall from a lunar orbit's height to the ground
NAV_FIELDS = ("lat_deg", "lon_deg", "height_m", "vertical_speed_mps", "horizontal_speed_mps",
              "position_sigma_m", "velocity_sigma_mps")

BASIS = ("From the last navigation state received: its position, height and speeds carried "
         "forward in a fall with no thrust under lunar gravity to the published terrain map "
         "(LRO GLD100/LOLA), the direction of motion from the reported track, and the filter's "
         "own position and velocity uncertainty carried through the fall. It inherits every "
         "error of the lander's navigation: if the navigation was wrong, so is this.")


class Heights(Protocol):
    def height(self, lat_deg: Any, lon_deg: Any) -> Any: ...


@dataclass(frozen=True)
class NavFix:
    """One received ``nav`` packet: onboard time (s) and its fields (``NAV_FIELDS``)."""

    t: float
    lat_deg: float
    lon_deg: float
    height_m: float
    vertical_speed_mps: float
    horizontal_speed_mps: float
    position_sigma_m: float
    velocity_sigma_mps: float

    @property
    def usable(self) -> bool:
        return all(math.isfinite(getattr(self, n)) for n in NAV_FIELDS[:5])


@dataclass(frozen=True)
class ImpactEstimate:
    """The predicted impact: where (deg), when (onboard s), and the 95 % ellipse (m; the major
    axis's bearing, deg clockwise from north). ``t_state`` is the nav packet it starts from."""

    t_state: float
    lat_deg: float
    lon_deg: float
    t_impact: float
    fall_s: float
    bearing_deg: float | None  # direction of motion (None: too slow to tell, spread all round)
    travel_m: float  # horizontal distance from the last reported position to the impact
    height_above_map_m: float  # the state's height above the map under it (< 0: below it)
    impact_vertical_speed_mps: float
    semi_major_m: float
    semi_minor_m: float
    major_bearing_deg: float
    last_lat_deg: float
    last_lon_deg: float
    position_sigma_m: float  # the fix's √trace of its position covariance (m)
    confidence: float = CONFIDENCE
    notes: list[str] = field(default_factory=list)
    basis: str = BASIS

    def ellipse(self, n: int = 73) -> list[tuple[float, float]]:
        """The 95 % ellipse as n (lat, lon) deg points, closed (the first repeats)."""
        a = np.linspace(0.0, 2.0 * math.pi, n)
        b = math.radians(self.major_bearing_deg)
        along, across = self.semi_major_m * np.cos(a), self.semi_minor_m * np.sin(a)
        east = along * math.sin(b) + across * math.cos(b)
        north = along * math.cos(b) - across * math.sin(b)
        lat, lon = latlon_from_tangent_plane(east, north, self.lat_deg, self.lon_deg)
        return list(zip(lat.tolist(), lon.tolist(), strict=True))

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ellipse": [[round(la, 6), round(lo, 6)]
                                            for la, lo in self.ellipse()]}


def direction_of_motion(fixes: list[NavFix]) -> float | None:
    """Bearing (deg from north) of the reported track over its last ``BEARING_BASE_S``; None
    when it moved less than its last position's uncertainty could tell apart from standing."""
    last = fixes[-1]
    older = [f for f in fixes[:-1] if f.usable and last.t - f.t >= BEARING_BASE_S]
    if not older:
        return None
    first = older[-1]
    east, north = tangent_plane_en(last.lat_deg, last.lon_deg, first.lat_deg, first.lon_deg)
    moved = math.hypot(float(east), float(north))
    expected = last.horizontal_speed_mps * (last.t - first.t)
    if moved < 1.0 or moved < 0.5 * expected:  # no real motion, or a jump (a fix), not a track
        return None
    return math.degrees(math.atan2(float(east), float(north))) % 360.0


def impact_estimate(fixes: list[NavFix], terrain: Heights,
                    g: float = SURFACE_GRAVITY) -> ImpactEstimate | None:
    """The impact point of the newest usable fix in ``fixes`` (oldest first; the ones before it
    give the direction of motion), on ``terrain``; None without a usable fix."""
    fixes = [f for f in fixes if f.usable]
    if not fixes:
        return None
    s = fixes[-1]
    bearing = direction_of_motion(fixes)
    vh = max(s.horizontal_speed_mps, 0.0)
    ue, un = ((math.sin(math.radians(bearing)), math.cos(math.radians(bearing)))
              if bearing is not None else (0.0, 0.0))
    above = s.height_m - float(terrain.height(s.lat_deg, s.lon_deg))
    notes: list[str] = []
    fall, vz = 0.0, s.vertical_speed_mps
    if above <= 0.0:
        notes.append(f"the last height estimate is {-above:,.0f} m below the map's surface at "
                     "the reported position: the fall is taken to end there at once")
    else:
        fall = _fall_time(s, above, (ue, un), terrain, g)
        vz = s.vertical_speed_mps - g * fall
    travel = vh * fall if bearing is not None else 0.0
    lat, lon = latlon_from_tangent_plane(ue * travel, un * travel, s.lat_deg, s.lon_deg)
    sp2 = (s.position_sigma_m ** 2 if math.isfinite(s.position_sigma_m) else 0.0) / 3.0
    sv2 = (s.velocity_sigma_mps ** 2 if math.isfinite(s.velocity_sigma_mps) else 0.0) / 3.0
    across2 = sp2 + sv2 * fall ** 2
    sigma_t = math.sqrt(sp2 + sv2 * fall ** 2) / max(abs(vz), 1.0)  # s: fall time's spread
    along2 = across2 + (vh * sigma_t) ** 2
    if bearing is None and vh * fall >= 1.0:  # it may have gone any way, as far as vh took it
        along2 = across2 = along2 + (vh * fall) ** 2
        notes.append(f"horizontal speed {vh:.1f} m/s in no direction the track shows: the "
                     "ellipse spreads the travel all round")
    if not math.isfinite(s.position_sigma_m):
        notes.append("no position uncertainty received: the ellipse holds the fall's spread only")
    return ImpactEstimate(
        s.t, float(lat), float(lon), s.t + fall, fall, bearing, travel, above, vz,
        ELLIPSE_K * math.sqrt(along2), ELLIPSE_K * math.sqrt(across2),
        bearing if bearing is not None else 0.0, s.lat_deg, s.lon_deg, s.position_sigma_m,
        notes=notes)


def _fall_time(s: NavFix, above: float, unit: tuple[float, float], terrain: Heights,
               g: float) -> float:
    """Seconds until the fall from fix ``s`` (``above`` m over the map) meets the map."""
    vh = max(s.horizontal_speed_mps, 0.0)
    t_prev, gap_prev = 0.0, above
    t = 0.0
    while t < FALL_MAX_S:
        t = min(t + FALL_STEP_S, FALL_MAX_S)
        d = vh * t
        lat, lon = latlon_from_tangent_plane(unit[0] * d, unit[1] * d, s.lat_deg, s.lon_deg)
        z = s.height_m + s.vertical_speed_mps * t - 0.5 * g * t * t
        gap = z - float(terrain.height(float(lat), float(lon)))
        if gap <= 0.0:
            return t_prev + (t - t_prev) * gap_prev / (gap_prev - gap)
        t_prev, gap_prev = t, gap
    return FALL_MAX_S


# ---------------------------------------------------------------- reading the fixes

def fixes_from_archive(archive: Any, span_s: float = 2.0 * BEARING_BASE_S) -> list[NavFix]:
    """The nav packets of the last ``span_s`` (s, onboard) an archive holds, oldest first."""
    latest = archive.latest().get("nav.lat_deg")
    if latest is None:
        return []
    start = latest[0] - span_s
    columns = {n: dict(archive.history(f"nav.{n}", start)) for n in NAV_FIELDS}
    times = sorted(columns["lat_deg"])
    return [NavFix(t, *(columns[n].get(t, math.nan) for n in NAV_FIELDS)) for t in times]


def fixes_from_frame(nav: Any, span_s: float = 2.0 * BEARING_BASE_S) -> list[NavFix]:
    """The same from a table of nav packets (a DataFrame with ``t`` and ``NAV_FIELDS``)."""
    if len(nav) == 0:
        return []
    recent = nav[nav["t"] >= float(nav["t"].iloc[-1]) - span_s]
    return [NavFix(float(r.t), *(float(getattr(r, n)) for n in NAV_FIELDS))
            for r in recent.itertuples()]
