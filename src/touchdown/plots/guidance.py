"""Guidance figures (shell): a solved powered-descent problem (the path against the horizontal
distance from the landing point with the glide-slope cone, its apex there; the thrust against its
bounds; the mass), flights of one lander's approach side by side, and campaigns of a late
retarget side by side."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure

from touchdown.lcvx.problem import Problem
from touchdown.lcvx.solve import Solution
from touchdown.plots.png import save_png

if TYPE_CHECKING:
    import pandas as pd

    from touchdown.sim.run import Flight

__all__ = ["approach_comparison", "divert_comparison", "solution_figure"]
RETARGET = ("guidance.retarget_m[0]", "guidance.retarget_m[1]")  # the campaign's columns


def solution_figure(p: Problem, s: Solution, path: Path) -> Path:
    """Height against horizontal distance from the landing point (with thrust arrows and the
    glide-slope cone), thrust magnitude and slack against their bounds, and mass, over time."""
    fig = Figure(figsize=(11.0, 7.0), layout="constrained")
    grid = fig.add_gridspec(2, 2, width_ratios=(1.5, 1.0))
    ax_path = fig.add_subplot(grid[:, 0])
    ax_thrust, ax_mass = fig.add_subplot(grid[0, 1]), fig.add_subplot(grid[1, 1])
    r = s.position_m
    offset = r[:, 1:] - r[-1, 1:]  # from the landing point: the glide-slope cone's apex
    across = np.linalg.norm(offset, axis=1)
    ax_path.plot(across, r[:, 0], "o-", ms=2.5, lw=1.4, color="tab:blue", label="trajectory")
    step = max(1, len(s.thrust_n) // 25)
    scale = 0.08 * max(float(np.ptp(r[:, 0])), float(np.ptp(across)), 1.0) / p.thrust_max_n
    for k in range(0, len(s.thrust_n), step):
        dirn = s.thrust_n[k]
        horiz = (np.dot(dirn[1:], offset[k]) / across[k]) if across[k] > 0 else 0.0
        ax_path.arrow(across[k], r[k, 0], scale * horiz, scale * dirn[0], color="tab:red",
                      width=0.0, head_width=0.0, lw=1.0)
    ax_path.plot([], [], color="tab:red", lw=1.0, label="thrust (along the arrows)")
    if p.glide_slope_deg is not None:
        x = np.array([0.0, float(across.max()) * 1.05])
        ax_path.plot(x, x * math.tan(math.radians(p.glide_slope_deg)), "k--", lw=1.0,
                     label=f"glide slope {p.glide_slope_deg:g}°")
    ax_path.axhline(0.0, color="0.4", lw=0.8)
    ax_path.set_xlabel("horizontal distance from the landing point (m)")
    ax_path.set_ylabel("height above the target (m)")
    ax_path.set_title(f"{p.name}: {s.status}, {s.objective}\n"
                      f"time of flight {s.time_of_flight_s:.1f} s, propellant "
                      f"{s.propellant_kg:.1f} kg, landing error {s.landing_error_m:.2f} m",
                      fontsize=10)
    ax_path.legend(fontsize=8)
    ax_path.grid(alpha=0.3)

    t_steps = np.repeat(s.t_s, 2)[1:-1]
    ax_thrust.plot(t_steps, np.repeat(np.linalg.norm(s.thrust_n, axis=1), 2) / 1e3,
                   color="tab:blue", label="|T|")
    ax_thrust.plot(t_steps, np.repeat(s.gamma_n, 2) / 1e3, "--", color="tab:orange",
                   label="slack Γ (equal: lossless)")
    for bound, name in ((p.thrust_min_n, "ρ1"), (p.thrust_max_n, "ρ2")):
        ax_thrust.axhline(bound / 1e3, color="0.3", ls=":", lw=1.0)
        ax_thrust.text(s.t_s[-1], bound / 1e3, f" {name}", va="center", fontsize=8)
    ax_thrust.set_ylabel("thrust (kN)")
    ax_thrust.legend(fontsize=8)
    ax_thrust.grid(alpha=0.3)
    ax_mass.plot(s.t_s, s.mass_kg, color="tab:green")
    ax_mass.axhline(p.dry_mass_kg, color="0.3", ls=":", lw=1.0)
    ax_mass.set_xlabel("time (s)")
    ax_mass.set_ylabel("mass (kg)")
    ax_mass.grid(alpha=0.3)
    return save_png(fig, path)


def approach_comparison(flights: dict[str, Flight], title: str, path: Path) -> Path:
    """Flights of one lander side by side from their approach's start (``high_gate``) to
    contact: height against distance to go, thrust and propellant against time."""
    fig = Figure(figsize=(12.0, 4.2), layout="constrained")
    ax_path, ax_thrust, ax_prop = fig.subplots(1, 3)
    for (label, f), colour in zip(flights.items(), ("tab:blue", "tab:orange", "tab:green"),
                                  strict=False):
        tr, start = f.trace, f.milestones()["high_gate"]
        shown = tr[tr["t_s"] >= start - 5.0]
        t = shown["t_s"].to_numpy() - start
        go = shown["downrange_km"].to_numpy()
        ax_path.plot(go - go[-1], shown["altitude_m"], color=colour, label=label)
        ax_thrust.plot(t, shown["thrust_n"] / 1e3, color=colour, lw=1.0, label=label)
        used = float(np.interp(start, tr["t_s"], tr["propellant_kg"]))
        ax_prop.plot(t, used - shown["propellant_kg"], color=colour,
                     label=f"{label}: {f.outcome}")
    ax_path.set_xlabel("downrange from contact (km)")
    ax_path.set_ylabel("altitude (m)")
    ax_thrust.set_xlabel("time from the approach's start (s)")
    ax_thrust.set_ylabel("thrust (kN)")
    ax_prop.set_xlabel("time from the approach's start (s)")
    ax_prop.set_ylabel("propellant burnt since (kg)")
    for ax in (ax_path, ax_thrust, ax_prop):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(title, fontsize=11)
    return save_png(fig, path)


def divert_comparison(campaigns: dict[str, pd.DataFrame], title: str, path: Path) -> Path:
    """Campaigns of one lander with a late retarget drawn (``guidance.retarget_m``), side by
    side: the propellant left against how far the aim moved back or ahead (downrange), and the
    miss from the final aim as the flight software knows it against the move's length; a
    sample that did not land is a cross."""
    fig = Figure(figsize=(11.0, 4.2), layout="constrained")
    ax_prop, ax_miss = fig.subplots(1, 2)
    for (label, rows), colour in zip(campaigns.items(), ("tab:blue", "tab:orange"),
                                     strict=False):
        down, cross = rows[RETARGET[0]], rows[RETARGET[1]]
        landed = rows["outcome"] == "landed"
        for ok, marker in ((landed, "o"), (~landed, "x")):
            name = f"{label}: {int(ok.sum())} {'landed' if marker == 'o' else 'not'}"
            ax_prop.scatter(down[ok], rows["propellant_remaining_kg"][ok], s=18,
                            marker=marker, color=colour, label=name)
            ax_miss.scatter(np.hypot(down[ok], cross[ok]), rows["aim_miss_estimate_m"][ok],
                            s=18, marker=marker, color=colour, label=name)
    ax_prop.axvline(0.0, color="0.5", lw=0.8)
    ax_prop.set_xlabel("retarget downrange (m; < 0: back against the flight)")
    ax_prop.set_ylabel("propellant left at contact (kg)")
    ax_miss.set_xlabel("retarget distance (m)")
    ax_miss.set_ylabel("miss from the final aim, estimated (m)")
    for ax in (ax_prop, ax_miss):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(title, fontsize=11)
    return save_png(fig, path)
