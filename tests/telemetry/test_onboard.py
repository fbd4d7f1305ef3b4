"""The lander's telemetry task: rates, values from the flight software, and nothing from truth."""

import dataclasses

import numpy as np
import pytest

from touchdown.core import layout as st
from touchdown.scenario import Scenario, resolve
from touchdown.sim.run import fly
from touchdown.telemetry.dictionary import load_dictionary
from touchdown.telemetry.imaging import ImagingPlan, info_values, segment_values
from touchdown.telemetry.onboard import TelemetryTask, event_values
from touchdown.telemetry.packets import decode_packet
from touchdown.world.camera import Camera

DICT = load_dictionary()


@pytest.fixture(scope="module")
def m1():
    task = TelemetryTask()
    flight = fly(Scenario.from_toml(resolve("hakuto-r-m1")), 0, observe=task.sample, every_s=0.5)
    packets = [decode_packet(p.data, DICT) for p in task.packets]
    return flight, task, packets


def test_observed_flight_equals_the_plain_one(m1):
    flight, _, _ = m1
    plain = fly(Scenario.from_toml(resolve("hakuto-r-m1")), 0)
    assert np.array_equal(plain.arrays.world, flight.arrays.world, equal_nan=True)
    assert np.array_equal(plain.arrays.fsw, flight.arrays.fsw, equal_nan=True)


def test_periodic_packets_come_at_their_period_with_consecutive_counts(m1):
    _, _, packets = m1
    for name in ("nav", "lrf", "gnc", "prop", "health"):
        mine = [p for p in packets if p.name == name]
        t = np.array([p.t for p in mine])
        assert np.allclose(np.diff(t), DICT[name].period_s, atol=1e-4), name
        assert [p.seq for p in mine] == [k % 16384 for k in range(len(mine))]


def test_values_are_the_flight_softwares_at_packet_time(m1):
    flight, _, packets = m1
    trace = flight.trace.set_index("t_s")
    nav = [p for p in packets if p.name == "nav" and p.t > 3400.0]
    for p in nav[::50]:  # a packet due at t carries the state of the last cycle before t
        row = trace.loc[trace.index[trace.index < p.t - 1e-6][-1]]
        assert p.values["altitude_m"] == pytest.approx(row["altitude_est_m"], rel=1e-6, abs=0.01)
        assert p.values["vertical_speed_mps"] == pytest.approx(row["vertical_speed_est_mps"],
                                                               rel=1e-6, abs=1e-3)


def test_the_m1_story_is_in_the_events_and_truth_is_not(m1):
    flight, _, packets = m1
    codes = [DICT["event"].fields[0].state(p.values["code"]) for p in packets
             if p.name == "event"]
    assert codes.index("lrf_fault_declared") < codes.index("altitude_estimate_zero")
    assert "contact" not in codes and "propellant_exhausted" not in codes
    assert any(e["name"] == "contact" for e in flight.events)  # the simulation logged it
    state = [p.values["state"] for p in packets if p.name == "lrf"]
    assert state[-1] == st.LRF_FAULTY


def test_packets_do_not_depend_on_the_world_array(m1):
    """The task made from arrays whose world (truth) is scrambled gives the same bytes."""
    _, task, _ = m1
    s = Scenario.from_toml(resolve("hakuto-r-m1"))
    blind = TelemetryTask()

    def observe(a):
        blind.sample(dataclasses.replace(a, world=np.full_like(a.world, np.nan)))

    fly(s, 0, observe=observe, every_s=0.5)
    assert [p.data for p in blind.packets] == [p.data for p in task.packets]


def test_every_packets_values_are_exactly_its_dictionary_fields():
    """The samplers name their values as the dictionary names the fields, in its order."""
    task = TelemetryTask()
    fsw = np.zeros(st.N_FSW)
    fsw[st.F_X] = 1.8e6  # somewhere above the Moon
    made_elsewhere = {  # the imaging task's packets
        "image_info": info_values(1, (512, 512), ImagingPlan(Camera()), 1000, fsw, 10.0),
        "image": segment_values(1, 0, 0, 100)}
    for p in DICT.packets:
        values = (made_elsewhere[p.name] if p.name in made_elsewhere else
                  event_values(1.0, 0.0) if p.period_s == 0 else task.values(p, fsw, 10.0))
        assert list(values) == [f.name for f in p.fields], p.name
