"""The lander's telemetry task (shell): the flight software's state sampled into packets.

It reads only what the lander knows: the flight software's state and parameters, its
measurements and the events it logged (never the world's). Periodic packets are due every
``period_s`` of onboard time; while the flight software sleeps through a coast its state does
not change, so a packet due before it wakes carries the values it had when it last ran. Event
packets go out as the flight software logs events (the simulation's own events, such as the
true contact, are not the lander's and are not sent).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from touchdown.core import layout as st
from touchdown.core.layout import C_TICK, TICK_S
from touchdown.moon.constants import OMEGA, R_REF
from touchdown.moon.frames import latlon_from_mcmf, rotate_z
from touchdown.sim.run import Arrays
from touchdown.telemetry.dictionary import Dictionary, Packet, load_dictionary
from touchdown.telemetry.packets import PacketEncoder

# events the simulation logs about the world, which the lander does not know
WORLD_EVENTS = frozenset({st.EV_PROP_OUT, st.EV_CONTACT, st.EV_TIMEOUT})


@dataclass(frozen=True)
class Outgoing:
    """A packet made onboard: when (s since the epoch), how urgent, and its bytes."""

    t: float
    priority: int
    apid: int
    data: bytes


Values = dict[str, float]  # a packet's field values, by the dictionary's field names


def _nav(fsw: np.ndarray, t: float) -> Values:
    p = fsw[st.F_P:st.F_P + 36]
    r_mcmf, ll = np.empty(3), np.empty(3)
    rotate_z(-OMEGA * t, fsw[st.F_X:st.F_X + 3], r_mcmf)  # the FSW's own model of the turn
    latlon_from_mcmf(r_mcmf, ll)
    return {"lat_deg": math.degrees(ll[0]), "lon_deg": math.degrees(ll[1]),
            "height_m": ll[2] - R_REF, "altitude_m": fsw[st.F_ALT],
            "vertical_speed_mps": fsw[st.F_HDOT], "horizontal_speed_mps": fsw[st.F_VH],
            "position_sigma_m": math.sqrt(max(p[0] + p[7] + p[14], 0.0)),
            "velocity_sigma_mps": math.sqrt(max(p[21] + p[28] + p[35], 0.0))}


def _lrf(fsw: np.ndarray, t: float) -> Values:
    rng, pred, nis, acc = fsw[st.F_LRF_LAST:st.F_LRF_LAST + 4]
    return {"range_m": rng, "predicted_m": pred, "nis": nis, "accepted": acc,
            "state": fsw[st.F_LRF_STATE], "rejected_run": min(fsw[st.F_LRF_NREJ], 65535.0),
            "accepted_n": fsw[st.F_LRF_NACC]}


def _gnc(fsw: np.ndarray, t: float) -> Values:
    r, u = fsw[st.F_X:st.F_X + 3], fsw[st.F_CMD_DIR:st.F_CMD_DIR + 3]
    rn, un = np.linalg.norm(r), np.linalg.norm(u)
    cos_tilt = float(r @ u) / (rn * un) if rn > 0.0 and un > 0.0 else 1.0
    return {"mode": fsw[st.F_MODE], "mode_time_s": t - fsw[st.F_MODE_T], "tgo_s": fsw[st.F_TGO],
            "main_engine": fsw[st.F_CMD_MAIN], "main_lit": fsw[st.F_CMD_LIT],
            "thruster_duty": fsw[st.F_CMD_DUTY],
            "thrust_tilt_deg": math.degrees(math.acos(max(-1.0, min(1.0, cos_tilt)))),
            "turn_held_deg": math.degrees(fsw[st.F_TURN_HELD]),
            "altitude_zero_seen": fsw[st.F_ALT_ZERO_SEEN]}


def _prop(fsw: np.ndarray, t: float) -> Values:
    return {"propellant_kg": fsw[st.F_PROP]}


def _commanding(fsw: np.ndarray, t: float) -> Values:
    accepted, rejected, last, why = fsw[st.F_TC:st.F_TC + 4]
    return {"accepted_n": min(accepted, 65535.0), "rejected_n": min(rejected, 65535.0),
            "last_command": last, "last_rejection": why, "engines": fsw[st.F_DISARMED],
            "lrf": fsw[st.F_LRF_OFF], "lrf_policy": max(fsw[st.F_POLICY_SET] - 1.0, 0.0),
            "imu_disabled": fsw[st.F_IMU_OFF]}


# periodic packets made from the flight software's state alone (``health`` also counts the
# events the task sent; ``event`` packets go out as events are logged)
SAMPLERS = {"nav": _nav, "lrf": _lrf, "gnc": _gnc, "prop": _prop, "commanding": _commanding}


def health_values(fsw: np.ndarray, events_logged: int) -> Values:
    """The ``health`` packet: cycles slept and flight-software events logged so far."""
    return {"sleep_cycles": fsw[st.F_SLEEP], "events_logged": min(events_logged, 65535)}


def event_values(code: float, value: float) -> Values:
    """An ``event`` packet: the event's code and its value."""
    return {"code": code, "value": value}


class TelemetryTask:
    """Makes the lander's packets from its flight software's state, at the dictionary's rates.

    Call ``sample(arrays)`` between compiled chunks (``fly(observe=...)``); ``packets`` holds
    everything made so far, in onboard time order within each call.
    """

    def __init__(self, dictionary: Dictionary | None = None) -> None:
        self.dictionary = dictionary or load_dictionary()
        self.encoder = PacketEncoder()
        self.packets: list[Outgoing] = []
        self._periodic = [p for p in self.dictionary.packets if p.period_s > 0]
        # each packet's place in the dictionary: where the ground's period for it is kept
        self._place = {p.name: k for k, p in enumerate(self.dictionary.packets)}
        missing = {p.name for p in self._periodic} - set(SAMPLERS) - {"health"}
        if missing:
            raise ValueError(f"no onboard sampler for packets {sorted(missing)}")
        self._next = {p.name: 0.0 for p in self._periodic}
        self._held: dict[str, Values] = {}
        self._events_sent = 0
        self._fsw_events = 0

    def period_s(self, packet: Packet, fsw: np.ndarray) -> float:
        """How often a periodic packet goes: the period the ground set (``telemetry_rate``),
        else the dictionary's."""
        k = self._place[packet.name]
        set_s = fsw[st.F_TM_PERIOD + k] if k < st.N_TM_PERIODS else 0.0
        return float(set_s) if set_s > 0.0 else packet.period_s

    def values(self, packet: Packet, fsw: np.ndarray, t: float) -> Values:
        """A periodic packet's field values from the flight software's state at time t (s)."""
        if packet.name == "health":
            return health_values(fsw, self._fsw_events)
        return SAMPLERS[packet.name](fsw, t)

    def _emit(self, packet: Packet, t: float, values: Values, clock_s: float = 0.0) -> None:
        """A packet made at mission time t, stamped by the onboard clock (t + its offset)."""
        data = self.encoder.encode(packet, t + clock_s, values)
        self.packets.append(Outgoing(t, packet.priority, packet.apid, data))

    def sample(self, a: Arrays) -> None:
        """Packets due up to the arrays' current time, and any events logged since last call."""
        t = float(a.clock[C_TICK]) * TICK_S
        event = self.dictionary["event"]
        for k in range(self._events_sent, int(a.n_events[0])):
            t_ev, code, value = a.events[k]
            if int(code) in WORLD_EVENTS:
                continue
            self._fsw_events += 1
            self._emit(event, t_ev, event_values(code, value), a.fsw[st.F_CLOCK])
        self._events_sent = int(a.n_events[0])
        for p in self._periodic:
            while self._next[p.name] <= t + 1e-9:
                due = self._next[p.name]
                held = self._held.get(p.name)
                values = held if held is not None and due < t - 1e-9 else self.values(
                    p, a.fsw, due)
                self._emit(p, due, values, a.fsw[st.F_CLOCK])
                self._next[p.name] = due + self.period_s(p, a.fsw)
            self._held[p.name] = self.values(p, a.fsw, t)
