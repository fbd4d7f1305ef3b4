"""The onboard optimiser (shell): fuel-optimal approach guidance, re-solved in flight.

A scenario with ``guidance.optimal_resolve_s`` above zero flies its approach on a thrust
profile that ``touchdown.lcvx`` solves from the flight software's own state (its navigation
estimate, propellant estimate, engines and approach target; never the world's): once the
approach has begun, with the time of flight searched (the least propellant), then every
``optimal_resolve_s`` seconds to the same arrival, each from the estimate of the moment; when
that arrival is out of reach (the flight fell behind its plan), a few later ones are tried
(``LATER_S``), then the first of them in reach as near the target as it can (Blackmore's two
stages), and if even that fails the approach's polynomial flies the rest (a new plan
searched from there lands fewer: tried on M1-fixed, 19 of 40 samples against 40 of 40, and on
Apollo 11, 29 of 40 against 37; late in Vikram's approach the lowest thrust of its four
engines outweighs the lightened lander: a plan from there is a long one, or none). When a
late retarget moves the approach's aim (``fsw.modes.monitor``), a new plan is searched at once;
out of reach, it lands as near as it can (Blackmore's first stage). A profile is loaded into
the flight software (``F_PROFILE``: per step, the thrust acceleration and the planned state in
the guidance frame), whose approach program then flies it and tracks its planned path, within
the thrust the plan leaves in reserve (``fsw.guidance.profile_phase``); until the first loads,
the approach flies its polynomial. The solver runs between compiled chunks, at a cycle's start,
as a background task of the flight computer would; a flight is the same for the same seed,
however it is chunked.

The problem, in the papers' axes (x up, the target at the origin): the approach target (the
hover point, or a gate passed at its velocity: M1's vertical gate) is the origin; gravity is the
point mass's at the lander's radius, along the guidance frame's down; the Moon's rotation in the
frame; the thrust as control allocates it: from the lit main engines' lowest throttle (a
fixed-thrust engine's full thrust) to ``THRUST_MARGIN`` of the main engines' and pulsed
thrusters' full thrust together, or of the lower edge of a forbidden throttle band (Apollo's: a
cone program has one interval, and the band's upper side is the full thrust the throttle logic
holds): a reserve every plan, re-solves too, leaves for the tracking, the throttle and the
polynomial that may take over; the mass flow per newton at full thrust (M1's thrusters' lower
Isp then counts for their share of it, which overstates the flow of a plan on the main engine
alone by ~7 %: the re-solves start from the flight software's propellant estimate each time).
The thrust never points down, and ends within the vertical phases' tilt limit, the limit
opening back from the end at the lander's slew rate (an attitude the vertical phases can take
over: without it Apollo's LM ended its approach 30 m up tilted 40-60° and slewing, its speed
across growing past what its 20° of tilt could take out before contact); the plan stays above
a glide slope from the approach's end (``guidance.optimal_glide_slope_deg``).

``sim.run.Stepper`` (every single flight: ``touchdown fly``, live, downlink) flies a scenario's
optimiser through ``fly_until``; a campaign flies such samples one by one the same way.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from typing import TYPE_CHECKING

import numpy as np

from touchdown.core.engines import group_mass_flow, group_thrust
from touchdown.core.layout import (
    C_CYCLE,
    C_TICK,
    EG_BAND,
    EG_THROTTLE_MIN,
    F_DIVERT,
    F_GUID_DCM,
    F_MODE,
    F_PROFILE,
    F_PROFILE_ACC,
    F_PROP,
    F_RETARGET_SEEN,
    F_TGO,
    F_X,
    FP_APPR_TGT,
    FP_DRY,
    FP_MAIN,
    FP_THRUSTERS,
    FP_TILT_MAX,
    GUIDANCE_FRAME,
    MODE_APPROACH,
    N_ENGINE_GROUP,
    N_PROFILE_STEP,
    PROFILE_STEPS,
    TICK_S,
)
from touchdown.fsw.control import main_share
from touchdown.fsw.guidance import to_guidance
from touchdown.lcvx.problem import Problem
from touchdown.moon.constants import GM, OMEGA
from touchdown.scenario import Scenario

if TYPE_CHECKING:
    from touchdown.lcvx.solve import Solution

THRUST_MARGIN = 0.85  # ASSUMPTION: the share of full thrust a profile plans with (see above)
POINTING_MAX_DEG = 90.0  # the thrust never points down
STEP_S = 1.0  # s, the profile's step (longer when the time of flight needs more steps)
LAST_SOLVE_S = 5.0  # s before the arrival after which the last profile is flown out
LATER_S = (0.0, 2.0, 5.0)  # s, arrivals tried when the planned one is out of reach
LONGEST_S = PROFILE_STEPS * STEP_S  # s, the longest time of flight searched
# solver axes (x up, y downrange, z crossrange) from the guidance frame's (down, cross, up)
TO_SOLVER = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])


def approach_problem(fsw: np.ndarray, fp: np.ndarray, t: float, glide_slope_deg: float,
                     slew_deg_s: float) -> Problem:
    """The approach from the flight software's state (``FSW``, ``FSW_PARAMS``) at its time t,
    above a glide slope of ``glide_slope_deg`` from the approach's end, its thrust ending
    within the vertical phases' tilt limit, the limit opening back from there at the
    attitude's slew rate (deg/s)."""
    r_g, v_g, g_g = np.zeros(3), np.zeros(3), np.zeros(3)
    to_guidance(fsw, fp, t, r_g, v_g, g_g, np.zeros(GUIDANCE_FRAME.size))
    frame = fsw[F_GUID_DCM:F_GUID_DCM + 9].reshape(3, 3)  # rows: the axes, Moon-fixed
    main = fp[FP_MAIN:FP_MAIN + N_ENGINE_GROUP]
    thrusters = fp[FP_THRUSTERS:FP_THRUSTERS + N_ENGINE_GROUP]
    # the thrust as control allocates it (fsw.control.command_thrust): the lit main engines
    # (their thrust as the flight software knows it, learned from the IMU where it learns it)
    # between their lowest throttle and full, the pulsed thrusters making up the rest
    share = main_share(fsw, main)
    full_main, full_thr = share * group_thrust(main, 1.0), group_thrust(thrusters, 1.0)
    top = full_main + full_thr
    band_lo, band_hi = main[EG_BAND], main[EG_BAND + 1]
    if band_hi > band_lo:  # below a forbidden band (the thrusters, if any, above it)
        top = min(top, band_lo * full_main + full_thr)
    top *= THRUST_MARGIN
    flow = share * group_mass_flow(main, 1.0) + group_mass_flow(thrusters, 1.0)
    target = aim(fsw, fp)
    radius = float(np.linalg.norm(fsw[F_X:F_X + 3]))
    return Problem(
        wet_mass_kg=float(fp[FP_DRY] + max(fsw[F_PROP], 0.0)),
        dry_mass_kg=float(fp[FP_DRY]),
        thrust_min_n=float(main[EG_THROTTLE_MIN] * full_main),
        thrust_max_n=float(top),
        alpha_s_per_m=float(flow / (full_main + full_thr)),
        gravity_mps2=np.array([-GM / radius**2, 0.0, 0.0]),
        rotation_radps=TO_SOLVER @ (OMEGA * frame[:, 2]),
        position_m=TO_SOLVER @ (r_g - target[:3]),
        velocity_mps=TO_SOLVER @ v_g,
        final_velocity_mps=TO_SOLVER @ target[3:6],
        glide_slope_deg=glide_slope_deg,
        pointing_max_deg=POINTING_MAX_DEG,
        pointing_final_max_deg=math.degrees(fp[FP_TILT_MAX]),
        pointing_rate_deg_s=slew_deg_s,
        objective="min_fuel",
        dt_s=STEP_S,
        name="approach",
    )


def aim(fsw: np.ndarray, fp: np.ndarray) -> np.ndarray:
    """The approach target's position and velocity (guidance frame) moved to the flight
    software's aim (a landing area's, a late retarget's: ``F_DIVERT``)."""
    target = fp[FP_APPR_TGT:FP_APPR_TGT + 6].copy()
    target[:2] += fsw[F_DIVERT:F_DIVERT + 2]
    return target


def load_profile(fsw: np.ndarray, fp: np.ndarray, s: Solution, thrust_max_n: float,
                 t0: float) -> None:
    """Load a solved profile into the flight software, its first step from t0 (s): per step,
    the thrust acceleration and the planned position (from the site) and velocity at its
    start, in the guidance frame; the end's state one step more (its thrust unused); and the
    reserve above the plan's thrust_max_n (N) its tracking may use (per kilogram)."""
    n = len(s.thrust_n)
    words = np.zeros((n + 1, N_PROFILE_STEP))  # rows: solver axes -> guidance frame
    words[:n, :3] = (s.thrust_n / s.mass_kg[:-1, None]) @ TO_SOLVER
    words[:, 3:6] = s.position_m @ TO_SOLVER + aim(fsw, fp)[:3]
    words[:, 6:9] = s.velocity_mps @ TO_SOLVER
    fsw[F_PROFILE_ACC:F_PROFILE_ACC + words.size] = words.ravel()
    reserve = (1.0 / THRUST_MARGIN - 1.0) * thrust_max_n / s.mass_kg[0]
    fsw[F_PROFILE:F_PROFILE + 4] = (t0, s.t_s[1] - s.t_s[0], n, reserve)


@dataclasses.dataclass
class Optimiser:
    """One flight's onboard optimiser: when it solves, and what its solves gave (their times,
    statuses, wall times and planned propellant)."""

    every_s: float
    glide_slope_deg: float  # the plans' glide slope from the approach's end
    slew_deg_s: float  # the attitude's slew rate (the lander's, as designed)
    arrival_s: float = math.nan  # the arrival time the first solve chose
    next_s: float = math.nan  # the time of the next solve
    fallback_s: float = math.nan  # when the approach went back to its polynomial, if it did
    retarget_s: float = math.nan  # when it solved for a target moved late, if it did
    t_s: list[float] = dataclasses.field(default_factory=list)
    status: list[str] = dataclasses.field(default_factory=list)
    wall_s: list[float] = dataclasses.field(default_factory=list)
    propellant_kg: list[float] = dataclasses.field(default_factory=list)

    @classmethod
    def of(cls, s: Scenario) -> Optimiser | None:
        """The scenario's optimiser, or None when its approach flies its polynomial."""
        every = s["guidance.optimal_resolve_s"]
        if every <= 0.0:
            return None
        return cls(every, s["guidance.optimal_glide_slope_deg"], s["lander.slew_rate_max_deg_s"])

    def next_tick(self, fsw: np.ndarray, fp: np.ndarray, clock: np.ndarray,
                  until: int) -> int:
        """Solve if one is due now; the tick (at most ``until``) to fly on to before the next
        look: the next cycle's start. Solves happen at cycles' starts only, so a flight does not
        depend on where its chunks end (``until``: a live flight's, a campaign's)."""
        tick, cycle = int(clock[C_TICK]), int(clock[C_CYCLE])
        looking = int(fsw[F_MODE]) == MODE_APPROACH and tick % cycle == 0
        t_est = (tick - cycle) * TICK_S  # the estimate is the last cycle's
        if looking and fsw[F_RETARGET_SEEN] > 0.0 and math.isnan(self.retarget_s):
            # the target moved: a new plan, its time of flight searched afresh
            self.retarget_s, self.arrival_s, self.next_s = t_est, math.nan, t_est
        if looking and not t_est < self.next_s:
            self.solve(fsw, fp, t_est)
        return min(until, (tick // cycle + 1) * cycle)

    def solve(self, fsw: np.ndarray, fp: np.ndarray, t: float) -> None:
        """Solve from the estimate at t (s) and load the profile when solved."""
        from touchdown.lcvx.solve import search_time, solve, solve_fixed  # cvxpy: 1 s to load

        problem = approach_problem(fsw, fp, t, self.glide_slope_deg, self.slew_deg_s)
        if math.isnan(self.arrival_s):  # the first (or the first after a retarget): the time
            # of flight searched, landing on the target, else as near as it can
            solved = search_time(problem, "min_fuel", 0.0, longest_s=LONGEST_S)
            if not solved.solved:
                solved = solve(dataclasses.replace(problem, time_of_flight_s=LONGEST_S / 2))
            if solved.solved:
                self.arrival_s = t + solved.time_of_flight_s
        else:  # to the arrival chosen before, else a little later; on none exactly, the
            # first of them in reach as near as it can (Blackmore's two stages)
            for exact, later in itertools.product((True, False), LATER_S):
                remaining = self.arrival_s + later - t
                at = dataclasses.replace(problem, time_of_flight_s=remaining,
                                         dt_s=max(STEP_S, remaining / PROFILE_STEPS))
                solved = solve_fixed(at, remaining, "min_fuel", 0.0) if exact else solve(at)
                if solved.solved:
                    self.arrival_s += later
                    break
        self.t_s.append(t)
        self.status.append(solved.status)
        self.wall_s.append(solved.solve_time_s)
        self.propellant_kg.append(solved.propellant_kg)
        if not solved.solved:  # out of reach: the approach's polynomial flies the rest (a plan
            # from here would be a long one, or none); no more solves. It takes its own time
            # to go (the downrange cubic's, as braking does, from a countdown at 0), not what
            # is left of a plan that, braking late, leaves too little for an even stop.
            if fsw[F_PROFILE + 2] > 0.0:  # (before any profile, its countdown goes on)
                fsw[F_TGO] = 0.0
            fsw[F_PROFILE + 2] = 0.0
            self.fallback_s = t
            self.next_s = math.inf
            return
        # (at most PROFILE_STEPS steps: dt_s sees to it)
        load_profile(fsw, fp, solved, problem.thrust_max_n, t)
        self.next_s = (t + self.every_s if self.arrival_s - t - self.every_s > LAST_SOLVE_S
                       else math.inf)
