"""Engine groups (``core.engines``) on Apollo's descent engine, the case the reference publishes.

What validates what (missions.md, Apollo 11: DPS 46.7 kN rated, throttleable between ~10 % and
~60 % or above ~92 %, full thrust until the guidance command falls below ~57 %, Isp 311 s at full
thrust and 285 s at 10 %):

- ``engine_throttle``: off at or below zero, held within [10 %, 100 %] otherwise;
- ``isp``: the two published points exactly, linear between them (the stated assumption);
- ``group_thrust``, ``group_mass_flow``: count x rated thrust x throttle, and F / (Isp g0)
  computed by hand;
- ``throttle_command``: P63's story (the guidance command falling from 100 % to 20 %): full
  thrust held down to 57 %, then the command followed, never inside the forbidden band; from the
  lower range a command inside the band is held at its lower edge; above it the command is given;
  a random walk of commands never lands in the band, below the minimum or above full; a group
  without a band gives the command within its limits.
"""

import math

import numpy as np
import pytest

from touchdown.core.engines import (
    G0,
    engine_throttle,
    group_mass_flow,
    group_thrust,
    isp,
    throttle_command,
)
from touchdown.parameters import engine_group as group

DPS_N = 46_700.0  # N, 10,500 lbf


def dps(count=1, thrust=DPS_N, t_min=0.10, band=(0.60, 0.92), full_until=0.57,
        isps=(311.0, 285.0), cant_deg=0.0):
    return group(count, thrust, isps[0], throttle_min=t_min, isp_min_s=isps[1], band=band,
                 full_until=full_until, cant_deg=cant_deg)


DPS = dps()


@pytest.mark.parametrize(("command", "runs"), [(-0.5, 0.0), (0.0, 0.0), (0.04, 0.10),
                                               (0.10, 0.10), (0.45, 0.45), (0.75, 0.75),
                                               (1.0, 1.0), (1.4, 1.0)])
def test_an_engine_runs_within_its_limits(command, runs):
    assert engine_throttle(DPS, command) == runs


def test_isp_meets_both_published_points_and_is_linear_between():
    assert isp(DPS, 1.0) == 311.0
    assert isp(DPS, 0.10) == pytest.approx(285.0, abs=1e-12)
    assert isp(DPS, 0.55) == pytest.approx(298.0, abs=1e-12)  # midway: 0.55 = (0.10 + 1) / 2
    assert isp(dps(t_min=1.0), 1.0) == 311.0  # a fixed-thrust engine: one Isp
    odd = dps(t_min=0.3, isps=(317.3, 290.1))
    assert isp(odd, 1.0) == 317.3  # exactly: full thrust's flow is F / (Isp g0) bit for bit
    assert group_mass_flow(odd, 1.0) == DPS_N / (317.3 * G0)


@pytest.mark.parametrize("throttle", [0.10, 0.37, 0.60, 0.92, 1.0])
def test_thrust_and_mass_flow_by_hand(throttle):
    four = dps(count=4.0, thrust=800.0, t_min=0.4, band=(0.0, 0.0), isps=(310.0, 300.0))
    assert group_thrust(four, 1.0) == 3200.0
    f = DPS_N * throttle
    assert group_thrust(DPS, throttle) == pytest.approx(f, rel=1e-15)
    expected = f / ((285.0 + 26.0 * (throttle - 0.10) / 0.90) * 9.80665)
    assert group_mass_flow(DPS, throttle) == pytest.approx(expected, rel=1e-13)
    assert group_mass_flow(DPS, 0.0) == 0.0
    assert G0 == 9.80665


def test_a_canted_group_loses_thrust_along_its_axis_but_not_flow():
    canted = dps(cant_deg=20.0)
    assert group_thrust(canted, 1.0) == pytest.approx(DPS_N * math.cos(math.radians(20.0)))
    assert group_mass_flow(canted, 1.0) == group_mass_flow(DPS, 1.0)


def test_p63_holds_full_thrust_until_the_command_falls_below_57_percent():
    current, given = 1.0, []
    for percent in range(100, 19, -1):
        wanted = percent / 100
        current = throttle_command(DPS, wanted, current)
        given.append((wanted, current))
    full = [w for w, c in given if c == 1.0]
    assert min(full) == 0.57  # full thrust down to a command of 57 %
    after = [(w, c) for w, c in given if w < 0.57]
    assert all(c == pytest.approx(w) for w, c in after)  # then the command itself
    assert not any(0.60 < c < 0.92 for _, c in given)


@pytest.mark.parametrize(("wanted", "given"), [(0.75, 0.60), (0.61, 0.60), (0.60, 0.60),
                                               (0.93, 0.93), (1.2, 1.0), (0.3, 0.3),
                                               (0.02, 0.10)])
def test_from_the_lower_range(wanted, given):
    assert throttle_command(DPS, wanted, 0.4) == pytest.approx(given)


def test_a_random_walk_of_commands_never_enters_the_band():
    rng = np.random.default_rng(6)
    current = 1.0
    for wanted in np.clip(0.5 + np.cumsum(rng.normal(0.0, 0.05, 5000)), -0.2, 1.3):
        current = throttle_command(DPS, wanted, current)
        assert 0.10 <= current <= 1.0
        assert not 0.60 < current < 0.92


def test_without_a_band_the_command_is_given_within_the_limits():
    free = dps(t_min=0.2, band=(0.0, 0.0))
    for wanted, given in ((0.75, 0.75), (0.05, 0.2), (1.1, 1.0)):
        assert throttle_command(free, wanted, 1.0) == given
