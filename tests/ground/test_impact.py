"""The impact point estimate (ground.impact): the fall from the last navigation state to the
map, its 95 % ellipse, and /api/estimate and the clock after loss of signal."""

import asyncio
import math

import pytest
from aiohttp.test_utils import TestClient, TestServer

from touchdown.ground.impact import (
    ELLIPSE_K,
    NavFix,
    direction_of_motion,
    fixes_from_archive,
    impact_estimate,
)
from touchdown.ground.server import clock_message, make_app
from touchdown.moon.constants import R_REF, SURFACE_GRAVITY
from touchdown.moon.frames import latlon_from_tangent_plane, tangent_plane_en

LAT, LON = 45.0, 44.5


class Plane:
    """A terrain map: height (m) = base + slope * metres east of (LAT, LON)."""

    def __init__(self, base: float = -1000.0, slope: float = 0.0) -> None:
        self.base, self.slope = base, slope

    def height(self, lat, lon):
        east, _ = tangent_plane_en(lat, lon, LAT, LON)
        return self.base + self.slope * float(east)


def track(vh: float, bearing_deg: float, height: float, vz: float = 0.0, sp: float = 30.0,
          sv: float = 0.3, n: int = 12) -> list[NavFix]:
    """Fixes a second apart moving at vh (m/s) along bearing_deg, the newest at (LAT, LON)."""
    b = math.radians(bearing_deg)
    out = []
    for k in range(n):
        back = vh * (n - 1 - k)
        lat, lon = latlon_from_tangent_plane(-back * math.sin(b), -back * math.cos(b), LAT, LON)
        out.append(NavFix(100.0 + k, float(lat), float(lon), height, vz, vh, sp, sv))
    return out


def test_a_fall_from_a_kilometre_lands_where_free_fall_says_with_the_filters_spread():
    fixes = track(vh=10.0, bearing_deg=90.0, height=0.0)  # 1 km over a flat map, going east
    e = impact_estimate(fixes, Plane(-1000.0))
    t = math.sqrt(2 * 1000.0 / SURFACE_GRAVITY)
    assert e.fall_s == pytest.approx(t, abs=1e-3)
    assert e.t_impact == pytest.approx(111.0 + t, abs=1e-3)
    assert e.bearing_deg == pytest.approx(90.0, abs=1e-6)
    east, north = tangent_plane_en(e.lat_deg, e.lon_deg, LAT, LON)
    assert float(east) == pytest.approx(10.0 * t, abs=0.05) and abs(float(north)) < 1e-6
    assert e.impact_vertical_speed_mps == pytest.approx(-SURFACE_GRAVITY * t, rel=1e-4)
    across = math.sqrt(30.0 ** 2 / 3 + (0.3 ** 2 / 3) * t ** 2)
    sigma_t = across / (SURFACE_GRAVITY * t)
    assert e.semi_minor_m == pytest.approx(ELLIPSE_K * across, rel=1e-4)
    assert e.semi_major_m == pytest.approx(ELLIPSE_K * math.hypot(across, 10.0 * sigma_t),
                                           rel=1e-4)
    assert e.major_bearing_deg == pytest.approx(90.0)
    ring = e.ellipse(5)  # 0, 90, 180, 270 deg round, and back to the start
    assert ring[0] == pytest.approx(ring[-1])
    tip_e, _ = tangent_plane_en(*ring[0], e.lat_deg, e.lon_deg)
    assert float(tip_e) == pytest.approx(e.semi_major_m, rel=1e-6)  # the major axis: east
    side_e, side_n = tangent_plane_en(*ring[1], e.lat_deg, e.lon_deg)
    assert math.hypot(float(side_e), float(side_n)) == pytest.approx(e.semi_minor_m, rel=1e-6)


def test_rising_ground_ahead_ends_the_fall_sooner():
    flat = impact_estimate(track(40.0, 90.0, 0.0), Plane(-1000.0))
    rising = impact_estimate(track(40.0, 90.0, 0.0), Plane(-1000.0, slope=0.5))
    assert rising.fall_s < flat.fall_s - 1.0 and rising.travel_m < flat.travel_m


def test_a_state_below_the_map_ends_there_at_once_and_says_so():
    e = impact_estimate(track(0.04, 0.0, -7000.0, vz=-112.0), Plane(-3100.0))
    assert e.fall_s == 0.0 and e.travel_m == 0.0
    assert (e.lat_deg, e.lon_deg) == (LAT, LON)
    assert e.height_above_map_m == pytest.approx(-3900.0)
    assert "3,900 m below the map" in e.notes[0]
    assert e.semi_major_m == pytest.approx(ELLIPSE_K * 30.0 / math.sqrt(3), rel=1e-6)


def test_speed_in_no_direction_the_track_shows_spreads_all_round():
    still = [NavFix(100.0 + k, LAT, LON, 0.0, 0.0, 5.0, 30.0, 0.3) for k in range(12)]
    assert direction_of_motion(still) is None
    e = impact_estimate(still, Plane(-1000.0))
    assert e.bearing_deg is None and (e.lat_deg, e.lon_deg) == (LAT, LON)
    assert e.semi_major_m == pytest.approx(e.semi_minor_m)
    assert e.semi_major_m > ELLIPSE_K * 5.0 * e.fall_s  # the travel, any way
    assert "no direction" in e.notes[0]
    assert direction_of_motion(track(5.0, 200.0, 0.0)) == pytest.approx(200.0, abs=1e-3)
    assert impact_estimate([NavFix(1.0, math.nan, LON, 0.0, 0.0, 0.0, 1.0, 1.0)],
                           Plane()) is None


def test_the_estimate_api_gives_the_impact_and_the_clock_holds_at_loss_of_signal(
        ingest, dictionary, encoder, packet):
    now = [100.0]
    for k in range(12):  # moving north at 50 m/s (the nominal nav packet), 5 km over the map
        lat = 45.0 + math.degrees(50.0 * k / R_REF)
        ingest.packet(packet(dictionary, encoder, "nav", 80.0 + k, lat_deg=lat,
                             height_m=4000.0), 85.0 + k)
    ingest.packet(packet(dictionary, encoder, "prop", 91.0), 96.0)
    fixes = fixes_from_archive(ingest.archive)
    assert [f.t for f in fixes] == [80.0 + k for k in range(12)]

    async def check():
        app = make_app(ingest, lambda: now[0], live=True, clock_rate=10.0)
        async with TestClient(TestServer(app)) as client:
            body = await (await client.get("/api/estimate")).json()
            i = body["impact"]
            assert body["impact_unavailable"] is None and i["bearing_deg"] == pytest.approx(
                0.0, abs=0.01)
            assert i["lat_deg"] > fixes[-1].lat_deg and i["t_state"] == 91.0
            assert i["fall_s"] > 10.0 and len(i["ellipse"]) == 73
            assert i["confidence"] == 0.95 and "inherits every error" in i["basis"]
            # the clock runs with the signal, holds at the newest onboard time after LOS
            assert clock_message(ingest, 97.0, 10.0)["t_onboard_now"] == pytest.approx(92.0)
            held = clock_message(ingest, 97.0 + 60.0, 10.0)
            assert (held["rate"], held["held"], held["t_onboard_now"]) == (0.0, "LOS", 91.0)
            assert (await (await client.get("/api/estimate")).json())["signal"] == "lost"

    asyncio.run(check())


def test_the_estimate_api_says_why_there_is_no_impact_point(ingest):
    async def check():
        async with TestClient(TestServer(make_app(ingest, lambda: 10.0))) as client:
            body = await (await client.get("/api/estimate")).json()
            assert body["impact"] is None
            assert body["impact_unavailable"] == "no navigation state received yet"

    asyncio.run(check())
