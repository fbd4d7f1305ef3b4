"""LRO terrain tiles (shell): find the data folder, load .npz tiles, build and query terrains."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import math
import os
import zipfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike

from touchdown.core.layout import (
    N_TERRAIN_META,
    TM_COLS,
    TM_GRAD_MAX,
    TM_HEIGHT_MAX,
    TM_LAT0,
    TM_LON0,
    TM_OFFSET,
    TM_PIXEL,
    TM_ROWS,
    TM_WRAPS,
)
from touchdown.errors import DataFileError, DataRangeError
from touchdown.files import cache_base, write_atomic
from touchdown.moon import terrain as _k

__all__ = [
    "ONBOARD_TILES",
    "TRUTH_TILES",
    "Terrain",
    "Tile",
    "data_dir",
    "load_onboard_map",
    "load_tile",
    "load_truth_terrain",
]

TRUTH_TILES = (
    "moon_atlas_crater_gld100_256ppd.npz",
    "moon_atlas_region_gld100_128ppd.npz",
    "moon_global_lola_8ppd.npz",
)
ONBOARD_TILES = ("moon_atlas_region_lola_ldem16.npz", "moon_global_lola_ldem4.npz")

DATA_ENV = "TOUCHDOWN_DATA"
README_HINT = "the tiles are described in ../shared/data/README.md"
REQUIRED_KEYS = ("elevation_m", "lat_deg", "lon_deg", "ppd", "bounds_deg")
GRID_TOL_DEG = 1e-6  # deg, allowed misfit of a pixel centre to the ppd grid
TILE_CACHE = "tiles"  # the tile cache's folder in files.cache_base()
_SOURCE = Path(__file__).read_bytes()  # a new derivation invalidates the tile cache


def data_dir() -> Path:
    """Folder holding the LRO .npz tiles.

    ``$TOUCHDOWN_DATA`` if set, else ``../shared/data`` relative to the working directory.

    Raises
    ------
    DataFileError
        If neither exists.
    """
    env = os.environ.get(DATA_ENV)
    if env:
        path = Path(env).expanduser()
        if not path.is_dir():
            raise DataFileError(
                path, f"{DATA_ENV} does not name a folder",
                f"set {DATA_ENV} to the folder holding the LRO .npz tiles ({README_HINT})",
            )
        return path
    fallback = Path.cwd() / ".." / "shared" / "data"
    if fallback.is_dir():
        return fallback.resolve()
    raise DataFileError(
        fallback, "no terrain data folder found",
        f"set {DATA_ENV} to the folder holding the LRO .npz tiles "
        f"(the repository's Makefile points it at ../shared/data); {README_HINT}",
    )


@dataclass(frozen=True, eq=False)
class Tile:
    """One pixel-registered height grid, as stored in an LRO .npz file.

    Attributes
    ----------
    name : file name (e.g. ``moon_global_lola_8ppd.npz``).
    product : data product description from the file.
    elevation_m : (nrows, ncols) float32, height above the 1737.4 km sphere (m), read-only.
    lat_deg : (nrows,) pixel-centre latitudes (deg), descending.
    lon_deg : (ncols,) pixel-centre east longitudes (deg), ascending.
    ppd : pixels per degree.
    bounds_deg : (lat_min, lat_max, lon_min, lon_max) outer pixel edges (deg).
    wraps : True for a global grid that wraps in longitude.
    """

    name: str
    product: str
    elevation_m: np.ndarray
    lat_deg: np.ndarray
    lon_deg: np.ndarray
    ppd: float
    bounds_deg: tuple[float, float, float, float]
    wraps: bool
    grad_max: float | None = None  # m/rad, ``_gradient_bound`` (None: computed when needed)

    def __repr__(self) -> str:
        rows, cols = self.elevation_m.shape
        b = self.bounds_deg
        return (f"Tile({self.name!r}, {rows}x{cols} at {self.ppd:g} ppd, "
                f"lat {b[0]:g}..{b[1]:g}, lon {b[2]:g}..{b[3]:g} E)")


def _readonly(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


def load_tile(path: str | Path) -> Tile:
    """Load and check one LRO .npz tile, with its gradient bound: from the tile cache when it
    holds this file (by its hash), else from the file (then kept in the cache).

    The tiles are compressed; decompressing them and bounding their gradients took ~0.5 s of
    every ``touchdown fly``. The cache (``_compile.CACHE_BASE / "tiles"``, beside the compiled
    cache) keeps each tile uncompressed with its bound, named by a digest of the tile file's
    bytes and of this module's source, so a changed tile or a changed derivation is read
    afresh. A cache that cannot be written or read is passed over.

    Raises
    ------
    DataFileError
        If the file is missing or unreadable, lacks a key, or its grid is inconsistent.
    """
    path = Path(path)
    cached = _cache_file(path)
    if cached is not None and cached.is_file():
        try:
            return _read_cached(cached, path.name)
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
            pass  # a damaged cache entry: read the tile again, and write it anew
    tile = _read_tile(path)
    tile = dataclasses.replace(tile, grad_max=_gradient_bound(tile))
    if cached is not None:
        _write_cached(cached, tile)
    return tile


def _cache_file(path: Path) -> Path | None:
    """Where the tile cache keeps this tile file (None: the file cannot be read)."""
    try:
        digest = hashlib.blake2b(path.read_bytes(), digest_size=16)
    except OSError:
        return None
    digest.update(_SOURCE)
    return cache_base() / TILE_CACHE / f"{path.stem}-{digest.hexdigest()}.npz"


def _read_cached(cached: Path, name: str) -> Tile:
    with np.load(cached, allow_pickle=False) as npz:
        return Tile(name=name, product=str(npz["product"]),
                    elevation_m=_readonly(np.asarray(npz["elevation_m"], dtype=np.float32)),
                    lat_deg=_readonly(np.asarray(npz["lat_deg"], dtype=np.float64)),
                    lon_deg=_readonly(np.asarray(npz["lon_deg"], dtype=np.float64)),
                    ppd=float(npz["ppd"]),
                    bounds_deg=tuple(float(v) for v in npz["bounds_deg"]),  # type: ignore[arg-type]
                    wraps=bool(npz["wraps"]), grad_max=float(npz["grad_max"]))


def _write_cached(cached: Path, tile: Tile) -> None:
    def write(p: Path) -> None:
        with p.open("wb") as f:  # (a file: np.savez would add ".npz" to a name)
            np.savez(f, elevation_m=tile.elevation_m, lat_deg=tile.lat_deg,
                     lon_deg=tile.lon_deg, ppd=tile.ppd, bounds_deg=np.asarray(tile.bounds_deg),
                     wraps=tile.wraps, grad_max=tile.grad_max, product=tile.product)

    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(cached, write)
    except OSError:
        pass  # a read-only cache folder: the next run reads the tile again


def _read_tile(path: Path) -> Tile:
    """One tile from its .npz file, checked (``load_tile``'s errors)."""
    hint_get = (f"put the tile {path.name} in {DATA_ENV} (the folder holding the LRO .npz "
                f"tiles); {README_HINT}")
    if not path.is_file():
        raise DataFileError(path, "terrain tile not found", hint_get)
    try:
        # the file opened here: np.load leaks its own handle when the zip cannot be read
        with path.open("rb") as f, np.load(f, allow_pickle=False) as npz:
            missing = [key for key in REQUIRED_KEYS if key not in npz.files]
            if missing:
                raise DataFileError(
                    path, f"missing key {missing[0]!r} (has {sorted(npz.files)})",
                    f"the file is not a terrain tile; replace it with a fresh copy. {hint_get}",
                )
            elev = np.asarray(npz["elevation_m"], dtype=np.float32)
            lat = np.asarray(npz["lat_deg"], dtype=np.float64)
            lon = np.asarray(npz["lon_deg"], dtype=np.float64)
            ppd = float(npz["ppd"])
            bounds = tuple(float(v) for v in np.asarray(npz["bounds_deg"]).ravel())
            product = str(npz["product"]) if "product" in npz.files else ""
    except DataFileError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        # any damage: a truncated or non-zip file, a bad CRC, a broken deflate stream or header
        raise DataFileError(
            path, f"not a readable .npz file, damaged or truncated ({exc})",
            f"replace it with an intact copy of {path.name} from ../shared/data; {README_HINT}",
        ) from exc

    def bad(problem: str) -> DataFileError:
        return DataFileError(path, problem, f"replace it with a fresh copy. {hint_get}")

    if elev.ndim != 2 or lat.ndim != 1 or lon.ndim != 1 or elev.shape != (lat.size, lon.size):
        raise bad(f"elevation_m shape {elev.shape} does not match lat_deg {lat.shape} and "
                  f"lon_deg {lon.shape}")
    if min(elev.shape) < 2 or not ppd > 0.0 or len(bounds) != 4:
        raise bad("grid needs at least 2x2 pixels, ppd > 0 and 4 bounds_deg values")
    step = 1.0 / ppd
    i, j = np.arange(lat.size), np.arange(lon.size)
    if (np.max(np.abs(lat - (lat[0] - i * step))) > GRID_TOL_DEG
            or np.max(np.abs(lon - (lon[0] + j * step))) > GRID_TOL_DEG):
        raise bad("lat_deg must descend and lon_deg ascend in steps of 1/ppd")
    if not np.all(np.isfinite(elev)):
        raise bad("elevation_m holds non-finite values")
    wraps = abs(lon.size * step - 360.0) < GRID_TOL_DEG
    return Tile(
        name=path.name, product=product, elevation_m=_readonly(elev), lat_deg=_readonly(lat),
        lon_deg=_readonly(lon), ppd=ppd, bounds_deg=(bounds[0], bounds[1], bounds[2], bounds[3]),
        wraps=bool(wraps),
    )


def _gradient_bound(tile: Tile) -> float:
    """Bound on |dh/dlat|, |dh/dlon| (m/rad) of a tile's surface, as ``fill_bounds``.

    Vectorised here so that loading stays fast when kernels run as plain Python
    (``NUMBA_DISABLE_JIT=1``).
    """
    e = tile.elevation_m.astype(np.float64)
    pix = math.radians(1.0 / tile.ppd)
    d_max = float(np.abs(np.diff(e, axis=0)).max())
    d_max = max(d_max, float(np.abs(np.diff(e, axis=1)).max()))
    g = d_max / pix
    if tile.wraps:
        g = max(g, float(np.abs(e[:, -1] - e[:, 0]).max()) / pix)
        for edge in (0, -1):
            width = 0.5 * math.pi - abs(math.radians(tile.lat_deg[edge]))
            if width > 0.0:
                g = max(g, float(np.abs(e[edge] - e[edge, 0]).max()) / width)
    return g


class Terrain:
    """Layered terrain: tiles in priority order, flattened into the kernels' elev/meta arrays.

    Attributes
    ----------
    name : label (e.g. ``truth``).
    tiles : the layers, first = highest priority.
    elev : 1-D float32 (m), all layers row-major (read-only).
    meta : (n_layers, N_TERRAIN_META) float64 layer table, columns ``core.layout.TERRAIN_META``
        (see ``touchdown.moon.terrain``; read-only).
    """

    def __init__(self, name: str, tiles: Sequence[Tile], elev: np.ndarray,
                 meta: np.ndarray) -> None:
        self.name = name
        self.tiles = tuple(tiles)
        self.elev = elev
        self.meta = meta

    @classmethod
    def from_tiles(cls, tiles: Sequence[Tile], name: str = "terrain") -> Terrain:
        """Stack tiles (first = highest priority) into one terrain."""
        if not tiles:
            raise ValueError("Terrain.from_tiles needs at least one tile")
        meta = np.zeros((len(tiles), N_TERRAIN_META), dtype=np.float64)
        offset = 0
        for k, tile in enumerate(tiles):
            rows, cols = tile.elevation_m.shape
            row = meta[k]
            row[TM_OFFSET] = offset
            row[TM_ROWS] = rows
            row[TM_COLS] = cols
            row[TM_LAT0] = np.radians(tile.lat_deg[0])
            row[TM_LON0] = np.radians(tile.lon_deg[0])
            row[TM_PIXEL] = np.radians(1.0 / tile.ppd)
            row[TM_WRAPS] = 1.0 if tile.wraps else 0.0
            offset += rows * cols
        elev = np.concatenate([t.elevation_m.ravel() for t in tiles]).astype(np.float32)
        meta[:, TM_GRAD_MAX] = [_gradient_bound(t) if t.grad_max is None else t.grad_max
                                for t in tiles]
        meta[:, TM_HEIGHT_MAX] = [float(t.elevation_m.max()) for t in tiles]
        return cls(name, tiles, _readonly(elev), _readonly(meta))

    def __repr__(self) -> str:
        names = ", ".join(t.name for t in self.tiles)
        return f"Terrain({self.name!r}: {names})"

    @property
    def covered_deg(self) -> tuple[float, float, float, float]:
        """(lat_min, lat_max, lon_min, lon_max) (deg) of the box the layers cover."""
        if any(t.wraps for t in self.tiles):
            return (-90.0, 90.0, 0.0, 360.0)
        b = np.array([t.bounds_deg for t in self.tiles])
        return (float(b[:, 0].min()), float(b[:, 1].max()),
                float(b[:, 2].min()), float(b[:, 3].max()))

    def _query(self, many: Callable[..., int], lat_deg: ArrayLike,
               lon_deg: ArrayLike) -> np.ndarray | float:
        lat, lon = np.broadcast_arrays(np.asarray(lat_deg, dtype=np.float64),
                                       np.asarray(lon_deg, dtype=np.float64))
        lat_r = np.ascontiguousarray(np.radians(lat).ravel())
        lon_r = np.ascontiguousarray(np.radians(lon).ravel())
        out = np.empty(lat_r.size)
        n_nan = many(self.elev, self.meta, lat_r, lon_r, out)
        if n_nan:
            bad = int(np.flatnonzero(np.isnan(out))[0])
            cov = self.covered_deg
            raise DataRangeError(
                f"terrain {self.name!r}: no layer covers lat {lat.ravel()[bad]:g} deg, "
                f"lon {lon.ravel()[bad]:g} deg E ({n_nan} of {out.size} points); it covers "
                f"lat {cov[0]:g}..{cov[1]:g} deg, lon {cov[2]:g}..{cov[3]:g} deg E",
                cov,
            )
        if lat.ndim == 0:
            return float(out[0])
        return out.reshape(lat.shape)

    def height(self, lat_deg: ArrayLike, lon_deg: ArrayLike) -> np.ndarray | float:
        """Bilinear terrain height (m above 1737.4 km) at lat_deg, lon_deg (deg, any lon).

        Scalars give a float, arrays (broadcast together) an array of their shape.

        Raises
        ------
        DataRangeError
            If no layer covers one of the points.
        """
        return self._query(_k.terrain_height_many, lat_deg, lon_deg)

    def slope_deg(self, lat_deg: ArrayLike, lon_deg: ArrayLike) -> np.ndarray | float:
        """Local slope angle (deg) of the bilinear surface at lat_deg, lon_deg (deg).

        Raises
        ------
        DataRangeError
            If no layer covers one of the points.
        """
        slope = self._query(_k.terrain_slope_many, lat_deg, lon_deg)
        return math.degrees(slope) if isinstance(slope, float) else np.degrees(slope)

    def ray_cast(self, origin_mcmf_m: ArrayLike, dir_mcmf: ArrayLike, max_range_m: float) -> float:
        """Distance (m) along dir_mcmf from origin_mcmf_m (m) to the terrain, NaN if none.

        NaN also when the origin is below the surface or no hit lies within max_range_m.
        """
        origin = np.ascontiguousarray(origin_mcmf_m, dtype=np.float64)
        direction = np.ascontiguousarray(dir_mcmf, dtype=np.float64)
        if origin.shape != (3,) or direction.shape != (3,):
            raise ValueError(f"origin_mcmf_m and dir_mcmf must have shape (3,), got "
                             f"{origin.shape} and {direction.shape}")
        norm = float(np.linalg.norm(direction))
        if not norm > 0.0 or not np.isfinite(norm):
            raise ValueError(f"dir_mcmf must be a finite non-zero vector, got {direction}")
        if not max_range_m >= 0.0:
            raise ValueError(f"max_range_m must be >= 0 m, got {max_range_m}")
        return float(_k.ray_cast(self.elev, self.meta, origin, direction / norm,
                                 float(max_range_m)))


def _resolve_dir(folder: str | Path | None) -> Path:
    return data_dir() if folder is None else Path(folder)


@functools.lru_cache(maxsize=8)
def _load_terrain_cached(folder: str, names: tuple[str, ...], name: str) -> Terrain:
    return Terrain.from_tiles([load_tile(Path(folder) / n) for n in names], name)


def load_truth_terrain(data_dir: str | Path | None = None,
                       tiles: Sequence[str] | None = None) -> Terrain:
    """The truth terrain: the tiles given, the first on top (by default ``TRUTH_TILES``: GLD100
    256 ppd over Atlas, GLD100 128 ppd region, LOLA 8 ppd global).

    Cached per (folder, tiles): loading twice returns the same object.
    """
    folder = _resolve_dir(data_dir).resolve()
    return _load_terrain_cached(str(folder), tuple(tiles or TRUTH_TILES), "truth")


def load_onboard_map(data_dir: str | Path | None = None,
                     tiles: Sequence[str] | None = None) -> Terrain:
    """The onboard map: the tiles given (by default ``ONBOARD_TILES``: LOLA LDEM_16 over the
    Atlas region, LOLA LDEM_4 global).

    Cached per (folder, tiles): loading twice returns the same object.
    """
    folder = _resolve_dir(data_dir).resolve()
    return _load_terrain_cached(str(folder), tuple(tiles or ONBOARD_TILES), "onboard")
