"""The lander's camera (world side: it sees the truth): the terrain rendered at the lander's true
pose, lit by the Sun.

Model
-----
- **Pinhole**: ``width_px`` x ``height_px`` square pixels, horizontal field of view ``fov_deg``,
  so the focal length is ``f = width_px / 2 / tan(fov / 2)`` pixels; pixel (u, v), u to the
  right and v down, looks along ``boresight + (u + 1/2 - W/2) / f right + (v + 1/2 - H/2) / f
  down``. Mounted in the body frame by its boresight and the body direction that is up in the
  image (``up_body``, made orthogonal to the boresight).
- **Light**: the Sun, a point at infinity in the direction DE421 gives at the image's instant
  (``moon.ephemeris.Ephemeris.sun_mcmf_unit``). A surface point is lit when no terrain lies
  between it and the Sun (a cast shadow otherwise) and its normal faces the Sun; its radiance
  is Lambertian, ``albedo max(0, n . s)`` (the incidence angle's cosine). The sky is black (no
  atmosphere, no stars at a landing's exposures), Earthshine and light scattered by the terrain
  are neglected, and so is the Sun's 0.5 deg disc (shadow edges are sharp).
- **Sensor**: ``DN = 255 albedo cos(i) exposure_s / saturation_exposure_s + read noise``,
  rounded and clipped to 0..255 (8 bits).

Rendering (kernels in ``touchdown.world.render``)
-------------------------------------------------
Each pixel's ray is cast on the layered terrain (``moon.terrain.ray_cast``, the range finder's
ray cast). To be fast the image is cast in blocks of ``block`` x ``block`` pixels: the corners
and the centre of each block are cast; where all five hit and the centre's hit lies within
``render.SMOOTH_TOL`` pixel footprints of the point the corners interpolate to, the block's
points are interpolated from its corners (the surface inside is smooth as seen from here);
every other block (an occluding ridge, the horizon) is cast pixel by pixel (``block = 1``
casts every pixel). Each pixel's normal comes from central differences of the terrain's height
half a texel to either side: the bilinear surface's own normal jumps at every cell edge, which
a low Sun turns into stripes a texel wide.

Shadows. Sunlight reaches the Moon in parallel rays, so the shadow ray from a point stays in the
plane through the Moon's centre, the point and the Sun's direction: a great circle through the
sub-solar point. In coordinates about the Sun's axis (theta from the sub-solar point, phi around
it) the ray from a point at distance x = |p| sin(theta) from that axis keeps that distance while
it climbs towards the Sun; terrain blocks it exactly when some surface point of its great
circle nearer the sub-solar point lies as far from the axis or farther. So the terrain the image
sees is sampled once on a grid of such great circles (rows) at the finer of the terrain's and
the pixels' spacing, from the footprint out towards the Sun until no terrain of the region
(``moon.terrain.terrain_max_in_box``) can rise into the rays, and each row keeps the running
maximum of x: a point is lit when its x reaches the running maximum of its row one spacing
sunward of it (the local slope's own light is the incidence angle's business), interpolated
between rows and samples so that shadow edges are smooth. One pass over the grid serves every
pixel, where a shadow ray per point costs about as much as a whole row. A view reaching far (to
the horizon) would need more than ``render.GRID_MAX`` samples: the spacing then grows until the
grid fits, and shadows near the camera are resolved only to it. A point the grid does not
cover gets a shadow ray of its own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from touchdown.core.layout import (
    N_RENDER_LIGHT,
    N_RENDER_NODE,
    N_SCRATCH_RENDER,
    NODE_P,
    NODE_S,
    SG_DPHI,
    SG_DTHETA,
    SG_E1,
    SG_E2,
    SG_NORMAL_M,
    SG_PHI0,
    SG_SUN,
    SG_THETA0,
    SG_VIEW_BOX,
    SG_VIEW_TOP,
    TM_COLS,
    TM_HEIGHT_MAX,
    TM_LAT0,
    TM_LON0,
    TM_PIXEL,
    TM_ROWS,
    TM_WRAPS,
)
from touchdown.moon.constants import R_REF
from touchdown.moon.terrain import terrain_max_in_box
from touchdown.world.render import BLOCK, GRID_MAX, build_shadow_grid, cast_nodes, shade_image

VIEW_MARGIN_M = 5e3  # m the view's box reaches past the camera's nadir and the farthest hits


@dataclass(frozen=True)
class Camera:
    """A pinhole camera mounted on the lander (the scenario's ``[camera]``)."""

    width_px: int = 512
    height_px: int = 512
    fov_deg: float = 60.0  # horizontal
    boresight_body: tuple[float, float, float] = (0.0, 0.0, -1.0)
    up_body: tuple[float, float, float] = (1.0, 0.0, 0.0)
    exposure_s: float = 0.002
    saturation_exposure_s: float = 0.004  # a surface facing the Sun, albedo 1, saturates here
    albedo: float = 0.12
    read_noise_dn: float = 1.0
    max_range_m: float = 400e3

    @property
    def focal_px(self) -> float:
        """Focal length in pixels."""
        return 0.5 * self.width_px / math.tan(math.radians(0.5 * self.fov_deg))

    def axes_body(self) -> np.ndarray:
        """Rows: the image's right, down and the boresight, in body axes (unit, orthogonal)."""
        fwd = np.asarray(self.boresight_body, dtype=np.float64)
        fwd = fwd / np.linalg.norm(fwd)
        up = np.asarray(self.up_body, dtype=np.float64)
        up = up - (up @ fwd) * fwd
        if np.linalg.norm(up) < 1e-9:
            raise ValueError("camera up_body is along the boresight: give a direction across it")
        up /= np.linalg.norm(up)
        down = -up
        right = np.cross(down, fwd)
        return np.stack([right, down, fwd])


def _finest_pixel_m(meta: np.ndarray, lat: float, lon: float) -> float:
    """The ground size (m) of the finest layer's pixel at (lat, lon) (rad)."""
    best = math.inf
    for row in meta:
        pix = row[TM_PIXEL]
        lat_last = row[TM_LAT0] - (row[TM_ROWS] - 1) * pix
        dlon = (lon - row[TM_LON0]) % (2 * math.pi)
        if row[TM_WRAPS] or (lat_last <= lat <= row[TM_LAT0]
                             and dlon <= (row[TM_COLS] - 1) * pix):
            best = min(best, pix * R_REF)
    return best


def shadow_frame(terrain: Any, hits: np.ndarray, sun: np.ndarray, pixel_m: float,
                 ) -> tuple[np.ndarray, np.ndarray]:
    """The shadow grid's frame and an empty grid for the surface points ``hits`` (n, 3) (m,
    Moon-fixed) seen with pixels of at least ``pixel_m`` (m); a frame with no grid (steps 0)
    when there is nothing to light."""
    frame = np.zeros(N_RENDER_LIGHT)
    frame[SG_SUN:SG_SUN + 3] = sun
    none = np.empty((0, 0))
    if not len(hits):
        return frame, none
    centre = hits.mean(axis=0)
    lat_c = math.asin(centre[2] / np.linalg.norm(centre))
    texel = _finest_pixel_m(terrain.meta, lat_c, math.atan2(centre[1], centre[0]))
    frame[SG_NORMAL_M] = 0.5 * texel
    e1 = centre - (centre @ sun) * sun
    if np.linalg.norm(e1) < 1e-6 * np.linalg.norm(centre):
        e1 = np.cross(sun, [1.0, 0.0, 0.0] if abs(sun[0]) < 0.9 else [0.0, 1.0, 0.0])
    e1 /= np.linalg.norm(e1)
    frame[SG_E1:SG_E1 + 3], frame[SG_E2:SG_E2 + 3] = e1, np.cross(sun, e1)
    rho = np.linalg.norm(hits, axis=1)
    a = hits @ sun / rho
    b1, b2 = hits @ e1 / rho, hits @ frame[SG_E2:SG_E2 + 3] / rho
    theta, phi = np.arctan2(np.hypot(b1, b2), a), np.arctan2(b2, b1)
    x_min = float(np.min(rho * np.hypot(b1, b2)))
    pad = 2.0 * max(texel, pixel_m) / R_REF
    theta_hi = min(float(theta.max()) + pad, 0.5 * math.pi)
    phi_lo, phi_hi = float(phi.min()) - pad, float(phi.max()) + pad
    top = float(terrain.meta[:, TM_HEIGHT_MAX].max())
    for _ in range(2):  # the region's own top, from the box the global top asks for
        theta_lo = math.asin(min(1.0, x_min / (R_REF + top))) - pad
        top = _top_of(terrain, frame, theta_lo, theta_hi, phi_lo, phi_hi)
    theta_lo = math.asin(min(1.0, x_min / (R_REF + top))) - pad
    if not theta_hi > theta_lo:
        return frame, none
    widest = max(math.sin(theta_hi), 1e-3)  # rows are farthest apart there
    # the terrain's spacing or the pixels', grown until the grid holds about GRID_MAX samples
    # (a view to the horizon: shadows near the camera resolved to that spacing)
    area = R_REF * (theta_hi - theta_lo) * R_REF * (phi_hi - phi_lo) * widest
    step = max(texel, pixel_m, math.sqrt(area / GRID_MAX)) / R_REF
    dphi = step / widest
    frame[SG_THETA0], frame[SG_DTHETA], frame[SG_PHI0], frame[SG_DPHI] = (
        theta_lo, step, phi_lo, dphi)
    return frame, np.empty((math.ceil((phi_hi - phi_lo) / dphi) + 1,
                            math.ceil((theta_hi - theta_lo) / step) + 1))


def _top_of(terrain: Any, frame: np.ndarray, theta_lo: float, theta_hi: float, phi_lo: float,
            phi_hi: float) -> float:
    """A bound on the terrain height (m) over the patch of sun coordinates (a lat/lon box
    around points of its edges and inside)."""
    th, ph = np.meshgrid(np.linspace(theta_lo, theta_hi, 9), np.linspace(phi_lo, phi_hi, 9))
    e = (np.cos(ph)[..., None] * frame[SG_E1:SG_E1 + 3]
         + np.sin(ph)[..., None] * frame[SG_E2:SG_E2 + 3])
    d = np.cos(th)[..., None] * frame[SG_SUN:SG_SUN + 3] + np.sin(th)[..., None] * e
    lat = np.arcsin(np.clip(d[..., 2], -1.0, 1.0))
    lon = np.unwrap(np.arctan2(d[..., 1], d[..., 0]).ravel())
    margin = 2.0 * (theta_hi - theta_lo + phi_hi - phi_lo) / 8  # between the points
    lat_lo, lat_hi = max(lat.min() - margin, -0.5 * math.pi), min(lat.max() + margin,
                                                                  0.5 * math.pi)
    if lat_lo <= -0.5 * math.pi + 1e-6 or lat_hi >= 0.5 * math.pi - 1e-6:
        return float(terrain.meta[:, TM_HEIGHT_MAX].max())  # a pole inside: the global top
    cos_lat = max(math.cos(max(abs(lat_lo), abs(lat_hi))), 1e-3)
    lon_lo, lon_hi = lon.min() - margin / cos_lat, lon.max() + margin / cos_lat
    if lon_hi - lon_lo >= 2 * math.pi:
        return float(terrain.meta[:, TM_HEIGHT_MAX].max())
    top = terrain_max_in_box(terrain.elev, terrain.meta, lat_lo, lat_hi, lon_lo, lon_hi)
    return top if math.isfinite(top) else float(terrain.meta[:, TM_HEIGHT_MAX].max())


@dataclass
class Rendering:
    """A shading image and how it was made."""

    shading: np.ndarray  # (H, W): cos(i) where lit, 0 in shadow, NaN for the sky
    rays: int  # primary rays cast
    grid_samples: int  # terrain samples of the shadow grid (0: shadow rays instead)


def render(terrain: Any, camera: Camera, r_mcmf: np.ndarray, dcm_body_mcmf: np.ndarray,
           sun_mcmf: np.ndarray, block: int = BLOCK) -> Rendering:
    """What the camera sees from ``r_mcmf`` (m, Moon-fixed) with the body's attitude
    ``dcm_body_mcmf`` (body to Moon-fixed), the Sun along ``sun_mcmf``."""
    axes = np.ascontiguousarray(camera.axes_body() @ np.asarray(dcm_body_mcmf).T)
    sun = np.asarray(sun_mcmf, dtype=np.float64)
    sun = sun / np.linalg.norm(sun)
    origin = np.ascontiguousarray(r_mcmf, dtype=np.float64)
    h, w, f = camera.height_px, camera.width_px, camera.focal_px
    elev, meta = terrain.elev, terrain.meta
    work = np.empty(N_SCRATCH_RENDER)
    nodes = np.empty(((h - 1) // block + 2, (w - 1) // block + 2, N_RENDER_NODE))
    rays = cast_nodes(elev, meta, origin, axes, f, w, h, int(block), camera.max_range_m,
                      np.zeros(N_RENDER_LIGHT), nodes, work)
    hit = ~np.isnan(nodes[..., NODE_S])
    hits = nodes[..., NODE_P:NODE_P + 3][hit]
    pixel_m = float(np.min(nodes[..., NODE_S][hit])) / f if hit.any() else 0.0
    frame, grid = shadow_frame(terrain, hits, sun, pixel_m)
    if grid.size:
        build_shadow_grid(elev, meta, frame, grid)
    view_bound(terrain, hits, origin, frame)
    shading = np.empty((h, w))
    rays += shade_image(elev, meta, origin, axes, f, int(block), camera.max_range_m, frame, grid,
                        nodes, shading, work)
    return Rendering(shading, rays, grid.size)


def view_bound(terrain: Any, hits: np.ndarray, origin: np.ndarray, frame: np.ndarray) -> None:
    """Write into ``frame`` a box holding the point below the camera and every ``hits`` point,
    VIEW_MARGIN_M wider (the arcs between them bulge by less), and the radius no terrain under
    it rises above: a ray is cast from where it comes down to that radius over the box."""
    if not len(hits):
        return
    points = np.vstack([hits, origin])
    rho = np.linalg.norm(points, axis=1)
    lat = np.arcsin(points[:, 2] / rho)
    lon = np.unwrap(np.arctan2(points[:, 1], points[:, 0]) - math.atan2(origin[1], origin[0]))
    span = float(lon.max() - lon.min())
    if span >= 0.5 * math.pi:
        return
    phi = float(np.abs(lat).max())
    # an arc between two points of the box reaches towards the pole by at most about
    # span^2 / 8 sin(phi) cos(phi) (rad) beyond their latitudes
    margin = VIEW_MARGIN_M / R_REF + span * span / 8.0 * abs(math.sin(phi) * math.cos(phi))
    lat_lo, lat_hi = float(lat.min()) - margin, float(lat.max()) + margin
    if lat_lo <= -0.5 * math.pi or lat_hi >= 0.5 * math.pi:
        return  # a pole in view: no box
    widen = VIEW_MARGIN_M / R_REF / math.cos(max(abs(lat_lo), abs(lat_hi)))
    lon_lo = float(lon.min()) + math.atan2(origin[1], origin[0]) - widen
    width = span + 2.0 * widen
    top = terrain_max_in_box(terrain.elev, terrain.meta, lat_lo, lat_hi, lon_lo, lon_lo + width)
    if not math.isfinite(top):
        return
    frame[SG_VIEW_TOP] = R_REF + top + 1.0  # (a metre clear of the top)
    frame[SG_VIEW_BOX:SG_VIEW_BOX + 4] = lat_lo, lat_hi, lon_lo, width


def expose(shading: np.ndarray, camera: Camera, rng: np.random.Generator) -> np.ndarray:
    """The 8-bit image the sensor reads out from a shading image (sky and shadow: noise only)."""
    signal = np.nan_to_num(shading, nan=0.0) * (
        255.0 * camera.albedo * camera.exposure_s / camera.saturation_exposure_s)
    noisy = signal + camera.read_noise_dn * rng.standard_normal(shading.shape)
    return np.clip(np.rint(noisy), 0, 255).astype(np.uint8)
