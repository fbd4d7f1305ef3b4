"""IMU redundancy management (``fsw.navigation.manage_imus``) on crafted inputs, and a failed
unit in the loop.

What validates what:

- unit A reporting: navigation reads A's increments untouched;
- A failed, B aboard and reporting: the switch to B is logged once and B's increments are placed
  where navigation reads them; later cycles stay on B without a new event;
- A failed with no unit B: ``imu_lost`` once, the increments zero (navigation coasts on its
  model); A reporting again: navigation uses it again;
- in the loop (Chandrayaan-3, unit A failing in rough braking): with two units the flight
  software switches at the first cycle after the failure and the lander lands; with one it
  logs the loss.
"""

import math
import tomllib

import numpy as np
import pytest
from tests.terrain import needs_terrain

from touchdown.core import layout as st
from touchdown.fsw.navigation import manage_imus
from touchdown.scenario import Scenario, resolve
from touchdown.sim.run import fly


def log():
    return np.zeros((st.MAX_EVENTS, st.N_EVENT)), np.zeros(1, np.int64)


def named(events, n):
    return [(st.EVENTS[int(c)][1], float(v)) for _, c, v in events[:n[0]]]


def meas(a_ok, b_ok):
    m = np.zeros(st.N_MEAS)
    m[st.M_DV:st.M_DV + 3] = (math.nan,) * 3 if not a_ok else (1.0, 2.0, 3.0)
    m[st.M_DTH:st.M_DTH + 3] = (math.nan,) * 3 if not a_ok else (0.1, 0.2, 0.3)
    m[st.M_DV_B:st.M_DV_B + 3] = (1.1, 2.1, 3.1)
    m[st.M_DTH_B:st.M_DTH_B + 3] = (0.11, 0.21, 0.31)
    m[st.M_IMU_OK:st.M_IMU_OK + 2] = (float(a_ok), float(b_ok))
    return m


def fp(units):
    p = np.zeros(st.N_FSW_PARAMS)
    p[st.FP_IMU_UNITS] = units
    return p


def test_unit_a_reporting_is_used_as_it_is():
    fsw, events, n = np.zeros(st.N_FSW), *log()
    m = meas(True, True)
    manage_imus(fsw, fp(2), m, 1.0, events, n)
    assert list(m[st.M_DV:st.M_DV + 3]) == [1.0, 2.0, 3.0] and named(events, n) == []


def test_a_failed_unit_a_switches_to_b_once():
    fsw, events, n = np.zeros(st.N_FSW), *log()
    for t in (1.0, 1.1, 1.2):
        m = meas(False, True)
        manage_imus(fsw, fp(2), m, t, events, n)
        assert list(m[st.M_DV:st.M_DV + 3]) == [1.1, 2.1, 3.1]
        assert list(m[st.M_DTH:st.M_DTH + 3]) == [0.11, 0.21, 0.31]
    assert fsw[st.F_IMU_UNIT] == 1.0
    assert named(events, n) == [("imu_switched", 1.0)]


def test_with_no_unit_reporting_navigation_coasts_and_recovers():
    fsw, events, n = np.zeros(st.N_FSW), *log()
    for t in (1.0, 1.1):
        m = meas(False, False)
        manage_imus(fsw, fp(1), m, t, events, n)
        assert not np.any(m[st.M_DV:st.M_DV + 3]) and not np.any(m[st.M_DTH:st.M_DTH + 3])
    assert named(events, n) == [("imu_lost", 0.0)]
    m = meas(True, False)
    manage_imus(fsw, fp(1), m, 1.2, events, n)
    assert list(m[st.M_DV:st.M_DV + 3]) == [1.0, 2.0, 3.0] and fsw[st.F_IMU_UNIT] == 0.0


@needs_terrain
@pytest.mark.parametrize("units", [2, 1])
def test_a_unit_failing_in_rough_braking(units):
    doc = tomllib.loads(resolve("chandrayaan-3").read_text())
    doc["sensors"]["imu"]["units"] = units
    doc["faults"] = {"imu_fail_from_s": 3800.0}
    f = fly(Scenario.from_dict(doc, resolve("chandrayaan-3")), 0)
    switched = [e["time_s"] for e in f.events if e["name"] == "imu_switched"]
    lost = [e["time_s"] for e in f.events if e["name"] == "imu_lost"]
    if units == 2:
        assert switched == [pytest.approx(3800.1, abs=0.11)] and lost == []
        assert f.outcome == "landed"
    else:
        assert switched == [] and lost == [pytest.approx(3800.1, abs=0.11)]
