"""The ground's command timeline ([[commands]]) and the flight computer's restarts in the loop.

What validates what:

- an ``imu_reset`` restarts the computer only in a flight software with Beresheet's flaw;
- a ``computer_reset`` sent during Chandrayaan-3's fine braking arrives one light time later
  (DE421: 1.2-1.4 s) and is executed on the first cycle after it; with restart protection the
  lander flies on and lands; without it the engines stop, the restart logic relights them after
  the reboot (the IMU proving it) and the lander still lands, later and with less propellant;
- a timeline naming an unknown command, with an unknown key or arguments the command
  dictionary does not allow, or sent outside the flight is refused at load with the file, the
  field and the fix.
"""

from __future__ import annotations

import tomllib

import pytest
from tests.terrain import needs_terrain

from touchdown.errors import ScenarioError
from touchdown.scenario import Scenario, resolve
from touchdown.sim.run import fly

SENT = 4320.0  # s after the epoch: Chandrayaan-3's fine braking (approach from T+71:45)


def with_reset(protected: bool) -> Scenario:
    doc = tomllib.loads(resolve("chandrayaan-3").read_text())
    doc["commands"] = [{"time_s": SENT, "command": "computer_reset"}]
    doc["flight_software"].update(restart_protected=int(protected), restart_reboot_s=4.0,
                                  restart_attempt_s=2.0, restart_attempts=5)
    return Scenario.from_dict(doc, resolve("chandrayaan-3"))


def times(flight, name):
    return [e["time_s"] for e in flight.events if e["name"] == name]


@needs_terrain
@pytest.mark.parametrize("protected", [True, False])
def test_a_reset_arrives_after_the_light_time_and_restarts_the_computer(protected):
    f = fly(with_reset(protected), 0)
    (received,) = times(f, "command_received")
    assert 1.2 <= received - SENT <= 1.5  # one light time, then the next 0.1 s cycle
    assert times(f, "computer_restart") == [received]
    assert f.outcome == "landed"
    relit = times(f, "engine_relit")
    if protected:
        assert relit == [] and times(f, "relight_attempt") == []
    else:
        (first, *_) = times(f, "relight_attempt")
        assert first == pytest.approx(received + 4.0, abs=0.11)  # after the reboot
        assert len(relit) == 1 and relit[0] > first
        nominal = fly(Scenario.from_toml(resolve("chandrayaan-3")), 0)
        assert f.touchdown()["time_s"] > nominal.touchdown()["time_s"]


@needs_terrain
@pytest.mark.parametrize("flaw", [0, 1])
def test_an_imu_reset_restarts_the_computer_only_with_beresheet_s_flaw(flaw):
    """Unit A fails in rough braking, the flight software switches to B; the ground resets A.
    Without the flaw the reset changes nothing the flight depends on (it lands, no restart);
    with it the computer restarts (unprotected: the engines stop) and the restart logic must
    relight them."""
    doc = tomllib.loads(resolve("chandrayaan-3").read_text())
    doc["sensors"]["imu"]["units"] = 2
    doc["faults"] = {"imu_fail_from_s": 3800.0}
    doc["commands"] = [{"time_s": 3900.0, "command": "imu_reset",
                        "arguments": {"unit": "A"}}]
    doc["flight_software"].update(imu_reset_restarts_computer=flaw, restart_protected=0,
                                  restart_reboot_s=4.0, restart_attempt_s=2.0,
                                  restart_attempts=5)
    f = fly(Scenario.from_dict(doc, resolve("chandrayaan-3")), 0)
    (received,) = times(f, "command_received")
    assert 3901.2 <= received <= 3901.5
    assert times(f, "computer_restart") == ([received] if flaw else [])
    if not flaw:
        assert f.outcome == "landed"
    else:
        assert times(f, "relight_attempt")[0] == pytest.approx(received + 4.0, abs=0.11)


@pytest.mark.parametrize(("entry", "fix"), [
    ({"time_s": 10.0, "command": "imu_reboot"}, "the commands are computer_reset, imu_reset"),
    ({"time_s": 10.0, "command": "computer_reset", "unit": 2}, "unknown keys"),
    ({"time_s": 1e6, "command": "computer_reset"}, "within scenario.duration_max_s"),
    ({"time_s": "soon", "command": "computer_reset"}, "must be a number"),
    ({"time_s": 10.0, "command": "imu_reset"}, "must give arguments = { unit = A | B }"),
    ({"time_s": 10.0, "command": "imu_reset", "arguments": {"unit": "C"}},
     "unit must be one of A, B"),
    ({"time_s": 10.0, "command": "computer_reset", "arguments": {"unit": "A"}},
     "takes no arguments"),
])
def test_a_bad_timeline_is_refused_at_load(entry, fix):
    doc = tomllib.loads(resolve("chandrayaan-3").read_text())
    doc["commands"] = [entry]
    with pytest.raises(ScenarioError) as err:
        Scenario.from_dict(doc, resolve("chandrayaan-3"))
    assert err.value.field == "commands"
    assert fix in str(err.value)
