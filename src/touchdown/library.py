"""The lander library (shell): every shipped lander flown over its real site, beside history.

A shipped lander is a scenario under scenarios/ with a ``[history]`` section (what happened, and
the published phase points of its profile). ``fly_library`` flies each one; ``table`` gives one
row per lander (history's outcome and touchdown's, touchdown speeds, propellant left, distance
from the target); ``profile_figure`` draws its simulated profile against the published points.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from touchdown.core.layout import W_PROP
from touchdown.plots.profile import plot_profile
from touchdown.report.track import great_circle_km
from touchdown.scenario import CAMPAIGN_SUFFIX, SCENARIO_DIR, Scenario
from touchdown.sim.run import Flight, fly

COLUMNS = ("lander", "date", "history", "touchdown", "vertical_mps", "horizontal_mps",
           "propellant_left_kg", "from_target_km")


def shipped(folder: Path = SCENARIO_DIR) -> list[Scenario]:
    """The scenarios with a ``[history]`` section, in the order history flew them."""
    found = (Scenario.from_toml(p) for p in sorted(folder.glob("*.toml"))
             if not p.name.endswith(CAMPAIGN_SUFFIX))
    return sorted((s for s in found if s["history.outcome"] is not None),
                   key=lambda s: s["scenario.epoch_utc"])


@dataclass(frozen=True)
class Entry:
    """One shipped lander and its flight."""

    scenario: Scenario
    flight: Flight

    def row(self) -> dict[str, Any]:
        """Its row of the library's table (``COLUMNS``); speeds at contact, NaN without one."""
        s, f = self.scenario, self.flight
        td = f.touchdown() or {}
        target = (s["target.lat_deg"], s["target.lon_deg"])
        where = (td["lat_deg"], td["lon_deg"]) if td else None
        return {"lander": s.name, "date": s["scenario.epoch_utc"].date().isoformat(),
                "history": s["history.outcome"], "touchdown": f.outcome,
                "vertical_mps": td.get("vertical_speed_mps", math.nan),
                "horizontal_mps": td.get("horizontal_speed_mps", math.nan),
                "propellant_left_kg": float(f.arrays.world[W_PROP]),
                "from_target_km": float(great_circle_km(*where, *target)) if where else math.nan}


def fly_library(seed: int = 0, landers: list[Scenario] | None = None,
                each: Callable[[Scenario], None] | None = None) -> Iterator[Entry]:
    """Fly every shipped lander (or those given) with ``seed``; ``each`` is told before each."""
    for s in landers if landers is not None else shipped():
        if each:
            each(s)
        yield Entry(s, fly(s, seed))


def format_table(rows: list[dict[str, Any]]) -> str:
    """The table as aligned text."""
    head = ("lander", "date", "history", "touchdown", "vertical", "horizontal", "propellant",
            "from target")
    cells = [head, ("", "", "", "", "m/s", "m/s", "kg left", "km")]
    for r in rows:
        cells.append((r["lander"], r["date"], r["history"], r["touchdown"],
                      f"{r['vertical_mps']:.2f}", f"{r['horizontal_mps']:.2f}",
                      f"{r['propellant_left_kg']:.1f}", f"{r['from_target_km']:.2f}"))
    widths = [max(len(c[i]) for c in cells) for i in range(len(head))]
    return "\n".join("  ".join(c[i].ljust(widths[i]) if i < 4 else c[i].rjust(widths[i])
                               for i in range(len(head))).rstrip() for c in cells)


def profile_figure(entry: Entry, path: Path) -> Path:
    """The lander's simulated profile against its published phase points."""
    s, f = entry.scenario, entry.flight
    title = (f"{s.name}: {s['scenario.description']}\nhistory: {s['history.outcome']}; "
             f"touchdown (seed {f.seed}): {f.outcome}")
    return plot_profile(f.trace, f.milestones(), s["history.phase_points"],
                        s["history.phase_labels"], title, path)
