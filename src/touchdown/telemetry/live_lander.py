"""The lander as the ground meets it live (shell): a flight stepped with the ground's clock,
its telemetry down the link as it is made, the ground's TC frames up the link as they are
radiated.

``LiveLander.step(until_s)`` delivers the uplinked frames that arrive by then (the receiver's
FARM and decoder, the commands into the flight software's timeline at their arrival times),
flies on, samples the telemetry and sends the downlink's frames whose slots end by then (each
with the receiver's CLCW in its operational control field); it returns those that reach the ground,
with their arrival times (later than ``until_s`` by a light time). ``radiate`` is the ground
station's transmitter. Like the recorded flight's, the link is part of the world (it uses the
lander's true position for visibility and light time); the packets never do.
"""

from __future__ import annotations

import heapq
import math
import threading

import numpy as np

from touchdown.core import layout as st
from touchdown.core.layout import TICK_S
from touchdown.moon.ephemeris import load_ephemeris
from touchdown.scenario import Scenario
from touchdown.sim.run import Stepper
from touchdown.telemetry.dictionary import Dictionary, load_dictionary
from touchdown.telemetry.downlink import SAMPLE_S, make_imager
from touchdown.telemetry.flight_info import FlightInfo
from touchdown.telemetry.link import LinkConfig, Transmitter
from touchdown.telemetry.onboard import TelemetryTask
from touchdown.telemetry.uplink import Uplink, UplinkConfig, command_receiver, deliver


class LiveLander:
    """A flight, its downlink and its uplink, advanced by the ground's clock."""

    def __init__(self, s: Scenario, seed: int = 0,
                 dictionary: Dictionary | None = None) -> None:
        self.dictionary = dictionary = dictionary or load_dictionary()
        self.stepper = Stepper(s, seed)
        self.task = TelemetryTask(dictionary)
        self.task.sample(self.stepper.arrays)  # at the start, as a recorded flight's
        self.epoch_utc = FlightInfo.from_scenario(s).epoch_utc
        self.ephemeris = eph = load_ephemeris()
        # the downlink's draws as a recorded flight's (fly_downlink): uncommanded, a live
        # flight delivers the same frames; the uplink's from a stream of its own
        self.link = LinkConfig.from_scenario(s, seed)
        up_seed = np.random.SeedSequence([seed, 0x11])
        self.receiver = command_receiver(dictionary)
        self.imager = make_imager(s, seed, dictionary)
        if self.imager is not None:
            self.imager.sample(self.stepper.arrays)
        self._info_sent = 0  # the imager's image_info packets handed to the link
        self.tx = Transmitter(self.link, epoch_utc=self.epoch_utc,
                              spacecraft_id=dictionary.spacecraft_id,
                              clcw=self.receiver.clcw_at, ephemeris=eph, filler=self.imager)
        self.uplink = Uplink(UplinkConfig.from_scenario(s, up_seed),
                             lambda t: float(eph.light_time_s(self.epoch_utc, t)),
                             visible=self._earth_up)
        self._incoming: list[tuple[float, int, bytes]] = []  # (arrival, order, frame)
        self._lock = threading.Lock()  # the ground radiates while a step runs
        self._order = 0
        self._packets_sent = 0
        self.last_arrival_s: float | None = None  # of the last frame that reached the ground
        self.frames_received = 0  # TC frames that reached the lander

    @property
    def t_s(self) -> float:
        return self.stepper.t_s

    @property
    def done(self) -> bool:
        """The flight is over and nothing more will come down."""
        return self.stepper.done and self.tx.ended

    def path(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The lander's true track so far (s, deg, deg), for the link's visibility and light
        time (interpolated as a recorded flight's link does)."""
        rec = self.stepper.record
        rows = rec.trace[: int(rec.n_trace[0])]
        return rows[:, st.T_T], rows[:, st.T_LAT], rows[:, st.T_LON]

    def position(self) -> tuple[float, float]:
        """The lander's true latitude and east longitude (deg) now."""
        t, lat, lon = self.path()
        if not len(t):  # before the first cycle: where the flight aims
            return self.stepper.scenario["target.lat_deg"], self.stepper.scenario[
                "target.lon_deg"]
        return float(lat[-1]), float(lon[-1])

    def _earth_up(self, t: float) -> bool:
        lat, lon = self.position()
        el = self.ephemeris.earth_elevation_deg(self.epoch_utc, t, lat, lon)
        return bool(el >= self.link.elevation_mask_deg)

    def radiate(self, octets: bytes, now: float) -> tuple[float, float | None]:
        """The ground station radiates a TC frame from ``now``: its end and its arrival at the
        lander (None: lost). Safe while ``step`` runs in another thread."""
        with self._lock:
            end, arrival = self.uplink.radiate(octets, now)
            if arrival is not None:
                heapq.heappush(self._incoming, (arrival, self._order, octets))
                self._order += 1
        return end, arrival

    def step(self, until_s: float) -> list[tuple[float, bytes]]:
        """Fly to ``until_s``; the downlink frames that reach the ground (arrival s, octets)."""
        a = self.stepper.arrays
        rows = []
        with self._lock:
            arrived = []
            while self._incoming and self._incoming[0][0] <= until_s:
                arrived.append(heapq.heappop(self._incoming))
        for arrival, _, octets in arrived:
            rows += self.receiver.rows(octets, arrival)
            self.frames_received += 1
        if rows and not self.stepper.done:
            deliver(a.fsw, a.fsw_params, rows)
        # sampled every SAMPLE_S of flight, as a recorded flight is, whatever the steps
        chunk = round(SAMPLE_S / TICK_S)
        end = math.ceil(until_s / TICK_S - 1e-9)
        while not self.stepper.done and a.clock[st.C_TICK] < end:
            self.stepper.advance(min(end, (int(a.clock[st.C_TICK]) // chunk + 1) * chunk))
            self.task.sample(a)
            if self.imager is not None:
                self.imager.sample(a)
        new = self.task.packets[self._packets_sent:]
        self._packets_sent = len(self.task.packets)
        if self.imager is not None:
            new = new + self.imager.packets[self._info_sent:]
            self._info_sent = len(self.imager.packets)
        new = sorted(new, key=lambda p: p.t)
        for p in new:
            self.tx.push(p.t, p.priority, p.data)
        destroyed = float(a.world[st.W_TD]) if a.world[st.W_STATUS] == st.CRASHED else None
        path = self.path()
        if not len(path[0]):
            return []
        # the frames sent by the last row of the track (between rows the link interpolates,
        # as a recorded flight's does; the rest go at the next step)
        done = self.stepper.done
        frames = self.tx.run(until_s if done else min(until_s, float(path[0][-1])), path,
                             destroyed, to_the_end=done)
        if frames:
            self.last_arrival_s = frames[-1][0]
        return frames
