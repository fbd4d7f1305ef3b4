"""The ground track the lander reported, and the terrain under it (shell).

The flight software's own position (the ``nav`` packet) put on the best published map of the
Moon (GLD100 and LOLA, ``load_truth_terrain``): the map an investigator would lay the reported
track on. The map is public data, not simulation state.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from touchdown.moon.constants import R_REF
from touchdown.moon.dem_tiles import Terrain
from touchdown.report.received import Received


def great_circle_km(lat1: np.ndarray, lon1: np.ndarray, lat2: float, lon2: float) -> np.ndarray:
    """Distance (km on the 1737.4 km sphere) from each (lat1, lon1) to (lat2, lon2), degrees."""
    p1, p2 = np.radians(lat1), math.radians(lat2)
    dlon = np.radians(np.asarray(lon1) - lon2)
    c = np.sin(p1) * math.sin(p2) + np.cos(p1) * math.cos(p2) * np.cos(dlon)
    return R_REF / 1e3 * np.arccos(np.clip(c, -1.0, 1.0))


def signed_range_km(lat: np.ndarray, lon: np.ndarray, target: tuple[float, float]) -> np.ndarray:
    """Distance to the target (km), negative before the track's closest approach to it."""
    d = great_circle_km(lat, lon, *target)
    if d.size == 0:
        return d
    sign = np.where(np.arange(d.size) <= int(np.nanargmin(d)), -1.0, 1.0)
    return sign * d


def reported_track(rx: Received, terrain: Terrain) -> pd.DataFrame:
    """The nav packet with the map's terrain height under each reported position
    (``terrain_m``), its height above that map (``map_altitude_m``) and, when the target is
    known, the signed distance to it (``site_km``)."""
    nav = rx["nav"]
    nav = nav[np.isfinite(nav["lat_deg"]) & np.isfinite(nav["lon_deg"])].copy()
    lat, lon = nav["lat_deg"].to_numpy(), nav["lon_deg"].to_numpy()
    nav["terrain_m"] = np.asarray(terrain.height(lat, lon)) if len(nav) else []
    nav["map_altitude_m"] = nav["height_m"] - nav["terrain_m"]
    info = rx.info
    if info.target_lat_deg is not None and info.target_lon_deg is not None:
        nav["site_km"] = signed_range_km(lat, lon, (info.target_lat_deg, info.target_lon_deg))
    return nav.reset_index(drop=True)
