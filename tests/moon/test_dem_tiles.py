"""Terrain tiles on the real LRO data in TOUCHDOWN_DATA (../shared/data/README.md)."""

import math
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from touchdown.cli import main
from touchdown.errors import DataFileError
from touchdown.moon import dem_tiles
from touchdown.moon.constants import R_REF
from touchdown.moon.dem_tiles import (
    ONBOARD_TILES,
    TRUTH_TILES,
    data_dir,
    load_onboard_map,
    load_tile,
    load_truth_terrain,
)

ATLAS_LAT, ATLAS_LON = 46.74, 44.38  # deg, Atlas crater centre (IAU), per the data README


@pytest.fixture(scope="module")
def folder():
    try:
        return data_dir()
    except DataFileError as exc:
        pytest.skip(f"LRO tiles not available: set TOUCHDOWN_DATA to ../shared/data ({exc})")


@pytest.fixture(scope="module")
def truth(folder):
    return load_truth_terrain(folder)


@pytest.fixture(scope="module")
def onboard(folder):
    return load_onboard_map(folder)


def raw(folder, name):
    """The file's own arrays, read straight with np.load."""
    with np.load(folder / name) as d:
        return d["elevation_m"].astype(np.float64), d["lat_deg"].copy(), d["lon_deg"].copy()


def up(lat_deg, lon_deg):
    lat, lon = math.radians(lat_deg), math.radians(lon_deg)
    return np.array([math.cos(lat) * math.cos(lon), math.cos(lat) * math.sin(lon),
                     math.sin(lat)])


# pixels (row, col) per file: Atlas centre area, and scattered pixels the higher layers miss
PIXELS = {
    "moon_atlas_crater_gld100_256ppd.npz": [(706, 865), (706, 864), (0, 0), (1279, 1791),
                                            (300, 1500), (1000, 200)],
    "moon_atlas_region_gld100_128ppd.npz": [(1500, 400), (100, 3700), (1919, 0)],
    "moon_global_lola_8ppd.npz": [(800, 1600), (0, 10), (1439, 2879), (700, 0)],
}
ONBOARD_PIXELS = {
    "moon_atlas_region_lola_ldem16.npz": [(105, 231), (0, 0), (239, 479)],
    "moon_global_lola_ldem4.npz": [(400, 800), (719, 1439), (0, 0)],
}


@pytest.mark.parametrize(("terrain_name", "pixels"),
                         [("truth", PIXELS), ("onboard", ONBOARD_PIXELS)])
def test_height_at_pixel_centres_equals_file_values(folder, truth, onboard, terrain_name,
                                                    pixels):
    terrain = truth if terrain_name == "truth" else onboard
    for name, ij in pixels.items():
        elev, lat, lon = raw(folder, name)
        rows, cols = np.array(ij).T
        got = terrain.height(lat[rows], lon[cols])  # array call
        np.testing.assert_allclose(got, elev[rows, cols], rtol=0, atol=1e-6, err_msg=name)
        i, j = ij[0]
        assert abs(terrain.height(lat[i], lon[j]) - elev[i, j]) < 1e-6  # scalar call


def test_height_halfway_between_four_centres_is_their_mean(folder, truth):
    elev, lat, lon = raw(folder, "moon_atlas_crater_gld100_256ppd.npz")
    for i, j in [(706, 864), (200, 1700), (1100, 50)]:
        mid = truth.height(0.5 * (lat[i] + lat[i + 1]), 0.5 * (lon[j] + lon[j + 1]))
        assert abs(mid - elev[i:i + 2, j:j + 2].mean()) < 1e-6


def test_atlas_floor_depth_matches_readme(truth, onboard):
    h_truth = truth.height(ATLAS_LAT, ATLAS_LON)
    h_onboard = onboard.height(ATLAS_LAT, ATLAS_LON)
    assert abs(h_truth - (-3114.0)) < 20.0  # README: GLD100 -3114 m at the centre
    assert abs(h_onboard - (-3074.0)) < 50.0  # README: LOLA 16 ppd -3074 m
    assert 1.0 < abs(h_truth - h_onboard) < 300.0


def test_atlas_walls_are_steep_but_within_readme_limits(truth):
    # README: local wall slopes on the 256 ppd grid reach 34 deg at most
    lat = np.linspace(46.0, 47.5, 301)
    slopes = truth.slope_deg(lat[:, None], np.linspace(43.5, 45.3, 301)[None, :])
    assert slopes.shape == (301, 301)
    assert 20.0 < slopes.max() < 40.0


def test_ray_straight_down_agrees_with_height(truth, onboard):
    for terrain in (truth, onboard):
        for lat, lon in [(ATLAS_LAT, ATLAS_LON), (45.3, 44.4), (-10.0, 250.0), (50.0, 35.0)]:
            u = up(lat, lon)
            got = terrain.ray_cast((R_REF + 10_000.0) * u, -u, 30_000.0)
            assert abs(got - (10_000.0 - terrain.height(lat, lon))) < 1e-3


def test_slant_ray_into_atlas_finds_first_crossing(truth):
    # 8 km above 45.3 N 44.4 E, beam 50 deg from nadir toward north: march it every 0.25 m
    lat0, lon0 = 45.3, 44.4
    u = up(lat0, lon0)
    north = np.array([-math.sin(math.radians(lat0)) * math.cos(math.radians(lon0)),
                      -math.sin(math.radians(lat0)) * math.sin(math.radians(lon0)),
                      math.cos(math.radians(lat0))])
    origin = (R_REF + truth.height(lat0, lon0) + 8_000.0) * u
    d = -math.cos(math.radians(50.0)) * u + math.sin(math.radians(50.0)) * north
    got = truth.ray_cast(origin, d, 30_000.0)
    s = np.arange(0.0, 30_000.0, 0.25)
    p = origin[None, :] + s[:, None] * d[None, :]
    lat = np.degrees(np.arctan2(p[:, 2], np.hypot(p[:, 0], p[:, 1])))
    lon = np.degrees(np.arctan2(p[:, 1], p[:, 0]))
    above = np.linalg.norm(p, axis=1) - R_REF - truth.height(lat, lon)
    first = s[np.flatnonzero(above <= 0.0)[0]]
    assert first - 0.25 <= got <= first
    hit = origin + got * d
    lat_h = math.degrees(math.atan2(hit[2], math.hypot(hit[0], hit[1])))
    lon_h = math.degrees(math.atan2(hit[1], hit[0]))
    assert abs(np.linalg.norm(hit) - R_REF - truth.height(lat_h, lon_h)) < 1e-3


def test_loading_twice_is_cached(folder, truth):
    assert load_truth_terrain(folder) is truth
    assert load_truth_terrain() is truth
    assert [t.name for t in truth.tiles] == list(TRUTH_TILES)
    assert [t.name for t in load_onboard_map(folder).tiles] == list(ONBOARD_TILES)


def test_tile_metadata_follows_readme(folder):
    tile = load_tile(folder / "moon_global_lola_8ppd.npz")
    assert tile.wraps and tile.ppd == 8.0 and tile.elevation_m.dtype == np.float32
    assert tile.bounds_deg == (-90.0, 90.0, 0.0, 360.0)
    crater = load_tile(folder / "moon_atlas_crater_gld100_256ppd.npz")
    assert not crater.wraps and crater.elevation_m.shape == (1280, 1792)
    assert "GLD100" in crater.product


# ---------------------------------------------------------------- errors (no data needed)


def test_missing_tile_names_the_file_and_the_variable(tmp_path):
    with pytest.raises(DataFileError) as info:
        load_tile(tmp_path / "moon_atlas_crater_gld100_256ppd.npz")
    msg = str(info.value)
    assert "moon_atlas_crater_gld100_256ppd.npz" in msg and "TOUCHDOWN_DATA" in msg
    assert "README" in msg
    with pytest.raises(DataFileError, match=TRUTH_TILES[0].replace(".", r"\.")):
        load_truth_terrain(tmp_path)


def test_tile_with_wrong_keys_names_the_missing_key(tmp_path):
    np.savez(tmp_path / "bad.npz", elevation=np.zeros((2, 2)))
    with pytest.raises(DataFileError, match="missing key 'elevation_m'"):
        load_tile(tmp_path / "bad.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip file")
    with pytest.raises(DataFileError, match=r"junk\.npz: not a readable \.npz"):
        load_tile(tmp_path / "junk.npz")


def damaged_copy(src: Path, dest: Path, how: str) -> Path:
    """A copy of the tile src at dest: its elevation deflate stream broken, or truncated."""
    data = bytearray(src.read_bytes())
    if how == "truncated":
        data = data[: len(data) // 2]
    else:  # the first deflate block of elevation_m.npy made of the reserved type 3
        with zipfile.ZipFile(src) as z:
            info = z.getinfo("elevation_m.npy")
        assert info.compress_type == zipfile.ZIP_DEFLATED
        h = info.header_offset  # local header: 30 octets, then the name and the extra field
        start = h + 30 + int.from_bytes(data[h + 26:h + 28], "little") + int.from_bytes(
            data[h + 28:h + 30], "little")
        data[start] = 0b111  # BFINAL 1, BTYPE 11: "invalid block type"
    dest.write_bytes(bytes(data))
    return dest


@pytest.mark.parametrize("how", ["deflate", "truncated"])
def test_damaged_tile_names_the_file_and_the_fix(folder, tmp_path, how):
    name = ONBOARD_TILES[0]
    path = damaged_copy(folder / name, tmp_path / name, how)
    with pytest.raises(DataFileError) as info:
        load_tile(path)
    msg = str(info.value)
    assert msg.startswith(f"{path}: not a readable .npz file, damaged or truncated ("), msg
    assert f"replace it with an intact copy of {name} from ../shared/data" in msg, msg
    assert "README" in msg
    if how == "deflate":
        assert isinstance(info.value.__cause__, zlib.error)


def test_fly_with_a_damaged_tile_exits_2_naming_the_tile(folder, tmp_path, monkeypatch):
    data = tmp_path / "data"
    data.mkdir()
    for name in (*TRUTH_TILES, *ONBOARD_TILES):
        (data / name).symlink_to(folder / name)
    damaged = ONBOARD_TILES[0]
    (data / damaged).unlink()
    damaged_copy(folder / damaged, data / damaged, "deflate")
    monkeypatch.setenv("TOUCHDOWN_DATA", str(data))
    result = CliRunner().invoke(main, ["fly", "hakuto-r-m1", "-q"])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {data / damaged}: "), result.stderr
    assert "damaged" in lines[0] and "intact copy" in lines[0], lines[0]


def test_data_dir_uses_the_variable_then_the_shared_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("TOUCHDOWN_DATA", str(tmp_path))
    assert data_dir() == tmp_path
    monkeypatch.delenv("TOUCHDOWN_DATA")
    work = tmp_path / "repo"
    shared = tmp_path / "shared" / "data"
    work.mkdir()
    monkeypatch.chdir(work)
    with pytest.raises(DataFileError, match="set TOUCHDOWN_DATA to the folder holding"):
        data_dir()
    shared.mkdir(parents=True)
    assert data_dir() == shared.resolve()
    assert dem_tiles.DATA_ENV == "TOUCHDOWN_DATA"


def test_the_tile_cache_gives_the_tile_and_is_renewed_when_the_tile_or_the_cache_changes(
        folder, tmp_path, monkeypatch):
    """A tile read through the cache equals the file's, gradient bound included; a tile whose
    bytes change gets its own entry; a damaged entry is read past and written anew; a cache
    that cannot be written does not stop the loading."""
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "cache"))
    name = ONBOARD_TILES[0]
    first = load_tile(folder / name)  # from the file; the cache written
    entries = list((tmp_path / "cache" / dem_tiles.TILE_CACHE).iterdir())
    assert len(entries) == 1 and entries[0].name.startswith(Path(name).stem)
    again = load_tile(folder / name)  # from the cache
    for f in ("elevation_m", "lat_deg", "lon_deg"):
        assert np.array_equal(getattr(first, f), getattr(again, f))
        assert not getattr(again, f).flags.writeable
    assert (again.name, again.product, again.ppd, again.bounds_deg, again.wraps) == (
        first.name, first.product, first.ppd, first.bounds_deg, first.wraps)
    assert again.grad_max == first.grad_max == dem_tiles._gradient_bound(first)
    entries[0].write_bytes(b"not a tile")  # damaged: the tile is read again, the entry renewed
    assert np.array_equal(load_tile(folder / name).elevation_m, first.elevation_m)
    assert entries[0].stat().st_size > 1000
    with np.load(folder / name) as npz:  # the same tile with one height changed
        arrays = {k: npz[k] for k in npz.files}
    arrays["elevation_m"] = arrays["elevation_m"].copy()
    arrays["elevation_m"][0, 0] += 100.0
    changed = tmp_path / name
    np.savez_compressed(changed, **arrays)
    assert load_tile(changed).elevation_m[0, 0] == first.elevation_m[0, 0] + 100.0
    assert len(list((tmp_path / "cache" / dem_tiles.TILE_CACHE).iterdir())) == 2
    (tmp_path / "a file").write_text("")  # a cache that cannot be made (even by root)
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "a file" / "cache"))
    assert load_tile(folder / name).grad_max == first.grad_max
