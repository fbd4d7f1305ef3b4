"""Terrain queries on layered lat/lon height grids (compiled): height, slope, normal, ray cast.

A terrain is two arrays, built by ``touchdown.moon.dem_tiles`` (the shell) or by hand:

``elev``  1-D float32 (m above ``R_REF``): every layer's grid, row-major, concatenated.
``meta``  2-D float64, shape (n_layers, ``N_TERRAIN_META``), one row per layer, in priority
          order; its columns are declared in ``core.layout`` (``TERRAIN_META``, unit and
          meaning of each):

================  =========================================================================
``TM_OFFSET``     offset of the layer's first value in ``elev``
``TM_ROWS``       nrows; rows run north to south (latitude decreasing), at least 2
``TM_COLS``       ncols; columns run east (longitude increasing), at least 2
``TM_LAT0``       latitude of the first row's pixel centre (rad)
``TM_LON0``       longitude of the first column's pixel centre (rad)
``TM_PIXEL``      pixel size, the same in latitude and longitude (rad)
``TM_WRAPS``      1 if the layer wraps in longitude (a global grid: ``ncols * pixel = 2 pi``)
``TM_GRAD_MAX``   bound G on ``|dh/dlat|`` and ``|dh/dlon|`` of the layer's surface, polar caps
                  included (m/rad); written by ``fill_bounds``, which a hand-built terrain must
                  call too, because ``ray_cast`` relies on it (0 would mean a flat layer)
``TM_HEIGHT_MAX`` the layer's highest value (m), a bound on its surface; written by
                  ``fill_bounds``
================  =========================================================================

A point is served by the first layer whose bilinear cell (the square between four pixel
centres) contains it. A wrapping layer also covers the polar caps beyond its first and last
row centres, where the height blends linearly in latitude from the edge row to that row's
first value at the pole (continuous, single-valued at the pole). Latitudes are
planetocentric and longitudes east-positive; any longitude value is accepted. No kernel
raises: a point that no layer covers gives NaN (and layer index -1).
"""

import math

import numpy as np

from touchdown._compile import kernel
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
from touchdown.moon.constants import R_REF
from touchdown.moon.frames import latlon_from_mcmf, mcmf_from_latlon

__all__ = [
    "META_COLS",
    "fill_bounds",
    "latlon_from_mcmf",
    "mcmf_from_latlon",
    "ray_cast",
    "ray_cast_from",
    "ray_origin",
    "terrain_height",
    "terrain_height_bound",
    "terrain_height_grad",
    "terrain_height_many",
    "terrain_max_in_box",
    "terrain_normal",
    "terrain_slope",
    "terrain_slope_many",
]

META_COLS = N_TERRAIN_META  # -, columns of the meta array (``core.layout.TERRAIN_META``)
TWO_PI = 2.0 * math.pi  # rad
HALF_PI = 0.5 * math.pi  # rad
EDGE_EPS = 1e-9  # pixels, rounding allowance that keeps a layer's outermost centres inside it

# Ray cast tunables (see ray_cast for the reasoning).
RHO_LOW = 0.98 * R_REF  # m, lower bound on the radius of any ray point above the terrain
COS_FLOOR = 1e-9  # -, floor on cos(lat) in the Lipschitz bound (poles)
CELL_FRACTION = 0.25  # -, near-surface probe step as a fraction of the current cell width
STEP_TOL = 1e-4  # m, smallest probe step; a dip shorter than this along the ray may be missed
ROOT_TOL = 1e-4  # m, width of the final bracket around the hit
MAX_EVALS = 200_000  # -, budget of terrain evaluations per ray (only polar rays come close)
MAX_REFINE = 100  # -, budget of root-refinement iterations
TOP_MARGIN = 1.0  # m, allowance for rounding above the highest layer value
BAND = 2e-3  # rad, latitude margin of a ray's Lipschitz constant, so it is rarely recomputed
SMALL_ANGLE = 0.02  # -, tangent up to which an angle is summed from its series (~35 km)


@kernel
def _cap_sample(elev, meta, k, edge, j, j1, u, lat):
    """Height (m) and gradient (m/rad) in the polar cap beyond edge row `edge` of layer k.

    The height blends linearly in latitude from the edge row (interpolated in longitude) at
    the row centre to the row's first value at the pole, so the surface is continuous,
    single-valued at the pole and of bounded slope: with w the blend weight, the east slope
    (1 - w) dr/dlon / (rho cos lat) stays below its value on the edge row.
    """
    pix = meta[k, TM_PIXEL]
    row = int(meta[k, TM_OFFSET]) + edge * int(meta[k, TM_COLS])
    r0 = np.float64(elev[row + j])
    r1 = np.float64(elev[row + j1])
    r = r0 + u * (r1 - r0)  # m, edge row at this longitude
    pole = np.float64(elev[row])  # m, height at the pole
    lat_edge = meta[k, TM_LAT0] - edge * pix
    width = HALF_PI - abs(lat_edge)  # rad, cap width
    if width <= 0.0:
        return r, 0.0, (r1 - r0) / pix
    w = min(max((abs(lat) - abs(lat_edge)) / width, 0.0), 1.0)
    sign = 1.0 if lat > 0.0 else -1.0
    return r + w * (pole - r), sign * (pole - r) / width, (1.0 - w) * (r1 - r0) / pix


@kernel(inline=True)
def _sample(elev, meta, lat, lon):
    """Bilinear height and gradient at (lat, lon) (rad) from the first layer that covers it.

    Returns
    -------
    (k, h, dh_dlat, dh_dlon) : layer index (-1 if none covers the point), height (m),
        gradient (m/rad); the last three are NaN when k is -1.
    """
    nan = math.nan
    if not (math.isfinite(lat) and math.isfinite(lon)):
        return -1, nan, nan, nan
    for k in range(meta.shape[0]):
        nrows = int(meta[k, TM_ROWS])
        ncols = int(meta[k, TM_COLS])
        lat0 = meta[k, TM_LAT0]
        lon0 = meta[k, TM_LON0]
        pix = meta[k, TM_PIXEL]
        wraps = meta[k, TM_WRAPS] != 0.0
        fr = (lat0 - lat) / pix  # fractional row, 0 at the first (northern) row centre
        cap = False
        if not (fr >= 0.0 and fr <= nrows - 1.0):
            if wraps:
                cap = True  # polar cap of a global layer (see _cap_sample)
            elif not (fr >= -EDGE_EPS and fr <= nrows - 1.0 + EDGE_EPS):
                continue
            fr = 0.0 if fr < 0.0 else nrows - 1.0
        dl = lon - lon0
        if not (dl >= 0.0 and dl < TWO_PI):
            dl -= TWO_PI * math.floor(dl / TWO_PI)  # rad, in [0, 2 pi]
        fc = dl / pix  # fractional column
        if wraps:
            j = int(fc)
            if j >= ncols:  # dl rounded to 2 pi
                j -= ncols
                fc -= ncols
            j1 = j + 1 if j + 1 < ncols else 0
        else:
            if fc > ncols - 1.0:
                if fc <= ncols - 1.0 + EDGE_EPS:  # on the last column centre, up to rounding
                    fc = ncols - 1.0
                elif fc >= TWO_PI / pix - EDGE_EPS:  # on the first column centre
                    fc = 0.0
                else:
                    continue
            j = int(fc)
            if j > ncols - 2:
                j = ncols - 2
            j1 = j + 1
        u = fc - j  # -, eastward fraction of the cell
        if cap:
            edge = 0 if fr == 0.0 else nrows - 1
            h, dh_dlat, dh_dlon = _cap_sample(elev, meta, k, edge, j, j1, u, lat)
            return k, h, dh_dlat, dh_dlon
        i = int(fr)
        if i > nrows - 2:
            i = nrows - 2
        t = fr - i  # -, southward fraction of the cell
        base = int(meta[k, TM_OFFSET]) + i * ncols
        h00 = np.float64(elev[base + j])
        h01 = np.float64(elev[base + j1])
        h10 = np.float64(elev[base + ncols + j])
        h11 = np.float64(elev[base + ncols + j1])
        top = h00 + u * (h01 - h00)
        bottom = h10 + u * (h11 - h10)
        h = top + t * (bottom - top)
        dh_dlat = -(bottom - top) / pix
        dh_dlon = ((1.0 - t) * (h01 - h00) + t * (h11 - h10)) / pix
        return k, h, dh_dlat, dh_dlon
    return -1, nan, nan, nan


@kernel
def terrain_height(elev, meta, lat, lon):
    """Bilinear terrain height (m above R_REF) at lat, lon (rad); NaN where no layer covers."""
    return _sample(elev, meta, lat, lon)[1]


@kernel
def terrain_height_grad(elev, meta, lat, lon, out):
    """Height and gradient of the bilinear surface at lat, lon (rad).

    Parameters
    ----------
    elev, meta : terrain arrays (see module docstring).
    lat, lon : float
        Planetocentric latitude and east longitude (rad).
    out : (3,) float64
        Written: height (m), dh/dlat (m/rad), dh/dlon (m/rad); NaN where no layer covers.

    Returns
    -------
    int
        Index of the layer used, or -1 where no layer covers the point.
    """
    k, h, dh_dlat, dh_dlon = _sample(elev, meta, lat, lon)
    out[0] = h
    out[1] = dh_dlat
    out[2] = dh_dlon
    return k


@kernel
def _slope_parts(h, dh_dlat, dh_dlon, lat):
    """North and east surface gradients (m/m) on the sphere of radius R_REF + h (m)."""
    rho = R_REF + h
    c = max(math.cos(lat), COS_FLOOR)
    return dh_dlat / rho, dh_dlon / (rho * c)


@kernel
def terrain_slope(elev, meta, lat, lon):
    """Slope angle (rad) of the bilinear surface at lat, lon (rad); NaN where no layer covers.

    The gradient is taken on the sphere of radius R_REF + h: north component
    dh/dlat / (R_REF + h), east component dh/dlon / ((R_REF + h) cos lat).
    """
    k, h, dh_dlat, dh_dlon = _sample(elev, meta, lat, lon)
    if k < 0:
        return math.nan
    g_n, g_e = _slope_parts(h, dh_dlat, dh_dlon, lat)
    return math.atan(math.sqrt(g_n * g_n + g_e * g_e))


@kernel
def terrain_height_many(elev, meta, lat, lon, out):
    """Write terrain_height at each lat[i], lon[i] (rad) into out[i] (m); return NaN count."""
    n_nan = 0
    for i in range(lat.shape[0]):
        out[i] = _sample(elev, meta, lat[i], lon[i])[1]
        if math.isnan(out[i]):
            n_nan += 1
    return n_nan


@kernel
def terrain_slope_many(elev, meta, lat, lon, out):
    """Write terrain_slope at each lat[i], lon[i] (rad) into out[i] (rad); return NaN count."""
    n_nan = 0
    for i in range(lat.shape[0]):
        out[i] = terrain_slope(elev, meta, lat[i], lon[i])
        if math.isnan(out[i]):
            n_nan += 1
    return n_nan


@kernel
def terrain_normal(elev, meta, r_mcmf, out_n):
    """Unit outward normal (mcmf) of the surface r = R_REF + h(lat, lon) below r_mcmf (m).

    For the surface P = (R_REF + h) e_up, dP/dlon x dP/dlat is along
    e_up - g_n e_north - g_e e_east with g_n, g_e the gradients of ``terrain_slope``.

    Returns
    -------
    float
        Terrain height (m) at the lat/lon of r_mcmf; NaN (and out_n NaN) where no layer covers.
    """
    x, y, z = r_mcmf[0], r_mcmf[1], r_mcmf[2]
    lat = math.atan2(z, math.sqrt(x * x + y * y))
    lon = math.atan2(y, x)
    k, h, dh_dlat, dh_dlon = _sample(elev, meta, lat, lon)
    if k < 0:
        out_n[0] = math.nan
        out_n[1] = math.nan
        out_n[2] = math.nan
        return math.nan
    g_n, g_e = _slope_parts(h, dh_dlat, dh_dlon, lat)
    sl, cl = math.sin(lat), math.cos(lat)
    so, co = math.sin(lon), math.cos(lon)
    # up = (cl co, cl so, sl); north = (-sl co, -sl so, cl); east = (-so, co, 0)
    nx = cl * co + g_n * sl * co + g_e * so
    ny = cl * so + g_n * sl * so - g_e * co
    nz = sl - g_n * cl
    inv = 1.0 / math.sqrt(nx * nx + ny * ny + nz * nz)
    out_n[0] = nx * inv
    out_n[1] = ny * inv
    out_n[2] = nz * inv
    return h


@kernel
def fill_bounds(elev, meta):
    """Write into meta[:, TM_GRAD_MAX] each layer's bound on |dh/dlat| and |dh/dlon| (m/rad),
    and into meta[:, TM_HEIGHT_MAX] its highest value (m).

    The bilinear gradient components inside a cell are convex combinations of differences
    between neighbouring pixels divided by the pixel size, so the largest such difference
    (including the longitude seam of a wrapping layer) divided by the pixel size bounds them;
    a wrapping layer's polar caps add |edge value - pole value| / cap width. A bilinear cell
    lies within its corners and a polar cap within its edge row and pole value, so no point
    of a layer's surface is above its highest value.
    """
    for k in range(meta.shape[0]):
        off = int(meta[k, TM_OFFSET])
        nrows = int(meta[k, TM_ROWS])
        ncols = int(meta[k, TM_COLS])
        wraps = meta[k, TM_WRAPS] != 0.0
        d_max = 0.0
        h_max = -math.inf
        for i in range(nrows):
            row = off + i * ncols
            for j in range(ncols):
                h = np.float64(elev[row + j])
                if h > h_max:
                    h_max = h
                if j + 1 < ncols:
                    d_max = max(d_max, abs(np.float64(elev[row + j + 1]) - h))
                elif wraps:
                    d_max = max(d_max, abs(np.float64(elev[row]) - h))
                if i + 1 < nrows:
                    d_max = max(d_max, abs(np.float64(elev[row + ncols + j]) - h))
        g = d_max / meta[k, TM_PIXEL]
        if wraps:  # polar caps: |dh/dlat| = |pole - r| / cap width
            for edge in (0, nrows - 1):
                width = HALF_PI - abs(meta[k, TM_LAT0] - edge * meta[k, TM_PIXEL])
                row = off + edge * ncols
                if width > 0.0:
                    for j in range(ncols):
                        g = max(g, abs(np.float64(elev[row + j]) - np.float64(elev[row])) / width)
        meta[k, TM_GRAD_MAX] = g
        meta[k, TM_HEIGHT_MAX] = h_max


@kernel
def terrain_height_bound(meta):
    """Height (m above R_REF) that no point of the terrain exceeds (+inf without the
    TM_HEIGHT_MAX column)."""
    if meta.shape[1] <= TM_HEIGHT_MAX:
        return math.inf
    h = -math.inf
    for k in range(meta.shape[0]):
        h = max(h, meta[k, TM_HEIGHT_MAX])
    return h


@kernel
def _layers_top(meta, lat_lo, lat_hi, lon_lo, lon_w):
    """Bound (m) on the terrain at every point of a lat/lon box (rad): the highest value of the
    layers that may serve a point of it, down to the first layer whose coverage holds the whole
    box (the lower ones serve none of it). +inf when no layer holds the box, or without
    the TM_HEIGHT_MAX column. The box is [lat_lo, lat_hi] x [lon_lo, lon_lo + lon_w], lon_w < 2 pi.
    """
    if meta.shape[1] <= TM_HEIGHT_MAX:
        return math.inf
    h = -math.inf
    for k in range(meta.shape[0]):
        if meta[k, TM_WRAPS] != 0.0:  # a wrapping layer covers every point
            return max(h, meta[k, TM_HEIGHT_MAX])
        pix = meta[k, TM_PIXEL]
        tol = EDGE_EPS * pix
        lat_top = meta[k, TM_LAT0]
        lat_bot = lat_top - (meta[k, TM_ROWS] - 1.0) * pix
        width = (meta[k, TM_COLS] - 1.0) * pix
        d = lon_lo - meta[k, TM_LON0]
        d -= TWO_PI * math.floor(d / TWO_PI)  # rad, box start east of the layer's first column
        if lat_bot <= lat_lo and lat_hi <= lat_top and d + lon_w <= width:
            return max(h, meta[k, TM_HEIGHT_MAX])
        if (lat_lo <= lat_top + tol and lat_hi >= lat_bot - tol
                and (d <= width + tol or d + lon_w >= TWO_PI - tol)):
            h = max(h, meta[k, TM_HEIGHT_MAX])
    return math.inf


@kernel
def _max_in_range(elev, row, j0, j1, ncols, wraps, h):
    """Largest of h and the values of columns j0..j1 (wrapped when wraps) of a row at `row`."""
    for jj in range(j0, j1 + 1):
        j = jj % ncols if wraps else jj
        v = np.float64(elev[row + j])
        if v > h:
            h = v
    return h


@kernel
def terrain_max_in_box(elev, meta, lat_lo, lat_hi, lon_lo, lon_hi):
    """Bound (m above R_REF) on the terrain height at every point of a lat/lon box (rad).

    The largest grid value of every layer cell that meets the box, whichever layer serves
    each point (a bilinear cell lies within its four corners; a polar cap within its edge row
    and its pole value). -inf where no layer meets the box. The box needs lat_lo <= lat_hi
    within [-pi/2, pi/2] and lon_lo <= lon_hi < lon_lo + 2 pi; longitudes may take any value.
    Its cost grows with the number of pixels in the box: meant for small boxes.
    """
    h = -math.inf
    for k in range(meta.shape[0]):
        off = int(meta[k, TM_OFFSET])
        nrows = int(meta[k, TM_ROWS])
        ncols = int(meta[k, TM_COLS])
        pix = meta[k, TM_PIXEL]
        wraps = meta[k, TM_WRAPS] != 0.0
        fr_lo = (meta[k, TM_LAT0] - lat_hi) / pix
        fr_hi = (meta[k, TM_LAT0] - lat_lo) / pix
        if not wraps and (fr_hi < -EDGE_EPS or fr_lo > nrows - 1.0 + EDGE_EPS):
            continue
        i0 = min(max(math.floor(fr_lo), 0), nrows - 1)
        i1 = min(max(math.ceil(fr_hi), 0), nrows - 1)
        dl = lon_lo - meta[k, TM_LON0]
        dl -= TWO_PI * math.floor(dl / TWO_PI)  # rad, in [0, 2 pi]
        fc_lo = dl / pix
        fc_hi = fc_lo + (lon_hi - lon_lo) / pix
        for i in range(i0, i1 + 1):
            row = off + i * ncols
            if wraps:
                j0 = math.floor(fc_lo)
                j1 = math.ceil(fc_hi)
                if j1 - j0 >= ncols:
                    j0, j1 = 0, ncols - 1
                h = _max_in_range(elev, row, j0, j1, ncols, True, h)
            else:  # the box, and the box one turn west (it may straddle the layer's 2 pi)
                for shift in (0.0, TWO_PI / pix):
                    a, b = fc_lo - shift, fc_hi - shift
                    if b < -EDGE_EPS or a > ncols - 1.0 + EDGE_EPS:
                        continue
                    j0 = min(max(math.floor(a), 0), ncols - 1)
                    j1 = min(max(math.ceil(b), 0), ncols - 1)
                    h = _max_in_range(elev, row, j0, j1, ncols, False, h)
        if wraps and fr_lo < 0.0:  # north polar cap: its pole value too
            h = max(h, np.float64(elev[off]))
        if wraps and fr_hi > nrows - 1.0:
            h = max(h, np.float64(elev[off + (nrows - 1) * ncols]))
    return h


@kernel(inline=True)
def _small_atan2(num, den):
    """atan2(num, den) (rad); for |num| <= SMALL_ANGLE den by its series, which is exact to
    rounding there (the first term left out is below 1e-18 of the result) and cheaper than
    the library's atan2."""
    if den > 0.0 and abs(num) <= SMALL_ANGLE * den:
        t = num / den
        t2 = t * t
        return t * (1.0 - t2 * (1.0 / 3.0 - t2 * (0.2 - t2 * (1.0 / 7.0 - t2 / 9.0))))
    return math.atan2(num, den)


@kernel
def ray_origin(origin_mcmf):
    """What a ray cast needs of its origin (m, Moon-fixed): the origin, its latitude,
    longitude (rad) and distance from the polar axis (m), from which ray points are placed.
    Rays cast from one point (a velocimeter's beams) share it (``ray_cast_from``)."""
    ox, oy, oz = origin_mcmf[0], origin_mcmf[1], origin_mcmf[2]
    rxy = math.sqrt(ox * ox + oy * oy)
    return ox, oy, oz, math.atan2(oz, rxy), math.atan2(oy, ox), rxy


@kernel(inline=True)
def _ray_f(elev, meta, ray, s):
    """Height above the terrain (m) of the ray point at distance s (m), its layer, latitude
    (rad) and the rate of change of its radius along the ray (-).

    The point's latitude and longitude are the origin's plus the angles between them
    (tan(a - b) from the tangents of a and b), small near the origin.
    """
    ox, oy, oz, dx, dy, dz, lat_o, lon_o, rxy_o = ray
    x = ox + s * dx
    y = oy + s * dy
    z = oz + s * dz
    rxy2 = x * x + y * y
    rxy = math.sqrt(rxy2)
    rho = math.sqrt(rxy2 + z * z)
    lat = lat_o + _small_atan2(z * rxy_o - rxy * oz, rxy * rxy_o + z * oz)
    if rxy_o > 0.0:
        lon = lon_o + _small_atan2(ox * y - oy * x, ox * x + oy * y)
    else:  # from a pole every longitude is as near
        lon = math.atan2(y, x)
    k, h, _, _ = _sample(elev, meta, lat, lon)
    return rho - R_REF - h, k, lat, (x * dx + y * dy + z * dz) / rho


@kernel
def _lipschitz(g, cos_lat):
    """Bound on |d f / d s| (-) for f = |p| - R_REF - h where cos(lat) >= cos_lat (-).

    With d = d_up e_up + d_n e_north + d_e e_east (|d| = 1), dlat/ds = d_n / rho and
    dlon/ds = d_e / (rho cos lat), so |f'| <= |d_up| + (G / rho)(|d_n| + |d_e| / cos lat),
    and by Cauchy-Schwarz <= sqrt(1 + (G / rho)^2 (1 + 1 / cos^2 lat)). g is G / RHO_LOW.
    """
    c = max(cos_lat, COS_FLOOR)
    return math.sqrt(1.0 + g * g * (1.0 + 1.0 / (c * c)))


@kernel
def _cones_cover(fa, fb, k_fwd, k_back, step):
    """Whether [a, a + step] is free of the surface, given f > 0 at both ends (fa, fb, m) and
    f falling at most k_fwd per metre forward from a and k_back per metre back from b."""
    if k_fwd <= 0.0 or k_back <= 0.0:
        return True
    return fa / k_fwd + fb / k_back > step


@kernel
def _north_east(ray, s):
    """|north| and |east| components (-) of the ray's direction at its point s (m)."""
    ox, oy, oz, dx, dy, dz, _, _, _ = ray
    x, y, z = ox + s * dx, oy + s * dy, oz + s * dz
    rxy = math.sqrt(x * x + y * y)
    rho = math.sqrt(rxy * rxy + z * z)
    if rxy <= 0.0:
        return 1.0, 1.0
    east = abs(x * dy - y * dx) / rxy
    north = abs(rxy * dz - z * (x * dx + y * dy) / rxy) / rho
    return north, east


@kernel
def _cell_step(meta, k, lat, rho):
    """Probe step (m): CELL_FRACTION of layer k's narrowest cell width at lat (rad), rho (m)."""
    c = max(math.cos(lat), 1e-3)
    return max(CELL_FRACTION * meta[k, TM_PIXEL] * rho * c, STEP_TOL)


@kernel
def _refine(elev, meta, ray, a, fa, b, fb):
    """Root of f in [a, b] (m) with fa > 0 >= fb, by Illinois regula falsi with bisection,
    each point kept ROOT_TOL / 2 inside the bracket."""
    side = 0
    for it in range(MAX_REFINE):
        if b - a <= ROOT_TOL:
            break
        c = a + fa * (b - a) / (fa - fb)
        if not (c > a and c < b) or it % 4 == 3:
            c = 0.5 * (a + b)
        # at least half a tolerance inside either end: a point that lands next to the root
        # then leaves the next one on its other side, and the bracket closes
        c = min(max(c, a + 0.5 * ROOT_TOL), b - 0.5 * ROOT_TOL)
        fc, kc, _, _ = _ray_f(elev, meta, ray, c)
        if kc < 0:
            return math.nan
        if fc == 0.0:
            return c
        if fc > 0.0:
            a, fa = c, fc
            if side == 1:
                fb *= 0.5
            side = 1
        else:
            b, fb = c, fc
            if side == -1:
                fa *= 0.5
            side = -1
    return 0.5 * (a + b)


@kernel(inline=True)
def ray_cast(elev, meta, origin_mcmf, dir_mcmf, max_range):
    """Distance (m) along dir_mcmf from origin_mcmf to the first point on the terrain surface:
    ``ray_cast_from`` with the origin's ``ray_origin``."""
    return ray_cast_from(elev, meta, ray_origin(origin_mcmf), dir_mcmf, max_range)


@kernel
def ray_cast_from(elev, meta, origin, dir_mcmf, max_range):
    """Distance (m) along dir_mcmf from the origin (``ray_origin``) to the first point on the
    terrain surface.

    The surface is r = R_REF + h(lat, lon) with h the layered bilinear height. With
    f(s) = |o + s d| - R_REF - h(lat, lon) (m), the result is the first s in [0, max_range]
    where f goes from positive to zero or below, bracketed to ROOT_TOL.

    Why nothing is skipped: first, no point of the surface within reach lies above the
    highest value of the layers that can serve the ray's footprint (``_layers_top``, over a
    lat/lon box holding every point within max_range), so the walk starts where the ray comes
    down to that height, found in closed form (or gives up at once if it never does). Then,
    inside one layer f is Lipschitz with the constant K of ``_lipschitz`` (from the per-layer
    gradient bounds, meta's TM_GRAD_MAX column). From a point s with f(s) > 0 the stretch
    [s, s + f(s)/K) is therefore free of the surface, so far from the ground the walk takes
    those steps (sphere tracing: a few dozen evaluations from 10 km). Near the ground it
    probes a quarter of the current cell ahead (point b) and accepts [s, b] as free when
    f(s) + f(b) > K (b - s) (the two one-sided cones cover it); else it halves the probe, down
    to STEP_TOL (a dip shorter than that along the ray, at most K STEP_TOL / 2 deep, could be
    missed). Across a layer seam the height may jump, so both f(s) and f(b) must then reach
    K (b - s), and a long step that ends below the surface in another layer is halved until it
    is at most a quarter cell. The first probe with f(b) <= 0 thus brackets the hit either at
    the end of a surface-free step or within a quarter cell, where f is close to one quadratic
    (a bilinear patch along a nearly straight path in lat/lon), so the bracket holds one
    crossing, refined by regula falsi to ROOT_TOL.
    Both tests are sharpened by splitting f's rate into the ray's own radius rate, known
    exactly (|o + s d| is convex, so it only grows along the ray), and the terrain's rise, at
    most the layer's slope bounds taken along the ray's north and east components: a step or a
    pair of one-sided cones is free when either the plain K or this split allows it.
    K is evaluated at the largest |lat| a step can reach (the east metric grows as
    1/cos(lat)), but not beyond the outermost row centre (in the polar caps the east slope
    is capped, see ``_cap_sample``), at the radius RHO_LOW; it is kept for a band of
    latitude BAND wider than needed and recomputed only when a step could leave the band.
    Layers are assumed wider than one step, so a step never jumps over a whole layer. Near
    the poles K grows as 1/cos(lat) and the walk slows down (about 0.1-2 ms within 1 deg of
    a pole).

    Parameters
    ----------
    elev, meta : terrain arrays (see module docstring).
    origin : tuple
        The ray's origin (m, Moon-fixed) and its latitude, longitude and axis distance, as
        ``ray_origin`` gives them.
    dir_mcmf : (3,) float64
        Ray direction (-, Moon-fixed); normalised here.
    max_range : float
        Longest distance searched (m).

    Returns
    -------
    float
        Distance to the hit (m); 0 if the origin lies on the surface; NaN if there is no hit
        within max_range, the origin is below the surface, the ray reaches a point no layer
        covers, or the evaluation budget (MAX_EVALS, reachable only near the poles) runs out.
    """
    ox, oy, oz, lat_o, lon_o, rxy_o = origin
    norm = math.sqrt(dir_mcmf[0] ** 2 + dir_mcmf[1] ** 2 + dir_mcmf[2] ** 2)
    if not (norm > 0.0 and math.isfinite(norm) and max_range >= 0.0):
        return math.nan
    dx, dy, dz = dir_mcmf[0] / norm, dir_mcmf[1] / norm, dir_mcmf[2] / norm
    ray = (ox, oy, oz, dx, dy, dz, lat_o, lon_o, rxy_o)
    g_max = 0.0  # m/rad
    lat_rows = 0.0  # rad, largest |lat| of any row centre; beyond it only polar caps lie
    for k in range(meta.shape[0]):
        g_max = max(g_max, meta[k, TM_GRAD_MAX])
        lat_last = meta[k, TM_LAT0] - (meta[k, TM_ROWS] - 1.0) * meta[k, TM_PIXEL]
        lat_rows = max(lat_rows, abs(meta[k, TM_LAT0]), abs(lat_last))
    g = g_max / RHO_LOW  # -

    s = 0.0
    fa, ka, lat_a, rdot_a = _ray_f(elev, meta, ray, s)
    if ka < 0 or fa < 0.0:
        return math.nan
    if fa == 0.0:
        return 0.0
    # the footprint: every point within max_range is within asin(max_range / |o|) of o
    o2 = ox * ox + oy * oy + oz * oz
    on = math.sqrt(o2)
    if max_range < 0.5 * on:
        alpha = 1.0001 * math.asin(max_range / on) + 1e-12
        lat_far = abs(lat_o) + alpha
        if lat_far < 1.5:
            lon_w = alpha / math.cos(lat_far)
            top = _layers_top(meta, lat_o - alpha, lat_o + alpha, lon_o - lon_w, 2.0 * lon_w)
        else:
            top = _layers_top(meta, -HALF_PI, HALF_PI, 0.0, 0.999 * TWO_PI)
        rho_top = R_REF + top + TOP_MARGIN
        c = o2 - rho_top * rho_top
        if c > 0.0:  # the origin is above every point of the surface it can reach
            od = ox * dx + oy * dy + oz * dz
            disc = od * od - c
            if od >= 0.0 or disc < 0.0:
                return math.nan  # the ray never comes down to that height
            s_top = c / (math.sqrt(disc) - od)  # first crossing of |o + s d| = rho_top
            if s_top >= max_range:
                return math.nan
            fb, kb, lat_b, rdot_b = _ray_f(elev, meta, ray, s_top)
            if kb < 0:
                return math.nan
            if fb <= 0.0:  # only by rounding
                return _refine(elev, meta, ray, s, fa, s_top, fb)
            s, fa, ka, lat_a, rdot_a = s_top, fb, kb, lat_b, rdot_b
    probe = _cell_step(meta, ka, lat_a, R_REF + fa)
    cap = math.inf  # m, upper limit on the next step after a rejected one
    climb = math.inf  # -, bound on the terrain's rise per metre along the ray (none yet)
    band = -1.0  # rad, |lat| up to which lip, slope and cos_band hold (none yet)
    lip = 1.0
    slope = 0.0  # -, sqrt(lip^2 - 1): the bound on the terrain's rise per metre across
    cos_band = 1.0
    cos_lip = 1.0  # -, the cosine the east slope bound is taken at
    s_ref, d_north, d_east = 0.0, 1.0, 1.0  # the ray's north and east components at s_ref
    b_pend, fb_pend, kb_pend, lat_pend, rdot_pend = -1.0, 0.0, -1, 0.0, 0.0  # last refused
    for _ in range(MAX_EVALS):
        if s >= max_range:
            return math.nan
        if (b_pend > s and kb_pend == ka and abs(lat_a) + (b_pend - s) / RHO_LOW <= band
                and (fa + fb_pend > lip * (b_pend - s)
                     or _cones_cover(fa, fb_pend, climb - rdot_a, climb + rdot_pend,
                                     b_pend - s))):
            # a probe refused from an earlier point is free from this one: take it as it is
            s, fa, ka, lat_a, rdot_a = b_pend, fb_pend, kb_pend, lat_pend, rdot_pend
            b_pend = -1.0
            cap = math.inf
            continue
        cell = max(CELL_FRACTION * meta[ka, TM_PIXEL] * R_REF * cos_band, STEP_TOL)
        probe = min(probe, cell)
        if abs(lat_a) + max(fa, probe) / RHO_LOW > band:
            # a step could leave the band (no free step exceeds f, as K >= 1): widen it
            band = abs(lat_a) + max(fa, probe) / RHO_LOW + BAND
            cos_band = math.cos(min(band, HALF_PI))
            # beyond the outermost row centre the polar caps cap the east slope
            cos_lip = cos_band if band <= lat_rows else math.cos(min(lat_rows, HALF_PI))
            lip = _lipschitz(g, cos_lip)
            cos_lip = max(cos_lip, COS_FLOOR)
            slope = math.sqrt(lip * lip - 1.0)
            cos_band = max(cos_band, 1e-3)
            s_ref, d_north, d_east = s, *_north_east(ray, s)
            cell = max(CELL_FRACTION * meta[ka, TM_PIXEL] * R_REF * cos_band, STEP_TOL)
            probe = min(probe, cell)
        sphere = fa / lip  # m, surface-free stretch ahead
        room = (band - abs(lat_a)) * RHO_LOW  # m, the longest step the band allows
        # sharper for steep rays: the ray's own radius is exactly |o + s d|, convex in s, so
        # it changes by at least rdot x; only the terrain's rise is bounded by the slopes,
        # over the horizontal part of the ray (sin of its angle from the vertical, which
        # turns by at most x / RHO_LOW): f(s + x) >= f(s) + (rdot - climb) x. Sharper still
        # along the ray's own heading: the terrain rises by at most g (|d_n| + |d_e| / cos lat)
        # per metre, d_n and d_e the ray's north and east components, which turn by at most
        # (1 + tan lat) and 1 / cos lat times the arc travelled.
        horiz = math.sqrt(max(1.0 - rdot_a * rdot_a, 0.0)) + room / RHO_LOW
        arc = 1.01 * (s + room - s_ref) / RHO_LOW
        north = min(d_north + arc * (1.0 + math.sqrt(1.0 - cos_band * cos_band) / cos_band),
                    1.0)
        east = min(d_east + arc / cos_band, 1.0)
        climb = min(slope * min(1.0, horiz), g * (north + east / cos_lip))  # -, within room
        if room > sphere:
            free_x = room if climb <= rdot_a else min(fa / (climb - rdot_a), room)
            sphere = max(sphere, free_x)
        step = min(max(sphere, probe), cap)
        b = min(s + step, max_range)
        step = b - s
        fb, kb, lat_b, rdot_b = _ray_f(elev, meta, ray, b)
        if kb < 0:
            return math.nan
        if fb <= 0.0:
            if kb != ka and step > cell:
                cap = 0.5 * step  # long step into another layer: find the seam first
                probe = min(probe, cap)
                continue
            return _refine(elev, meta, ray, s, fa, b, fb)
        if kb == ka:
            free = (step <= sphere or fa + fb > lip * step
                    or _cones_cover(fa, fb, climb - rdot_a, climb + rdot_b, step))
        else:
            free = fa >= lip * step and fb >= lip * step
        if free or step <= STEP_TOL:
            s, fa, ka, lat_a, rdot_a = b, fb, kb, lat_b, rdot_b
            if step <= probe:  # a probe was accepted: try a longer one next (<= cell)
                probe = 2.0 * probe
            cap = math.inf
        else:
            cap = 0.5 * step
            probe = min(probe, cap)
            b_pend, fb_pend, kb_pend, lat_pend, rdot_pend = b, fb, kb, lat_b, rdot_b
    return math.nan
