"""Automatic findings: what the telemetry says happened, each with its evidence (shell).

Every finding is drawn from what the ground received (``Received``) and the public map under
the reported track (``report.track``), never from the simulation: an investigator with only the
archive reaches the same findings. Each names its times (onboard, T+ since the epoch), the
values that support it, the packets behind it (``Finding.sources``, cited by
``Received.cite``) and the figures that show it. Which finding led to which comes from the
detectors' logic (``_links``); each finding's causal role and its grading by what it led to
follow (``causal_roles``, the rule in ``ROLE_RULE``), and the order (``ranked``).

Detectors
---------
- range-finder rejections: runs of readings the filter rejected or ignored, the gap between
  reading and prediction, how each ended (re-accepted, declared faulty, never);
- divergence: readings and altitude estimate drifting apart after a rejection;
- the terrain step under the track at a rejection, and whether it explains the range jump;
- range-finder silence: no readings for seconds while tracking (a dropout);
- the altitude estimate reaching zero while the range finder still saw ground far below;
- propellant exhaustion: thrust commanded, yet the speeds change as gravity alone changes them,
  for good; propellant the onboard count did not account for; such a run after which the
  thrust came back is an engine that did not light;
- loss of signal, with the Earth's elevation then;
- the outcome inferred from the last telemetry (touchdown, or impact time and speed);
- the chain of events, when the links of a HAKUTO-R M1-like loss are all there;
- IMU switches, commands, flight-computer restarts and the chain a restart that stops the
  engine makes with the fall (``report.restarts``: Beresheet's loss);
- thrust above the model, the attitude-rate limit holding guidance back, speed gained near the
  ground, and the chain they make with a hard landing (``report.engines``: Vikram-2's loss).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from touchdown.ground.status import free_fall
from touchdown.moon.constants import GM, R_REF
from touchdown.report.engines import engine_chain, engine_findings
from touchdown.report.finding import ROLES, SUMMARY, Finding, Source
from touchdown.report.received import Received, speed_rates, value_at
from touchdown.report.restarts import restart_chain, restart_findings
from touchdown.report.values import duration
from touchdown.telemetry.dictionary import SEVERITIES
from touchdown.timefmt import mission_clock as clock

# findings speak the dictionary's severities: info (worth noting), watch, warning, critical
ALARMING = SEVERITIES[SEVERITIES.index("warning"):]  # what a nominal landing must not raise

EPISODE_MIN_S = 1.0  # s: shorter runs of rejected readings are counted, not reported singly
SILENCE_MIN_S = 2.0  # s without a range reading while tracking: a dropout worth reporting
STEP_WINDOW_S = (30.0, 60.0)  # s before and after a range jump searched for a terrain step
STEP_EXPLAINS = 0.5  # a terrain step explains a jump when at least this fraction of it
DIVERGENCE_MIN_M = 100.0  # m, and 10 % of the range: readings and estimate disagree
STEADY_TILT_DEG = 30.0  # deg: the beam near enough vertical to compare readings with altitude
ABOVE_SURFACE_M = 50.0  # m: a range reading longer than this means "not on the surface yet"
NO_THRUST_RESIDUAL = 0.3  # m/s^2: acceleration within this of gravity alone means no thrust
NO_THRUST_MIN_S = 5.0  # s of it, with thrust commanded, to call the propellant exhausted
COMMANDED_DUTY = 0.5  # thruster duty at or above which thrust is clearly commanded
UNACCOUNTED_KG = 5.0  # kg: an onboard count this far above zero at exhaustion is a leak
EARTH_UP_DEG = 2.0  # deg: LOS with the Earth above this is not an occultation
LANDED_SPEED = 5.0  # m/s: touchdown detected at or below this vertical speed is a landing
LATENCY_S = 10.0  # s: the newest packet may be this much older than the end (queue, frames)

RECOVERED_BY = {"lrf_widened": " after the filter widened its uncertainty (lrf_widened)",
                "lrf_reacquired": " after the filter re-acquired it (lrf_reacquired)"}
LRF_WAITING = 0
LRF_FAULTY = 2


@dataclass
class Episode:
    """A run of range-finder readings the filter rejected or ignored."""

    t_start: float
    t_end: float
    readings: int
    innovation_first_m: float
    innovation_max_m: float
    tilt_deg: float
    t_fault: float | None = None
    fault_innovation_m: float | None = None
    t_recovered: float | None = None
    recovered_by: str | None = None  # the event that preceded re-acceptance

    @property
    def duration_s(self) -> float:
        return self.t_end - self.t_start

    @property
    def significant(self) -> bool:
        return self.duration_s >= EPISODE_MIN_S or self.t_fault is not None


@dataclass
class Investigation:
    """The findings, the inferred outcome and the tables the figures draw from."""

    findings: list[Finding]
    outcome: dict[str, Any]
    episodes: list[Episode]
    lrf: pd.DataFrame  # lrf packet with tilt, altitude estimate and ground-side divergence
    no_thrust_t: float | None
    notes: dict[str, str] = field(default_factory=dict)  # figure key: what the figure shows

    def by_key(self, key: str) -> list[Finding]:
        return [f for f in self.findings if f.key == key]


# ---------------------------------------------------------------- tables

def lrf_table(rx: Received) -> pd.DataFrame:
    """The lrf packet with the thrust tilt and altitude estimate at each row, and the ground's
    own comparison: the reading turned vertical (``vertical_m``, along the tilt) less the
    altitude estimate (``divergence_m``)."""
    lrf = rx["lrf"].copy()
    t = lrf["t"].to_numpy()
    lrf["tilt_deg"] = value_at(rx["gnc"], "thrust_tilt_deg", t)
    lrf["altitude_est_m"] = value_at(rx["nav"], "altitude_m", t)
    lrf["vertical_m"] = lrf["range_m"] * np.cos(np.radians(lrf["tilt_deg"]))
    lrf["divergence_m"] = lrf["vertical_m"] - lrf["altitude_est_m"]
    lrf["innovation_m"] = lrf["range_m"] - lrf["predicted_m"]
    return lrf


def episodes(rx: Received, lrf: pd.DataFrame) -> tuple[list[Episode], list[Episode]]:
    """Runs of rejected or ignored readings (after acquisition): those to report singly, and
    those too short to."""
    t = lrf["t"].to_numpy()
    has = np.isfinite(lrf["range_m"].to_numpy())
    accepted = lrf["accepted"].to_numpy() == 1
    bad = has & ~accepted & (lrf["state"].to_numpy() != LRF_WAITING)
    good = has & accepted
    innov = lrf["innovation_m"].to_numpy()
    found: list[Episode] = []
    i = 0
    while i < len(t):
        if not bad[i]:
            i += 1
            continue
        j = i
        while j + 1 < len(t) and not good[j + 1]:
            j += 1
        rows = np.flatnonzero(bad[i:j + 1]) + i
        rec = j + 1 if j + 1 < len(t) else None
        first = _event_before(rx, "lrf_rejected", float(t[i]))
        finite = innov[rows][np.isfinite(innov[rows])]
        ep = Episode(
            t_start=float(first["t"]) if first is not None else float(t[i]),
            t_end=float(t[rows[-1]]), readings=int(rows.size),
            innovation_first_m=(float(first["value"]) if first is not None
                                else float(finite[0]) if finite.size else math.nan),
            innovation_max_m=float(finite[np.argmax(np.abs(finite))]) if finite.size
            else math.nan,
            tilt_deg=float(lrf["tilt_deg"].iloc[i]))
        for _, e in rx.events[(rx.events["t"] >= ep.t_start - 1e-6)
                              & (rx.events["t"] <= (t[rec] if rec is not None else math.inf))
                              ].iterrows():
            if e["name"] == "lrf_fault_declared" and ep.t_fault is None:
                ep.t_fault, ep.fault_innovation_m = float(e["t"]), float(e["value"])
            elif e["name"] in ("lrf_reacquired", "lrf_widened"):
                ep.recovered_by = str(e["name"])
        if ep.fault_innovation_m is not None and abs(ep.fault_innovation_m) > abs(
                ep.innovation_max_m if math.isfinite(ep.innovation_max_m) else 0.0):
            ep.innovation_max_m = ep.fault_innovation_m
        if rec is not None:
            ep.t_recovered = float(t[rec])
        found.append(ep)
        i = j + 1
    return [e for e in found if e.significant], [e for e in found if not e.significant]


def _event_before(rx: Received, name: str, t: float, within: float = 1.0) -> pd.Series | None:
    rows = rx.events[(rx.events["name"] == name) & (rx.events["t"] <= t + 1e-6)
                     & (rx.events["t"] >= t - within)]
    return None if rows.empty else rows.iloc[0]


def _unpowered_runs(rx: Received) -> list[tuple[float, float, bool, dict[str, Any]]]:
    """Runs of at least NO_THRUST_MIN_S in which the speeds changed as gravity alone changes
    them while thrust was commanded (main engine on, or the thrusters at COMMANDED_DUTY or
    more): (start, end, thrust seen again after it for NO_THRUST_MIN_S, detail)."""
    nav = rx["nav"].dropna(subset=["vertical_speed_mps", "horizontal_speed_mps", "height_m"])
    if len(nav) < 5:
        return []
    t, av, ah, gravity_only = speed_rates(nav, 5)
    residual = np.hypot(av - gravity_only, ah)
    main = value_at(rx["gnc"], "main_engine", t)
    duty = value_at(rx["gnc"], "thruster_duty", t)
    commanded = (main > 0.0) | (duty >= COMMANDED_DUTY)
    coasting = commanded & (residual < NO_THRUST_RESIDUAL)
    burning = commanded & (residual >= NO_THRUST_RESIDUAL)
    runs = []
    k = 0
    while k < len(t):
        k1 = k
        while k1 + 1 < len(t) and coasting[k1 + 1] and coasting[k]:
            k1 += 1
        if coasting[k] and t[k1] - t[k] >= NO_THRUST_MIN_S:
            later = np.flatnonzero(burning[k1 + 1:]) + k1 + 1
            again = len(later) > 0 and t[later[-1]] - t[later[0]] >= NO_THRUST_MIN_S
            runs.append((float(t[k]), float(t[k1]), bool(again), {
                "vertical_acceleration_mps2": float(np.nanmedian(av[k:k1 + 1])),
                "gravity_mps2": float(-gravity_only[k]),
                "thruster_duty": float(np.nanmedian(duty[k:k1 + 1])),
                "main_engine": "on" if main[k] > 0.0 else "off"}))
        k = k1 + 1
    return runs


def no_thrust_onset(rx: Received) -> tuple[float | None, dict[str, Any]]:
    """When the propellant ran out: the first run of commanded thrust not delivered
    (``_unpowered_runs``) after which thrust never came back."""
    for t0, t1, again, detail in _unpowered_runs(rx):
        if not again:
            return t0, {**detail, "t_end_s": t1}
    return None, {}


def _unlit(rx: Received) -> list[Finding]:
    """Runs of commanded thrust not delivered after which the thrust came back: the engine
    did not light (or was not fed) for a while, not exhausted."""
    return [Finding(
        "thrust_not_delivered", "critical",
        f"Thrust commanded but not delivered, {clock(t0)} to {clock(t1)}",
        f"From {clock(t0)} to {clock(t1)} the main engine was commanded "
        f"{detail['main_engine']} (thrusters at {100 * detail['thruster_duty']:.0f} %) but the "
        f"speeds changed as gravity alone changes them (vertical acceleration "
        f"{detail['vertical_acceleration_mps2']:+.2f} m/s², gravity "
        f"{detail['gravity_mps2']:.2f} m/s²); thrust came back after it, so the engine did not "
        "light, rather than running dry.", t0, {"t_s": t0, "t_end_s": t1, **detail},
        ("velocity", "engines"), (Source("nav", t0, t1), Source("gnc", t0, t1)))
        for t0, t1, again, detail in _unpowered_runs(rx) if again]


# ---------------------------------------------------------------- the detectors

def _km(d: float) -> str:
    return f"{abs(d):,.0f} km" if abs(d) >= 10 else f"{abs(d) * 1e3:,.0f} m"


def _rejection_finding(ep: Episode, end: float) -> Finding:
    first = f"{ep.innovation_first_m:+,.0f} m" if math.isfinite(ep.innovation_first_m) else "?"
    text = (f"The navigation filter rejected the range finder's readings from "
            f"{clock(ep.t_start)}: the first was {first} from the range it predicted "
            f"(slant, beam {ep.tilt_deg:.0f} deg from vertical).")
    if ep.t_fault is not None:
        text += (f" {ep.t_fault - ep.t_start:.1f} s later ({clock(ep.t_fault)}, gap "
                 f"{ep.fault_innovation_m:+,.0f} m) it declared the sensor faulty and ignored it "
                 f"to the end of the signal at {clock(end)}, while readings kept arriving "
                 f"({ep.readings:,} in telemetry).")
        severity, how = "critical", "then declared faulty"
    elif ep.t_recovered is not None:
        by = RECOVERED_BY.get(ep.recovered_by or "", "")
        text += (f" Readings were accepted again at {clock(ep.t_recovered)}{by}; the largest gap "
                 f"was {ep.innovation_max_m:+,.0f} m.")
        severity, how = "watch", "then re-accepted"
    else:
        text += f" None was accepted again before the end of the signal at {clock(end)}."
        severity, how = "warning", "never re-accepted"
    length = ep.duration_s if ep.t_fault is None else end - ep.t_start
    return Finding(
        "lrf_rejected", severity,
        f"Range finder rejected at {clock(ep.t_start)} for {duration(length)}, {how}",
        text, ep.t_start,
        {"t_first_rejection_s": ep.t_start, "t_last_rejected_s": ep.t_end,
         "duration_s": round(length, 2), "readings_in_telemetry": ep.readings,
         "gap_first_m": ep.innovation_first_m, "gap_largest_m": ep.innovation_max_m,
         "beam_from_vertical_deg": ep.tilt_deg, "t_fault_declared_s": ep.t_fault,
         "t_reaccepted_s": ep.t_recovered},
        ("altitude", "terrain"),
        (Source("event", ep.t_start), Source("lrf", ep.t_start, ep.t_end))
        + ((Source("event", ep.t_fault),) if ep.t_fault is not None else ()))


def _divergence_finding(lrf: pd.DataFrame, ep: Episode, end: float) -> Finding | None:
    after = lrf[(lrf["t"] >= ep.t_start) & (lrf["t"] <= (ep.t_recovered or end))
                & np.isfinite(lrf["divergence_m"])]
    if after.empty:
        return None
    big = after[np.abs(after["divergence_m"]) > np.maximum(DIVERGENCE_MIN_M,
                                                          0.1 * after["vertical_m"].abs())]
    if big.empty or big["t"].iloc[-1] - big["t"].iloc[0] < 5.0:
        return None
    # a steep beam turns small attitude errors into large vertical ones: judge the largest
    # disagreement where the beam was near vertical, when it ever was
    steady = big[big["tilt_deg"] <= STEADY_TILT_DEG]
    pool = steady if not steady.empty else big
    worst = pool.iloc[int(np.argmax(np.abs(pool["divergence_m"].to_numpy())))]
    first, last = big.iloc[0], big.iloc[-1]
    return Finding(
        "divergence", "critical" if ep.t_fault is not None else "warning",
        f"Estimate and range readings diverged for {duration(last['t'] - first['t'])}, by up "
        f"to {abs(worst['divergence_m']) / 1e3:,.1f} km",
        f"From {clock(first['t'])} the range readings (made vertical along the beam's tilt) and "
        f"the altitude estimate disagreed by more than {DIVERGENCE_MIN_M:.0f} m or 10 %: "
        f"{first['divergence_m']:+,.0f} m then, {worst['divergence_m']:+,.0f} m at "
        f"{clock(worst['t'])} (reading {worst['vertical_m']:,.0f} m, estimate "
        f"{worst['altitude_est_m']:,.0f} m), {last['divergence_m']:+,.0f} m at "
        f"{clock(last['t'])}. The estimate did not follow the sensor.",
        float(first["t"]),
        {"t_from_s": float(first["t"]), "t_to_s": float(last["t"]),
         "divergence_first_m": float(first["divergence_m"]),
         "divergence_largest_m": float(worst["divergence_m"]), "t_largest_s": float(worst["t"]),
         "reading_vertical_m": float(worst["vertical_m"]),
         "altitude_estimate_m": float(worst["altitude_est_m"])},
        ("altitude",), (Source("lrf", float(first["t"]), float(last["t"])),
                        Source("nav", float(first["t"]), float(last["t"]))))


def _terrain_step(track: pd.DataFrame, ep: Episode) -> Finding | None:
    """The largest drop (or rise, for a shorter range) of the map under the reported track
    around a range jump, and whether it explains the jump."""
    lo, hi = ep.t_start - STEP_WINDOW_S[0], ep.t_start + STEP_WINDOW_S[1]
    w = track[(track["t"] >= lo) & (track["t"] <= hi)]
    if len(w) < 3 or not math.isfinite(ep.innovation_max_m):
        return None
    h = w["terrain_m"].to_numpy()
    sign = 1.0 if ep.innovation_max_m > 0 else -1.0  # a longer range: lower ground
    change = sign * (np.maximum.accumulate(h) - h if sign > 0 else h - np.minimum.accumulate(h))
    k = int(np.argmax(sign * change))
    step = float(change[k])
    top = int(np.argmax(h[:k + 1])) if sign > 0 else int(np.argmin(h[:k + 1]))
    reach = top + int(np.argmax(sign * (h[top] - h[top:k + 1]) >= 0.9 * abs(step)))
    jump_v = ep.innovation_max_m * math.cos(math.radians(ep.tilt_deg))
    explained = abs(step) >= STEP_EXPLAINS * abs(jump_v)
    where = ""
    if "site_km" in w:
        where = (f", {_km(w['site_km'].iloc[top])} to {_km(w['site_km'].iloc[reach])} from the "
                 "site")
    t0, t1 = float(w["t"].iloc[top]), float(w["t"].iloc[reach])
    what = "drops" if sign > 0 else "rises"
    title = (f"Terrain under the track {what} {abs(step) / 1e3:,.1f} km where the range jumped"
             if explained else
             f"No terrain step under the track explains the range jump at {clock(ep.t_start)}")
    verdict = (f"That accounts for the jump (the largest gap, {ep.innovation_max_m:+,.0f} m slant,"
               f" is {jump_v:+,.0f} m vertical): the range finder was measuring the lower "
               "ground, it had not failed."
               if explained else
               f"The jump ({ep.innovation_max_m:+,.0f} m slant, {jump_v:+,.0f} m vertical) is "
               f"far larger than the terrain's change: the readings themselves changed, which "
               "points at the sensor (a bias or a fault), not the ground.")
    return Finding(
        "terrain_step" if explained else "sensor_suspect",
        "watch" if explained else "warning", title,
        f"On the map under the reported track, the terrain {what} {abs(step):,.0f} m "
        f"between {clock(t0)} and {clock(t1)} (from {h[top]:,.0f} m to {h[reach]:,.0f} m"
        f"{where}); the range finder, looking {ep.tilt_deg:.0f} deg ahead of vertical, "
        f"reached it first, at {clock(ep.t_start)}. {verdict}",
        ep.t_start,
        {"terrain_change_m": sign * abs(step), "t_from_s": t0, "t_to_s": t1,
         "terrain_from_m": float(h[top]), "terrain_to_m": float(h[reach]),
         "range_jump_slant_m": ep.innovation_max_m, "range_jump_vertical_m": jump_v,
         "explains_jump": explained, "lat_deg": float(w["lat_deg"].iloc[reach]),
         "lon_deg": float(w["lon_deg"].iloc[reach])},
        ("terrain", "map"), (Source("lrf", ep.t_start), Source("nav", t0, t1)))


def _silences(lrf: pd.DataFrame) -> list[Finding]:
    """Stretches with no reading while the range finder was tracking (not waiting)."""
    out = []
    tracking = lrf[lrf["state"] != LRF_WAITING]
    if tracking.empty:
        return out
    readings = tracking[np.isfinite(tracking["range_m"])]
    t = readings["t"].to_numpy()
    if t.size < 2:
        return out
    gaps = np.flatnonzero(np.diff(t) >= SILENCE_MIN_S)
    for g in gaps:
        before, after = readings.iloc[g], readings.iloc[g + 1]
        length = float(after["t"] - before["t"])
        back = after["innovation_m"]
        tail = (f" When readings came back ({clock(after['t'])}) the first was "
                f"{back:+,.0f} m from the filter's prediction." if math.isfinite(back) else "")
        out.append(Finding(
            "lrf_silent", "warning",
            f"No range readings for {duration(length)} from {clock(before['t'])}",
            f"The range finder sent no reading from {clock(before['t'])} to {clock(after['t'])} "
            f"while tracking, the altitude estimate going from {before['altitude_est_m']:,.0f} m "
            f"to {after['altitude_est_m']:,.0f} m: for that time the estimate ran on the "
            f"inertial measurements alone.{tail}",
            float(before["t"]),
            {"t_from_s": float(before["t"]), "t_to_s": float(after["t"]), "duration_s": length,
             "altitude_estimate_from_m": float(before["altitude_est_m"]),
             "altitude_estimate_to_m": float(after["altitude_est_m"]),
             "gap_on_return_m": float(back) if math.isfinite(back) else None},
            ("altitude",), (Source("lrf", float(before["t"]), float(after["t"])),)))
    return out


def _estimate_zero(rx: Received, lrf: pd.DataFrame) -> Finding | None:
    nav = rx["nav"].dropna(subset=["altitude_m"])
    below = nav[nav["altitude_m"] <= 0.0]
    ev = rx.first_event("altitude_estimate_zero")
    if below.empty and ev is None:
        return None
    t0 = float(ev["t"]) if ev is not None else float(below["t"].iloc[0])
    near = lrf[(lrf["t"] >= t0 - 2.0) & (lrf["t"] <= t0 + 2.0) & np.isfinite(lrf["range_m"])]
    if near.empty:
        return None
    r = near.iloc[int(np.argmin(np.abs(near["t"].to_numpy() - t0)))]
    if not r["vertical_m"] > ABOVE_SURFACE_M:
        return None
    vv = value_at(rx["nav"], "vertical_speed_mps", np.array([t0]))[0]
    mode = value_at(rx["gnc"], "mode", np.array([t0]))[0]
    mode_name = rx.state("gnc.mode", mode) if math.isfinite(mode) else "?"
    ignored = r["state"] == LRF_FAULTY
    return Finding(
        "estimate_zero_above_surface", "critical",
        f"Altitude estimate reached zero {r['vertical_m'] / 1e3:,.1f} km above the surface",
        f"At {clock(t0)} the flight software's altitude estimate reached 0 m (mode "
        f"{mode_name}, descending at {abs(vv):.1f} m/s) while the range finder read "
        f"{r['range_m']:,.0f} m ({r['vertical_m']:,.0f} m vertical)"
        + (", a reading the software was ignoring" if ignored else "")
        + ". The lander believed it was at the surface while still high above it.",
        t0,
        {"t_s": t0, "range_m": float(r["range_m"]), "range_vertical_m": float(r["vertical_m"]),
         "vertical_speed_mps": float(vv), "mode": mode_name, "range_finder_ignored": bool(ignored)},
        ("altitude", "terrain"),
        ((Source("event", t0),) if ev is not None else ())
        + (Source("nav", t0), Source("lrf", float(r["t"]))))


def _propellant(rx: Received, onset: float | None, detail: dict[str, Any]) -> list[Finding]:
    out = []
    prop = rx["prop"].dropna(subset=["propellant_kg"])
    zero = prop[prop["propellant_kg"] <= 0.0]
    t_zero = float(zero["t"].iloc[0]) if not zero.empty else None
    low = rx.first_event("propellant_low")
    if onset is None:
        if t_zero is not None:
            out.append(Finding(
                "propellant_count_zero", "watch",
                f"Onboard propellant count reached zero at {clock(t_zero)}, thrust continued",
                f"The propellant estimate (counted from commanded burn time) reached 0 kg at "
                f"{clock(t_zero)}, but the speeds show no loss of thrust afterwards: the count "
                "was conservative.", t_zero, {"t_count_zero_s": t_zero}, ("propellant",),
                (Source("prop", t_zero),)))
        return out
    est = value_at(prop, "propellant_kg", np.array([onset]))[0]
    duty = detail.get("thruster_duty", math.nan)
    text = (f"From {clock(onset)} the speeds changed as gravity alone changes them (vertical "
            f"acceleration {detail.get('vertical_acceleration_mps2', math.nan):+.2f} m/s², "
            f"gravity {detail.get('gravity_mps2', math.nan):.2f} m/s²) although thrust was "
            f"commanded (thrusters at {100 * duty:.0f} %, main engine "
            f"{detail.get('main_engine', '?')}): the engines gave no thrust, the propellant was "
            f"exhausted. The onboard count then: {est:,.1f} kg")
    text += (f" (low-propellant warning at {clock(float(low['t']))})." if low is not None
             else ".")
    out.append(Finding(
        "propellant_exhausted", "critical", f"Propellant exhausted at {clock(onset)}", text,
        onset, {"t_s": onset, "onboard_estimate_kg": float(est), "t_count_zero_s": t_zero,
                "t_low_warning_s": None if low is None else float(low["t"]), **detail},
        ("propellant", "velocity", "engines"),
        (Source("nav", onset, detail["t_end_s"]), Source("gnc", onset, detail["t_end_s"]),
         Source("prop", onset))))
    if est > UNACCOUNTED_KG:
        out.append(Finding(
            "propellant_unaccounted", "critical",
            f"{est:,.0f} kg of propellant unaccounted for: a leak or a gauging error",
            f"When thrust stopped at {clock(onset)} the onboard count still showed {est:,.1f} kg."
            " The count follows the commanded burn time, so propellant left the tank another "
            "way (a leak) or the count was wrong from the start.",
            onset, {"t_s": onset, "onboard_estimate_kg": float(est)}, ("propellant",),
            (Source("prop", onset),)))
    return out


def _last_received(rx: Received, t_received: float) -> tuple[Source, ...]:
    """The packets that arrived at ground time t_received (one frame's): one source a type."""
    rows = rx.arrivals[rx.arrivals["t_received"] == t_received]
    return tuple(Source(str(p), float(t)) for p, t in rows.groupby("packet")["t"].max().items())


def _losses(rx: Received, landed: bool) -> list[Finding]:
    out = []
    nav = rx["nav"].dropna(subset=["lat_deg", "lon_deg"])
    for k, los in enumerate(rx.losses):
        last = nav[nav["t"] <= los.t_onboard_last + 1e-6]
        light = None
        if not last.empty:
            light = rx.info.light(los.t_onboard_last, float(last["lat_deg"].iloc[-1]),
                                  float(last["lon_deg"].iloc[-1]))
        elev = None if light is None else light["earth_elevation_deg"]
        final = k == len(rx.losses) - 1 and not (rx.arrivals["t_received"] > los.t_los).any()
        up = elev is not None and elev > EARTH_UP_DEG
        if final and landed:
            severity, why = "info", "after the touchdown (end of the recorded pass)"
        elif up:
            severity = "critical" if final else "warning"
            why = (f"with the Earth {elev:.0f} deg above the lander's horizon: not an "
                   "occultation")
        else:
            severity = "info"
            why = ("with the Earth below the horizon (occultation)" if elev is not None
                   else "(Earth elevation unknown: no epoch in the flight plan)")
        out.append(Finding(
            "los", severity, f"Loss of signal at {clock(los.t_los)}",
            f"The last packet arrived at ground time {clock(los.t_los)} (newest onboard time "
            f"{clock(los.t_onboard_last)}), {why}; with nothing after it for the LOS timeout, "
            f"loss of signal was declared at {clock(los.t_declared)}.", los.t_onboard_last,
            {"t_last_received_ground_s": los.t_los, "t_declared_ground_s": los.t_declared,
             "t_onboard_last_s": los.t_onboard_last, "earth_elevation_deg": elev,
             "light_time_s": None if light is None else light["light_time_s"], "final": final},
            ("link",), _last_received(rx, los.t_los)))
    return out


def infer_outcome(rx: Received, lrf: pd.DataFrame, no_thrust: float | None) -> dict[str, Any]:
    """Landed, impact (time and speed) or unknown, from the last telemetry alone."""
    nav = rx["nav"].dropna(subset=["vertical_speed_mps"])
    end = rx.t_last
    td = rx.first_event("touchdown_detected")
    if nav.empty:
        return {"outcome": "unknown", "basis": "no navigation telemetry received"}
    last = nav.iloc[-1]
    t_nav, vv = float(last["t"]), float(last["vertical_speed_mps"])
    vh = float(last["horizontal_speed_mps"]) if math.isfinite(last["horizontal_speed_mps"]) \
        else 0.0
    if td is not None:
        at = nav[nav["t"] <= float(td["t"]) + 1.0].iloc[-1]
        v_td = float(at["vertical_speed_mps"])
        if abs(v_td) <= LANDED_SPEED:
            return {"outcome": "landed", "t_s": float(td["t"]), "vertical_speed_mps": v_td,
                    "horizontal_speed_mps": float(at["horizontal_speed_mps"]),
                    "t_report_s": float(at["t"]),
                    "basis": "touchdown detected by the footpad switches, reported speeds then"}
    final_los = rx.losses and rx.losses[-1].t_onboard_last >= end - 1e-6
    if not final_los or vv > -1.0:
        return {"outcome": "unknown", "t_last_s": end, "vertical_speed_mps": vv,
                "basis": "the signal did not end in a descent"}
    powered = no_thrust is None
    # the lander's height: the last range reading (made vertical), else its own estimate
    recent = lrf[(lrf["t"] >= end - 5.0) & np.isfinite(lrf["vertical_m"])]
    t_reading = None
    if not recent.empty:
        r = recent.iloc[-1]
        t_reading = float(r["t"])
        h = float(r["vertical_m"]) + vv * (t_nav - t_reading)
        source = f"the last range reading, {r['range_m']:,.0f} m at {clock(t_reading)}"
    else:
        h = float(last["altitude_m"])
        source = f"the last altitude estimate, {h:,.0f} m"
    if powered:
        fall = max(h, 0.0) / -vv
        v_imp = vv
    else:
        fall, v_imp = free_fall(h, vv, GM / (R_REF + float(last["height_m"]))**2)
    t_imp = t_nav + fall
    note = ""
    if t_imp > end + LATENCY_S or t_imp < end - 1.0:
        note = (f" That height put the impact at {clock(t_imp)}, inconsistent with the signal "
                f"ending at {clock(end)}: the height was wrong, and the end of the signal is "
                "taken as the impact.")
        t_imp = end
        v_imp = vv if powered else vv - GM / (R_REF + float(last["height_m"]))**2 * (end - t_nav)
    speed = math.hypot(v_imp, vh)
    return {"outcome": "impact", "t_s": t_imp, "speed_mps": speed,
            "vertical_speed_mps": v_imp, "horizontal_speed_mps": vh, "powered": powered,
            "t_report_s": t_nav, "t_reading_s": t_reading,
            "basis": (f"from {source}, the last reported speeds ({vv:+.1f} m/s vertical, "
                      f"{vh:.1f} m/s horizontal, {clock(t_nav)}) and "
                      + ("constant speed (thrust may have continued)" if powered
                         else f"free fall (no thrust since {clock(no_thrust)})") + "." + note)}


def outcome_headline(outcome: dict[str, Any]) -> str:
    """The inferred outcome in a few words: impact or landing, when and how fast."""
    if outcome.get("outcome") == "impact":
        return f"impact inferred at {clock(outcome['t_s'])}, {outcome['speed_mps']:.0f} m/s"
    if outcome.get("outcome") == "landed":
        return (f"landed at {clock(outcome['t_s'])}, "
                f"{abs(outcome['vertical_speed_mps']):.2f} m/s")
    return "outcome unknown from telemetry"


def _outcome_sources(outcome: dict[str, Any]) -> tuple[Source, ...]:
    """The packets an outcome rests on: the touchdown event, the last reports used."""
    kind = outcome["outcome"]
    out = [Source("event", outcome["t_s"])] if kind == "landed" else []
    out.append(Source("nav", outcome.get("t_report_s", outcome.get("t_last_s", math.inf))))
    if outcome.get("t_reading_s") is not None:
        out.append(Source("lrf", outcome["t_reading_s"]))
    return tuple(out)


def _outcome_finding(outcome: dict[str, Any]) -> Finding:
    kind, sources = outcome["outcome"], _outcome_sources(outcome)
    if kind == "landed":
        return Finding("outcome", "info", f"Landed at {clock(outcome['t_s'])}",
                       f"Touchdown was detected at {clock(outcome['t_s'])} at "
                       f"{abs(outcome['vertical_speed_mps']):.2f} m/s vertical, "
                       f"{outcome['horizontal_speed_mps']:.2f} m/s horizontal "
                       f"({outcome['basis']}).", outcome["t_s"], outcome, ("velocity", "modes"),
                       sources)
    if kind == "impact":
        return Finding("outcome", "critical",
                       f"Impact at about {clock(outcome['t_s'])}, {outcome['speed_mps']:.0f} m/s",
                       f"Inferred impact at {clock(outcome['t_s'])} at "
                       f"{outcome['speed_mps']:.1f} m/s ({abs(outcome['vertical_speed_mps']):.1f}"
                       f" m/s vertical), {outcome['basis']}", outcome["t_s"], outcome,
                       ("altitude", "velocity", "link"), sources)
    return Finding("outcome", "warning", "Outcome unknown from telemetry",
                   outcome["basis"], outcome.get("t_last_s"), outcome, ("link",), sources)


def _chain(found: list[Finding], eps: list[Episode]) -> Finding | None:
    """Rim crossing, range jump, sensor judged faulty, estimate at zero above the surface,
    propellant exhausted, fall: the HAKUTO-R M1 chain, when the telemetry shows it."""
    def first(key: str) -> Finding | None:
        return next((f for f in found if f.key == key), None)

    faulted = next((e for e in eps if e.t_fault is not None), None)
    step, zero = first("terrain_step"), first("estimate_zero_above_surface")
    prop, outcome = first("propellant_exhausted"), first("outcome")
    links: list[tuple[str, float | None, str]] = []
    if step is not None:
        ev = step.evidence
        links.append(("rim crossing", step.t_s,
                      f"terrain under the track drops {abs(ev['terrain_change_m']):,.0f} m "
                      f"({clock(ev['t_from_s'])}-{clock(ev['t_to_s'])})"))
    if faulted is not None:
        links.append(("range jump", faulted.t_start,
                      f"reading {faulted.innovation_first_m:+,.0f} m from the prediction, "
                      "rejected"))
        links.append(("sensor judged faulty", faulted.t_fault,
                      f"gap {faulted.fault_innovation_m:+,.0f} m; readings ignored from then"))
    if zero is not None:
        links.append(("estimate at zero above the surface", zero.t_s,
                      f"range finder still reading {zero.evidence['range_vertical_m']:,.0f} m"))
    if prop is not None:
        links.append(("propellant exhausted", prop.t_s, "thrust commanded, none delivered"))
    if outcome is not None and outcome.evidence.get("outcome") == "impact":
        links.append(("fall", outcome.t_s, f"impact at {outcome.evidence['speed_mps']:.0f} m/s"))
    if faulted is None or len(links) < 4:
        return None
    times = [t for _, t, _ in links if t is not None]
    complete = len(links) == 6 and all(a <= b + 1e-6 for a, b in itertools.pairwise(times))
    lines = "; ".join(f"{clock(t)} {name}: {what}" for name, t, what in links)
    rejected = next((f for f in found if f.key == "lrf_rejected" and f.t_s == faulted.t_start),
                    None)
    fell = outcome if links[-1][0] == "fall" else None
    members = [f for f in (step, rejected, zero, prop, fell) if f is not None]
    return Finding(
        "chain", "critical",
        "The chain of events" + (": a healthy sensor rejected over the terrain, then the fall"
                                 if complete else ""),
        f"From telemetry alone: {lines}.", times[0],
        {"links": [{"link": n, "t_s": t, "t": clock(t), "evidence": w} for n, t, w in links],
         "complete": complete},
        ("altitude", "terrain", "propellant", "modes"),
        chain=members)


# ---------------------------------------------------------------- causes and roles

def _links(found: list[Finding], pairs: list[tuple[Episode, list[Finding]]],
           outcome: dict[str, Any]) -> None:
    """Record which finding led to which, from the detectors' own logic: the links
    ``ROLE_RULE`` lists, in that order."""
    def first(key: str) -> Finding | None:
        return next((f for f in found if f.key == key), None)

    for chain in (f for f in found if f.chain):
        for cause, effect in itertools.pairwise(chain.chain):
            cause.caused(effect)
    zero = first("estimate_zero_above_surface")
    for ep, (rejection, *others) in pairs:
        for f in others:
            if f.key in ("terrain_step", "sensor_suspect"):
                f.caused(rejection)
            else:
                rejection.caused(f)
        if zero is not None and zero.evidence["range_finder_ignored"] and ep.t_fault is not None \
                and ep.t_fault <= (zero.t_s or -math.inf):
            rejection.caused(zero)
    for restart in (f for f in found if f.key == "computer_restart"):
        off, relit = restart.evidence["engine_off_t_s"], restart.evidence["relit_t_s"]
        for dark in (f for f in found if f.key == "thrust_not_delivered"):
            if off is not None and off <= (dark.t_s or -math.inf) <= (relit or math.inf):
                restart.caused(dark)
    exhausted, result = first("propellant_exhausted"), first("outcome")
    unaccounted = first("propellant_unaccounted")
    if unaccounted is not None:
        unaccounted.caused(exhausted)
    if result is None or outcome["outcome"] != "impact":
        return
    if exhausted is not None and not outcome["powered"]:
        exhausted.caused(result)
    for los in (f for f in found if f.key == "los" and f.evidence["final"]):
        if abs((los.t_s or math.inf) - outcome["t_s"]) <= LATENCY_S:
            result.caused(los)


def _role(f: Finding) -> str:
    """A finding's causal role: the outcome, and what follows from it, are consequences."""
    if f.chain:
        return SUMMARY
    if not f.causes and not f.effects:
        return "context"
    if f.key == "outcome" or any(c.key == "outcome" for c in f.causes) or not f.effects:
        return "consequence"
    return "contributing" if f.causes else "root cause"


def causal_roles(found: list[Finding]) -> None:
    """Give each finding its role (``ROLES``) and grade causes by what they led to: a finding
    is at least as severe as anything it led to, directly or not."""
    for f in found:
        f.effects = [e for e in found if any(c is f for c in e.causes)]
        f.role = _role(f)
    rank = SEVERITIES.index
    for _ in found:  # as many passes as findings: every path is that short or shorter
        for f in found:
            for c in f.causes:
                if rank(f.severity) > rank(c.severity):
                    c.severity = f.severity


def ranked(found: list[Finding]) -> list[Finding]:
    """Summaries first, then the most severe, root causes before what they led to, then by
    time; each finding gets its id (its key, numbered from the second)."""
    def order(f: Finding) -> tuple[int, int, int, float]:
        return (f.role != SUMMARY, -SEVERITIES.index(f.severity),
                (*ROLES, SUMMARY).index(f.role), math.inf if f.t_s is None else f.t_s)

    out = sorted(found, key=order)
    seen: dict[str, int] = {}
    for f in out:
        seen[f.key] = seen.get(f.key, 0) + 1
        f.id = f.key if seen[f.key] == 1 else f"{f.key}-{seen[f.key]}"
    return out


ROLE_RULE = (
    "Each finding has a causal role. Which finding led to which comes from the findings' "
    "own logic: the links of a chain of events in order, a terrain step (or a suspect "
    "sensor) to the rejection at its range jump, a rejection to the divergence after it and "
    "to an estimate at zero while the readings were ignored, a restart that stopped the "
    "engine to the thrust not delivered until it was relit, propellant unaccounted for to "
    "its exhaustion, the exhaustion to a fall without thrust, an impact to the loss of signal "
    "at it. A root cause leads to others and follows from none; a contributing finding "
    "follows from one and leads on; a consequence only follows (the outcome, and what "
    "follows from it, always are); context stands alone. A finding is graded at least as "
    "severe as anything it led to, so a root cause is never below its consequences; findings "
    "are listed by severity, and within one severity root causes first, then contributing "
    "findings, consequences and context, each in time order.")


# ---------------------------------------------------------------- Fig. 2's reading

def _estimate_not_sensor(rx: Received, lrf: pd.DataFrame, track: pd.DataFrame,
                         ep: Episode, step: Finding, div: Finding) -> str:
    """What Fig. 2 shows of a rejection that a terrain step explains and that the estimate
    then drifted from: the sensor read the ground; the estimate was wrong."""
    ev = step.evidence
    text = (f"The range finder read the ground correctly: its jump at {clock(ep.t_start)} is "
            f"the {abs(ev['terrain_change_m']) / 1e3:,.1f} km "
            f"{'drop' if ev['terrain_change_m'] > 0 else 'rise'} of the mapped terrain under "
            f"the track. It was the navigation estimate that was wrong: having rejected the "
            f"readings, it drifted from them by up to "
            f"{abs(div.evidence['divergence_largest_m']) / 1e3:,.1f} km")
    rows = lrf[(lrf["t"] >= ep.t_start) & (lrf["t"] <= div.evidence["t_to_s"])
               & np.isfinite(lrf["vertical_m"]) & (lrf["accepted"] != 1)]
    t = rows["t"].to_numpy()
    if t.size and len(track):
        put = value_at(rx["nav"], "height_m", t) - rows["vertical_m"].to_numpy()
        off = float(np.nanmedian(put - np.interp(t, track["t"], track["terrain_m"])))
        if abs(off) > DIVERGENCE_MIN_M:
            text += (f", which is why the ground the readings put under the estimated path "
                     f"(faint red dots) lies about {abs(off) / 1e3:,.1f} km "
                     f"{'below' if off < 0 else 'above'} the map")
    return text + "."


# ---------------------------------------------------------------- all together

def investigate(rx: Received, track: pd.DataFrame) -> Investigation:
    """Every finding the telemetry supports, with its causal role and the packets behind it,
    summaries first, then by severity and role (``ranked``)."""
    lrf = lrf_table(rx)
    eps, short = episodes(rx, lrf)
    end = rx.t_last
    onset, detail = no_thrust_onset(rx)
    outcome = infer_outcome(rx, lrf, onset)
    found: list[Finding] = []
    pairs: list[tuple[Episode, list[Finding]]] = []
    notes: dict[str, str] = {}
    for ep in eps:
        div = _divergence_finding(lrf, ep, end)
        step = _terrain_step(track, ep)
        mine = [_rejection_finding(ep, end)] + [f for f in (div, step) if f is not None]
        pairs.append((ep, mine))
        found += mine
        if div is not None and step is not None and step.key == "terrain_step":
            notes.setdefault("terrain", _estimate_not_sensor(rx, lrf, track, ep, step, div))
    if short:
        isolated = sum(e.readings for e in short)
        found.append(Finding(
            "lrf_isolated_rejections", "info",
            f"{isolated} isolated range readings rejected",
            f"{isolated} readings in telemetry were rejected singly (runs under "
            f"{EPISODE_MIN_S:g} s) and the next ones accepted: the gate working as designed.",
            None, {"readings": isolated}, ("altitude",),
            tuple(Source("lrf", e.t_start, e.t_end) for e in short)))
    found += _silences(lrf)
    zero = _estimate_zero(rx, lrf)
    if zero is not None:
        found.append(zero)
    found += _propellant(rx, onset, detail)
    found += _unlit(rx)
    found += _losses(rx, outcome["outcome"] == "landed")
    found.append(_outcome_finding(outcome))
    found += restart_findings(rx)
    found += engine_findings(rx)
    found += [c for c in (_chain(found, eps), restart_chain(found, rx), engine_chain(found))
              if c is not None]
    _links(found, pairs, outcome)
    causal_roles(found)
    for f in found:
        if f.chain:
            f.sources = tuple(m.sources[0] for m in f.chain if m.sources)
        f.packets = [c for s in f.sources if (c := rx.cite(s.packet, s.t_from, s.t_to))]
    return Investigation(ranked(found), outcome, eps, lrf, onset, notes)
