"""The lander specification (shell): masses, engines and attitude control from a scenario."""

from __future__ import annotations

import math
from dataclasses import dataclass

from touchdown.moon.constants import G0
from touchdown.scenario import Scenario


@dataclass(frozen=True)
class Engine:
    """A group of identical engines firing along body +z."""

    count: int
    thrust_n: float
    isp_s: float

    @property
    def mass_flow_kg_s(self) -> float:
        """Propellant flow of the whole group at full thrust (kg/s)."""
        return self.count * self.thrust_n / (self.isp_s * G0)


@dataclass(frozen=True)
class LanderSpec:
    """Masses (kg), engines and the attitude rate limit of an M1-class lander."""

    dry_mass_kg: float
    payload_kg: float
    propellant_kg: float
    main: Engine
    thrusters: Engine
    pulse_resolution_s: float
    slew_rate_max_deg_s: float
    footpad_depth_m: float

    @classmethod
    def from_scenario(cls, s: Scenario) -> LanderSpec:
        return cls(
            dry_mass_kg=s["lander.dry_mass_kg"],
            payload_kg=s["lander.payload_kg"],
            propellant_kg=s["lander.propellant_kg"],
            main=Engine(s["lander.main_engine.count"], s["lander.main_engine.thrust_n"],
                        s["lander.main_engine.isp_s"]),
            thrusters=Engine(s["lander.thrusters.count"], s["lander.thrusters.thrust_n"],
                             s["lander.thrusters.isp_s"]),
            pulse_resolution_s=s["lander.thrusters.pulse_resolution_s"],
            slew_rate_max_deg_s=s["lander.slew_rate_max_deg_s"],
            footpad_depth_m=s["lander.footpad_depth_m"],
        )

    @property
    def empty_mass_kg(self) -> float:
        """Mass with empty tanks: dry structure plus payload (kg)."""
        return self.dry_mass_kg + self.payload_kg

    @property
    def wet_mass_kg(self) -> float:
        return self.empty_mass_kg + self.propellant_kg

    @property
    def max_thrust_n(self) -> float:
        return self.main.count * self.main.thrust_n + self.thrusters.count * self.thrusters.thrust_n

    def delta_v_mps(self) -> float:
        """Ideal delta-v (m/s) of all the propellant at the thrust-weighted exhaust velocity."""
        flow = self.main.mass_flow_kg_s + self.thrusters.mass_flow_kg_s
        ve = self.max_thrust_n / flow
        return ve * math.log(self.wet_mass_kg / self.empty_mass_kg)
