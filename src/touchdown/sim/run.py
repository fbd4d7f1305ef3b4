"""Fly one scenario (shell): build the arrays, run the compiled loop, shape the result.

``fly(scenario, seed)`` returns a ``Flight``: the outcome, the touchdown or impact state, the
event log and the per-cycle trace (a pandas DataFrame), with ``summary()`` for people and
``to_dict()`` for machines.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from touchdown.core import layout as st
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
from touchdown.scenario import Scenario
from touchdown.seeds import children, seed_words
from touchdown.sim.step import N_WORK, advance, trace_rows
from touchdown.vehicle.spec import LanderSpec

ARCSEC = math.pi / 180.0 / 3600.0


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
    events: np.ndarray = field(default_factory=lambda: np.zeros((st.MAX_EVENTS, 3)))
    n_events: np.ndarray = field(default_factory=lambda: np.zeros(1, np.int64))


def _ticks(seconds: float, what: str) -> int:
    n = round(seconds / TICK_S)
    if n < 1 or abs(n * TICK_S - seconds) > 1e-9:
        raise ValueError(
            f"{what} = {seconds} s must be a whole number of {TICK_S * 1e3:g} ms ticks")
    return n


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
    h /= np.linalg.norm(h)
    n = math.sqrt(GM / r0**3)
    theta = math.radians(s["orbit.doi_to_site_deg"]) + n * s["orbit.doi_time_s"]
    r_hat = s_a * math.cos(theta) - np.cross(h, s_a) * math.sin(theta)
    v_hat = np.cross(h, r_hat)
    return r0 * r_hat, math.sqrt(GM / r0) * v_hat


def build(s: Scenario, seed: int | np.random.SeedSequence, onboard: Terrain,
          real: Scenario | None = None) -> Arrays:
    """Arrays for one run: truth at the epoch, the ground's orbit estimate, and all parameters.

    The flight software and the ground plan with ``s``; the real lander and its sensors are
    ``real`` (a dispersed copy of ``s`` in a campaign), ``s`` itself when not given.
    """
    truth = real or s
    spec = LanderSpec.from_scenario(s)
    real_spec = LanderSpec.from_scenario(truth)
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    od_seq, world_seq = children(ss, 2)
    od_rng = np.random.default_rng(od_seq)

    world = np.zeros(st.N_WORLD)
    r, v = initial_orbit(s)
    world[st.W_R:st.W_R + 3] = r
    world[st.W_V:st.W_V + 3] = v
    quat_from_z_axis(-v / np.linalg.norm(v), world[st.W_Q:st.W_Q + 4])
    world[st.W_PROP] = real_spec.propellant_kg
    world[st.W_PROP_OUT_T] = math.nan
    world[st.W_ALT] = math.nan
    world[st.W_LRF_TRUE] = math.nan
    world[st.W_TD:st.W_TD + 7] = math.nan
    world[st.W_REJ1:st.W_REJ1 + 2] = math.nan

    wp = np.zeros(st.N_WORLD_PARAMS)
    wp[st.WP_DRY] = real_spec.empty_mass_kg
    wp[st.WP_MAIN_F] = real_spec.main.thrust_n * real_spec.main.count
    wp[st.WP_MAIN_ISP] = real_spec.main.isp_s
    wp[st.WP_THR_F] = real_spec.thrusters.thrust_n
    wp[st.WP_THR_N] = real_spec.thrusters.count
    wp[st.WP_THR_ISP] = real_spec.thrusters.isp_s
    wp[st.WP_SLEW] = math.radians(real_spec.slew_rate_max_deg_s)
    wp[st.WP_ACC_BIAS:st.WP_ACC_BIAS + 3] = truth["sensors.imu.accel_bias_mps2"]
    wp[st.WP_ACC_SF] = truth["sensors.imu.accel_scale_ppm"] * 1e-6
    wp[st.WP_ACC_VRW] = truth["sensors.imu.accel_vrw_mps_rths"]
    wp[st.WP_GYR_BIAS:st.WP_GYR_BIAS + 3] = (np.radians(truth["sensors.imu.gyro_bias_deg_h"])
                                           / 3600.0)
    wp[st.WP_GYR_ARW] = math.radians(truth["sensors.imu.gyro_arw_deg_rth"]) / 60.0
    wp[st.WP_ST_NOISE] = truth["sensors.star_tracker.noise_arcsec"] * ARCSEC
    wp[st.WP_ST_PERIOD] = truth["sensors.star_tracker.period_s"]
    wp[st.WP_LRF_NOISE] = truth["sensors.lrf.noise_m"]
    wp[st.WP_LRF_MAX] = truth["sensors.lrf.max_range_m"]
    wp[st.WP_LRF_MIN] = truth["sensors.lrf.min_range_m"]
    wp[st.WP_LRF_DROP] = truth["sensors.lrf.dropout_probability"]
    wp[st.WP_LRF_BEAM:st.WP_LRF_BEAM + 3] = truth["sensors.lrf.beam_body"]
    wp[st.WP_LRF_PERIOD] = truth["sensors.lrf.period_s"]
    wp[st.WP_FOOT] = real_spec.footpad_depth_m
    wp[st.WP_LIM:st.WP_LIM + 3] = (truth["touchdown.max_vertical_speed_mps"],
                                 truth["touchdown.max_horizontal_speed_mps"],
                                 math.radians(truth["touchdown.max_tilt_deg"]))
    # faults of the real lander (its sensors and its tank), never in the flight software's
    # parameters; the leak's start is set with the clock below
    wp[st.WP_LRF_BIAS:st.WP_LRF_BIAS + 2] = (truth["faults.lrf_bias_m"],
                                           truth["faults.lrf_bias_from_s"])
    wp[st.WP_LRF_OUTAGE:st.WP_LRF_OUTAGE + 2] = (truth["faults.lrf_outage_from_s"],
                                               truth["faults.lrf_outage_s"])

    fp = np.zeros(st.N_FSW_PARAMS)
    fp[st.FP_DT] = s["flight_software.cycle_s"]
    fp[st.FP_COAST_DT] = s["flight_software.coast_cycle_s"]
    fp[st.FP_DRY] = spec.empty_mass_kg
    fp[st.FP_MAIN_F] = spec.main.thrust_n * spec.main.count
    fp[st.FP_MAIN_ISP] = spec.main.isp_s
    fp[st.FP_THR_F] = spec.thrusters.thrust_n
    fp[st.FP_THR_N] = spec.thrusters.count
    fp[st.FP_THR_ISP] = spec.thrusters.isp_s
    site_h = float(onboard.height(s["target.lat_deg"], s["target.lon_deg"]))
    fp[st.FP_SITE:st.FP_SITE + 3] = (math.radians(s["target.lat_deg"]),
                                   math.radians(s["target.lon_deg"] % 360.0), site_h)
    fp[st.FP_AZ] = math.radians(s["target.approach_azimuth_deg"])
    fp[st.FP_POLICY] = st.POLICIES.index(s["flight_software.rejection_policy"])
    fp[st.FP_GATE] = s["flight_software.gate_nis"]
    fp[st.FP_FAULT_N] = s["flight_software.fault_after_rejections"]
    fp[st.FP_ACQ_N] = s["flight_software.acquire_readings"]
    fp[st.FP_REACQ_N] = s["flight_software.reacquire_after_rejections"]
    fp[st.FP_LRF_SIGMA:st.FP_LRF_SIGMA + 2] = (s["flight_software.lrf_sigma_m"],
                                             s["flight_software.lrf_sigma_per_altitude"])
    fp[st.FP_LRF_MAX] = s["sensors.lrf.max_range_m"]
    fp[st.FP_BEAM:st.FP_BEAM + 3] = s["sensors.lrf.beam_body"]
    fp[st.FP_Q_ACC] = s["flight_software.accel_psd_m2_s3"]
    fp[st.FP_DOI_T] = s["orbit.doi_time_s"]
    fp[st.FP_PERILUNE] = 1e3 * s["orbit.perilune_altitude_km"]
    fp[st.FP_IGN_THROTTLE] = s["guidance.ignition_throttle"]
    for off, phase in ((st.FP_BRAKE_TGT, "braking"), (st.FP_APPR_TGT, "approach")):
        fp[off:off + 3] = s[f"guidance.{phase}_target_position_m"]
        fp[off + 3:off + 6] = s[f"guidance.{phase}_target_velocity_mps"]
        fp[off + 6:off + 9] = s[f"guidance.{phase}_target_acceleration_mps2"]
        fp[off + 9:off + 12] = s[f"guidance.{phase}_target_jerk_mps3"]
    fp[st.FP_TGO_MIN] = s["guidance.tgo_switch_s"]
    fp[st.FP_APPR_T] = s["guidance.approach_duration_s"]
    fp[st.FP_DESCENT:st.FP_DESCENT + 3] = (s["guidance.descent_deceleration_mps2"],
                                         s["guidance.final_speed_mps"],
                                         s["guidance.rate_time_constant_s"])
    fp[st.FP_HGAIN:st.FP_HGAIN + 2] = s["guidance.horizontal_gains"]
    fp[st.FP_TILT_MAX] = math.radians(s["guidance.tilt_max_deg"])
    fp[st.FP_TERMINAL_ALT] = s["guidance.terminal_altitude_m"]
    fp[st.FP_PULSE] = spec.pulse_resolution_s
    fp[st.FP_RESERVE] = s["flight_software.propellant_reserve_kg"]

    # the ground's orbit determination: truth plus an error drawn in radial/along/cross axes
    r_hat = r / np.linalg.norm(r)
    w_hat = np.cross(r, v)
    w_hat /= np.linalg.norm(w_hat)
    rsw = np.column_stack([r_hat, np.cross(w_hat, r_hat), w_hat])
    sig_p = np.asarray(s["orbit_determination.position_sigma_m"])
    sig_v = np.asarray(s["orbit_determination.velocity_sigma_mps"])
    fsw = np.zeros(st.N_FSW)
    fsw[st.F_X:st.F_X + 3] = r + rsw @ (sig_p * od_rng.standard_normal(3))
    fsw[st.F_X + 3:st.F_X + 6] = v + rsw @ (sig_v * od_rng.standard_normal(3))
    cov = np.zeros((6, 6))
    cov[:3, :3] = rsw @ np.diag(sig_p**2) @ rsw.T
    cov[3:, 3:] = rsw @ np.diag(sig_v**2) @ rsw.T
    fsw[st.F_P:st.F_P + 36] = cov.ravel()
    fsw[st.F_Q:st.F_Q + 4] = world[st.W_Q:st.W_Q + 4]
    fsw[st.F_PROP] = spec.propellant_kg
    fsw[st.F_MODE] = st.MODE_COAST_ORBIT
    fsw[st.F_LRF_STATE] = st.LRF_WAITING
    fsw[st.F_LRF_LAST:st.F_LRF_LAST + 4] = (math.nan, math.nan, math.nan, 0.0)
    fsw[st.F_CMD_DIR:st.F_CMD_DIR + 3] = -v / np.linalg.norm(v)

    clock = np.zeros(N_CLOCK, np.int64)
    clock[C_CYCLE] = _ticks(s["flight_software.cycle_s"], "flight_software.cycle_s")
    clock[C_SUBSTEP] = _ticks(spec.pulse_resolution_s, "lander.thrusters.pulse_resolution_s")
    if clock[C_CYCLE] % clock[C_SUBSTEP]:
        raise ValueError("flight_software.cycle_s must be a multiple of the pulse resolution")
    clock[C_ST_EVERY] = max(1, round(s["sensors.star_tracker.period_s"] / fp[st.FP_DT]))
    clock[C_LRF_EVERY] = max(1, round(s["sensors.lrf.period_s"] / fp[st.FP_DT]))
    clock[C_MAX_TICK] = _ticks(s["scenario.duration_max_s"], "scenario.duration_max_s")
    # the leak starts at the first pulse at or after its time, where the loop ends a step
    sub = int(clock[C_SUBSTEP])
    leak_tick = -(-round(truth["faults.propellant_leak_from_s"] / TICK_S) // sub) * sub
    wp[st.WP_LEAK:st.WP_LEAK + 2] = (truth["faults.propellant_leak_kg_s"], leak_tick * TICK_S)
    return Arrays(world, wp, fsw, fp, seed_words(world_seq), np.zeros(st.N_MEAS), clock)


@dataclass
class Flight:
    """The result of one flight: outcome, contact state, events and the per-cycle trace."""

    scenario: Scenario
    seed: int | np.random.SeedSequence
    arrays: Arrays
    trace: pd.DataFrame
    events: list[dict[str, Any]]

    @property
    def outcome(self) -> str:
        return st.OUTCOMES[int(self.arrays.world[st.W_STATUS])]

    def touchdown(self) -> dict[str, float] | None:
        td = self.arrays.world[st.W_TD:st.W_TD + 7]
        if math.isnan(td[0]):
            return None
        return {"time_s": float(td[0]), "lat_deg": math.degrees(td[1]),
                "lon_deg": math.degrees(td[2]), "vertical_speed_mps": float(td[3]),
                "horizontal_speed_mps": float(td[4]), "tilt_deg": math.degrees(td[5])}

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
    truth = truth or load_truth_terrain()
    onboard = onboard or load_onboard_map()
    a = build(s, seed, onboard, real)
    rows = trace_rows(s["scenario.duration_max_s"], int(a.clock[C_CYCLE]))
    trace = np.full((rows, st.N_TRACE), np.nan)
    n_trace = np.zeros(1, np.int64)
    work = np.zeros(N_WORK)
    end = a.clock[C_MAX_TICK] + 1
    chunk = max(1, round(every_s / TICK_S)) if observe else end
    if observe:
        observe(a)
    while a.clock[C_TICK] < end and a.world[st.W_STATUS] == st.FLYING:
        until = min(end, (a.clock[C_TICK] // chunk + 1) * chunk)
        advance(a.world, a.world_params, a.fsw, a.fsw_params, truth.elev, truth.meta,
                onboard.elev, onboard.meta, a.rng, a.meas, a.events, a.n_events, trace, n_trace,
                a.clock, until, work)
        if observe:
            observe(a)
    df = pd.DataFrame(trace[: n_trace[0]], columns=list(st.TRACE.fields))
    df["lrf_accepted"] = df["lrf_accepted"] > 0.5
    df["mode"] = pd.Categorical.from_codes(df["mode"].astype(int), categories=list(st.MODES))
    return Flight(s, seed, a, df, event_list(a.events, int(a.n_events[0])))
