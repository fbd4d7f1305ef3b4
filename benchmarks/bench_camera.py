"""Benchmark: the camera renders a 512 x 512 image of the real terrain in at most 0.2 s on one core.

    python benchmarks/bench_camera.py [--size 512] [--repeat 5]

Four views over Atlas crater (HAKUTO-R M1's site), the Sun where DE421 puts it at M1's
landing (12 deg above the eastern horizon, long shadows): straight down from 60 km and from
10 km, 45 deg off nadir from 10 km, and 70 deg off nadir from 50 km (the horizon and black sky
in view). Each is rendered as the camera does (blocks, the shadow grid: ``world/camera.py``)
and, side by side in the same run, every pixel cast with its own shadow ray (block 1, no grid:
the plain method), on one core (the process pinned where ``taskset`` exists). Reported per view:
the median wall time, rays cast per pixel, the shadow grid's samples, and the ratio to the plain
method; the goal (0.2 s at 512 x 512) is judged per view.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from datetime import UTC, datetime

import numpy as np

from touchdown.core import layout as st
from touchdown.moon.constants import R_REF
from touchdown.moon.dem_tiles import load_truth_terrain
from touchdown.moon.ephemeris import load_ephemeris
from touchdown.world import camera as cam
from touchdown.world import render as kernels

SITE = (46.74, 44.38)  # deg, Atlas crater's floor
M1_EPOCH, LANDING_S = datetime(2023, 4, 25, 15, 40, tzinfo=UTC), 4200.0
VIEWS = (("nadir, 60 km", 60e3, 0.0), ("nadir, 10 km", 10e3, 0.0),
         ("45 deg off nadir, 10 km", 10e3, 45.0), ("70 deg off nadir, 50 km", 50e3, 70.0))
GOAL_S = 0.2  # at 512 x 512


def pose(altitude_m: float, tilt_deg: float, terrain) -> tuple[np.ndarray, np.ndarray]:
    """Position and body attitude (body z tilted from up towards south, so the camera on -z
    looks north of nadir)."""
    la, lo = (math.radians(a) for a in SITE)
    up = np.array([math.cos(la) * math.cos(lo), math.cos(la) * math.sin(lo), math.sin(la)])
    east = np.array([-math.sin(lo), math.cos(lo), 0.0])
    north = np.cross(up, east)
    t = math.radians(tilt_deg)
    bz = up * math.cos(t) - north * math.sin(t)
    bx = north * math.cos(t) + up * math.sin(t)
    return (up * (R_REF + terrain.height(*SITE) + altitude_m),
            np.column_stack([bx, np.cross(bz, bx), bz]))


def plain(terrain, camera: cam.Camera, origin: np.ndarray, dcm: np.ndarray,
          sun: np.ndarray) -> np.ndarray:
    """Every pixel cast, each with its own shadow ray (no blocks, no grid)."""
    axes = np.ascontiguousarray(camera.axes_body() @ dcm.T)
    h, w = camera.height_px, camera.width_px
    nodes = np.empty((h + 1, w + 1, st.N_RENDER_NODE))
    work = np.empty(st.N_SCRATCH_RENDER)
    frame = np.zeros(st.N_RENDER_LIGHT)
    kernels.cast_nodes(terrain.elev, terrain.meta, origin, axes, camera.focal_px, w, h, 1,
                       camera.max_range_m, frame, nodes, work)
    frame[st.SG_SUN:st.SG_SUN + 3] = sun
    shading = np.empty((h, w))
    kernels.shade_image(terrain.elev, terrain.meta, origin, axes, camera.focal_px, 1,
                    camera.max_range_m, frame, np.empty((0, 0)), nodes, shading, work)
    return shading


def timed(repeat: int, f, *args) -> tuple[float, object]:
    """The median wall time of f(*args) over ``repeat`` calls, and its last result."""
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = f(*args)
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=512, help="image width and height (pixels)")
    ap.add_argument("--repeat", type=int, default=5, help="renders per view (median)")
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    terrain = load_truth_terrain()
    sun = load_ephemeris().sun_mcmf_unit(M1_EPOCH, LANDING_S)
    camera = cam.Camera(width_px=args.size, height_px=args.size)
    goal = GOAL_S * (args.size / 512) ** 2
    results = {}
    for name, altitude, tilt in VIEWS:
        origin, dcm = pose(altitude, tilt, terrain)
        cam.render(terrain, camera, origin, dcm, sun)  # compiled and warm
        t_new, r = timed(args.repeat, cam.render, terrain, camera, origin, dcm, sun)
        t_plain, shading = timed(1, plain, terrain, camera, origin, dcm, sun)
        agree = float(np.mean(np.isclose(np.nan_to_num(shading), np.nan_to_num(r.shading),
                                         atol=0.05)))
        results[name] = {"wall_s": t_new, "rays_per_pixel": r.rays / args.size ** 2,
                         "grid_samples": r.grid_samples, "plain_wall_s": t_plain,
                         "ratio": t_plain / t_new, "agree_with_plain": agree,
                         "met": t_new <= goal}
        print(f"{name:<26} {t_new:6.3f} s  ({r.rays / args.size ** 2:4.2f} rays/pixel, grid "
              f"{r.grid_samples:>9,} samples)  plain {t_plain:6.2f} s  {t_plain / t_new:5.1f}x "
              f" same pixel {100 * agree:5.1f} %  {'met' if t_new <= goal else 'NOT MET'}")
    print(f"goal: {goal:.3f} s per {args.size} x {args.size} image on one core")
    print(json.dumps({"size": args.size, "goal_s": goal, "views": results}))


if __name__ == "__main__":
    main()
