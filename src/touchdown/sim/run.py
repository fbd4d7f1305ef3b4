"""Fly one scenario (shell): build the arrays, run the compiled loop, shape the result.

``fly(scenario, seed)`` returns a ``Flight``: the outcome, the touchdown or impact state, the
event log and the per-cycle trace (a pandas DataFrame), with ``summary()`` for people and
``to_dict()`` for machines.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from touchdown.core import layout as st
from touchdown.core.bundles import Dem, FlightSoftware, Record, Terrains, World
from touchdown.core.layout import (
    C_CYCLE,
    C_LRF_EVERY,
    C_MAX_TICK,
    C_ST_EVERY,
    C_SUBSTEP,
    C_TICK,
    N_CLOCK,
    TICK_S,
)
from touchdown.core.quaternion import quat_from_z_axis
from touchdown.moon.constants import GM, OMEGA, R_REF
from touchdown.moon.dem_tiles import Terrain, load_onboard_map, load_truth_terrain
from touchdown.moon.frames import mcmf_from_latlon, rotate_z
from touchdown.parameters import PARAMETERS, Context
from touchdown.scenario import Scenario
from touchdown.seeds import children, seed_words
from touchdown.sim.optimal import Optimiser
from touchdown.sim.step import N_WORK, advance, trace_rows

if TYPE_CHECKING:
    import pandas as pd


@dataclass
class Arrays:
    """Everything the compiled loop needs for one run."""

    world: np.ndarray
    world_params: np.ndarray
    fsw: np.ndarray
    fsw_params: np.ndarray
    rng: np.ndarray
    meas: np.ndarray
    clock: np.ndarray
    events: np.ndarray = field(default_factory=lambda: np.zeros((st.MAX_EVENTS, st.N_EVENT)))
    n_events: np.ndarray = field(default_factory=lambda: np.zeros(1, np.int64))

    def world_bundle(self) -> World:
        return World(self.world, self.world_params, self.rng)

    def fsw_bundle(self) -> FlightSoftware:
        return FlightSoftware(self.fsw, self.fsw_params, self.meas)

    def record(self, trace: np.ndarray, n_trace: np.ndarray) -> Record:
        """The bundle of the event log and a trace (zero rows: none kept)."""
        return Record(self.events, self.n_events, trace, n_trace)

    def row(self, i: int) -> Arrays:
        """Run i of stacked arrays (``stack``), as views: flying it flies the stack's row."""
        return Arrays(**{f.name: getattr(self, f.name)[i] for f in fields(Arrays)})


def stack(runs: list[Arrays]) -> Arrays:
    """Runs' arrays stacked along a first axis (row i is run i's), for the campaign's loop."""
    return Arrays(**{f.name: np.stack([getattr(r, f.name) for r in runs]) for f in fields(Arrays)})


def terrains(truth: Terrain, onboard: Terrain) -> Terrains:
    """The truth terrain and the onboard map as the loop's ``Terrains`` bundle."""
    return Terrains(Dem(truth.elev, truth.meta), Dem(onboard.elev, onboard.meta))


def _ticks(seconds: float, what: str) -> int:
    n = round(seconds / TICK_S)
    if n < 1 or abs(n * TICK_S - seconds) > 1e-9:
        raise ValueError(
            f"{what} = {seconds} s must be a whole number of {TICK_S * 1e3:g} ms ticks")
    return n


Vec3 = tuple[float, float, float]


def norm3(x: np.ndarray | Vec3) -> float:
    """|x| of a 3-vector, summed in a fixed order. NumPy's ``linalg.norm`` and ``@`` call the
    BLAS, whose kernels (chosen by the CPU) round differently: a flight's last bits, and with
    them M1's fixed point, would depend on the machine."""
    a, b, c = float(x[0]), float(x[1]), float(x[2])
    return math.sqrt(a * a + b * b + c * c)


def matvec3(m: np.ndarray, x: np.ndarray) -> np.ndarray:
    """m @ x for a 3 x 3 matrix and a 3-vector, summed in a fixed order (see ``norm3``)."""
    return np.array([(m[i, 0] * x[0] + m[i, 1] * x[1]) + m[i, 2] * x[2] for i in range(3)])


def initial_orbit(s: Scenario) -> tuple[np.ndarray, np.ndarray]:
    """True inertial position (m) and velocity (m/s) at the epoch on the circular orbit.

    The orbit plane is aimed so that the ground track passes over the site, heading along the
    approach azimuth, at the planned arrival time (DOI + half the transfer ellipse + braking),
    allowing for the Moon's rotation meanwhile. The lander starts ``doi_to_site_deg`` plus the
    arc flown before DOI short of the site.
    """
    r0 = R_REF + 1e3 * s["orbit.altitude_km"]
    rp = R_REF + 1e3 * s["orbit.perilune_altitude_km"]
    a = 0.5 * (r0 + rp)
    t_arrive = (s["orbit.doi_time_s"] + math.pi * math.sqrt(a**3 / GM)
                + s["orbit.braking_duration_s"])
    lat, lon = math.radians(s["target.lat_deg"]), math.radians(s["target.lon_deg"])
    az = math.radians(s["target.approach_azimuth_deg"])
    site = np.empty(3)
    mcmf_from_latlon(lat, lon, 1.0, site)
    north = np.array([-math.sin(lat) * math.cos(lon), -math.sin(lat) * math.sin(lon),
                      math.cos(lat)])
    east = np.array([-math.sin(lon), math.cos(lon), 0.0])
    heading = math.cos(az) * north + math.sin(az) * east
    s_a, d_a = np.empty(3), np.empty(3)
    rotate_z(OMEGA * t_arrive, site, s_a)
    rotate_z(OMEGA * t_arrive, heading, d_a)
    h = np.cross(s_a, d_a)
    h /= norm3(h)
    n = math.sqrt(GM / r0**3)
    theta = math.radians(s["orbit.doi_to_site_deg"]) + n * s["orbit.doi_time_s"]
    r_hat = s_a * math.cos(theta) - np.cross(h, s_a) * math.sin(theta)
    v_hat = np.cross(h, r_hat)
    return r0 * r_hat, math.sqrt(GM / r0) * v_hat


def _vec3(x: np.ndarray) -> Vec3:
    return float(x[0]), float(x[1]), float(x[2])


def _plus(x: Vec3, a: float, y: Vec3) -> Vec3:
    """x + a y."""
    return x[0] + a * y[0], x[1] + a * y[1], x[2] + a * y[2]


def _accel(x: Vec3) -> Vec3:
    """Point-mass gravity (m/s^2) at x (m)."""
    n3 = norm3(x) ** 3
    return -GM * x[0] / n3, -GM * x[1] / n3, -GM * x[2] / n3


def _rk4(r: Vec3, v: Vec3, h: float) -> tuple[Vec3, Vec3]:
    """One RK4 step of h (s) on point-mass gravity, in Python floats: a direct approach's ~20
    steps are most of building its sample, and small NumPy arrays cost ~1 us an operation."""
    k1r, k1v = v, _accel(r)
    k2r, k2v = _plus(v, 0.5 * h, k1v), _accel(_plus(r, 0.5 * h, k1r))
    k3r, k3v = _plus(v, 0.5 * h, k2v), _accel(_plus(r, 0.5 * h, k2r))
    k4r, k4v = _plus(v, h, k3v), _accel(_plus(r, h, k3r))
    sixth = h / 6.0
    return (tuple(r[i] + sixth * (k1r[i] + 2 * k2r[i] + 2 * k3r[i] + k4r[i]) for i in range(3)),
            tuple(v[i] + sixth * (k1v[i] + 2 * k2v[i] + 2 * k3v[i] + k4v[i]) for i in range(3)))


def initial_direct(s: Scenario, step_s: float = 10.0) -> tuple[np.ndarray, np.ndarray]:
    """True inertial position (m) and velocity (m/s) at the epoch on a direct approach.

    The approach is the hyperbola that would meet the site's height at the site, at
    ``angle_from_vertical_deg`` from the vertical, heading along the approach azimuth, with the
    excess speed ``v_infinity_mps``; it is flown backwards (RK4 on the point-mass gravity, in the
    inertial frame, the site where the Moon's turn puts it at arrival) from the site until
    ``start_altitude_km`` is reached, which is the state at the epoch.
    """
    lat, lon = math.radians(s["target.lat_deg"]), math.radians(s["target.lon_deg"])
    az, tilt = (math.radians(s["target.approach_azimuth_deg"]),
                math.radians(s["direct.angle_from_vertical_deg"]))
    r_site = R_REF  # the sphere: the first metres of terrain do not bend an approach
    r_start = R_REF + 1e3 * s["direct.start_altitude_km"]
    up = np.empty(3)
    mcmf_from_latlon(lat, lon, 1.0, up)
    north = np.array([-math.sin(lat) * math.cos(lon), -math.sin(lat) * math.sin(lon),
                      math.cos(lat)])
    east = np.array([-math.sin(lon), math.cos(lon), 0.0])
    heading = math.cos(az) * north + math.sin(az) * east
    speed = math.sqrt(s["direct.v_infinity_mps"] ** 2 + 2.0 * GM / r_site)
    r = _vec3(r_site * up)
    v = _vec3(speed * (math.sin(tilt) * heading - math.cos(tilt) * up))
    t = 0.0
    while norm3(r) < r_start:  # backwards in time: steps of -step_s, the last cut
        r1, v1 = _rk4(r, v, -step_s)     # to end on the start's radius (a secant on |r|)
        if norm3(r1) > r_start:
            h = step_s * (r_start - norm3(r)) / (norm3(r1) - norm3(r))
            r1, v1 = _rk4(r, v, -h)
            t += h
            r, v = r1, v1
            break
        r, v, t = r1, v1, t + step_s
    # the site turns with the Moon for the t seconds of the approach: start where that puts it
    r_turned, v_turned = np.empty(3), np.empty(3)
    rotate_z(OMEGA * t, np.array(r), r_turned)
    rotate_z(OMEGA * t, np.array(v), v_turned)
    return r_turned, v_turned


START_FIELDS = ("target.", "orbit.", "direct.")  # what the start state depends on
STARTS_KEPT = 256  # start states remembered at most, then forgotten at once
_STARTS: dict[tuple[str, ...], tuple[np.ndarray, np.ndarray]] = {}


def start_state(s: Scenario) -> tuple[np.ndarray, np.ndarray]:
    """True inertial position (m) and velocity (m/s) at the epoch: ``initial_orbit`` or
    ``initial_direct``, remembered by the fields they read (a campaign's samples mostly share
    them; a direct approach's backward integration is most of building a sample)."""
    key = tuple(repr(v) for k, v in s.values.items() if k.startswith(START_FIELDS))
    if key not in _STARTS:
        if len(_STARTS) >= STARTS_KEPT:
            _STARTS.clear()
        _STARTS[key] = (initial_orbit(s) if s["orbit.altitude_km"] is not None
                        else initial_direct(s))
    r, v = _STARTS[key]
    return r.copy(), v.copy()


def no_readings() -> np.ndarray:
    """A ``MEAS`` array before any sensor is read: no reading from any sensor (NaN)."""
    meas = np.zeros(st.N_MEAS)
    for name in ("lrf_range", "altimeter", "velocimeter"):
        meas[st.MEAS.slice(name)] = np.nan
    meas[st.M_IMU_OK] = 1.0  # unit A aboard and reporting
    return meas


def build(s: Scenario, seed: int | np.random.SeedSequence, onboard: Terrain,
          real: Scenario | None = None) -> Arrays:
    """Arrays for one run: truth at the epoch, the ground's orbit estimate, the clock, and the
    parameters ``touchdown.parameters`` declares.

    The flight software and the ground plan with ``s``; the real lander and its sensors are
    ``real`` (a dispersed copy of ``s`` in a campaign), ``s`` itself when not given.
    """
    truth = real or s
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    od_seq, world_seq = children(ss, 2)
    od_rng = np.random.default_rng(od_seq)

    world = np.zeros(st.N_WORLD)
    r, v = start_state(s)
    world[st.W_R:st.W_R + 3] = r
    world[st.W_V:st.W_V + 3] = v
    quat_from_z_axis(-v / norm3(v), world[st.W_Q:st.W_Q + 4])
    world[st.W_PROP] = truth["lander.propellant_kg"]
    world[st.W_PROP_OUT_T] = math.nan
    world[st.W_ALT] = math.nan
    world[st.W_LRF_TRUE] = math.nan
    world[st.W_TD:st.W_TD + 7] = math.nan
    world[st.W_REJ1:st.W_REJ1 + 2] = math.nan

    clock = np.zeros(N_CLOCK, np.int64)
    cycle_s = s["flight_software.cycle_s"]
    clock[C_CYCLE] = _ticks(cycle_s, "flight_software.cycle_s")
    clock[C_SUBSTEP] = _ticks(s["lander.thrusters.pulse_resolution_s"],
                              "lander.thrusters.pulse_resolution_s")
    if clock[C_CYCLE] % clock[C_SUBSTEP]:
        raise ValueError("flight_software.cycle_s must be a multiple of the pulse resolution")
    clock[C_ST_EVERY] = max(1, round(s["sensors.star_tracker.period_s"] / cycle_s))
    clock[C_LRF_EVERY] = max(1, round(s["sensors.lrf.period_s"] / cycle_s))
    clock[st.C_ALT_EVERY] = max(1, round(s["sensors.altimeter.period_s"] / cycle_s))
    clock[st.C_VEL_EVERY] = max(1, round(s["sensors.velocimeter.period_s"] / cycle_s))
    clock[C_MAX_TICK] = _ticks(s["scenario.duration_max_s"], "scenario.duration_max_s")

    # every declared parameter: the real lander's from `truth`, the onboard value from `s`
    context = Context(onboard, int(clock[C_SUBSTEP]))
    wp, fp = np.zeros(st.N_WORLD_PARAMS), np.zeros(st.N_FSW_PARAMS)
    for p in PARAMETERS:
        for params, start, source in ((wp, p.world, truth), (fp, p.fsw, s)):
            if start is not None:
                words = p.words(source, context)
                params[start:start + len(words)] = words

    # the ground's orbit determination: truth plus an error drawn in radial/along/cross axes
    r_hat = r / norm3(r)
    w_hat = np.cross(r, v)
    w_hat /= norm3(w_hat)
    rsw = np.column_stack([r_hat, np.cross(w_hat, r_hat), w_hat])
    sig_p = np.asarray(s["orbit_determination.position_sigma_m"])
    sig_v = np.asarray(s["orbit_determination.velocity_sigma_mps"])
    fsw = np.zeros(st.N_FSW)
    fsw[st.F_X:st.F_X + 3] = r + matvec3(rsw, sig_p * od_rng.standard_normal(3))
    fsw[st.F_X + 3:st.F_X + 6] = v + matvec3(rsw, sig_v * od_rng.standard_normal(3))
    cov = np.zeros((6, 6))
    for i in range(3):  # rsw diag(sigma^2) rsw^T, in a fixed order (see norm3)
        for j in range(3):
            cov[i, j] = sum(rsw[i, k] * sig_p[k] ** 2 * rsw[j, k] for k in range(3))
            cov[3 + i, 3 + j] = sum(rsw[i, k] * sig_v[k] ** 2 * rsw[j, k] for k in range(3))
    fsw[st.F_P:st.F_P + 36] = cov.ravel()
    fsw[st.F_Q:st.F_Q + 4] = world[st.W_Q:st.W_Q + 4]
    fsw[st.F_PROP] = s["lander.propellant_kg"]
    fsw[st.F_MODE] = st.MODES.index(s["guidance.phases"][0])
    fsw[st.F_LRF_STATE] = st.LRF_WAITING
    fsw[st.F_POLICY_SET] = fp[st.FP_POLICY] + 1.0  # the policy in force, as the ground may set
    fsw[st.F_LRF_LAST:st.F_LRF_LAST + 4] = (math.nan, math.nan, math.nan, 0.0)
    fsw[st.F_CMD_DIR:st.F_CMD_DIR + 3] = -v / norm3(v)
    return Arrays(world, wp, fsw, fp, seed_words(world_seq), no_readings(), clock)


# One vocabulary for every lander's profile: each milestone is the first of its events. High
# gate ends braking (Apollo's P63), low gate starts the final vertical phases (P66).
MILESTONES: dict[str, tuple[str, ...]] = {
    "powered_descent_start": ("braking_start", "retro_start"),
    "high_gate": ("approach_start",),
    "low_gate": ("vertical_descent_start",),
    "hover_start": ("hover_start",),
    "hover_end": ("hover_end",),
    "engine_cutoff": ("engine_cutoff",),
    "contact": ("contact",),
}


@dataclass
class Flight:
    """The result of one flight: outcome, contact state, events and the per-cycle trace."""

    scenario: Scenario
    seed: int | np.random.SeedSequence
    arrays: Arrays
    rows: np.ndarray  # the per-cycle trace, a row per cycle, columns core.layout.TRACE
    events: list[dict[str, Any]]

    @cached_property
    def trace(self) -> pd.DataFrame:
        """The per-cycle trace as a table (pandas is loaded on first use: a summary that
        reads ``rows`` alone does not wait for it)."""
        import pandas as pd

        df = pd.DataFrame(self.rows, columns=list(st.TRACE.fields))
        df["lrf_accepted"] = df["lrf_accepted"] > 0.5
        df["mode"] = pd.Categorical.from_codes(df["mode"].astype(int),
                                               categories=list(st.MODES))
        return df

    @property
    def outcome(self) -> str:
        return st.OUTCOMES[int(self.arrays.world[st.W_STATUS])]

    def touchdown(self) -> dict[str, float] | None:
        td = self.arrays.world[st.W_TD:st.W_TD + 7]
        if math.isnan(td[0]):
            return None
        w, wp = self.arrays.world, self.arrays.world_params
        return {"time_s": float(td[0]), "lat_deg": math.degrees(td[1]),
                "lon_deg": math.degrees(td[2]), "vertical_speed_mps": float(td[3]),
                "horizontal_speed_mps": float(td[4]), "tilt_deg": math.degrees(td[5]),
                "mass_kg": float(wp[st.WP_DRY] + w[st.W_PROP])}

    def milestones(self) -> dict[str, float]:
        """Time (s) of each milestone the flight reached (``MILESTONES``), in the order flown."""
        first: dict[str, float] = {}
        for e in self.events:
            first.setdefault(e["name"], e["time_s"])
        found = {m: min(first[n] for n in names if n in first)
                 for m, names in MILESTONES.items() if any(n in first for n in names)}
        return dict(sorted(found.items(), key=lambda kv: kv[1]))

    def to_dict(self) -> dict[str, Any]:
        td = self.touchdown()
        w = self.arrays.world
        return {
            "scenario": self.scenario.name,
            "seed": seed_label(self.seed),
            "policy": self.scenario["flight_software.rejection_policy"],
            "outcome": self.outcome,
            "impact_speed_mps": float(w[st.W_TD + 6]) if self.outcome == "crashed" else None,
            "touchdown": td,
            "propellant_remaining_kg": float(w[st.W_PROP]),
            "propellant_estimate_kg": float(self.arrays.fsw[st.F_PROP]),
            "flight_time_s": float(w[st.W_T]),
            "milestones": self.milestones(),
            "events": self.events,
        }


def seed_label(seed: int | np.random.SeedSequence) -> int | str:
    """An integer seed as is; a campaign sample's SeedSequence as its root and spawn key."""
    if isinstance(seed, np.random.SeedSequence):
        return f"{seed.entropy} spawn key {'/'.join(map(str, seed.spawn_key))}"
    return seed


def event_list(events: np.ndarray, n: int) -> list[dict[str, Any]]:
    """The event log as dicts with time, name and a readable detail."""
    out = []
    for t, code, value in events[:n]:
        _, name, meaning = st.EVENTS[int(code)]
        detail = meaning if math.isnan(value) else f"{meaning}: {value:.6g}"
        out.append({"time_s": round(float(t), 3), "name": name, "detail": detail,
                    "value": None if math.isnan(value) else float(value)})
    return out


def scenario_terrains(s: Scenario) -> tuple[Terrain, Terrain]:
    """The true terrain and the onboard map scenario ``s`` flies with (``[terrain]``)."""
    return (load_truth_terrain(tiles=s["terrain.truth_tiles"]),
            load_onboard_map(tiles=s["terrain.onboard_tiles"]))


def fly_until(world: World, fsw: FlightSoftware, ground: Terrains, record: Record,
              clock: np.ndarray, until_tick: int, work: np.ndarray,
              optimiser: Optimiser | None) -> None:
    """``advance`` to until_tick; with the scenario's onboard optimiser (``sim.optimal``), in
    chunks between which it solves the approach from the flight software's state."""
    if optimiser is None:
        advance(world, fsw, ground, record, clock, until_tick, work)
        return
    while clock[C_TICK] < until_tick and world.state[st.W_STATUS] == st.FLYING:
        advance(world, fsw, ground, record, clock,
                optimiser.next_tick(fsw.state, fsw.params, clock, until_tick), work)


class Stepper:
    """A flight the host advances chunk by chunk: ``fly`` runs one to the end, a live flight
    steps one with the ground's clock. The numbers do not depend on the chunks."""

    def __init__(self, s: Scenario, seed: int | np.random.SeedSequence = 0,
                 truth: Terrain | None = None, onboard: Terrain | None = None,
                 real: Scenario | None = None) -> None:
        if truth is None or onboard is None:
            default_truth, default_onboard = scenario_terrains(s)
            truth, onboard = truth or default_truth, onboard or default_onboard
        self.scenario, self.seed = s, seed
        self.arrays = a = build(s, seed, onboard, real)
        rows = trace_rows(s["scenario.duration_max_s"], int(a.clock[C_CYCLE]))
        self._world, self._fsw = a.world_bundle(), a.fsw_bundle()
        self._ground = terrains(truth, onboard)
        self.record = a.record(np.full((rows, st.N_TRACE), np.nan), np.zeros(1, np.int64))
        self._work = np.zeros(N_WORK)
        self.end_tick = int(a.clock[C_MAX_TICK] + 1)
        self.optimiser = Optimiser.of(s)

    @property
    def t_s(self) -> float:
        """The flight's time now (s since the epoch)."""
        return float(self.arrays.clock[C_TICK]) * TICK_S

    @property
    def done(self) -> bool:
        """The flight is over: landed, crashed or out of time."""
        a = self.arrays
        return not (a.clock[C_TICK] < self.end_tick and a.world[st.W_STATUS] == st.FLYING)

    def advance(self, until_tick: int) -> None:
        """Fly on to the first step boundary at or after ``until_tick`` (or the end)."""
        if not self.done:
            fly_until(self._world, self._fsw, self._ground, self.record, self.arrays.clock,
                      min(self.end_tick, until_tick), self._work, self.optimiser)

    def flight(self) -> Flight:
        """The flight so far: its trace and events."""
        record, a = self.record, self.arrays
        return Flight(self.scenario, self.seed, a, record.trace[: record.n_trace[0]].copy(),
                      event_list(a.events, int(a.n_events[0])))


def fly(s: Scenario, seed: int | np.random.SeedSequence = 0, truth: Terrain | None = None,
        onboard: Terrain | None = None, real: Scenario | None = None,
        observe: Callable[[Arrays], None] | None = None, every_s: float = 1.0) -> Flight:
    """Fly scenario s with the given seed over the truth terrain; same seed, same numbers.

    ``real`` is the lander as built when it differs from the plan ``s`` (a campaign sample).
    ``observe``, when given, is called with the arrays at the start and then every ``every_s``
    seconds of flight (at the first step boundary at or after each, see ``advance``) and at
    the end, the way a host drains telemetry between compiled chunks; the numbers do not
    depend on it.
    """
    stepper = Stepper(s, seed, truth, onboard, real)
    a = stepper.arrays
    chunk = max(1, round(every_s / TICK_S)) if observe else stepper.end_tick
    if observe:
        observe(a)
    while not stepper.done:
        stepper.advance((int(a.clock[C_TICK]) // chunk + 1) * chunk)
        if observe:
            observe(a)
    return stepper.flight()
