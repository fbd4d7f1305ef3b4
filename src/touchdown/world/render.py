"""The camera's renderer (compiled): rays cast from a pinhole camera onto the layered terrain,
the Sun's light and the terrain's cast shadows. The model and the method are described in
``touchdown.world.camera``, the shell that drives these kernels.
"""

from __future__ import annotations

import math

from touchdown._compile import kernel
from touchdown.core.layout import (
    NODE_LIT,
    NODE_P,
    NODE_S,
    RW_DIR,
    RW_HIT,
    RW_NORMAL,
    RW_UP,
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
    TM_HEIGHT_MAX,
)
from touchdown.moon.constants import R_REF
from touchdown.moon.terrain import ray_cast, terrain_height, terrain_normal

SMOOTH_TOL = 0.5  # pixel footprints: how far the centre may be from the corners' surface
LIFT_M = 0.5  # m: a shadow ray cast from a point starts this far above it
SHADOW_RANGE_M = 150e3  # m: a shadow ray cast from a point looks this far towards the Sun
LIT_TOL_M = 0.5  # m: a point this close to its row's running maximum is lit
BLOCK = 4  # pixels, the default block size
# m above the highest terrain: a block whose corner rays all pass outside this sphere is sky
# (between corners a ray dips below their chord by at most ~L^2 / 8 of the block's angular
# size L times the distance: metres)
SKY_MARGIN_M = 100.0
GRID_MAX = 2_000_000  # samples of the shadow grid at most (about): its spacing grows to fit


@kernel
def _cast(elev, meta, origin, axes, focal, width, height, u, v, max_range, frame, work):
    """Cast pixel (u, v): the distance to the terrain (m, NaN: sky); the hit point in
    work[RW_HIT:RW_HIT + 3].

    With a view bound (``frame[SG_VIEW_TOP]``: no terrain under the box rises above that
    radius), a ray that comes down to that radius over the box cannot have met the terrain
    before (the stretch from the camera runs over the box, above all of it), so the cast
    starts there: the long grazing descent towards the horizon from the layers' highest
    top is skipped."""
    x = (u + 0.5 - 0.5 * width) / focal
    y = (v + 0.5 - 0.5 * height) / focal
    d = work[RW_DIR:RW_DIR + 3]
    for k in range(3):
        d[k] = axes[2, k] + x * axes[0, k] + y * axes[1, k]
    norm = math.sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2])
    for k in range(3):
        d[k] /= norm
    start = _entry(origin, d, frame)
    if start > 0.0:
        p = work[RW_UP:RW_UP + 3]
        for k in range(3):
            p[k] = origin[k] + start * d[k]
        s = start + ray_cast(elev, meta, p, d, max_range - start)
    else:
        s = ray_cast(elev, meta, origin, d, max_range)
    if not math.isnan(s):
        for k in range(3):
            work[RW_HIT + k] = origin[k] + s * d[k]
    return s


@kernel
def _entry(origin, d, frame):
    """How far along ray d from origin it comes down to the view's top radius over the view's
    box (0: it does not, there is no bound, or the origin is below it)."""
    top = frame[SG_VIEW_TOP]
    if not top > 0.0:
        return 0.0
    b = origin[0] * d[0] + origin[1] * d[1] + origin[2] * d[2]
    c = origin[0] ** 2 + origin[1] ** 2 + origin[2] ** 2 - top * top
    disc = b * b - c
    if c <= 0.0 or b >= 0.0 or disc < 0.0:
        return 0.0
    t = -b - math.sqrt(disc)
    px, py, pz = origin[0] + t * d[0], origin[1] + t * d[1], origin[2] + t * d[2]
    lat = math.asin(max(-1.0, min(1.0, pz / top)))
    dlon = math.atan2(py, px) - frame[SG_VIEW_BOX + 2]
    dlon -= 2.0 * math.pi * math.floor(dlon / (2.0 * math.pi))
    if (frame[SG_VIEW_BOX] <= lat <= frame[SG_VIEW_BOX + 1]
            and dlon <= frame[SG_VIEW_BOX + 3]):
        return t
    return 0.0


@kernel
def _misses(origin, axes, focal, width, height, u, v, radius):
    """Whether pixel (u, v)'s ray passes the Moon's centre farther than ``radius`` (m)."""
    x = (u + 0.5 - 0.5 * width) / focal
    y = (v + 0.5 - 0.5 * height) / focal
    dx = axes[2, 0] + x * axes[0, 0] + y * axes[1, 0]
    dy = axes[2, 1] + x * axes[0, 1] + y * axes[1, 1]
    dz = axes[2, 2] + x * axes[0, 2] + y * axes[1, 2]
    norm = math.sqrt(dx * dx + dy * dy + dz * dz)
    along = (origin[0] * dx + origin[1] * dy + origin[2] * dz) / norm
    o2 = origin[0] ** 2 + origin[1] ** 2 + origin[2] ** 2
    closest2 = o2 - along * along if along < 0.0 else o2
    return closest2 > radius * radius


@kernel
def _sun_coords(p, frame):
    """(theta, phi, x) of point p about the Sun's axis: rad, rad, m from the axis."""
    rho = math.sqrt(p[0] * p[0] + p[1] * p[1] + p[2] * p[2])
    a = (p[0] * frame[SG_SUN] + p[1] * frame[SG_SUN + 1] + p[2] * frame[SG_SUN + 2]) / rho
    b1 = (p[0] * frame[SG_E1] + p[1] * frame[SG_E1 + 1] + p[2] * frame[SG_E1 + 2]) / rho
    b2 = (p[0] * frame[SG_E2] + p[1] * frame[SG_E2 + 1] + p[2] * frame[SG_E2 + 2]) / rho
    across = math.sqrt(b1 * b1 + b2 * b2)
    return math.atan2(across, a), math.atan2(b2, b1), rho * across


@kernel
def build_shadow_grid(elev, meta, frame, grid):
    """Fill grid[k, m] with the largest distance (m) from the Sun's axis of the terrain at
    samples 0..m of row k (great circle phi0 + k dphi, from theta0 outwards by dtheta)."""
    sun = frame[SG_SUN:SG_SUN + 3]
    for k in range(grid.shape[0]):
        phi = frame[SG_PHI0] + k * frame[SG_DPHI]
        c, sn = math.cos(phi), math.sin(phi)
        ex = c * frame[SG_E1] + sn * frame[SG_E2]
        ey = c * frame[SG_E1 + 1] + sn * frame[SG_E2 + 1]
        ez = c * frame[SG_E1 + 2] + sn * frame[SG_E2 + 2]
        run = -math.inf
        for m in range(grid.shape[1]):
            th = frame[SG_THETA0] + m * frame[SG_DTHETA]
            st, ct = math.sin(th), math.cos(th)
            dx, dy, dz = ct * sun[0] + st * ex, ct * sun[1] + st * ey, ct * sun[2] + st * ez
            h = terrain_height(elev, meta, math.asin(max(-1.0, min(1.0, dz))),
                               math.atan2(dy, dx))
            if not math.isnan(h):
                run = max(run, (R_REF + h) * st)
            grid[k, m] = run


@kernel
def _sunlit(elev, meta, p, frame, grid, work):
    """1.0 when no terrain lies between surface point p and the Sun, else 0.0: from the shadow
    grid where it covers p, else by a shadow ray."""
    theta, phi, x = _sun_coords(p, frame)
    if theta >= 0.5 * math.pi:
        return 0.0  # night: the Sun is below the Moon's own horizon
    if frame[SG_DTHETA] > 0.0:
        # the running maximum one spacing sunward of p, interpolated between rows and samples
        fk = (phi - frame[SG_PHI0]) / frame[SG_DPHI]
        fm = (theta - frame[SG_THETA0]) / frame[SG_DTHETA] - 1.0
        k, m = math.floor(fk), math.floor(fm)
        if 0 <= k < grid.shape[0] - 1 and 0 <= m < grid.shape[1] - 1:
            wk, wm = fk - k, fm - m
            top = ((1.0 - wk) * ((1.0 - wm) * grid[k, m] + wm * grid[k, m + 1])
                   + wk * ((1.0 - wm) * grid[k + 1, m] + wm * grid[k + 1, m + 1]))
            return 1.0 if x >= top - LIT_TOL_M else 0.0
    rho = math.sqrt(p[0] * p[0] + p[1] * p[1] + p[2] * p[2])
    o = work[RW_UP:RW_UP + 3]
    for i in range(3):
        o[i] = p[i] * (1.0 + LIFT_M / rho)
    return 1.0 if math.isnan(ray_cast(elev, meta, o, frame[SG_SUN:SG_SUN + 3],
                                      SHADOW_RANGE_M)) else 0.0


@kernel
def _normal(elev, meta, p, d_m, n):
    """Write into n the unit normal (Moon-fixed) at surface point p from central differences of
    the terrain's height d_m (m) to either side north-south and east-west: continuous across
    the grid's cells, where the bilinear surface's own normal jumps (stripes a texel wide)."""
    rho = math.sqrt(p[0] * p[0] + p[1] * p[1] + p[2] * p[2])
    lat = math.asin(p[2] / rho)
    lon = math.atan2(p[1], p[0])
    dlat = d_m / R_REF
    dlon = dlat / max(math.cos(lat), 1e-3)
    g_n = (terrain_height(elev, meta, lat + dlat, lon)
           - terrain_height(elev, meta, lat - dlat, lon)) / (2.0 * d_m)
    g_e = (terrain_height(elev, meta, lat, lon + dlon)
           - terrain_height(elev, meta, lat, lon - dlon)) / (2.0 * d_m)
    sl, cl, so, co = math.sin(lat), math.cos(lat), math.sin(lon), math.cos(lon)
    # up - g_n north - g_e east, with up = (cl co, cl so, sl), north = (-sl co, -sl so, cl),
    # east = (-so, co, 0)
    nx = cl * co + g_n * sl * co + g_e * so
    ny = cl * so + g_n * sl * so - g_e * co
    nz = sl - g_n * cl
    inv = 1.0 / math.sqrt(nx * nx + ny * ny + nz * nz)
    n[0], n[1], n[2] = nx * inv, ny * inv, nz * inv


@kernel
def _shade(elev, meta, p, frame, grid, lit, work):
    """The cosine of the incidence angle at surface point p; 0 facing away or in shadow (lit:
    1 or 0 when known, -1 to find out)."""
    n = work[RW_NORMAL:RW_NORMAL + 3]
    if frame[SG_NORMAL_M] > 0.0:
        _normal(elev, meta, p, frame[SG_NORMAL_M], n)
    else:
        terrain_normal(elev, meta, p, n)
    cos_i = n[0] * frame[SG_SUN] + n[1] * frame[SG_SUN + 1] + n[2] * frame[SG_SUN + 2]
    if not cos_i > 0.0:
        return 0.0
    return cos_i * (lit if lit >= 0.0 else _sunlit(elev, meta, p, frame, grid, work))


@kernel
def cast_nodes(elev, meta, origin, axes, focal, width, height, block, max_range, frame, nodes,
               work):
    """Cast every block corner (pixel (min(b block, W - 1), min(a block, H - 1)) for node
    (a, b)) into nodes: distance (NaN: sky) and hit point. Returns the rays cast."""
    for a in range(nodes.shape[0]):
        for b in range(nodes.shape[1]):
            u, v = min(b * block, width - 1), min(a * block, height - 1)
            nodes[a, b, NODE_S] = _cast(elev, meta, origin, axes, focal, width, height, u, v,
                                        max_range, frame, work)
            for k in range(3):
                nodes[a, b, NODE_P + k] = work[RW_HIT + k]
    return nodes.shape[0] * nodes.shape[1]


@kernel
def shade_image(elev, meta, origin, axes, focal, block, max_range, frame, grid, nodes, shading,
                work):
    """Fill ``shading`` (H, W) with cos(i) where lit (0 in shadow, NaN for the sky) from the
    cast ``nodes``, casting the blocks' centres and the blocks that are not smooth. Returns
    the rays cast."""
    height, width = shading.shape
    na, nb = nodes.shape[0], nodes.shape[1]
    rays = 0
    top = -math.inf  # the highest terrain anywhere: a ray that misses that sphere is sky
    for k in range(meta.shape[0]):
        top = max(top, meta[k, TM_HEIGHT_MAX])
    sky_radius = R_REF + top + SKY_MARGIN_M
    for a in range(na):
        for b in range(nb):
            nodes[a, b, NODE_LIT] = (0.0 if math.isnan(nodes[a, b, NODE_S]) else
                                     _sunlit(elev, meta, nodes[a, b, NODE_P:NODE_P + 3], frame,
                                             grid, work))
    for a in range(na - 1):
        v0, v1 = min(a * block, height - 1), min((a + 1) * block, height - 1)
        if v1 == v0:
            continue
        v_end = v1 + 1 if v1 == height - 1 else v1  # the last block takes the last row too
        for b in range(nb - 1):
            u0, u1 = min(b * block, width - 1), min((b + 1) * block, width - 1)
            if u1 == u0:
                continue
            u_end = u1 + 1 if u1 == width - 1 else u1
            corners = ((a, b, u0, v0), (a, b + 1, u1, v0), (a + 1, b, u0, v1),
                       (a + 1, b + 1, u1, v1))
            sky = True
            for (i, j, u, v) in corners:
                if not (math.isnan(nodes[i, j, NODE_S])
                        and _misses(origin, axes, focal, width, height, u, v, sky_radius)):
                    sky = False
            if sky:  # every ray of the block passes above all terrain (its corners' do)
                for v in range(v0, v_end):
                    for u in range(u0, u_end):
                        shading[v, u] = math.nan
                continue
            lit = nodes[a, b, NODE_LIT]
            smooth = True
            for (i, j) in ((a, b), (a, b + 1), (a + 1, b), (a + 1, b + 1)):
                if math.isnan(nodes[i, j, NODE_S]) or nodes[i, j, NODE_LIT] != lit:
                    smooth = False
            if smooth:
                uc, vc = (u0 + u1) // 2, (v0 + v1) // 2
                s = _cast(elev, meta, origin, axes, focal, width, height, uc, vc, max_range,
                          frame, work)
                rays += 1
                if math.isnan(s):
                    smooth = False
                else:
                    fu, fv = (uc - u0) / (u1 - u0), (vc - v0) / (v1 - v0)
                    miss2 = 0.0
                    for k in range(3):
                        q = ((1 - fv) * ((1 - fu) * nodes[a, b, NODE_P + k]
                                         + fu * nodes[a, b + 1, NODE_P + k])
                             + fv * ((1 - fu) * nodes[a + 1, b, NODE_P + k]
                                     + fu * nodes[a + 1, b + 1, NODE_P + k]))
                        miss2 += (q - work[RW_HIT + k]) ** 2
                    smooth = (math.sqrt(miss2) <= SMOOTH_TOL * s / focal
                              and _sunlit(elev, meta, work[RW_HIT:RW_HIT + 3], frame, grid,
                                          work) == lit)
            p = work[RW_HIT:RW_HIT + 3]
            for v in range(v0, v_end):
                for u in range(u0, u_end):
                    if smooth:
                        fu, fv = (u - u0) / (u1 - u0), (v - v0) / (v1 - v0)
                        for k in range(3):
                            p[k] = ((1 - fv) * ((1 - fu) * nodes[a, b, NODE_P + k]
                                                + fu * nodes[a, b + 1, NODE_P + k])
                                    + fv * ((1 - fu) * nodes[a + 1, b, NODE_P + k]
                                            + fu * nodes[a + 1, b + 1, NODE_P + k]))
                        # each pixel's own light from the grid; without one, the block's
                        shading[v, u] = _shade(elev, meta, p, frame, grid,
                                               -1.0 if frame[SG_DTHETA] > 0.0 else lit, work)
                    else:
                        s = _cast(elev, meta, origin, axes, focal, width, height, u, v,
                                  max_range, frame, work)
                        rays += 1
                        shading[v, u] = (math.nan if math.isnan(s) else
                                         _shade(elev, meta, p, frame, grid, -1.0, work))
    return rays
