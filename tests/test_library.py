"""The lander library: each shipped lander lands (or, M1, crashes) for the right reason, and the
library's table and figures are made from the flights.

What validates what (each lander flown with seed 0 over its real tile):

- every lander: the modes it flew are its scenario's phases in order (then touchdown), the
  milestones of one vocabulary come in the order a descent has them, and the touchdown mass is
  the dry mass plus what propellant is left;
- Apollo 11: a contact probe's touch cuts the engine in the same cycle, with the footpads
  within the probes' 1.7 m of the ground; the descent engine stayed out of its forbidden band
  once below full thrust (the trace's thrust in the band only in passing, at most two cycles);
- Chang'e 3: the hover holds 100 m (true altitude within 15 m over its last 10 s), hazard
  detection picks a spot, the engine is cut at the 4 m altitude estimate;
- Chandrayaan-3: the hover holds 150 m; from the vertical descent on two of the four 800 N
  engines fire (never above their 1,600 N);
- Luna 9: the retro fires below the 75 km mark and burns at full thrust, the boom's touch ejects
  the capsule, which lands within its airbags' limit;
- HAKUTO-R M1 crashes (history's outcome);
- the table has a row per lander with history beside touchdown, and the profile figure is a PNG.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from tests.terrain import needs_terrain

from touchdown.library import fly_library, format_table, profile_figure, shipped
from touchdown.report.track import great_circle_km

pytestmark = needs_terrain

# the milestones in the order a descent has them (a hover comes before the low gate or after)
ORDER = ("powered_descent_start", "high_gate", "low_gate", "hover_start", "hover_end",
         "engine_cutoff", "contact")


@pytest.fixture(scope="module")
def flown():
    return {e.scenario.name: e for e in fly_library(0)}


def modes_flown(trace):
    """The modes in the order flown (consecutive repeats dropped)."""
    names = [str(m) for m in trace["mode"]]
    return [m for i, m in enumerate(names) if i == 0 or names[i - 1] != m]


def event(flight, name):
    return next(e for e in flight.events if e["name"] == name)


def during(trace, mode):
    return trace[trace["mode"] == mode]


def test_the_library_is_every_lander_with_a_history(flown):
    assert [s.name for s in shipped()] == ["luna-9", "apollo-11", "change-3", "beresheet",
                                           "chandrayaan-2", "hakuto-r-m1", "chandrayaan-3"]
    assert set(flown) == {s.name for s in shipped()}


@pytest.mark.parametrize("name", ["luna-9", "apollo-11", "change-3", "chandrayaan-3",
                                  "hakuto-r-m1", "beresheet"])
def test_modes_milestones_and_mass(flown, name):
    entry = flown[name]
    f, s = entry.flight, entry.scenario
    assert f.outcome == s["history.outcome"]
    flew = modes_flown(f.trace)
    phases = list(s["guidance.phases"])
    if f.outcome == "landed":
        assert flew in (phases, [*phases, "touchdown"])
    else:
        assert flew == phases[:len(flew)]
    got = f.milestones()
    assert next(iter(got)) == "powered_descent_start" and list(got)[-1] == "contact"
    for earlier, later in itertools.pairwise(ORDER):
        if earlier in got and later in got and (earlier, later) != ("low_gate", "hover_start"):
            assert got[earlier] <= got[later], (earlier, later)
    td = f.touchdown()
    dry = s["lander.dry_mass_kg"] + s["lander.payload_kg"]
    assert td["mass_kg"] == pytest.approx(dry + entry.row()["propellant_left_kg"], abs=1e-9)


def test_apollo_11_program_alarms_restart_the_computer_and_the_engine_runs_on(flown):
    """The rendezvous radar's stolen cycles overflow the executive in the powered descent:
    each program alarm restarts the computer in the same cycle, with restart protection the
    engine keeps burning through it, and the LM lands (five alarms in history)."""
    f = flown["apollo-11"].flight
    alarms = [e["time_s"] for e in f.events if e["name"] == "program_alarm"]
    restarts = [e["time_s"] for e in f.events if e["name"] == "computer_restart"]
    assert len(alarms) >= 1 and restarts == alarms
    braking = event(f, "braking_start")["time_s"]
    assert all(braking < t < f.touchdown()["time_s"] for t in alarms)
    tr = f.trace
    for t in alarms:
        assert (tr[(tr["t_s"] > t - 1.0) & (tr["t_s"] < t + 1.0)]["thrust_n"] > 0.0).all()
    assert f.outcome == "landed"


def test_apollo_11_cuts_the_engine_on_the_probes_touch(flown):
    f = flown["apollo-11"].flight
    probe, cutoff = event(f, "probe_contact"), event(f, "engine_cutoff")
    assert probe["time_s"] == cutoff["time_s"]
    t = f.trace
    at = t[t["t_s"] <= probe["time_s"]].iloc[-1]
    assert 0.0 < at["altitude_m"] <= 1.7 + 0.2  # footpads within the probes' reach (one cycle)
    assert f.touchdown()["vertical_speed_mps"] <= 3.05
    # below full thrust the DPS never dwells in its 65-92 % band (thrust is averaged per row)
    share = t["thrust_n"] / 46_700.0
    inside = ((share > 0.66) & (share < 0.91)).to_numpy()
    runs = np.diff(np.flatnonzero(np.diff(np.r_[0, inside.astype(int), 0])))[::2]
    assert runs.size == 0 or runs.max() <= 2


def test_change_3_hovers_picks_a_spot_and_cuts_at_4_m(flown):
    f = flown["change-3"].flight
    hover = during(f.trace, "hover")
    last = hover[hover["t_s"] >= hover["t_s"].iloc[-1] - 10.0]
    assert np.all(np.abs(last["altitude_m"] - 100.0) < 15.0)
    assert any(e["name"] == "site_selected" for e in f.events)
    assert event(f, "engine_cutoff")["value"] == pytest.approx(4.0, abs=0.5)


def test_chandrayaan_3_hovers_and_lands_on_two_engines(flown):
    f = flown["chandrayaan-3"].flight
    hover = during(f.trace, "hover")
    last = hover[hover["t_s"] >= hover["t_s"].iloc[-1] - 10.0]
    assert np.all(np.abs(last["altitude_m"] - 150.0) < 15.0)
    after = f.trace[f.trace["t_s"] > event(f, "vertical_descent_start")["time_s"] + 0.2]
    assert after["thrust_n"].max() <= 2 * 800.0 * 1.0001
    assert during(f.trace, "braking")["thrust_n"].max() > 2 * 800.0


def test_luna_9_retro_boom_and_capsule(flown):
    f = flown["luna-9"].flight
    retro = event(f, "retro_start")
    assert retro["value"] <= 75_000.0
    burning = during(f.trace, "retro")["thrust_n"]
    assert burning.iloc[5:].min() >= 45_000.0 * 0.999  # the main retro at full thrust
    assert event(f, "probe_contact")["time_s"] == event(f, "engine_cutoff")["time_s"]
    assert f.touchdown()["vertical_speed_mps"] <= 15.0


def test_table_and_profile_figure(flown, tmp_path):
    rows = [e.row() for e in flown.values()]
    text = format_table(rows)
    for r in rows:
        assert r["lander"] in text
        assert r["history"] in ("landed", "crashed") and math.isfinite(r["from_target_km"])
    png = profile_figure(flown["apollo-11"], tmp_path / "apollo-11.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert great_circle_km(0.0, 0.0, 0.0, 1.0) == pytest.approx(1737.4 * math.pi / 180 / 1.0,
                                                                rel=1e-12)
