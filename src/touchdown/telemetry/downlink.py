"""A flight with its downlink (shell): the lander's telemetry through the radio link.

``fly_downlink`` flies a scenario with the onboard telemetry task sampling its flight software,
then carries the packets through the link model (``telemetry.link``): queue, TM frames at the
scenario's bit rate, Earth visibility, random loss and bit errors, light time, and loss of
signal when the lander is destroyed. The link is part of the world, so it may use the
simulation's truth (where the lander is, when it hit the ground); the packets never do.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from touchdown.core import layout as st
from touchdown.scenario import Scenario
from touchdown.sim.run import Flight, fly, scenario_terrains
from touchdown.telemetry.dictionary import Dictionary, load_dictionary
from touchdown.telemetry.flight_info import FlightInfo
from touchdown.telemetry.imaging import Imager, ImagingPlan
from touchdown.telemetry.link import Downlink, LinkConfig, simulate_downlink
from touchdown.telemetry.onboard import Outgoing, TelemetryTask
from touchdown.telemetry.recording import write_recording
from touchdown.telemetry.uplink import receive_timeline

SAMPLE_S = 0.5  # s, how often the host drains telemetry between compiled chunks


@dataclass
class DownlinkedFlight:
    """A flight, the packets its lander made, what the link delivered of them, and the images
    its camera took (None: no imaging plan)."""

    flight: Flight
    packets: list[Outgoing]
    link: Downlink
    config: LinkConfig
    dictionary: Dictionary
    imager: Imager | None = None

    def meta(self) -> dict[str, Any]:
        """A recording's metadata: what was flown and how the link was set up."""
        s = self.flight.scenario
        stats = self.link.stats
        return {**FlightInfo.from_scenario(s).to_dict(), "seed": self.flight.to_dict()["seed"],
                "frame_length": self.config.frame_length,
                "spacecraft_id": self.dictionary.spacecraft_id,
                "link": {"rate_bps": self.config.rate_bps,
                         "frame_loss_probability": self.config.frame_loss_probability,
                         "bit_error_rate": self.config.bit_error_rate,
                         "elevation_mask_deg": self.config.elevation_mask_deg},
                "packets_made": len(self.packets),
                "frames_sent": stats.frames_sent, "frames_delivered": stats.frames_delivered}

    def record(self, path: Path) -> Path:
        """Write what the ground station received as a downlink recording."""
        return write_recording(path, self.meta(), self.link.frames)


def destroyed_s(flight: Flight) -> float | None:
    """When the lander was destroyed (s since the epoch), None if it survived."""
    return float(flight.arrays.world[st.W_TD]) if flight.outcome == "crashed" else None


def fly_downlink(s: Scenario, seed: int | np.random.SeedSequence = 0,
                 real: Scenario | None = None) -> DownlinkedFlight:
    """Fly s with its telemetry and carry the packets to the ground (``real``: the lander as
    built, when it differs from the plan, as in ``sim.run.fly``)."""
    dictionary = load_dictionary()
    task = TelemetryTask(dictionary)
    imager = make_imager(s, seed, dictionary)

    def observe(a: Any) -> None:
        task.sample(a)
        if imager is not None:
            imager.sample(a)

    flight = fly(s, seed, real=real, observe=observe, every_s=SAMPLE_S)
    made = task.packets + (imager.packets if imager is not None else [])
    packets = sorted(made, key=lambda p: p.t)  # stable: events keep their order
    trace = flight.trace
    path = (trace["t_s"].to_numpy(), trace["lat_deg"].to_numpy(), trace["lon_deg"].to_numpy())
    config = LinkConfig.from_scenario(s, seed)
    epoch = FlightInfo.from_scenario(s).epoch_utc
    receiver = receive_timeline(s["commands"], epoch, s["link.uplink_rate_bps"])
    link = simulate_downlink([(p.t, p.priority, p.data) for p in packets], path, config,
                             epoch_utc=epoch, spacecraft_id=dictionary.spacecraft_id,
                             clcw=receiver.clcw_at, destroyed_s=destroyed_s(flight),
                             filler=imager)
    return DownlinkedFlight(flight, packets, link, config, dictionary, imager)


def make_imager(s: Scenario, seed: int | np.random.SeedSequence,
                dictionary: Dictionary) -> Imager | None:
    """The imaging task of scenario s's flight (None when its plan takes no image)."""
    plan = ImagingPlan.from_scenario(s)
    if not plan.active:
        return None
    from touchdown.moon.ephemeris import load_ephemeris  # (skyfield: only a flight that images)

    return Imager(plan, dictionary, scenario_terrains(s)[0],
                  FlightInfo.from_scenario(s).epoch_utc, load_ephemeris(), seed)
