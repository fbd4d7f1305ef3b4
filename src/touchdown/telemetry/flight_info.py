"""What flight this is, as the ground knows it from the flight plan (shell).

Scenario name, epoch (onboard time counts seconds from it) and target site: mission planning
data, not simulation state. Kept in the archive (``Archive.set_flight``) so that an archived
flight can be opened later with its times and its map; the light time and the Earth's elevation
shown to operators are computed from it, the ephemeris and the lander's own reported position.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from touchdown.scenario import Scenario


@dataclass(frozen=True)
class FlightInfo:
    """The flight plan's facts the ground uses. Any may be unknown (None)."""

    scenario: str | None = None
    description: str = ""
    epoch_utc: datetime | None = None
    target_lat_deg: float | None = None
    target_lon_deg: float | None = None
    # the lander as planned: its main engines (count, one engine's rated thrust), dry mass
    main_engines: int | None = None
    main_engine_thrust_n: float | None = None
    dry_mass_kg: float | None = None

    @classmethod
    def from_scenario(cls, s: Scenario) -> FlightInfo:
        return cls(s.name, str(s["scenario.description"] or ""), _utc(s["scenario.epoch_utc"]),
                   float(s["target.lat_deg"]), float(s["target.lon_deg"]),
                   int(s["lander.main_engine.count"]), float(s["lander.main_engine.thrust_n"]),
                   float(s["lander.dry_mass_kg"] + s["lander.payload_kg"]))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FlightInfo:
        """From ``to_dict`` or a downlink recording's metadata (missing keys: unknown)."""
        target = d.get("target") or {}
        lander = d.get("lander") or {}
        count = lander.get("main_engines")
        return cls(d.get("scenario"), str(d.get("description") or ""),
                   _utc(d["epoch_utc"]) if d.get("epoch_utc") else None,
                   _float(target.get("lat_deg")), _float(target.get("lon_deg")),
                   int(count) if isinstance(count, int | float) else None,
                   _float(lander.get("main_engine_thrust_n")), _float(lander.get("dry_mass_kg")))

    def to_dict(self) -> dict[str, Any]:
        epoch = (None if self.epoch_utc is None
                 else self.epoch_utc.isoformat().replace("+00:00", "Z"))
        target = (None if self.target_lat_deg is None or self.target_lon_deg is None
                  else {"lat_deg": self.target_lat_deg, "lon_deg": self.target_lon_deg})
        lander = {"main_engines": self.main_engines,
                  "main_engine_thrust_n": self.main_engine_thrust_n,
                  "dry_mass_kg": self.dry_mass_kg}
        return {"scenario": self.scenario, "description": self.description,
                "epoch_utc": epoch, "target": target, "lander": lander}

    def light(self, t_s: float, lat_deg: float, lon_deg: float) -> dict[str, float] | None:
        """One-way light time (s) and the Earth's elevation (deg) at onboard time t_s for a
        lander reporting itself at lat_deg, lon_deg; None when the epoch is unknown."""
        if self.epoch_utc is None:
            return None
        from touchdown.moon.ephemeris import load_ephemeris

        eph = load_ephemeris()
        return {"light_time_s": float(eph.light_time_s(self.epoch_utc, t_s, lat_deg, lon_deg)),
                "earth_elevation_deg": float(eph.earth_elevation_deg(self.epoch_utc, t_s,
                                                                     lat_deg, lon_deg))}


def _utc(text: Any) -> datetime:
    return datetime.fromisoformat(str(text).replace("Z", "+00:00"))


def _float(x: Any) -> float | None:
    return None if x is None else float(x)
