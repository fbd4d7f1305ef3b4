"""Parameter expiry, link status, loss of signal, last known state and an outcome estimate (shell).

Ground time is always given by the caller (s, on the clock the ingest stamps receive times
with), so every answer here is deterministic.

- A packet type's parameters are **stale** when no packet of that type has arrived within its
  ``Packet.expiry_s`` (1.9 periods, Yamcs' rule) of ground time. Event packets never expire.
- **Link status**, Yamcs' names: ``UNAVAIL`` before the first packet arrives, ``OK`` while
  packets arrive, ``FAILED`` once loss of signal is declared (back to ``OK`` when a packet
  arrives again: acquisition of signal).
- **Loss of signal**, one definition for the server, the CLI, the UI and the report
  (``losses``): when nothing at all has arrived for longer than the LOS timeout (default: the
  longest expiry of the periodic packets), the LOS time ``t_los`` is the receive time of the last
  packet before the silence; it is declared at ``t_los`` + the timeout. LOS is derived from the
  archived receive times, never stored: reopening an archive finds the same losses again.
- After LOS, ``last_known_state`` and ``outcome_estimate`` say what the lander last reported and
  what follows if it kept falling. Both rest on the lander's own estimates.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from touchdown.ground.archive import Archive
from touchdown.moon.constants import SURFACE_GRAVITY
from touchdown.telemetry.dictionary import Dictionary

UNAVAIL, OK, FAILED = "UNAVAIL", "OK", "FAILED"
LOS_TIMEOUT = "los_timeout_s"  # the archive's record of the timeout its losses were found with
PROPELLANT_EMPTY_KG = 1.0  # kg: at or below this the engines are taken to be dead

CAVEAT = ("This rests on the lander's own estimates (its navigation filter's altitude and "
          "speeds, its propellant count) as last received. If those estimates were wrong — as "
          "HAKUTO-R Mission 1's altitude was, by kilometres — so is this; compare with "
          "independent tracking before concluding anything.")


@dataclass(frozen=True)
class LossOfSignal:
    """A declared loss of signal: ground times (s) of the last packet (the LOS time) and of the
    declaration, and the onboard time (s) of the newest packet received."""

    t_los: float
    t_declared: float
    t_onboard_last: float


class LinkMonitor:
    """Expiry, link status and loss of signal from packet arrival times.

    Parameters
    ----------
    dictionary : gives each packet type's expiry.
    archive : optional; a reopened archive's receive times give the losses of signal so far
        and each packet type's last arrival (nothing is written to it).
    los_timeout_s : silence after which LOS is declared (s); default the one the archive was
        ingested with, else the longest expiry of the periodic packets.
    """

    def __init__(self, dictionary: Dictionary, archive: Archive | None = None,
                 los_timeout_s: float | None = None) -> None:
        self.dictionary = dictionary
        self.archive = archive
        self.los_timeout_s = los_timeout(dictionary, archive, los_timeout_s)
        if not self.los_timeout_s > 0:
            raise ValueError(f"los_timeout_s must be > 0 s, got {self.los_timeout_s}")
        self.last_rx: dict[str, float] = {}  # packet name: ground time of its last arrival (s)
        self.last_any: float | None = None
        self.t_onboard_last = -math.inf
        self.los: LossOfSignal | None = None  # the current (undeclared: None) loss of signal
        self.history: list[LossOfSignal] = []
        if archive is not None:
            rx = archive.latest_received()
            for p in dictionary.packets:
                got = [rx[f.qualified] for f in p.fields if f.qualified in rx]
                if got:
                    self.last_rx[p.name] = max(got)
            arrivals = [(tr, t) for _, t, tr in archive.arrivals()]
            self.history = losses(arrivals, self.los_timeout_s)
            if arrivals:
                self.last_any = max(tr for tr, _ in arrivals)
                self.t_onboard_last = max(t for _, t in arrivals)

    def received(self, packet: str, t_onboard: float, t_ground: float) -> None:
        """A good packet of type ``packet`` arrived at ground time t_ground (s)."""
        if self.los is not None:  # acquisition of signal
            self.los = None
        self.last_rx[packet] = max(t_ground, self.last_rx.get(packet, -math.inf))
        self.last_any = t_ground if self.last_any is None else max(self.last_any, t_ground)
        self.t_onboard_last = max(self.t_onboard_last, t_onboard)

    def update(self, t_ground: float) -> LossOfSignal | None:
        """Declare LOS if the silence at ground time t_ground (s) is longer than the timeout;
        returns the current LOS (None: signal present or never acquired)."""
        if (self.los is None and self.last_any is not None
                and t_ground - self.last_any > self.los_timeout_s):
            self.los = LossOfSignal(self.last_any, self.last_any + self.los_timeout_s,
                                    self.t_onboard_last)
            self.history.append(self.los)
        return self.los

    def status(self, t_ground: float) -> str:
        """UNAVAIL (nothing yet), OK or FAILED (loss of signal) at ground time t_ground (s)."""
        if self.last_any is None:
            return UNAVAIL
        return FAILED if self.update(t_ground) is not None else OK

    def stale_packets(self, t_ground: float) -> list[str]:
        """Packet types whose parameters are stale at ground time t_ground (s): never received,
        or not within their expiry."""
        return [p.name for p in self.dictionary.packets if math.isfinite(p.expiry_s)
                and t_ground - self.last_rx.get(p.name, -math.inf) > p.expiry_s]

    def is_stale(self, name: str, t_ground: float) -> bool:
        """Whether parameter ``packet.field`` is stale at ground time t_ground (s)."""
        packet = self.dictionary[name.split(".", 1)[0]]
        return t_ground - self.last_rx.get(packet.name, -math.inf) > packet.expiry_s


def los_timeout(dictionary: Dictionary, archive: Archive | None = None,
                given: float | None = None) -> float:
    """The LOS timeout (s): ``given``, else the one ``archive`` was ingested with, else the
    longest expiry of the dictionary's periodic packets."""
    if given is not None:
        return given
    stored = None if archive is None else archive.meta(LOS_TIMEOUT)
    if stored is not None:
        return float(stored)
    return max(p.expiry_s for p in dictionary.packets if math.isfinite(p.expiry_s))


def losses(arrivals: list[tuple[float, float]], timeout_s: float,
           now: float | None = None) -> list[LossOfSignal]:
    """Every loss of signal in packets received at (t_received, t_onboard) s, in any order:
    each silence longer than ``timeout_s`` (s), and the one after the last packet when ground
    time ``now`` (s) is past its timeout (``math.inf``: the archive is finished)."""
    out = []
    newest_onboard = -math.inf
    ordered = sorted(arrivals)
    for k, (tr, t) in enumerate(ordered):
        newest_onboard = max(newest_onboard, t)
        following = ordered[k + 1][0] if k + 1 < len(ordered) else now
        if following is not None and following - tr > timeout_s:
            out.append(LossOfSignal(tr, tr + timeout_s, newest_onboard))
    return out


@dataclass(frozen=True)
class LastKnownState:
    """The newest value of every parameter: {name: (t_onboard s, value)} and enumeration states."""

    values: dict[str, tuple[float, float]]
    states: dict[str, str]
    los: LossOfSignal | None

    def get(self, name: str) -> float | None:
        v = self.values.get(name)
        return None if v is None or math.isnan(v[1]) else v[1]


def last_known_state(dictionary: Dictionary, archive: Archive,
                     los: LossOfSignal | None = None) -> LastKnownState:
    """What the lander last reported, with enumeration states named from the dictionary."""
    fields = dictionary.parameters
    values = archive.latest()
    states = {n: fields[n].state(v) for n, (_, v) in values.items()
              if n in fields and fields[n].enum and not math.isnan(v)}
    return LastKnownState(values, {n: s for n, s in states.items() if s is not None}, los)


@dataclass(frozen=True)
class OutcomeEstimate:
    """What follows from the last known state if the lander kept falling with no thrust.

    Times are onboard (s since the epoch) unless named ground; speeds m/s, heights m.
    ``time_to_impact_s`` is counted from ``t_state`` (the nav packet's time); None fields mean
    the state needed was never received.
    """

    t_state: float | None
    altitude_m: float | None
    vertical_speed_mps: float | None
    horizontal_speed_mps: float | None
    propellant_kg: float | None
    mode: str | None
    powered: bool | None  # True: propellant left, free fall is only the worst case
    time_to_impact_s: float | None
    t_impact: float | None
    impact_vertical_speed_mps: float | None
    impact_speed_mps: float | None
    los: LossOfSignal | None
    notes: list[str] = field(default_factory=list)
    basis: str = CAVEAT

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def free_fall(h: float, v: float, g: float = SURFACE_GRAVITY) -> tuple[float, float]:
    """Time (s) and vertical speed (m/s, up positive, so negative) at impact of a body at height
    h (m) moving up at v (m/s) under gravity g (m/s^2): the root t >= 0 of h + v t - g t²/2 = 0,
    t = (v + sqrt(v² + 2 g h)) / g; at h <= 0 it is already there (t = 0, speed v)."""
    if h <= 0.0:
        return 0.0, v
    t = (v + math.sqrt(v * v + 2.0 * g * h)) / g
    return t, v - g * t


def outcome_estimate(state: LastKnownState, g: float = SURFACE_GRAVITY) -> OutcomeEstimate:
    """The impact a free fall from the last known altitude and speeds gives (see ``CAVEAT``).

    No thrust is assumed when the propellant estimate is at or below ``PROPELLANT_EMPTY_KG`` or
    unknown; with propellant left the free fall is reported as the worst case.
    """
    nav_t = state.values.get("nav.altitude_m", (None, math.nan))[0]
    h = state.get("nav.altitude_m")
    v = state.get("nav.vertical_speed_mps")
    vh = state.get("nav.horizontal_speed_mps")
    prop = state.get("prop.propellant_kg")
    mode = state.states.get("gnc.mode")
    notes: list[str] = []
    powered: bool | None = None
    if prop is None:
        notes.append("no propellant estimate received: no thrust assumed")
    elif prop <= PROPELLANT_EMPTY_KG:
        powered = False
        notes.append(f"propellant estimate {prop:.1f} kg: engines taken as dead")
    else:
        powered = True
        notes.append(f"propellant estimate {prop:.1f} kg left: the lander may have kept braking,"
                     " so the free fall below is the worst case")
    if mode == "touchdown":
        notes.append("the flight software last reported touchdown mode")
    if h is None or v is None:
        notes.append("no altitude or vertical speed estimate received: no impact estimate")
        return OutcomeEstimate(nav_t, h, v, vh, prop, mode, powered, None, None, None, None,
                               state.los, notes)
    if h <= 0.0:
        notes.append(f"the lander's own altitude estimate was {h:.1f} m: it believed it was "
                     "on the surface")
    t, vz = free_fall(h, v, g)
    speed = math.hypot(vz, vh or 0.0)
    if vh is None:
        notes.append("no horizontal speed received: impact speed is the vertical speed only")
    return OutcomeEstimate(nav_t, h, v, vh, prop, mode, powered, t,
                           None if nav_t is None else nav_t + t, vz, speed, state.los, notes)
