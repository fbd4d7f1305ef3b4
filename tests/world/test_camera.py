"""The camera's renderer against references computed here from the tile files, independently.

What validates what:

- **Shading**: a nadir image over Atlas crater against a hillshade of the 256 ppd tile computed
  here with numpy (central differences on the grid, the Sun in each texel's own east-north-up
  axes), sampled where each pixel's ray meets the terrain (found here by fixed-point iteration
  on scipy's bilinear interpolation of the tile, not with the project's ray cast).
- **Cast shadows**: each pixel's ground point is marched towards the Sun in 50 m steps through
  the same interpolation; where the terrain rises above the ray the render must be dark. As the
  Sun drops from 30 to 4 deg at one azimuth the dark share grows.
- **Horizon and sky**: a camera 10 km up looking north along the horizontal sees black sky
  above the horizon, which lies where the greatest elevation angle of the terrain along the
  meridian (heights from the tiles, the sphere's curvature exact) puts it.
- **Blocks**: the block-wise render equals the pixel-by-pixel one almost everywhere.
- **Exposure**: the DN formula, clipping, read noise by the seed.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.interpolate import RegularGridInterpolator
from tests.terrain import needs_terrain

from touchdown.moon.constants import R_REF
from touchdown.moon.dem_tiles import data_dir, load_truth_terrain
from touchdown.world.camera import Camera, expose, render

SITE = (46.74, 44.38)  # deg: the floor of Atlas crater


def enu(lat_deg: float, lon_deg: float) -> np.ndarray:
    """Rows: east, north, up (Moon-fixed) at a site."""
    la, lo = math.radians(lat_deg), math.radians(lon_deg)
    up = np.array([math.cos(la) * math.cos(lo), math.cos(la) * math.sin(lo), math.sin(la)])
    east = np.array([-math.sin(lo), math.cos(lo), 0.0])
    return np.stack([east, np.cross(up, east), up])


def sun_at(elevation_deg: float, azimuth_deg: float) -> np.ndarray:
    """The Sun's direction (Moon-fixed) at elevation and azimuth (from north, east +) at SITE."""
    e, n, u = enu(*SITE)
    el, az = math.radians(elevation_deg), math.radians(azimuth_deg)
    return math.cos(el) * (math.sin(az) * e + math.cos(az) * n) + math.sin(el) * u


class Tile:
    """The Atlas crater tile, read with numpy: bilinear heights and a hillshade."""

    def __init__(self) -> None:
        d = np.load(data_dir() / "moon_atlas_crater_gld100_256ppd.npz")
        self.lat, self.lon = d["lat_deg"][::-1], d["lon_deg"]  # ascending
        self.h = d["elevation_m"].astype(np.float64)[::-1]
        self.height = RegularGridInterpolator((self.lat, self.lon), self.h)
        self.step_m = math.radians(1.0 / float(d["ppd"])) * R_REF

    def hillshade(self, sun: np.ndarray) -> RegularGridInterpolator:
        """cos(i) (0 facing away) on the grid, central differences, as an interpolator."""
        lat_g, lon_g = np.meshgrid(np.radians(self.lat), np.radians(self.lon), indexing="ij")
        dh_dn, dh_de = np.gradient(self.h, self.step_m, self.step_m)
        dh_de = dh_de / np.cos(lat_g)
        up = np.stack([np.cos(lat_g) * np.cos(lon_g), np.cos(lat_g) * np.sin(lon_g),
                       np.sin(lat_g)], -1)
        east = np.stack([-np.sin(lon_g), np.cos(lon_g), np.zeros_like(lon_g)], -1)
        north = np.cross(up, east)
        n = up - dh_dn[..., None] * north - dh_de[..., None] * east
        n /= np.linalg.norm(n, axis=-1, keepdims=True)
        return RegularGridInterpolator((self.lat, self.lon), np.maximum(n @ sun, 0.0))

    def ground(self, origin: np.ndarray, rays: np.ndarray) -> np.ndarray:
        """Where rays (n, 3) from origin meet the terrain: (lat, lon) deg, by iterating the
        height along each ray (near nadir, slopes below 45 deg: it converges)."""
        h = np.full(len(rays), self.height([SITE])[0])
        for _ in range(30):
            b = rays @ origin
            s = -b - np.sqrt(b * b - (origin @ origin - (R_REF + h) ** 2))
            p = origin + s[:, None] * rays
            lat = np.degrees(np.arcsin(p[:, 2] / np.linalg.norm(p, axis=1)))
            lon = np.degrees(np.arctan2(p[:, 1], p[:, 0]))
            h = self.height(np.stack([lat, lon], -1))
        return np.stack([lat, lon], -1)


@pytest.fixture(scope="module")
def terrain():
    return load_truth_terrain()


@pytest.fixture(scope="module")
def tile():
    return Tile()


def nadir(tile: Tile, altitude_m: float, camera: Camera,
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Origin, body attitude (body to Moon-fixed: z up, x north) and the pixels' unit rays."""
    _, n, u = enu(*SITE)
    origin = u * (R_REF + tile.height([SITE])[0] + altitude_m)
    dcm = np.column_stack([n, np.cross(u, n), u])
    axes = camera.axes_body() @ dcm.T
    v, uu = np.mgrid[0:camera.height_px, 0:camera.width_px]
    x = (uu + 0.5 - camera.width_px / 2) / camera.focal_px
    y = (v + 0.5 - camera.height_px / 2) / camera.focal_px
    rays = axes[2] + x[..., None] * axes[0] + y[..., None] * axes[1]
    rays /= np.linalg.norm(rays, axis=-1, keepdims=True)
    return origin, dcm, rays.reshape(-1, 3)


NARROW = Camera(width_px=128, height_px=128, fov_deg=16.0)


@needs_terrain
def test_a_nadir_image_is_the_tiles_hillshade_where_the_pixels_look(terrain, tile):
    sun = sun_at(45.0, 100.0)
    origin, dcm, rays = nadir(tile, 40e3, NARROW)
    shading = render(terrain, NARROW, origin, dcm, sun).shading.ravel()
    expected = tile.hillshade(sun)(tile.ground(origin, rays))
    shadowed = (shading == 0.0) & (expected > 0.0)
    assert shadowed.mean() < 0.01  # a high Sun: next to no cast shadows
    keep = ~shadowed
    r = np.corrcoef(shading[keep], expected[keep])[0, 1]
    # the two normals differ by how they smooth within a texel (the render's central
    # differences half a texel each way at each point; the grid's at the vertices, then
    # interpolated): small against the spread of cos(i) over the crater floor
    assert r > 0.995, r
    assert np.median(np.abs(shading[keep] - expected[keep])) < 0.005


@needs_terrain
def test_cast_shadows_are_where_the_terrain_rises_into_the_sun_and_lengthen_as_it_drops(
        terrain, tile):
    origin, dcm, rays = nadir(tile, 40e3, NARROW)
    points = tile.ground(origin, rays)
    dark = []
    for elevation in (30.0, 15.0, 8.0, 4.0):
        sun = sun_at(elevation, 100.0)
        shading = render(terrain, NARROW, origin, dcm, sun).shading.ravel()
        lit_face = tile.hillshade(sun)(points) > 0.02  # facing the Sun clearly
        # march each ground point towards the Sun through the tile, 50 m at a time
        la, lo = np.radians(points[:, 0]), np.radians(points[:, 1])
        h = tile.height(points)
        p = (R_REF + h)[:, None] * np.stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo),
                                              np.sin(la)], -1)
        blocked = np.zeros(len(p), bool)
        for s in np.arange(100.0, 60e3, 50.0):
            q = p + s * sun
            rho = np.linalg.norm(q, axis=1)
            lat = np.degrees(np.arcsin(q[:, 2] / rho))
            lon = np.degrees(np.arctan2(q[:, 1], q[:, 0]))
            inside = (lat > tile.lat[0]) & (lat < tile.lat[-1]) & (lon > tile.lon[0]) & (
                lon < tile.lon[-1])
            ground = np.full(len(q), -np.inf)
            ground[inside] = tile.height(np.stack([lat[inside], lon[inside]], -1))
            blocked |= rho < R_REF + ground
        judged = lit_face
        agree = ((shading[judged] == 0.0) == blocked[judged]).mean()
        assert agree > 0.99, (elevation, agree)  # pixels on a shadow's edge may differ
        assert blocked[judged].any() or elevation > 10.0
        dark.append(float((shading == 0.0).mean()))
    assert dark == sorted(dark) and dark[-1] > 3 * dark[0], dark


@needs_terrain
def test_the_horizon_and_the_black_sky_above_it(terrain):
    camera = Camera(width_px=64, height_px=256, fov_deg=10.0)
    _, n, u = enu(*SITE)
    h_site = terrain.height(*SITE)
    origin = u * (R_REF + h_site + 10e3)
    dcm = np.column_stack([u, np.cross(-n, u), -n])  # body z looks south: the camera, north
    shading = render(terrain, camera, origin, dcm, sun_at(30.0, 100.0)).shading
    column = shading[:, camera.width_px // 2]
    sky = np.isnan(column)
    first_ground = int(np.argmin(sky))
    assert sky[:first_ground].all() and not sky[first_ground:].any()
    # the terrain's greatest elevation angle seen northwards along the meridian
    gamma = np.radians(np.arange(0.01, 8.0, 0.002))  # central angle (deg to rad)
    lat = SITE[0] + np.degrees(gamma)
    h = terrain.height(lat, np.full_like(lat, SITE[1]))
    rc = R_REF + h_site + 10e3
    angle = np.arctan2((R_REF + h) * np.cos(gamma) - rc, (R_REF + h) * np.sin(gamma)).max()
    row = camera.height_px / 2 - camera.focal_px * math.tan(angle) - 0.5  # pixel centre rows
    assert abs(first_ground - math.ceil(row)) <= 1, (first_ground, row)
    assert math.degrees(angle) == pytest.approx(-math.degrees(math.acos(
        R_REF / rc)), abs=1.5)  # near the smooth sphere's dip, the mountains aside
    image = expose(shading, camera, np.random.default_rng(0))
    assert image[:first_ground].mean() < 1.0  # black, read noise only


@needs_terrain
def test_blocks_render_what_every_pixel_cast_does(terrain):
    camera = Camera(width_px=192, height_px=160, fov_deg=50.0)
    _, n, u = enu(*SITE)
    tilt = math.radians(35.0)
    bz = u * math.cos(tilt) - n * math.sin(tilt)
    bx = n * math.cos(tilt) + u * math.sin(tilt)
    dcm = np.column_stack([bx, np.cross(bz, bx), bz])
    origin = u * (R_REF + terrain.height(*SITE) + 12e3)
    sun = sun_at(10.0, 95.0)
    every = render(terrain, camera, origin, dcm, sun, block=1)
    blocks = render(terrain, camera, origin, dcm, sun, block=4)
    assert blocks.rays < every.rays / 3
    a, b = every.shading, blocks.shading
    assert (np.isnan(a) == np.isnan(b)).all()
    close = np.abs(np.nan_to_num(a) - np.nan_to_num(b)) < 0.02
    assert close.mean() > 0.99, close.mean()


def test_exposure_scales_clips_and_adds_the_seeds_noise():
    camera = Camera(width_px=4, height_px=2, exposure_s=0.002, saturation_exposure_s=0.004,
                    albedo=0.5, read_noise_dn=0.0)
    shading = np.array([[np.nan, 0.0, 0.5, 1.0], [0.2, 0.8, 1.0, 1.0]])
    assert expose(shading, camera, np.random.default_rng(0)).tolist() == [
        [0, 0, 32, 64], [13, 51, 64, 64]]  # 255 x 0.5 x shading x 0.002 / 0.004
    bright = Camera(width_px=4, height_px=2, exposure_s=0.02, saturation_exposure_s=0.004,
                    albedo=0.5)
    assert expose(shading, bright, np.random.default_rng(0))[0, 3] == 255  # saturated
    noisy = Camera(width_px=4, height_px=2, read_noise_dn=5.0)
    a, b = (expose(shading, noisy, np.random.default_rng(7)) for _ in range(2))
    assert (a == b).all() and a.dtype == np.uint8


def test_the_camera_axes_are_orthonormal_and_a_bad_mount_is_named():
    axes = Camera(boresight_body=(0.0, 0.6, -0.8), up_body=(1.0, 0.0, 0.0)).axes_body()
    assert np.allclose(axes @ axes.T, np.eye(3))
    assert np.allclose(axes[2], [0.0, 0.6, -0.8]) and np.linalg.det(axes) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="up_body is along the boresight"):
        Camera(boresight_body=(0.0, 0.0, -1.0), up_body=(0.0, 0.0, 2.0)).axes_body()
