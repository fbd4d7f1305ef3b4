"""Findings about the engines and the attitude: thrust above the model (the acceleration
measured against the one the commands and the flight plan's engines give), the software's
attitude-rate limit holding guidance back, speed gained near the ground, and the chain they
make with a hard landing (Chandrayaan-2 Vikram's loss), from telemetry alone (shell).

The measured thrust acceleration is the change of the reported speeds less what gravity and
the turning frame alone give (``report.findings``' no-thrust test, the other way round); the
commanded one is the throttle and the engines lit (``gnc``) times the plan's rated thrust, over
the plan's dry mass plus the reported propellant.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from touchdown.report.finding import Finding, Source
from touchdown.report.received import Received, speed_rates, value_at
from touchdown.timefmt import mission_clock as clock

SMOOTH_S = 10.0  # s: speeds' derivatives averaged over this (the nav packet's noise)
EXCESS_MIN = 0.05  # thrust this far above the model (over a phase) is a finding
EXCESS_MIN_S = 20.0  # s of main-engine-only thrust needed to judge it
HELD_MIN_DEG = 1.0  # deg: the rate limit holding the command back this far is worth counting
NEAR_GROUND_M = 2000.0  # m: below this, horizontal speed should only fall
GAINED_MIN_MPS = 5.0  # m/s of horizontal speed gained below NEAR_GROUND_M: a finding


def thrust_ratio(rx: Received) -> pd.DataFrame:
    """Per ``nav`` report while the main engine alone fires: t, the guidance mode, the measured
    thrust acceleration over the commanded one (empty without the plan's engines)."""
    info, nav = rx.info, rx["nav"].dropna(subset=["vertical_speed_mps", "horizontal_speed_mps",
                                                   "height_m"])
    if info.main_engines is None or info.main_engine_thrust_n is None or info.dry_mass_kg is None \
            or len(nav) < 5:
        return pd.DataFrame({"t": [], "mode": [], "ratio": []})
    window = max(3, round(SMOOTH_S / max(float(np.median(np.diff(nav["t"]))), 1e-3)))
    t, av, ah, gravity = speed_rates(nav, window)
    measured = np.hypot(av - gravity, ah)
    main = pd.Series(value_at(rx["gnc"], "main_engine", t)).rolling(window, center=True,
                                                               min_periods=3).mean().to_numpy()
    lit = value_at(rx["gnc"], "main_lit", t)
    duty = value_at(rx["gnc"], "thruster_duty", t)
    engines = np.where(lit > 0, lit, info.main_engines)
    mass = info.dry_mass_kg + np.maximum(value_at(rx["prop"], "propellant_kg", t), 0.0)
    commanded = engines * info.main_engine_thrust_n * main / mass
    steady = (main > 0.2) & (duty <= 0.0) & np.isfinite(measured) & (commanded > 0.0)
    mode = value_at(rx["gnc"], "mode", t)
    return pd.DataFrame({"t": t[steady], "mode": mode[steady],
                         "ratio": measured[steady] / commanded[steady]})


def engine_findings(rx: Received) -> list[Finding]:
    """Thrust above the model; the attitude-rate limit holding guidance back; horizontal speed
    gained near the ground."""
    out: list[Finding] = []
    ratio = thrust_ratio(rx)
    if len(ratio):
        # judge by phase: the median over each mode's reports
        for _, run in ratio.groupby("mode", sort=False):
            if run["t"].iloc[-1] - run["t"].iloc[0] < EXCESS_MIN_S:
                continue
            # the speeds' rates miss thrust across the track, which only lowers the measured
            # acceleration: the upper quartile, not the median, estimates the engines'
            excess = float(run["ratio"].quantile(0.75)) - 1.0
            if excess >= EXCESS_MIN:
                t0, t1 = float(run["t"].iloc[0]), float(run["t"].iloc[-1])
                phase = rx.state("gnc.mode", float(run["mode"].iloc[0]))
                out.append(Finding(
                    "thrust_excess", "critical",
                    f"Thrust {100 * excess:.0f} % above the model in {phase}, {clock(t0)} to "
                    f"{clock(t1)}",
                    f"From {clock(t0)} to {clock(t1)} the acceleration measured from the "
                    f"reported speeds was {100 * excess:.0f} % above what the commanded throttle "
                    "and engines give by the flight plan's rated thrust and the lander's mass "
                    f"(upper quartile of {len(run)} reports): the engines delivered more thrust "
                    "than "
                    "their model, so each command decelerated the lander more than guidance "
                    "meant.", t0, {"t_s": t0, "t_end_s": t1, "excess": excess, "phase": phase,
                                   "reports": len(run)}, ("velocity", "engines"),
                    (Source("nav", t0, t1), Source("gnc", t0, t1))))
                break
    gnc = rx["gnc"].dropna(subset=["turn_held_deg"]) if "turn_held_deg" in rx["gnc"] \
        else pd.DataFrame()
    held = gnc[gnc["turn_held_deg"] >= HELD_MIN_DEG] if len(gnc) else gnc
    if len(held):
        worst = held.loc[held["turn_held_deg"].idxmax()]
        share = len(held) / max(len(gnc[gnc["main_engine"] > 0.0]), 1)
        out.append(Finding(
            "turn_rate_limited", "warning",
            f"Attitude-rate limit held guidance back in {len(held)} reports",
            f"In {len(held)} reports ({100 * share:.0f} % of those with the engines firing), "
            f"the first at {clock(float(held['t'].iloc[0]))}, the software's attitude-rate "
            "limit kept the thrust direction from turning where guidance wanted it, by up to "
            f"{worst['turn_held_deg']:.0f} deg ({clock(float(worst['t']))}): the errors guidance "
            "was correcting grew while the lander turned.", float(held["t"].iloc[0]),
            {"reports": len(held), "share": share, "max_held_deg": float(worst["turn_held_deg"]),
             "t_max_s": float(worst["t"])}, ("velocity", "modes"),
            (Source("gnc", float(held["t"].iloc[0]), float(held["t"].iloc[-1])),)))
    nav = rx["nav"].dropna(subset=["altitude_m", "horizontal_speed_mps"])
    low = nav[(nav["altitude_m"] < NEAR_GROUND_M) & (nav["altitude_m"] > 0.0)]
    if len(low) >= 3:
        vh = low["horizontal_speed_mps"].to_numpy()
        k_min = int(np.argmin(vh))
        later = vh[k_min:]
        k_max = k_min + int(np.argmax(later))
        gained = float(vh[k_max] - vh[k_min])
        if gained >= GAINED_MIN_MPS:
            a, b = low.iloc[k_min], low.iloc[k_max]
            out.append(Finding(
                "speed_gained_near_ground", "critical",
                f"Horizontal speed gained near the ground: {vh[k_min]:.0f} to {vh[k_max]:.0f} m/s",
                f"Below {NEAR_GROUND_M:,.0f} m the horizontal speed rose from {vh[k_min]:.1f} "
                f"m/s ({clock(float(a['t']))}, {a['altitude_m']:,.0f} m up) to {vh[k_max]:.1f} "
                f"m/s ({clock(float(b['t']))}, {b['altitude_m']:,.0f} m up): guidance flew the "
                "lander toward its target rather than slowing it.", float(a["t"]),
                {"from_mps": float(vh[k_min]), "to_mps": float(vh[k_max]),
                 "t_from_s": float(a["t"]), "t_to_s": float(b["t"])}, ("velocity",),
                (Source("nav", float(a["t"]), float(b["t"])),)))
    return out


def engine_chain(found: list[Finding]) -> Finding | None:
    """Thrust above the model, the rate limit holding guidance back, speed gained near the
    ground, the hard landing: the Chandrayaan-2 chain, when the telemetry shows its links."""
    def first(key: str) -> Finding | None:
        return next((f for f in found if f.key == key), None)

    excess, held = first("thrust_excess"), first("turn_rate_limited")
    gained, outcome = first("speed_gained_near_ground"), first("outcome")
    if excess is None or held is None:
        return None
    links = [("thrust above the model", excess.t_s,
              f"+{100 * excess.evidence['excess']:.0f} %"),
             ("attitude rate limited", held.t_s,
              f"held back up to {held.evidence['max_held_deg']:.0f} deg")]
    if gained is not None:
        links.append(("speed gained near the ground", gained.t_s,
                      f"{gained.evidence['from_mps']:.0f} to {gained.evidence['to_mps']:.0f} m/s"))
    hard = outcome is not None and outcome.evidence.get("outcome") == "impact"
    if hard:
        links.append(("hard landing", outcome.t_s,
                      f"about {outcome.evidence['speed_mps']:.0f} m/s"))
    links.sort(key=lambda link: link[1])
    lines = "; ".join(f"{clock(t)} {name}: {what}" for name, t, what in links)
    return Finding(
        "engine_chain", "critical" if hard else "warning",
        "The chain of events: thrust above the model against a rate-limited attitude"
        + (", then a hard landing" if hard else ""),
        f"From telemetry alone: {lines}.", min(t for _, t, _ in links if t is not None),
        {"links": [{"link": n, "t_s": t, "t": clock(t), "evidence": w} for n, t, w in links],
         "complete": hard and gained is not None and math.isfinite(excess.evidence["excess"])},
        ("velocity", "engines", "modes"),
        chain=sorted((f for f in (excess, held, gained, outcome if hard else None)
                      if f is not None), key=lambda f: f.t_s or 0.0))
