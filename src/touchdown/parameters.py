"""Scenario fields and the parameter slots they fill (shell): each declared once, here.

A ``Field`` is one TOML key of a scenario: its kind, inclusive bounds, meaning and unit, and a
default when it is optional. ``DECLARATIONS`` lists every field in the order of a scenario file,
each in one of two entries:

- ``Param``: fields that fill a slot of ``WORLD_PARAMS`` (``world``: the real lander, from the
  real scenario) and/or of ``FSW_PARAMS`` (``fsw``: the flight software's onboard value, from the
  plan), through ``si``, the conversion of the fields' values to the slot's words in SI units;
- ``NotParam``: a field that fills no parameter slot, with where it is used instead.

``scenario.SCHEMA`` is every declared field; ``sim.run.build`` fills the parameter arrays by a
loop over ``PARAMETERS``. A new parameter is one ``Param`` here plus its use in a kernel.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from touchdown.core import layout as st
from touchdown.core.layout import POLICIES, TICK_S, Layout

if TYPE_CHECKING:
    from touchdown.moon.dem_tiles import Terrain
    from touchdown.scenario import Scenario

ARCSEC = math.pi / 180.0 / 3600.0  # rad
REQUIRED: Any = object()  # the default of a field a scenario must give

Words = float | Sequence[Any] | np.ndarray  # a number, or numbers and vectors in slot order


def _as_is(*values: Any) -> tuple[Any, ...]:
    return values


@dataclass(frozen=True)
class Field:
    """One scenario key. Kinds: those of ``scenario.SCHEMA``; None: unbounded."""

    key: str
    kind: str
    lo: float | None
    hi: float | None
    what: str  # meaning and unit, as the fix in an error message ("give ...")
    default: Any = REQUIRED

    @property
    def optional(self) -> bool:
        return self.default is not REQUIRED


@dataclass(frozen=True)
class Context:
    """What a few parameters need besides the scenario: the onboard map and the loop's clock."""

    onboard: Terrain
    substep_ticks: int  # the dynamics substep (the thrusters' pulse resolution), in ticks


def _slot(layout: Layout, start: int | None) -> tuple[str, int] | None:
    """The (name, size) of the layout field starting at ``start``; ValueError if none does."""
    if start is None:
        return None
    for name, (at, n, _, _) in layout.fields.items():
        if at == start:
            return name, n
    raise ValueError(f"{layout.name}: no field starts at index {start}")


@dataclass(frozen=True)
class Param:
    """Slots filled from fields: ``si(*values)`` (``si(*values, context)`` when ``context``)
    gives the words, numbers and vectors flattened in order (by default the values as they are).
    """

    fields: tuple[Field, ...]
    world: int | None = None  # start of a WORLD_PARAMS field: the real lander's value
    fsw: int | None = None  # start of an FSW_PARAMS field: the flight software's value
    si: Callable[..., Words] = _as_is
    context: bool = False

    def __post_init__(self) -> None:
        if len({n for _, n in self.slots.values()}) != 1:
            raise ValueError(f"{self.keys()}: give a world and/or fsw slot of one size")

    def keys(self) -> tuple[str, ...]:
        return tuple(f.key for f in self.fields)

    @cached_property
    def slots(self) -> dict[str, tuple[str, int]]:
        """The field name and size of each slot filled, by layout name."""
        found = {st.WORLD_PARAMS.name: _slot(st.WORLD_PARAMS, self.world),
                 st.FSW_PARAMS.name: _slot(st.FSW_PARAMS, self.fsw)}
        return {layout: s for layout, s in found.items() if s is not None}

    def words(self, s: Scenario, context: Context) -> tuple[float, ...]:
        """The slot's words from scenario ``s``; ValueError if their number is not its size.

        Remembered for the same value objects (``_WORDS``): a campaign's samples are copies of
        one scenario (``Scenario.replace``) that share every field but the dispersed ones, so
        most slots repeat. Scenario values are never changed in place."""
        values = [s[f.key] for f in self.fields]
        ctx = context if self.context else None
        key = (id(self), *map(id, values))
        kept = _WORDS.get(key)
        if kept is not None and kept[1] == ctx and all(
                a is b for a, b in zip(kept[0], values, strict=True)):
            return kept[2]
        words = self._convert(values, context)
        if len(_WORDS) >= WORDS_KEPT:
            _WORDS.clear()
        _WORDS[key] = (values, ctx, words)  # the values kept alive: their ids stay theirs
        return words

    def _convert(self, values: list[Any], context: Context) -> tuple[float, ...]:
        """The words ``si`` gives for the fields' values, flattened and checked."""
        out = self.si(*values, context) if self.context else self.si(*values)
        parts = out if isinstance(out, tuple | list) else (out,)
        words = tuple(float(w) for x in parts
                      for w in (x if isinstance(x, tuple | list | np.ndarray) else (x,)))
        name, n = next(iter(self.slots.values()))
        if len(words) != n:
            raise ValueError(f"{name}: {self.keys()} give {len(words)} words, not {n}")
        return words


WORDS_KEPT = 4096  # slot words remembered at most (``Param.words``), then forgotten at once
_WORDS: dict[tuple[int, ...], tuple[list[Any], Any, tuple[float, ...]]] = {}


@dataclass(frozen=True)
class NotParam:
    """A scenario field that fills no parameter slot, and where it is used."""

    field: Field
    use: str


def param(key: str, kind: str, lo: float | None, hi: float | None, what: str, *,
          world: int | None = None, fsw: int | None = None,
          si: Callable[..., Words] = _as_is, default: Any = REQUIRED) -> Param:
    """The common case: one field fills a slot of either array or of both."""
    return Param((Field(key, kind, lo, hi, what, default),), world, fsw, si)


def other(key: str, kind: str, lo: float | None, hi: float | None, what: str, use: str,
          default: Any = REQUIRED) -> NotParam:
    """A field that fills no parameter slot, used as ``use`` says."""
    return NotParam(Field(key, kind, lo, hi, what, default), use)


def _site(lat_deg: float, lon_deg: float, context: Context) -> tuple[float, float, float]:
    """Target latitude, east longitude in [0, 2 pi) (rad) and the onboard map's height there."""
    h = float(context.onboard.height(lat_deg, lon_deg))
    return math.radians(lat_deg), math.radians(lon_deg % 360.0), h


def _leak(kg_s: float, from_s: float, context: Context) -> tuple[float, float]:
    """The leak's rate and its start, rounded up to the pulse grid, where the loop ends a step."""
    sub = context.substep_ticks
    return kg_s, -(-round(from_s / TICK_S) // sub) * sub * TICK_S


def _target(phase: str) -> tuple[Field, ...]:
    """The four vec3 fields of a guidance target state: r, v, a, j in the guidance frame."""
    g = f"guidance.{phase}_target"
    return (Field(f"{g}_position_m", "vec3", -1e7, 1e7, "m, guidance frame"),
            Field(f"{g}_velocity_mps", "vec3", -1e4, 1e4, "m/s"),
            Field(f"{g}_acceleration_mps2", "vec3", -100.0, 100.0, "m/s^2"),
            Field(f"{g}_jerk_mps3", "vec3", -100.0, 100.0, "m/s^3"))


def _engines(group: str, lo: int, hi: int, count: str) -> tuple[Field, ...]:
    """The fields of an engine group (``core.engines``): the main engine's also say how it
    throttles; every throttle field is optional (default: fixed thrust, no band)."""
    g = f"lander.{group}"
    fields = (Field(f"{g}.count", "int", lo, hi, count),
              Field(f"{g}.thrust_n", "float", 0.0, 1e7, "N, one engine at full thrust"),
              Field(f"{g}.isp_s", "float", 1.0, 1000.0, "s, at full thrust"),
              Field(f"{g}.cant_deg", "float", 0.0, 60.0,
                    "deg, the engines' symmetric cant from the thrust axis", 0.0))
    if group != "main_engine":
        return fields
    return (*fields,
        Field(f"{g}.throttle_min", "float", 0.01, 1.0,
              "lowest throttle, fraction of full thrust (1: a fixed-thrust engine)", 1.0),
        Field(f"{g}.isp_min_throttle_s", "float", 0.0, 1000.0,
              "s, Isp at throttle_min (0: the full-thrust Isp at every throttle)", 0.0),
        Field(f"{g}.forbidden_band", "vec2", 0.0, 1.0,
              "throttles [lower, upper] never commanded between ([0, 0]: none)", (0.0, 0.0)),
        Field(f"{g}.full_until", "float", 0.0, 1.0,
              "from full thrust, the throttle command below which it leaves full thrust", 1.0))


def engine_group(count: int, thrust_n: float, isp_s: float, *, throttle_min: float = 1.0,
          isp_min_s: float | None = None, band: tuple[float, float] = (0.0, 0.0),
          full_until: float = 1.0, pulsed: bool = False, cant_deg: float = 0.0) -> np.ndarray:
    """The ``ENGINE_GROUP`` words of ``count`` engines (the defaults: fixed thrust, no band,
    the rated Isp at every throttle, parallel to body +z)."""
    g = np.zeros(st.N_ENGINE_GROUP)
    g[st.EG_COUNT], g[st.EG_THRUST], g[st.EG_THROTTLE_MIN] = count, thrust_n, throttle_min
    g[st.EG_BAND:st.EG_BAND + 2] = band
    g[st.EG_ISP:st.EG_ISP + 2] = isp_s, isp_s if isp_min_s is None else isp_min_s
    g[st.EG_FULL_BELOW] = full_until
    g[st.EG_PULSED] = float(pulsed)
    g[st.EG_COS_CANT] = 1.0 if cant_deg == 0.0 else math.cos(math.radians(cant_deg))
    return g


def _main_engine(count: int, thrust: float, isp: float, cant: float, t_min: float,
                 isp_min: float, band: tuple[float, float], full_until: float) -> np.ndarray:
    return engine_group(count, thrust, isp, throttle_min=t_min, isp_min_s=isp_min or None,
                        band=band, full_until=full_until, cant_deg=cant)


def _thrusters(count: int, thrust: float, isp: float, cant: float) -> np.ndarray:
    return engine_group(count, thrust, isp, pulsed=True, cant_deg=cant)


# the modes a scenario may list in guidance.phases (touchdown is entered from any), and M1's
PHASES = tuple(m for m in st.MODES if m != "touchdown")
M1_PHASES = ("orbit_coast", "doi", "descent_coast", "braking", "approach", "vertical_descent",
             "terminal_descent")


def next_modes(phases: Sequence[str]) -> list[float]:
    """The next-mode table (``FP_NEXT_MODE``) of a list of phases: each mode's follower."""
    table = [float(st.NO_MODE)] * len(st.MODES)
    for here, after in itertools.pairwise(phases):
        table[st.MODES.index(here)] = float(st.MODES.index(after))
    return table


def mode_engines(engines: dict[str, int]) -> list[float]:
    """The engines-by-mode table (``FP_MODE_ENGINES``, 0: all) of ``guidance.engines``."""
    table = [0.0] * len(st.MODES)
    for mode, n in engines.items():
        table[st.MODES.index(mode)] = float(n)
    return table


_EPOCH = Field("scenario.epoch_utc", "time", None, None,
               "ISO 8601 UTC, e.g. 2023-04-25T15:40:00Z")
_COMMANDS = Field("commands", "commands", None, None,
                  "[[commands]] tables: time_s (sent, s after the epoch), command (one of "
                  + ", ".join(st.COMMANDS) + "), arguments (a table, as the command "
                  "dictionary gives: docs/commanding.md)", ())


_UPLINK_RATE = Field("link.uplink_rate_bps", "float", 1.0, 1e9,
                     "uplink bit rate (bit/s): the ground's TC frames to the lander", 4000.0)


def _timeline(commands: Sequence[tuple[float, str, tuple[float, ...]]], epoch: Any,
              rate_bps: float) -> list[float]:
    """The ``FP_COMMANDS`` rows: the commands through the uplink's real path
    (``telemetry.uplink.receive_timeline``: encoded, framed, radiated at their send times,
    arriving one light time later), in arrival order, padded with zeros."""
    rows: list[float] = []
    if commands:
        from touchdown.telemetry.uplink import receive_timeline  # only a scenario that commands

        rows = [w for row in receive_timeline(commands, epoch, rate_bps).given for w in row]
    return rows + [0.0] * (st.MAX_COMMANDS * st.N_UPLINK - len(rows))


_HAZARD_SPACING = Field("sensors.hazard.spacing_m", "float", 0.0, 100.0,
                        f"m between the {st.HAZARD_N} x {st.HAZARD_N} points of the hazard "
                        "map (0: the lander has no hazard sensor)", 0.0)
_BEAMS = Field("sensors.velocimeter.beams_body", "beams", None, None,
               f"up to {st.MAX_BEAMS} unit vectors, body axes: the velocity beams", ())


def _beam_words(beams: Sequence[Sequence[float]]) -> list[float]:
    """The beams' directions, row by row, padded with zeros to MAX_BEAMS."""
    words = [float(c) for b in beams for c in b]
    return words + [0.0] * (3 * st.MAX_BEAMS - len(words))


_CAMERA = "the camera and its imaging plan (world/camera.py, telemetry/imaging.py)"
_ORBIT = "the initial orbit (sim.run.initial_orbit)"
_DIRECT = "the initial state of a direct approach (sim.run.initial_direct)"
ORBIT_FIELDS = ("orbit.altitude_km", "orbit.perilune_altitude_km", "orbit.doi_time_s",
                "orbit.doi_to_site_deg", "orbit.braking_duration_s")
DIRECT_FIELDS = ("direct.start_altitude_km", "direct.v_infinity_mps",
                 "direct.angle_from_vertical_deg")

DECLARATIONS: tuple[Param | NotParam, ...] = (
    other("scenario.name", "str", None, None, "a short name", "names the flight"),
    other("scenario.description", "str", None, None, "one line", "describes the flight"),
    NotParam(_EPOCH, "the time of t = 0 (telemetry, reports)"),
    other("scenario.duration_max_s", "float", 1.0, 86400.0, "seconds", "the clock's time limit"),
    Param((Field("target.lat_deg", "float", -90.0, 90.0, "planetocentric degrees"),
           Field("target.lon_deg", "float", -180.0, 360.0, "east degrees")),
          fsw=st.FP_SITE, si=_site, context=True),
    param("target.approach_azimuth_deg", "float", -360.0, 360.0, "degrees from north, east +",
          fsw=st.FP_AZ, si=math.radians),
    other("terrain.truth_tiles", "tiles", None, None,
          "tile files in TOUCHDOWN_DATA, the finest first (default: Atlas's, M1's)",
          "the true terrain the world flies over (sim.run.scenario_terrains)", None),
    other("terrain.onboard_tiles", "tiles", None, None,
          "tile files in TOUCHDOWN_DATA, the finest first (default: Atlas's, M1's)",
          "the onboard map the flight software predicts ranges on (sim.run.scenario_terrains)",
          None),
    # the start: in orbit ([orbit]) or on a direct approach from the Earth ([direct]), one of
    # the two (scenario._check_together)
    other("orbit.altitude_km", "float", 10.0, 5000.0, "km above 1737.4 km", _ORBIT, None),
    param("orbit.perilune_altitude_km", "float", 1.0, 5000.0, "km above 1737.4 km",
          fsw=st.FP_PERILUNE, si=lambda km: 0.0 if km is None else 1e3 * km, default=None),
    param("orbit.doi_time_s", "float", 0.1, 86400.0, "seconds after the epoch", fsw=st.FP_DOI_T,
          si=lambda s: 0.0 if s is None else s, default=None),
    other("orbit.doi_to_site_deg", "float", 90.0, 350.0, "degrees of orbit", _ORBIT, None),
    other("orbit.braking_duration_s", "float", 0.0, 3600.0, "seconds", _ORBIT, None),
    other("direct.start_altitude_km", "float", 10.0, 1e5, "km above 1737.4 km", _DIRECT, None),
    other("direct.v_infinity_mps", "float", 0.0, 1e4,
          "m/s, the approach's hyperbolic excess speed", _DIRECT, None),
    other("direct.angle_from_vertical_deg", "float", 0.0, 80.0,
          "deg, the approach's angle from the vertical at the surface", _DIRECT, None),
    other("orbit_determination.position_sigma_m", "vec3", 0.0, 1e5, "radial, along, cross (m)",
          "the ground's orbit estimate and its covariance (sim.run.build)"),
    other("orbit_determination.velocity_sigma_mps", "vec3", 0.0, 100.0, "radial, along, cross",
          "the ground's orbit estimate and its covariance (sim.run.build)"),
    Param((Field("lander.dry_mass_kg", "float", 1.0, 1e6, "kg"),
           Field("lander.payload_kg", "float", 0.0, 1e6, "kg")),
          world=st.WP_DRY, fsw=st.FP_DRY, si=lambda dry, payload: dry + payload),
    other("lander.propellant_kg", "float", 0.0, 1e6, "kg",
          "the initial state: true propellant and the flight software's estimate"),
    param("lander.slew_rate_max_deg_s", "float", 0.01, 90.0, "deg/s",
          world=st.WP_SLEW, si=math.radians),
    param("lander.footpad_depth_m", "float", 0.0, 20.0, "m", world=st.WP_FOOT),
    Param(_engines("main_engine", 0, 16, "engines fired as one"),
          world=st.WP_MAIN, fsw=st.FP_MAIN, si=_main_engine),
    Param(_engines("thrusters", 0, 64, "thrusters"),
          world=st.WP_THRUSTERS, fsw=st.FP_THRUSTERS, si=_thrusters),
    param("lander.thrusters.pulse_resolution_s", "float", 1e-3, 1.0, "s", fsw=st.FP_PULSE),
    param("sensors.imu.units", "int", 1, 2,
          "IMUs aboard: 1, or 2 (a redundant unit B with the same error model)",
          world=st.WP_IMU_UNITS, fsw=st.FP_IMU_UNITS, default=1),
    param("sensors.imu.accel_bias_mps2", "vec3", -1.0, 1.0, "m/s^2, body", world=st.WP_ACC_BIAS),
    param("sensors.imu.accel_scale_ppm", "float", -1e5, 1e5, "ppm",
          world=st.WP_ACC_SF, si=lambda ppm: ppm * 1e-6),
    param("sensors.imu.accel_vrw_mps_rths", "float", 0.0, 1.0, "m/s/sqrt(s)",
          world=st.WP_ACC_VRW),
    param("sensors.imu.gyro_bias_deg_h", "vec3", -3600.0, 3600.0, "deg/h, body",
          world=st.WP_GYR_BIAS, si=lambda deg_h: np.radians(deg_h) / 3600.0),
    param("sensors.imu.gyro_arw_deg_rth", "float", 0.0, 100.0, "deg/sqrt(h)",
          world=st.WP_GYR_ARW, si=lambda deg_rth: math.radians(deg_rth) / 60.0),
    param("sensors.star_tracker.noise_arcsec", "float", 0.0, 3600.0, "arcsec per axis",
          world=st.WP_ST_NOISE, si=lambda arcsec: arcsec * ARCSEC),
    param("sensors.star_tracker.period_s", "float", 0.001, 3600.0, "s", world=st.WP_ST_PERIOD),
    param("sensors.lrf.noise_m", "float", 0.0, 1e4, "m", world=st.WP_LRF_NOISE),
    param("sensors.lrf.max_range_m", "float", 0.0, 1e6, "m (0: the lander has no range finder)",
          world=st.WP_LRF_MAX, fsw=st.FP_LRF_MAX),
    param("sensors.lrf.min_range_m", "float", 0.0, 1e4, "m", world=st.WP_LRF_MIN),
    param("sensors.lrf.dropout_probability", "float", 0.0, 1.0, "0..1", world=st.WP_LRF_DROP),
    param("sensors.lrf.period_s", "float", 0.001, 60.0, "s", world=st.WP_LRF_PERIOD),
    param("sensors.lrf.beam_body", "vec3", -1.0, 1.0, "unit vector, body",
          world=st.WP_LRF_BEAM, fsw=st.FP_BEAM),
    Param((Field("sensors.altimeter.max_altitude_m", "float", 0.0, 1e6,
                 "m, the highest altitude it reads (0: the lander has no altimeter)", 0.0),
           Field("sensors.altimeter.noise_m", "float", 0.0, 1e4, "m, 1-sigma", 0.0),
           Field("sensors.altimeter.dropout_probability", "float", 0.0, 1.0, "0..1", 0.0)),
          world=st.WP_ALTIMETER),
    Param((_BEAMS,
           Field("sensors.velocimeter.max_range_m", "float", 0.0, 1e6,
                 "m, the farthest ground a beam reads (0: the lander has no velocimeter)", 0.0),
           Field("sensors.velocimeter.range_noise_m", "float", 0.0, 1e4, "m, 1-sigma", 0.0),
           Field("sensors.velocimeter.velocity_noise_mps", "float", 0.0, 100.0, "m/s, 1-sigma",
                 0.0),
           Field("sensors.velocimeter.dropout_probability", "float", 0.0, 1.0,
                 "0..1, per beam", 0.0)),
          world=st.WP_VELOCIMETER, si=lambda beams, *rest: (len(beams), *rest)),
    Param((_BEAMS,), world=st.WP_VEL_BEAMS, fsw=st.FP_VEL_BEAMS, si=_beam_words),
    other("sensors.velocimeter.period_s", "float", 0.001, 60.0, "s between readings",
          "the velocimeter's rate (sim.run.build: the clock's velocimeter_every)", 1.0),
    Param((_HAZARD_SPACING,
           Field("sensors.hazard.noise_m", "float", 0.0, 100.0, "m, height noise 1-sigma", 0.0)),
          world=st.WP_HAZARD),
    Param((_HAZARD_SPACING,), fsw=st.FP_HDA_SPACING),
    other("sensors.altimeter.period_s", "float", 0.001, 60.0, "s between readings",
          "the altimeter's rate (sim.run.build: the clock's altimeter_every)", 1.0),
    param("flight_software.cycle_s", "float", 0.001, 10.0, "s", fsw=st.FP_DT),
    param("flight_software.coast_cycle_s", "float", 0.001, 60.0, "s, a whole multiple of cycle_s",
          fsw=st.FP_COAST_DT),
    param("flight_software.rejection_policy", "policy", None, None, " or ".join(POLICIES),
          fsw=st.FP_POLICY, si=POLICIES.index),
    param("flight_software.gate_nis", "float", 0.1, 1e6, "chi-square threshold", fsw=st.FP_GATE),
    param("flight_software.fault_after_rejections", "int", 1, 100000, "readings",
          fsw=st.FP_FAULT_N),
    param("flight_software.acquire_readings", "int", 0, 100000, "readings", fsw=st.FP_ACQ_N),
    param("flight_software.reacquire_after_rejections", "int", 1, 100000, "readings",
          fsw=st.FP_REACQ_N),
    Param((Field("flight_software.lrf_sigma_m", "float", 1e-3, 1e5, "m"),
           Field("flight_software.lrf_sigma_per_altitude", "float", 0.0, 1.0,
                 "m of noise per m of altitude")),
          fsw=st.FP_LRF_SIGMA),
    param("flight_software.accel_psd_m2_s3", "float", 0.0, 1.0, "m^2/s^3", fsw=st.FP_Q_ACC),
    param("flight_software.propellant_reserve_kg", "float", 0.0, 1e6, "kg", fsw=st.FP_RESERVE),
    Param((Field("flight_software.wake_margin", "float", 0.0, 1.0,
                 "margin below ignition_throttle (fraction of full thrust) at which the "
                 "descent coast runs every cycle", 0.1),
           Field("flight_software.wake_cycles", "float", 0.0, 1e4,
                 "coast cycles ahead within which reaching ignition_throttle wakes the descent "
                 "coast", 3.0)),
          fsw=st.FP_WAKE),
    param("flight_software.altimeter_update", "altimeter_update", None, None,
          " or ".join(st.ALTIMETER_UPDATES), fsw=st.FP_ALTM_UPDATE,
          si=st.ALTIMETER_UPDATES.index, default="kalman"),
    Param((Field("flight_software.altimeter_sigma_m", "float", 1e-3, 1e5, "m", 5.0),
           Field("flight_software.altimeter_sigma_per_altitude", "float", 0.0, 1.0,
                 "m of noise per m of altitude", 0.041667)),
          fsw=st.FP_ALTM_SIGMA),
    param("flight_software.attitude_rate_max_deg_s", "float", 0.0, 360.0,
          "deg/s the commanded thrust direction may turn (0: no software limit; the lander's "
          "own slew rate still holds)", fsw=st.FP_TURN_RATE_MAX, si=math.radians, default=0.0),
    # the flight computer's restarts (fsw.restart; their triggers come with issue 18)
    Param((Field("flight_software.restart_protected", "int", 0, 1,
                 "1: guidance, navigation and the throttle run through a restart (Apollo's "
                 "restart protection); 0: it comes up in a safe mode with the engines off", 1),
           Field("flight_software.restart_reboot_s", "float", 0.0, 600.0,
                 "s, the reboot's length", 0.0),
           Field("flight_software.restart_attempt_s", "float", 0.0, 600.0,
                 "s, the time each relight attempt is given", 0.0),
           Field("flight_software.restart_attempts", "int", 0, 100,
                 "relight attempts after an unprotected restart", 0),
           Field("flight_software.restart_attempt_gap_s", "float", 0.0, 600.0,
                 "s the engines stay off after a failed attempt before the next (at least a "
                 "cycle)", 0.0)),
          fsw=st.FP_RESTART),
    param("flight_software.thrust_learning_time_s", "float", 0.0, 1e4,
          "s, time constant of the main engines' thrust learned from the IMU against the "
          "command (0: the model's thrust is trusted)", fsw=st.FP_THRUST_LEARN, default=0.0),
    Param((Field("flight_software.cpu_load", "float", 0.0, 2.0,
                 "share of each cycle the executive's jobs need in the powered phases (0: the "
                 "computer's time is not modelled)", 0.0),
           Field("flight_software.cpu_queue_s", "float", 0.0, 600.0,
                 "s of work the executive may queue before it overflows (a program alarm and "
                 "a restart)", 0.0)),
          fsw=st.FP_CPU),
    param("flight_software.imu_reset_restarts_computer", "int", 0, 1,
          "1: an imu_reset command also restarts the flight computer (Beresheet's flaw)",
          fsw=st.FP_IMU_RESET_RESTARTS, default=0),
    # the ground's commands, uplinked: arrival = the frame's end + the one-way light time
    Param((_COMMANDS,), fsw=st.FP_N_COMMANDS, si=len),
    Param((_COMMANDS, _EPOCH, _UPLINK_RATE), fsw=st.FP_COMMANDS, si=_timeline),
    param("flight_software.ground_offset_time_s", "float", 0.0, 1e4,
          "s, time constant of the learned offset between the onboard map and the ground the "
          "altimeter sees (0: none)", fsw=st.FP_GROUND_TAU, default=0.0),
    param("flight_software.altimeter_gate_nis", "float", 0.1, 1e6, "chi-square threshold",
          fsw=st.FP_ALTM_GATE, default=9.0),
    Param((Field("flight_software.velocimeter_sigma_mps", "float", 1e-4, 100.0,
                 "m/s, the filter's velocity noise per beam", 0.1),
           Field("flight_software.velocimeter_gate_nis", "float", 0.1, 1e6,
                 "chi-square threshold per beam", 9.0)),
          fsw=st.FP_VELOCIMETER),
    Param((Field("flight_software.hazard_avoidance", "int", 0, 1,
                 "1: at the hover, divert to the safest spot of the hazard map; 0: keep the aim",
                 0),
           Field("flight_software.hazard_footprint_cells", "int", 1, 5,
                 "the lander's footprint, half-width in map cells", 1),
           Field("flight_software.hazard_slope_max_deg", "float", 0.0, 45.0,
                 "deg, the steepest safe spot", 12.0),
           Field("flight_software.hazard_roughness_max_m", "float", 0.0, 10.0,
                 "m, the roughest safe spot (largest departure from its plane)", 0.5),
           Field("flight_software.hazard_reach_m", "float", 0.0, 1000.0,
                 "m, the farthest spot it diverts to", 50.0)),
          fsw=st.FP_HDA, si=lambda on, cells, slope, rough, reach: (
              on, cells, math.radians(slope), rough, reach)),
    param("flight_software.lrf_incidence_cos_min", "float", 0.0, 1.0,
          "lowest cosine of the beam's incidence on the onboard map for a reading to be used",
          fsw=st.FP_LRF_INCIDENCE_COS, default=0.05),
    param("guidance.phases", "phases", None, None,
          "the modes flown, in order, from: " + ", ".join(PHASES),
          fsw=st.FP_NEXT_MODE, si=next_modes, default=M1_PHASES),
    param("guidance.ignition_throttle", "float", 0.05, 1.0, "fraction of full thrust",
          fsw=st.FP_IGN_THROTTLE),
    param("guidance.tgo_switch_s", "float", 0.1, 600.0, "s", fsw=st.FP_TGO_MIN),
    Param(_target("braking"), fsw=st.FP_BRAKE_TGT),
    param("guidance.approach_duration_s", "float", 0.0, 3600.0,
          "s, counted down (0: the time to go solved from the downrange cubic, as braking's)",
          fsw=st.FP_APPR_T),
    Param(_target("approach"), fsw=st.FP_APPR_TGT),
    Param((Field("guidance.descent_deceleration_mps2", "float", 0.01, 100.0, "m/s^2"),
           Field("guidance.final_speed_mps", "float", 0.01, 100.0, "m/s"),
           Field("guidance.rate_time_constant_s", "float", 0.05, 100.0, "s")),
          fsw=st.FP_DESCENT),
    param("guidance.terminal_altitude_m", "float", 0.0, 1e5, "m", fsw=st.FP_TERMINAL_ALT),
    param("guidance.horizontal_gains", "vec2", 0.0, 100.0, "1/s^2, 1/s", fsw=st.FP_HGAIN),
    param("guidance.tilt_max_deg", "float", 0.0, 89.0, "deg", fsw=st.FP_TILT_MAX,
          si=math.radians),
    other("guidance.optimal_resolve_s", "float", 0.0, 600.0,
          "seconds between the onboard optimiser's solves of the approach (0: the approach "
          "flies its polynomial)", "sim/optimal.py: Optimiser", default=0.0),
    other("guidance.optimal_glide_slope_deg", "float", 0.0, 89.0,
          "deg above the horizontal: the cone from the approach's end that the onboard "
          "optimiser's plans stay above (ASSUMPTION: 15°, clear of the ground the plan does "
          "not see)", "sim/optimal.py: Optimiser", default=15.0),
    param("guidance.ignition_search_tgo_s", "float", 1.0, 86400.0,
          "braking time to go (s) below which ignition is searched for",
          fsw=st.FP_IGN_TGO_MAX, default=3000.0),
    param("guidance.guidance_range_deg", "float", 0.0, 180.0,
          "angle from the site (deg) within which polynomial guidance flies",
          fsw=st.FP_GUID_RANGE_COS, si=lambda deg: math.cos(math.radians(deg)), default=45.0),
    Param((Field("guidance.hover_altitude_m", "float", 0.0, 1e4,
                 "m, the altitude estimate the hover holds (a hover phase needs it)", 0.0),
           Field("guidance.hover_duration_s", "float", 0.0, 3600.0, "s, the hover's length",
                 0.0)),
          fsw=st.FP_HOVER),
    param("guidance.divert_gains", "vec2", 0.0, 100.0,
          "1/s^2, 1/s: the hover's position and velocity gains toward its aim",
          fsw=st.FP_DIVERT_GAINS, default=(0.0, 0.0)),
    param("guidance.main_engine_cycled", "int", 0, 1,
          "1: a fixed-thrust main engine is fired in whole cycles in every powered phase, its "
          "average the thrust asked for (Beresheet); 0: on at full thrust where a phase flies "
          "it, off in the vertical phases, where the thrusters fly (M1)",
          fsw=st.FP_MAIN_CYCLED, default=0),
    Param((Field("guidance.retarget_tgo_s", "float", 0.0, 3600.0,
                 "s, the approach's time to go at which its target moves, as a hazard-"
                 "avoidance retarget late in the descent would move it (0: never)", 0.0),
           Field("guidance.retarget_m", "vec2", -1e5, 1e5,
                 "m, how far the target moves, downrange and crossrange", (0.0, 0.0))),
          fsw=st.FP_RETARGET),
    param("guidance.landing_area_m", "vec2", 0.0, 1e5,
          "m, downrange and crossrange lengths of the landing area about the site within "
          "which the approach may move its target ([0, 0]: the site itself)",
          fsw=st.FP_AREA, default=(0.0, 0.0)),
    param("guidance.engines", "engines", 1, 16,
          "a table of phase = main-group engines fired in it (phases not named fire all)",
          fsw=st.FP_MODE_ENGINES, si=mode_engines, default={}),
    Param((Field("guidance.retro_mark_altitude_m", "float", 0.0, 1e6,
                 "m, the altimeter mark that ignites the retro (a retro phase needs it)", 0.0),
           Field("guidance.retro_cutoff_altitude_m", "float", 0.0, 1e5,
                 "m, the altitude that ends the retro", 0.0)),
          fsw=st.FP_RETRO),
    param("guidance.cutoff_altitude_m", "float", 0.0, 1e3,
          "m, the altitude estimate at which terminal descent cuts the engines (0: none)",
          fsw=st.FP_CUTOFF_ALT, default=0.0),
    param("guidance.rate_step_mps", "float", 0.0, 10.0,
          "m/s, steps of the vertical phases' rate command (0: continuous)",
          fsw=st.FP_RATE_STEP, default=0.0),
    param("lander.probe_length_m", "float", 0.0, 20.0,
          "m below the footpads the contact probes reach (0: none)", world=st.WP_PROBE,
          default=0.0),
    Param((Field("touchdown.max_vertical_speed_mps", "float", 0.0, 100.0, "m/s"),
           Field("touchdown.max_horizontal_speed_mps", "float", 0.0, 100.0, "m/s"),
           Field("touchdown.max_tilt_deg", "float", 0.0, 90.0, "deg")),
          world=st.WP_LIM, si=lambda v, h, tilt: (v, h, math.radians(tilt))),
    # What history records of the landing (the lander library, touchdown.library): optional,
    # never read by the flight.
    other("history.outcome", "history", None, None, "landed or crashed",
          "the library's table: history's outcome beside touchdown's", None),
    other("history.summary", "str", None, None, "one line: what happened",
          "the library's page and table", None),
    other("history.phase_points", "points", None, None,
          "[[t_s, altitude_m, speed_mps], ...]: published phase points, t from the powered "
          "descent's start (nan where not published)",
          "the library's profile figure (markers)", ()),
    other("history.phase_labels", "labels", None, None, "one label per phase point",
          "the library's profile figure", ()),
    other("link.rate_bps", "float", 1.0, 1e9, "downlink bit rate (bit/s)", "telemetry.link"),
    other("link.frame_length_octets", "int", 16, 2048,
          "TM frame length, header and FECF included", "telemetry.link"),
    other("link.frame_loss_probability", "float", 0.0, 1.0,
          "probability a frame is lost, 0..1", "telemetry.link"),
    other("link.bit_error_rate", "float", 0.0, 0.5, "probability a bit is flipped, 0..0.5",
          "telemetry.link"),
    other("link.elevation_mask_deg", "float", -90.0, 90.0, "lowest Earth elevation (deg)",
          "telemetry.link"),
    other("link.queue_limit_octets", "int", 0, 1e9, "octets the onboard downlink queue holds",
          "telemetry.link"),
    other("link.uplink_frame_loss_probability", "float", 0.0, 1.0,
          "probability an uplinked TC frame is lost, 0..1", "telemetry.uplink", 0.0),
    # Faults of the real lander, injected into the world simulation for investigations. The
    # flight software is not told of them: it flies on its own model of a healthy lander, and
    # meets a fault only through what its sensors read. Times are seconds after the epoch.
    # Optional: a scenario without a [faults] section flies a healthy lander.
    Param((Field("faults.lrf_bias_m", "float", -1e4, 1e4, "m added to every range reading", 0.0),
           Field("faults.lrf_bias_from_s", "float", 0.0, 1e6,
                 "seconds after the epoch the bias appears", 0.0)),
          world=st.WP_LRF_BIAS),
    Param((Field("faults.lrf_outage_from_s", "float", 0.0, 1e6,
                 "seconds after the epoch the outage starts", 0.0),
           Field("faults.lrf_outage_s", "float", 0.0, 1e6,
                 "seconds without range readings (0: none)", 0.0)),
          world=st.WP_LRF_OUTAGE),
    Param((Field("faults.propellant_leak_kg_s", "float", 0.0, 1e3,
                 "kg/s lost from the tank (0: none)", 0.0),
           Field("faults.propellant_leak_from_s", "float", 0.0, 1e6,
                 "seconds after the epoch the leak starts", 0.0)),
          world=st.WP_LEAK, si=_leak, context=True),
    param("faults.imu_fail_from_s", "float", 0.0, 1e6,
          "seconds after the epoch IMU unit A fails (0: never)", world=st.WP_IMU_FAIL,
          default=0.0),
    Param((Field("faults.main_thrust_factor", "float", 0.1, 10.0,
                 "the main engines' real thrust and flow over their model (1: none)", 1.0),
           Field("faults.main_thrust_from_s", "float", 0.0, 1e6,
                 "seconds after the epoch the thrust departs from its model", 0.0)),
          world=st.WP_THRUST_FAULT),
    Param((Field("faults.cycle_steal", "float", 0.0, 1.0,
                 "share of the flight computer's time a hardware interface steals (Apollo "
                 "11's rendezvous radar; 0: none)", 0.0),
           Field("faults.cycle_steal_spread", "float", 0.0, 1.0,
                 "half-width of its uniform spread from cycle to cycle", 0.0)),
          world=st.WP_CYCLE_STEAL),
    Param((Field("faults.main_start_fails_from_s", "float", 0.0, 1e6,
                 "seconds after the epoch from which the main engine's starts fail (0: never)",
                 0.0),
           Field("faults.main_start_fails_s", "float", 0.0, 1e6,
                 "seconds its starts fail for", 0.0),
           Field("faults.main_start_off_s", "float", 0.0, 1e3,
                 "s off before a command on is a start (shorter gaps are pulses of a running "
                 "engine, unaffected)", 1.0)),
          world=st.WP_START_FAIL),
    # The camera and its imaging plan (world/camera.py renders, telemetry/imaging.py takes,
    # keeps and sends). Optional: without a plan (no period, no events) no image is taken.
    *(other(f"camera.{key}", kind, lo, hi, what, _CAMERA, default)
      for key, kind, lo, hi, what, default in (
          ("width_px", "int", 16, 4096, "image width in pixels", 512),
          ("height_px", "int", 16, 4096, "image height in pixels", 512),
          ("fov_deg", "float", 1.0, 170.0, "horizontal field of view (deg)", 60.0),
          ("boresight_body", "vec3", -1.0, 1.0, "the optical axis, body axes", (0.0, 0.0, -1.0)),
          ("up_body", "vec3", -1.0, 1.0, "the body direction up in the image", (1.0, 0.0, 0.0)),
          ("exposure_s", "float", 1e-6, 10.0, "exposure time (s)", 0.002),
          ("saturation_exposure_s", "float", 1e-6, 10.0,
           "exposure (s) at which albedo 1 facing the Sun saturates", 0.004),
          ("albedo", "float", 0.0, 1.0, "the terrain's albedo, 0..1", 0.12),
          ("read_noise_dn", "float", 0.0, 100.0, "read noise (DN, 1 sigma)", 1.0),
          ("start_s", "float", 0.0, 1e6, "s after the epoch the periodic images start", 0.0),
          ("period_s", "float", 0.0, 1e5, "s between periodic images (0: none)", 0.0),
          ("events", "events", None, None,
           "flight-software event names an image is taken at, e.g. [\"braking_start\"]", ()),
          ("storage_octets", "int", 0, 1e10, "onboard image storage (octets)", 8 << 20),
          ("quality", "int", 1, 95, "JPEG quality, 1..95", 75),
          ("strip_rows", "int", 8, 4096, "rows per independently compressed strip", 64),
      )),
)

PARAMETERS: tuple[Param, ...] = tuple(d for d in DECLARATIONS if isinstance(d, Param))

# Slots no declaration fills, each with the reason: none should stay here for long.
UNFILLED: dict[str, str] = {
    "fsw_params.init_sigma": "read by no kernel since it was added; left zero",
}


def fields() -> Iterator[Field]:
    """Every declared field once, in declaration order; ValueError if a key is declared twice.

    Params may share a field (one ``Field`` object), never declare the same key again.
    """
    seen: dict[str, Field] = {}
    for d in DECLARATIONS:
        for f in d.fields if isinstance(d, Param) else (d.field,):
            if f.key not in seen:
                seen[f.key] = f
                yield f
            elif seen[f.key] is not f:
                raise ValueError(f"{f.key} is declared twice: declare it once and share it")
