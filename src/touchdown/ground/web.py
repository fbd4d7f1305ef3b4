"""Mission control in the browser (shell): Open MCT and the touchdown plugin, served by the ground
server, and what the plugin asks for beyond telemetry: the flight and a terrain map.

- ``GET /`` — Open MCT with the touchdown plugin (``ground/mct/``), opening the Landing display.
- ``/openmct/`` — Open MCT's own files, from the npm package the project installs
  (``ground/mct/package.json``, pinned; ``TOUCHDOWN_OPENMCT`` points elsewhere). Nothing is
  fetched from the internet: the page works offline.
- ``GET /api/flight`` — the flight plan's facts (scenario, epoch, target), the archive's time span
  and whether the page should follow a live clock or show the archive (``mode``).
- ``GET /api/terrain/map`` and ``/api/terrain/map.png`` — a shaded relief map of the terrain
  around the target (the published LRO map, as operators have it) and its lat/lon box.
- ``GET /api/terrain/globe`` and ``/api/terrain/globe.png`` — the whole Moon's relief (LOLA,
  equirectangular, 0-360 E): the map the approach from orbit is drawn on, under the site's.
"""

from __future__ import annotations

import asyncio
import io
import math
import os
from pathlib import Path
from typing import Any

from aiohttp import web

from touchdown.errors import OpenMCTMissingError, TouchdownError
from touchdown.ground.http import CLOCK, INGEST, http_error, json_response
from touchdown.telemetry.flight_info import FlightInfo

MCT_DIR = Path(__file__).parent / "mct"  # index.html, the plugin, package.json (npm)
OPENMCT_ENV = "TOUCHDOWN_OPENMCT"
MAP_HALF_WIDTH_M = 80_000.0  # m: the map spans the target +-80 km (Atlas crater and its rim)
MAP_PIXELS = 640
GLOBE_PIXELS_PER_DEG = 2  # the globe's map: 720 x 360 cells of 0.5 deg (15 km at the equator)
GLOBE_RELIEF = 4.0  # its relief exaggeration: slopes over 15 km cells are gentle

FLIGHT = web.AppKey("flight", FlightInfo)
LIVE = web.AppKey("live", bool)
MAP = web.AppKey("map", dict)
MISSING = web.AppKey("openmct_missing", str)  # why Open MCT cannot be served ("": it can)


def openmct_dist() -> Path:
    """Open MCT's ``dist`` folder: ``$TOUCHDOWN_OPENMCT`` or the project's npm install."""
    path = Path(os.environ.get(OPENMCT_ENV) or MCT_DIR / "node_modules" / "openmct" / "dist")
    if not (path / "openmct.js").is_file():
        raise OpenMCTMissingError(
            f"Open MCT is not installed ({path / 'openmct.js'} is missing); run `make run` or "
            f"`npm ci --prefix {MCT_DIR}`, or set {OPENMCT_ENV} to an Open MCT dist folder")
    return path


def add_ui(app: web.Application, flight: FlightInfo, live: bool) -> None:
    """Add the browser UI and its API to a ground server application (see ``make_app``).
    Without Open MCT installed the API still works and ``/`` says how to install it."""
    app[FLIGHT], app[LIVE], app[MAP], app[MISSING] = flight, live, {}, ""
    app.add_routes([web.get("/api/flight", flight_handler),
                    web.get("/api/terrain/map", terrain_map),
                    web.get("/api/terrain/map.png", terrain_map_png),
                    web.get("/api/terrain/globe", terrain_globe),
                    web.get("/api/terrain/globe.png", terrain_globe_png),
                    web.get("/", index),
                    web.static("/plugin", MCT_DIR / "plugin")])
    try:
        app.add_routes([web.static("/openmct", openmct_dist())])
    except OpenMCTMissingError as exc:
        app[MISSING] = str(exc)


async def index(request: web.Request) -> web.StreamResponse:
    if request.app[MISSING]:
        return web.Response(status=503, text=f"touchdown ground: {request.app[MISSING]}\n")
    return web.FileResponse(MCT_DIR / "index.html")


async def flight_handler(request: web.Request) -> web.Response:
    ingest, flight = request.app[INGEST], request.app[FLIGHT]
    span = ingest.archive.time_span()
    status = ingest.link.status(request.app[CLOCK]())
    realtime = request.app[LIVE] and (span is None or status != "FAILED")
    return json_response({**flight.to_dict(), "live": request.app[LIVE],
                          "mode": "realtime" if realtime else "fixed",
                          "t_first": None if span is None else span[0],
                          "t_last": None if span is None else span[1]})


# ---------------------------------------------------------------- terrain map

def map_box(lat_deg: float, lon_deg: float,
            half_width_m: float = MAP_HALF_WIDTH_M) -> tuple[float, float, float, float]:
    """(south, north, west, east) deg of a square of +-half_width_m around a site."""
    from touchdown.moon.constants import R_REF

    dlat = math.degrees(half_width_m / R_REF)
    dlon = dlat / max(math.cos(math.radians(lat_deg)), 1e-3)
    return lat_deg - dlat, lat_deg + dlat, lon_deg - dlon, lon_deg + dlon


def render_map(lat_deg: float, lon_deg: float, pixels: int = MAP_PIXELS) -> dict[str, Any]:
    """A shaded relief PNG of the box around a site, with the box and the height range."""
    import numpy as np
    from matplotlib import pyplot as plt

    from touchdown.moon.constants import R_REF
    from touchdown.moon.dem_tiles import load_truth_terrain
    from touchdown.plots.terrain import hillshade

    south, north, west, east = map_box(lat_deg, lon_deg)
    lats = np.linspace(north, south, pixels)  # image rows run north to south
    lons = np.linspace(west, east, pixels)
    terrain = load_truth_terrain()  # the published GLD100/LOLA relief, the best map there is
    h = np.asarray(terrain.height(lats[:, None], lons[None, :]))
    dy = math.radians(lats[0] - lats[1]) * R_REF
    dx = math.radians(lons[1] - lons[0]) * R_REF * math.cos(math.radians(lat_deg))
    shade = hillshade(h[::-1], dx, dy)[::-1]  # hillshade wants rows south to north
    buf = io.BytesIO()
    plt.imsave(buf, shade, cmap="gray", vmin=0.0, vmax=1.0, format="png")
    return {"south_deg": south, "north_deg": north, "west_deg": west, "east_deg": east,
            "height_min_m": float(np.nanmin(h)), "height_max_m": float(np.nanmax(h)),
            "source": "LRO " + " + ".join(dict.fromkeys(
                t.name.split("_")[-2].upper() for t in terrain.tiles)),
            "png": buf.getvalue()}


def render_globe(per_deg: int = GLOBE_PIXELS_PER_DEG) -> dict[str, Any]:
    """A shaded relief PNG of the whole Moon, equirectangular: rows 90 N to 90 S, columns
    0 to 360 E (cell centres), shaded with each row's own east-west spacing."""
    import numpy as np
    from matplotlib import pyplot as plt

    from touchdown.moon.constants import R_REF
    from touchdown.moon.dem_tiles import load_truth_terrain
    from touchdown.plots.terrain import hillshade

    step = 1.0 / per_deg
    lats = np.arange(-90.0 + step / 2, 90.0, step)  # south to north, as hillshade wants
    lons = np.arange(step / 2, 360.0, step)
    h = np.asarray(load_truth_terrain().height(lats[:, None], lons[None, :]))
    dy = math.radians(step) * R_REF
    dx = np.maximum(np.cos(np.radians(lats)), 0.05)[:, None] * dy  # m per column, by row
    # relief exaggerated (cells are 15 km) and tinted by height: maria dark, highlands light
    low, high = np.percentile(h, [1, 99])
    tint = np.clip((h - low) / (high - low), 0.0, 1.0)
    shade = (0.6 * hillshade(GLOBE_RELIEF * h, dx, dy) + 0.4 * tint)[::-1]  # rows north first
    buf = io.BytesIO()
    plt.imsave(buf, shade, cmap="gray", vmin=0.0, vmax=1.0, format="png")
    return {"south_deg": -90.0, "north_deg": 90.0, "west_deg": 0.0, "east_deg": 360.0,
            "source": "LRO LOLA", "png": buf.getvalue()}


async def _cached(request: web.Request, key: str) -> dict[str, Any]:
    """The site's map (``map``) or the globe's (``globe``), drawn once (in a thread: ingest
    goes on meanwhile) and kept."""
    flight, cache = request.app[FLIGHT], request.app[MAP]
    if key == "map" and (flight.target_lat_deg is None or flight.target_lon_deg is None):
        raise http_error(web.HTTPNotFound, "this archive does not say where the target is; "
                         "start the server with --scenario NAME")
    if key not in cache:
        try:
            cache[key] = await (asyncio.to_thread(render_globe) if key == "globe" else
                                asyncio.to_thread(render_map, flight.target_lat_deg,
                                                  flight.target_lon_deg))
        except TouchdownError as exc:
            raise http_error(web.HTTPServiceUnavailable, str(exc)) from None
    return cache[key]


async def terrain_map(request: web.Request) -> web.Response:
    m = await _cached(request, "map")
    return json_response({**{k: v for k, v in m.items() if k != "png"},
                  "target": request.app[FLIGHT].to_dict()["target"],
                  "image": "/api/terrain/map.png"})


async def terrain_map_png(request: web.Request) -> web.Response:
    m = await _cached(request, "map")
    return web.Response(body=m["png"], content_type="image/png",
                        headers={"Cache-Control": "max-age=3600"})


async def terrain_globe(request: web.Request) -> web.Response:
    m = await _cached(request, "globe")
    return json_response({**{k: v for k, v in m.items() if k != "png"},
                          "image": "/api/terrain/globe.png"})


async def terrain_globe_png(request: web.Request) -> web.Response:
    m = await _cached(request, "globe")
    return web.Response(body=m["png"], content_type="image/png",
                        headers={"Cache-Control": "max-age=3600"})
