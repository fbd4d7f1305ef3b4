"""Beresheet (11 April 2019) fails by its own chain, and each mitigation lands the same lander.

What validates what (seed 0, over the Beresheet tile), all from the trajectory and events:

- ``beresheet``: IMU unit A fails near 14 km (true altitude) and navigation switches to B; the
  ground's reset of A arrives one light time after it was sent and restarts the computer
  (Beresheet's flaw); the main engine gives no thrust from the restart until the restart
  logic's sixth relight attempt, a minute or more later (the starts in the fault's window
  fail); it burns again from then on, yet the lander hits the ground at more than 100 m/s;
- ``beresheet-protected``: the same IMU failure, reset and restart; the engine never stops
  (off no longer than a few of its 0.1 s cycles) between the restart and the end of braking;
  it lands within the legs' limits;
- ``beresheet-no-reset``: no command and no restart; it lands.
"""

from __future__ import annotations

import pytest
from tests.terrain import needs_terrain

from touchdown.scenario import Scenario, resolve
from touchdown.sim.run import fly

pytestmark = needs_terrain


@pytest.fixture(scope="module")
def flights():
    return {n: fly(Scenario.from_toml(resolve(n)), 0)
            for n in ("beresheet", "beresheet-protected", "beresheet-no-reset")}


def times(flight, name):
    return [e["time_s"] for e in flight.events if e["name"] == name]


def thrust_between(flight, t0, t1):
    tr = flight.trace
    return tr[(tr["t_s"] > t0) & (tr["t_s"] < t1)]["thrust_n"]


def test_as_flown_the_reset_restarts_the_computer_and_the_engine_relights_too_late(flights):
    f = flights["beresheet"]
    (switched,) = times(f, "imu_switched")
    at = f.trace[f.trace["t_s"] >= switched].iloc[0]
    assert 12_500.0 <= at["altitude_m"] <= 15_500.0  # "at ~14 km"
    (received,) = times(f, "command_received")
    sent = f.scenario["commands"][0][0]
    assert 1.2 <= received - sent <= 1.5  # the light time, then the next cycle
    assert times(f, "computer_restart") == [received]
    attempts, (relit,) = times(f, "relight_attempt"), times(f, "engine_relit")
    assert len(attempts) == 6 and relit > attempts[-1]
    assert (thrust_between(f, received + 0.5, attempts[-1] - 0.1) == 0.0).all()  # dark
    assert attempts[-1] - received >= 60.0
    (contact,) = [e for e in f.events if e["name"] == "contact"]
    # the sixth start lights: the engine burns (fired in whole cycles) to the end
    assert thrust_between(f, attempts[-1] + 0.5, contact["time_s"]).mean() > 300.0
    assert f.outcome == "crashed"
    assert contact["value"] > 100.0


def test_with_restart_protection_the_engine_runs_on_and_it_lands(flights):
    f = flights["beresheet-protected"]
    assert len(times(f, "imu_switched")) == 1
    (restart,) = times(f, "computer_restart")
    assert times(f, "relight_attempt") == []
    (vertical,) = times(f, "vertical_descent_start")
    thrust = thrust_between(f, restart - 1.0, vertical - 0.5)
    off_runs = (thrust > 0.0).cumsum()[thrust == 0.0].value_counts()  # off cycles per gap
    assert off_runs.max() <= 3  # never off longer than a few 0.1 s cycles (whole-cycle firing)
    assert thrust.mean() > 300.0
    assert f.outcome == "landed"
    td = f.touchdown()
    limits = f.scenario
    assert td["vertical_speed_mps"] <= limits["touchdown.max_vertical_speed_mps"]
    assert td["horizontal_speed_mps"] <= limits["touchdown.max_horizontal_speed_mps"]


def test_without_the_reset_there_is_no_restart_and_it_lands(flights):
    f = flights["beresheet-no-reset"]
    assert len(times(f, "imu_switched")) == 1
    assert times(f, "command_received") == [] and times(f, "computer_restart") == []
    assert f.outcome == "landed"
