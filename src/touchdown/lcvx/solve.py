"""Fuel-optimal powered descent by lossless convexification (shell code, cvxpy + Clarabel).

The problem (Açıkmeşe & Ploen 2007; Blackmore, Açıkmeşe & Scharf 2010; Açıkmeşe, Carson &
Blackmore 2013): fly from the start to the target (height 0, at rest or at a given final
velocity) with thrust ``T``, ``rho1 <= |T| <= rho2`` (a non-convex annulus), the mass falling as
``m' = -alpha |T|``. Three steps make it a second-order cone program whose optimum is the
original problem's:

- a slack ``Gamma >= |T|`` takes the place of ``|T|`` in the bounds and the mass flow; the
  papers prove that at the optimum ``|T| = Gamma`` (the relaxation is lossless), which
  ``Solution.relaxation_gap`` checks on every solution;
- with ``u = T / m``, ``sigma = Gamma / m`` and ``z = ln m`` the dynamics are linear
  (``z' = -alpha sigma``) and the bounds read ``rho1 e^-z <= sigma <= rho2 e^-z``: the upper one
  is relaxed to its tangent at ``z0(t) = ln(m_wet - alpha rho2 t)`` (the lightest the lander can
  be at t), the lower one to its second-order expansion there, both on the safe side;
- the controls ``u`` and ``sigma`` are held over each step (zero-order hold: the thrust falls
  with the mass within a step, so the bounds are kept at both ends of it) and the linear
  dynamics, rotation terms included, are discretised exactly by the matrix exponential.

Two stages (Blackmore 2010): the least landing error reachable (problem 3), then the least
propellant that lands within it (problem 4). Without a given time of flight, each stage searches
it between the papers' bounds: a scan of ``SCAN`` times finds the feasible ones, then a
golden-section search narrows the best's neighbourhood to ``TF_TOL`` seconds.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import cvxpy as cp
import numpy as np
from scipy.linalg import expm

from touchdown.lcvx.problem import Problem

SOLVED = ("optimal", "optimal_inaccurate")
SCAN = 9          # times of flight tried across the bounds before the golden-section search
TF_TOL = 0.25     # s, the golden-section search stops when its bracket is this narrow
ERROR_SLACK = 1e-3  # m, the second stage may miss by the first's error plus this (rounding)
GOLDEN = (math.sqrt(5.0) - 1.0) / 2.0


@dataclass
class Solution:
    """A solve's outcome: its status (cvxpy's word: ``optimal``, ``infeasible``, ...) and,
    when solved, the trajectory at the nodes (thrust held over each step)."""

    status: str
    objective: str
    time_of_flight_s: float
    solve_time_s: float  # wall time: building the problem (cvxpy) and solving it
    solves: int = 1
    solver_time_s: float = 0.0  # the solver's own share (Clarabel)
    t_s: np.ndarray = field(default_factory=lambda: np.empty(0))
    position_m: np.ndarray = field(default_factory=lambda: np.empty((0, 3)))
    velocity_mps: np.ndarray = field(default_factory=lambda: np.empty((0, 3)))
    mass_kg: np.ndarray = field(default_factory=lambda: np.empty(0))
    # per step, at its start: thrust per unit mass and sigma are held, the thrust falls with
    # the mass (by the factor mass_kg[k + 1] / mass_kg[k] at the step's end)
    thrust_n: np.ndarray = field(default_factory=lambda: np.empty((0, 3)))
    gamma_n: np.ndarray = field(default_factory=lambda: np.empty(0))  # the slack Gamma

    @property
    def solved(self) -> bool:
        return self.status in SOLVED

    @property
    def propellant_kg(self) -> float:
        return float(self.mass_kg[0] - self.mass_kg[-1]) if self.solved else math.nan

    @property
    def landing_error_m(self) -> float:
        return float(np.linalg.norm(self.position_m[-1, 1:])) if self.solved else math.nan

    def relaxation_gap(self) -> float:
        """Largest (Gamma - |T|) / Gamma over the steps: 0 where the relaxation is tight."""
        mag = np.linalg.norm(self.thrust_n, axis=1)
        return float(np.max((self.gamma_n - mag) / self.gamma_n)) if self.solved else math.nan

    def to_dict(self, trajectory: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "status": self.status, "objective": self.objective,
            "time_of_flight_s": round(self.time_of_flight_s, 4),
            "propellant_kg": _rounded(self.propellant_kg, 3),
            "landing_error_m": _rounded(self.landing_error_m, 3),
            "solve_time_s": round(self.solve_time_s, 4), "solves": self.solves,
            "solver_time_s": round(self.solver_time_s, 4),
        }
        if trajectory and self.solved:
            out["trajectory"] = {
                "t_s": self.t_s.round(4).tolist(), "position_m": self.position_m.round(3).tolist(),
                "velocity_mps": self.velocity_mps.round(4).tolist(),
                "mass_kg": self.mass_kg.round(3).tolist(),
                "thrust_n": self.thrust_n.round(2).tolist(),  # at t_s[k], / mass after
            }
        return out


def _rounded(x: float, digits: int) -> float | None:
    return round(x, digits) if math.isfinite(x) else None


def _cross(w: np.ndarray) -> np.ndarray:
    """The matrix of w x (.)."""
    return np.array([[0.0, -w[2], w[1]], [w[2], 0.0, -w[0]], [-w[1], w[0], 0.0]])


def discretise(p: Problem, dt: float) -> tuple[np.ndarray, np.ndarray]:
    """(Ad, Bd): x_{k+1} = Ad x_k + Bd (u_k + g) exactly for u held over the step, x = [r, v],
    r'' = g + u - 2 w x r' - w x (w x r) in the planet's rotating frame."""
    s = _cross(p.rotation_radps)
    m = np.zeros((9, 9))
    m[0:3, 3:6] = np.eye(3)
    m[3:6, 0:3] = -s @ s
    m[3:6, 3:6] = -2.0 * s
    m[3:6, 6:9] = np.eye(3)
    e = expm(m * dt)
    return e[:6, :6], e[:6, 6:9]


def solve_fixed(p: Problem, tf: float, objective: str,
                max_error_m: float | None = None) -> Solution:
    """One second-order cone program for time of flight tf (s): ``min_landing_error`` (problem
    3) or ``min_fuel`` (problem 4; landing within ``max_error_m`` of the target, else on it)."""
    t0 = time.perf_counter()
    n = max(2, math.ceil(tf / p.dt_s - 1e-9))
    dt = tf / n
    ad, bd = discretise(p, dt)
    alpha, rho1, rho2 = p.alpha_s_per_m, p.thrust_min_n, p.thrust_max_n
    t = dt * np.arange(n + 1)
    z_low = np.log(np.maximum(p.wet_mass_kg - alpha * rho2 * t, p.dry_mass_kg))
    z_high = np.log(np.maximum(p.wet_mass_kg - alpha * rho1 * t, p.dry_mass_kg))
    # the thrust per unit mass is held over a step, so the thrust falls with the mass: the
    # upper bound is kept at the step's start (heaviest), the lower at its end (lightest)
    mu1, mu2 = rho1 * np.exp(-z_low[1:]), rho2 * np.exp(-z_low[:-1])

    x = cp.Variable((n + 1, 6))
    z = cp.Variable(n + 1)
    u = cp.Variable((n, 3))
    sigma = cp.Variable(n)
    dz0, dz1 = z[:-1] - z_low[:-1], z[1:] - z_low[1:]
    cons = [
        x[0] == np.concatenate([p.position_m, p.velocity_mps]),
        z[0] == math.log(p.wet_mass_kg),
        x[1:] == x[:-1] @ ad.T + (u + p.gravity_mps2) @ bd.T,
        z[1:] == z[:-1] - alpha * dt * sigma,
        cp.norm(u, axis=1) <= sigma,
        cp.multiply(mu1, 1 - dz1 + 0.5 * cp.square(dz1)) <= sigma,
        sigma <= cp.multiply(mu2, 1 - dz0),
        z >= z_low, z <= z_high, z[n] >= math.log(p.dry_mass_kg),
        x[n, 0] == 0.0, x[n, 3:6] == p.final_velocity_mps,
    ]
    if p.glide_slope_deg is not None:  # a cone with its apex where the lander lands
        across = x[:n, 1:3] - cp.reshape(x[n, 1:3], (1, 2), order="C")
        cons.append(math.tan(math.radians(p.glide_slope_deg)) * cp.norm(across, axis=1)
                    <= x[:n, 0])
    limit = np.full(n, 180.0 if p.pointing_max_deg is None else p.pointing_max_deg)
    if p.pointing_final_max_deg is not None and p.pointing_rate_deg_s is not None:
        # reachable at the slew rate: at most the end's limit plus the rate times the time
        # from the step's end to the end
        limit = np.minimum(limit, p.pointing_final_max_deg + p.pointing_rate_deg_s * (tf - t[1:]))
    if np.any(limit < 180.0):
        cons.append(u[:, 0] >= cp.multiply(np.cos(np.radians(limit)), sigma))
    if p.speed_max_mps is not None:
        cons.append(cp.norm(x[:, 3:6], axis=1) <= p.speed_max_mps)
    miss = cp.norm(x[n, 1:3])
    if objective == "min_landing_error":
        goal = cp.Minimize(miss)
    else:
        cons.append(miss <= (max_error_m or 0.0) + ERROR_SLACK)
        goal = cp.Minimize(cp.sum(sigma) * dt)
    prob = cp.Problem(goal, cons)
    try:
        with warnings.catch_warnings():  # "may be inaccurate": the status says so
            warnings.simplefilter("ignore", UserWarning)
            prob.solve(solver=cp.CLARABEL, canon_backend=cp.SCIPY_CANON_BACKEND)
        status = str(prob.status)
    except cp.SolverError as exc:
        status = f"solver_error ({exc})"
    wall = time.perf_counter() - t0
    stats = prob.solver_stats
    own = float(stats.solve_time) if stats is not None and stats.solve_time else 0.0
    if status not in SOLVED:
        return Solution(status, objective, tf, wall, 1, own)
    mass = np.exp(z.value)
    return Solution(status, objective, tf, wall, 1, own, t, x.value[:, :3], x.value[:, 3:],
                    mass, u.value * mass[:-1, None], sigma.value * mass[:-1])


def _cost(s: Solution) -> float:
    if not s.solved:
        return math.inf
    return s.landing_error_m if s.objective == "min_landing_error" else s.propellant_kg


def search_time(p: Problem, objective: str, max_error_m: float | None = None,
                feasible_at: float | None = None, longest_s: float = math.inf) -> Solution:
    """The best time of flight for one stage between ``Problem.time_bounds`` (at most
    ``longest_s``): a scan (with ``feasible_at``, a time known to be feasible, among the times),
    then a golden-section search between the best time scanned's neighbours. The result
    counts every solve."""
    lo, hi = p.time_bounds()
    hi = min(hi, longest_s)
    lo, hi = max(lo, 2 * p.dt_s), max(hi, 2 * p.dt_s + TF_TOL)
    solves: list[Solution] = []

    def at(tf: float) -> Solution:
        solves.append(solve_fixed(p, tf, objective, max_error_m))
        return solves[-1]

    grid = np.linspace(lo, hi, SCAN)
    if feasible_at is not None:
        grid = np.sort(np.append(grid, feasible_at))
    scanned = [at(float(tf)) for tf in grid]
    costs = [_cost(s) for s in scanned]
    k = int(np.argmin(costs))
    best = scanned[k]
    if math.isfinite(costs[k]):
        a, b = float(grid[max(k - 1, 0)]), float(grid[min(k + 1, len(grid) - 1)])
        c, d = b - GOLDEN * (b - a), a + GOLDEN * (b - a)
        sc, sd = at(c), at(d)
        while b - a > TF_TOL:
            if _cost(sc) <= _cost(sd):
                b, d, sd = d, c, sc
                c = b - GOLDEN * (b - a)
                sc = at(c)
            else:
                a, c, sc = c, d, sd
                d = a + GOLDEN * (b - a)
                sd = at(d)
        best = min((best, sc, sd), key=_cost)
    best.solves = len(solves)
    best.solve_time_s = sum(s.solve_time_s for s in solves)
    best.solver_time_s = sum(s.solver_time_s for s in solves)
    return best


def solve(p: Problem) -> Solution:
    """The problem's objective: ``min_landing_error`` (problem 3), or ``min_fuel``: the least
    landing error first, then the least propellant landing within it (Blackmore 2010). With
    the time of flight given it is kept; else each stage searches its own. When the second
    stage fails where the first landed (the solver's tolerance on a landing error of hundreds
    of metres), the first stage's trajectory stands: it lands as near, on more propellant."""
    if p.time_of_flight_s is not None:
        first = solve_fixed(p, p.time_of_flight_s, "min_landing_error")
    else:
        first = search_time(p, "min_landing_error")
    if p.objective == "min_landing_error" or not first.solved:
        return first
    # the first stage's trajectory lands within its own error: the second's search includes it
    if p.time_of_flight_s is not None:
        second = solve_fixed(p, p.time_of_flight_s, "min_fuel", first.landing_error_m)
    else:
        second = search_time(p, "min_fuel", first.landing_error_m, first.time_of_flight_s)
    best = second if second.solved else first
    best.solves = first.solves + second.solves
    best.solve_time_s = first.solve_time_s + second.solve_time_s
    best.solver_time_s = first.solver_time_s + second.solver_time_s
    return best
