"""The samples table: one row per flown sample, from the arrays the compiled loop left behind.

Each row holds the sample's drawn inputs, its orbit-determination error, the outcome and the
contact (touchdown or impact) state, propellant, and when the flight software's milestones and
range-finder troubles happened. Campaign statistics use simulation truth; the table says which
columns are truth (all but the ``*_estimate_*`` ones and the event times).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from touchdown.core import layout as st
from touchdown.fsw.guidance import to_guidance
from touchdown.moon.frames import tangent_plane_en
from touchdown.sim.run import norm3

if TYPE_CHECKING:
    from touchdown.sim.run import Arrays

# Root causes of a failed sample, most upstream first: a sample counts under the first that holds.
CAUSES = ("range_finder_fault_declared", "propellant_exhausted", "vertical_speed",
          "horizontal_speed", "tilt", "timeout")
OD_COLUMNS = ("od_radial_m", "od_along_m", "od_cross_m",
              "od_radial_mps", "od_along_mps", "od_cross_mps")


def od_errors(world0: np.ndarray, fsw0: np.ndarray) -> np.ndarray:
    """Initial estimate minus truth in radial / along-track / cross-track axes, (n, 6)."""
    r, v = world0[:, st.W_R:st.W_R + 3], world0[:, st.W_V:st.W_V + 3]
    dr = fsw0[:, st.F_X:st.F_X + 3] - r
    dv = fsw0[:, st.F_X + 3:st.F_X + 6] - v
    r_hat = r / np.linalg.norm(r, axis=1, keepdims=True)
    w_hat = np.cross(r, v)
    w_hat /= np.linalg.norm(w_hat, axis=1, keepdims=True)
    s_hat = np.cross(w_hat, r_hat)
    axes = (r_hat, s_hat, w_hat)
    return np.column_stack([np.einsum("ij,ij->i", d, a) for d in (dr, dv) for a in axes])


def _first(events: np.ndarray, n: int, code: int) -> tuple[float, float]:
    """(time, value) of the first event with this code, NaNs if none."""
    hit = np.flatnonzero(events[:n, st.E_CODE] == code)
    return ((events[hit[0], st.E_T], events[hit[0], st.E_VALUE]) if hit.size
            else (math.nan, math.nan))


def aim_miss(fsw: np.ndarray, fp: np.ndarray, t: float, r: np.ndarray) -> float:
    """How far position r (m, the frame of ``F_X``) lies at t (s) from the flight software's
    final aim (``F_DIVERT``), across its guidance frame: from the estimate, the guidance's
    share of the miss; from the truth, the whole miss."""
    at = fsw.copy()
    at[st.F_X:st.F_X + 3] = r
    r_g, scratch = np.zeros(3), np.zeros(3)
    to_guidance(at, fp, t, r_g, scratch, np.zeros(3), np.zeros(st.GUIDANCE_FRAME.size))
    return math.hypot(r_g[0] - fsw[st.F_DIVERT], r_g[1] - fsw[st.F_DIVERT + 1])


def failure_cause(row: dict[str, Any]) -> str:
    """The most upstream reason a sample did not land ('' when it landed)."""
    if row["outcome"] == "landed":
        return ""
    flags = {
        "range_finder_fault_declared": not math.isnan(row["lrf_fault_s"]),
        "propellant_exhausted": not math.isnan(row["propellant_exhausted_s"]),
        "vertical_speed": row["vertical_speed_mps"] > row["limit_vertical_mps"],
        "horizontal_speed": row["horizontal_speed_mps"] > row["limit_horizontal_mps"],
        "tilt": row["tilt_deg"] > row["limit_tilt_deg"],
        "timeout": row["outcome"] == "timeout",
    }
    return next((c for c in CAUSES if flags[c]), "other")


def sample_rows(ids: list[int], inputs: list[dict[str, float]], od: np.ndarray,
                flown: Arrays) -> pd.DataFrame:
    """The table rows of flown samples (``flown``: their arrays stacked, ``sim.run.stack``)."""
    world, wp, fsw, fp = flown.world, flown.world_params, flown.fsw, flown.fsw_params
    events, n_events = flown.events, flown.n_events
    rows = []
    for k, sample in enumerate(ids):
        w, ev, n = world[k], events[k], int(n_events[k, 0])
        td = w[st.W_TD:st.W_TD + 7]
        lat_t, lon_t = fp[k, st.FP_SITE], fp[k, st.FP_SITE + 1]
        miss = tangent_plane_en(math.degrees(td[1]), math.degrees(td[2]), math.degrees(lat_t),
                                math.degrees(lon_t))
        _, rej_innov = _first(ev, n, st.EV_LRF_REJ)
        row: dict[str, Any] = {"sample": sample, "outcome": st.OUTCOMES[int(w[st.W_STATUS])]}
        row.update(inputs[k])
        row.update(zip(OD_COLUMNS, od[k].tolist(), strict=True))
        row.update({
            "target_lat_deg": math.degrees(lat_t),
            "target_lon_deg": math.degrees(lon_t),
            "contact_time_s": td[0],
            "contact_lat_deg": math.degrees(td[1]),
            "contact_lon_deg": math.degrees(td[2]),
            "miss_east_m": float(miss[0]),
            "miss_north_m": float(miss[1]),
            "aim_miss_m": aim_miss(fsw[k], fp[k], w[st.W_T], w[st.W_R:st.W_R + 3]),
            "aim_miss_estimate_m": aim_miss(fsw[k], fp[k], w[st.W_T], fsw[k, st.F_X:st.F_X + 3]),
            "vertical_speed_mps": td[3],
            "horizontal_speed_mps": td[4],
            "tilt_deg": math.degrees(td[5]),
            "contact_speed_mps": td[6],
            "limit_vertical_mps": wp[k, st.WP_LIM],
            "limit_horizontal_mps": wp[k, st.WP_LIM + 1],
            "limit_tilt_deg": math.degrees(wp[k, st.WP_LIM + 2]),
            "propellant_remaining_kg": w[st.W_PROP],
            "propellant_estimate_kg": fsw[k, st.F_PROP],
            "flight_time_s": w[st.W_T],
            "nav_error_end_m": norm3(fsw[k, st.F_X:st.F_X + 3] - w[st.W_R:st.W_R + 3]),
            "braking_start_s": _first(ev, n, st.EV_BRAKING)[0],
            "lrf_acquired_s": _first(ev, n, st.EV_LRF_ACQ)[0],
            "lrf_first_rejection_s": w[st.W_REJ1],
            "lrf_first_rejection_altitude_m": w[st.W_REJ1 + 1],
            "lrf_first_rejection_innovation_m": rej_innov,
            "lrf_rejections_logged": int(np.count_nonzero(ev[:n, st.E_CODE] == st.EV_LRF_REJ)),
            "lrf_fault_s": _first(ev, n, st.EV_LRF_FAULT)[0],
            "altitude_estimate_zero_s": _first(ev, n, st.EV_ALT_ZERO)[0],
            "propellant_exhausted_s": _first(ev, n, st.EV_PROP_OUT)[0],
            "imu_switched_s": _first(ev, n, st.EV_IMU_SWITCH)[0],
            "computer_restarts": int(np.count_nonzero(ev[:n, st.E_CODE] == st.EV_RESTART)),
            "program_alarms": int(np.count_nonzero(ev[:n, st.E_CODE] == st.EV_PROGRAM_ALARM)),
            "relight_attempts": int(np.count_nonzero(ev[:n, st.E_CODE]
                                                     == st.EV_RELIGHT_ATTEMPT)),
            "engine_relit_s": _first(ev, n, st.EV_RELIT)[0],
            "retarget_s": _first(ev, n, st.EV_RETARGET)[0],
        })
        row["failure_mode"] = failure_cause(row)
        rows.append(row)
    return pd.DataFrame(rows)
