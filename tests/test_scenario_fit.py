"""Scenarios whose engines, sensors, phases and start do not fit together are refused at load,
with the file, the field and the fix (issue 17's bad input), and the shipped landers load.

What validates what: each case takes a shipped lander's file, breaks one thing (a band above
its own top, a band outside the throttle range, a throttle minimum above full thrust, more
engines to land than the group has, a hover above the approach that leads to it, hazard
avoidance without a hazard sensor, a retro without an altimeter, a free fall that nothing
starts, a direct approach beside an orbit, an orbit missing a field) and checks the error names
the field and gives a fix; the unbroken files load.
"""

from __future__ import annotations

import tomllib

import pytest

from touchdown.errors import ScenarioError
from touchdown.scenario import Scenario, resolve

LANDERS = ("apollo-11", "luna-9", "change-3", "chandrayaan-3")


def doc(name: str) -> dict:
    return tomllib.loads(resolve(name).read_text())


def put(d: dict, path: str, value) -> dict:
    *parents, leaf = path.split(".")
    node = d
    for p in parents:
        node = node.setdefault(p, {})
    if value is None:
        del node[leaf]
    else:
        node[leaf] = value
    return d


@pytest.mark.parametrize("name", LANDERS)
def test_the_shipped_landers_load(name):
    s = Scenario.from_toml(resolve(name))
    assert s.name == name and s["history.outcome"] == "landed"


@pytest.mark.parametrize(("name", "path", "value", "field", "fix"), [
    ("apollo-11", "lander.main_engine.forbidden_band", [0.95, 0.92],
     "lander.main_engine.forbidden_band", "give [lower, upper]"),
    ("apollo-11", "lander.main_engine.forbidden_band", [0.05, 0.92],
     "lander.main_engine.forbidden_band", "between throttle_min and full thrust"),
    ("apollo-11", "lander.main_engine.throttle_min", 1.2,
     "lander.main_engine.throttle_min", "lowest throttle"),
    ("chandrayaan-3", "guidance.engines", {"vertical_descent": 5}, "guidance.engines",
     "at most the engines the group has"),
    ("change-3", "guidance.hover_altitude_m", 3000.0, "guidance.hover_altitude_m",
     "at or below the approach's target"),
    ("change-3", "sensors.hazard.spacing_m", 0.0, "sensors.hazard.spacing_m",
     "hazard_avoidance = 0"),
    ("luna-9", "sensors.altimeter.max_altitude_m", 0.0, "sensors.altimeter.max_altitude_m",
     "remove retro_coast"),
    ("apollo-11", "lander.probe_length_m", 0.0, "guidance.phases", "cutoff_altitude_m"),
    ("luna-9", "orbit.altitude_km", 100.0, "direct", "start either in orbit"),
    ("apollo-11", "orbit.doi_time_s", None, "orbit.doi_time_s", "direct approach"),
    ("chandrayaan-3", "guidance.retarget_tgo_s", 200.0, "guidance.retarget_tgo_s",
     "below guidance.approach_duration_s"),
    ("luna-9", "guidance.retarget_tgo_s", 10.0, "guidance.retarget_tgo_s",
     "with an approach phase"),
])
def test_a_lander_that_does_not_fit_together_is_refused(name, path, value, field, fix):
    with pytest.raises(ScenarioError) as err:
        Scenario.from_dict(put(doc(name), path, value), resolve(name))
    assert err.value.field == field
    assert fix in err.value.hint
    assert str(resolve(name)) in str(err.value)
