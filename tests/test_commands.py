"""The ground's command timeline ([[commands]]) and the flight computer's restarts in the loop.

What validates what (the commands' own effects, from the trajectory and the events):

- an ``imu_reset`` restarts the computer only in a flight software with Beresheet's flaw;
- a ``computer_reset`` sent during Chandrayaan-3's fine braking arrives one light time later
  (DE421: 1.2-1.4 s) and is executed on the first cycle after it; with restart protection the
  lander flies on and lands; without it the engines stop, the restart logic relights them after
  the reboot (the IMU proving it) and the lander still lands, later and with less propellant;
- disarmed engines give no thrust until armed again; a mode override enters the mode when it
  arrives; disabling an IMU unit moves navigation to the other; a command the flight software
  cannot carry out now (a mode it does not fly, a unit or a sensor it does not have) is refused
  and the flight goes on;
- M1 with its range finder's policy set from the ground before the rim lands; re-admitted
  after the fault, the as-flown policy declares it faulty again;
- a timeline naming an unknown command, with an unknown key or arguments the command
  dictionary does not allow, or sent outside the flight is refused at load with the file, the
  field and the fix.
"""

from __future__ import annotations

import itertools
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


def commanded(name: str, commands: list[dict], changes: dict | None = None) -> Scenario:
    """Scenario ``name`` with this command timeline and fields changed (dotted paths)."""
    doc = tomllib.loads(resolve(name).read_text())
    doc["commands"] = commands
    for path, value in (changes or {}).items():
        *tables, key = path.split(".")
        table = doc
        for t in tables:
            table = table.setdefault(t, {})
        table[key] = value
    return Scenario.from_dict(doc, resolve(name))


def values(flight, name):
    return [e["value"] for e in flight.events if e["name"] == name]


@needs_terrain
def test_disarmed_engines_stay_off_until_armed_again():
    f = fly(commanded("chandrayaan-3", [{"time_s": SENT, "command": "engine_disarm"},
                                        {"time_s": SENT + 4.0, "command": "engine_arm"}]), 0)
    off, on = times(f, "command_executed")
    assert values(f, "command_executed") == [3.0, 2.0]  # engine_disarm, engine_arm
    tr = f.trace
    assert (tr[(tr.t_s > off + 0.05) & (tr.t_s < on - 0.05)]["thrust_n"] == 0.0).all()
    assert tr[(tr.t_s > on + 0.05) & (tr.t_s < on + 1.0)]["thrust_n"].min() > 0.0
    assert tr[(tr.t_s > off - 1.0) & (tr.t_s < off - 0.05)]["thrust_n"].min() > 0.0


@needs_terrain
def test_what_the_flight_software_cannot_do_now_it_refuses():
    """Chandrayaan-3 flies no retro, has one IMU unit and no range finder: each command that
    needs one is refused (command_rejected with its code), the flight goes on and lands."""
    f = fly(commanded("chandrayaan-3", [
        {"time_s": SENT, "command": "mode_override", "arguments": {"mode": "retro"}},
        {"time_s": SENT + 1.0, "command": "imu_disable", "arguments": {"unit": "B"}},
        {"time_s": SENT + 2.0, "command": "lrf_reset"}]), 0)
    assert values(f, "command_received") == values(f, "command_rejected") == [8.0, 10.0, 6.0]
    assert values(f, "command_executed") == [] and f.outcome == "landed"


@needs_terrain
def test_a_mode_override_enters_the_mode_when_it_arrives():
    nominal = fly(Scenario.from_toml(resolve("chandrayaan-3")), 0)
    (hover,) = times(nominal, "hover_start")
    f = fly(commanded("chandrayaan-3", [{"time_s": hover + 5.0, "command": "mode_override",
                                         "arguments": {"mode": "vertical_descent"}}]), 0)
    (arrived,) = times(f, "command_executed")
    assert times(f, "hover_end") == times(f, "vertical_descent_start") == [arrived]
    assert arrived < times(nominal, "hover_end")[0]
    assert f.outcome == "landed"


@needs_terrain
def test_disabling_an_imu_unit_moves_navigation_to_the_other():
    f = fly(commanded("chandrayaan-3", [
        {"time_s": SENT, "command": "imu_disable", "arguments": {"unit": "A"}},
        {"time_s": SENT + 2.0, "command": "imu_enable", "arguments": {"unit": "A"}},
        {"time_s": SENT + 2.0, "command": "imu_disable", "arguments": {"unit": "B"}}],
        {"sensors.imu.units": 2}), 0)
    first, *_, last = times(f, "command_executed")
    assert values(f, "imu_switched") == [1.0, 0.0]  # to B, back to A when B is off
    to_b, to_a = times(f, "imu_switched")
    assert 0.0 < to_b - first <= 0.11 and 0.0 < to_a - last <= 0.11  # the next cycle
    assert f.outcome == "landed"


@needs_terrain
def test_m1_s_range_finder_policy_commanded_from_the_ground():
    """The what-if an operator can try: M1's navigation switched to the terrain-aware policy
    before the rim lands as the fixed software does; re-admitting the range finder after the
    fault, as flown, lets the same policy declare it faulty again."""
    before = fly(commanded("hakuto-r-m1", [{"time_s": 3800.0, "command": "lrf_policy",
                                            "arguments": {"policy": "terrain_aware"}}]), 0)
    assert times(before, "lrf_fault_declared") == [] and before.outcome == "landed"
    reset = fly(commanded("hakuto-r-m1", [{"time_s": 3960.0, "command": "lrf_reset"}]), 0)
    first, again = times(reset, "lrf_fault_declared")
    (readmitted,) = [t for t in times(reset, "lrf_acquired") if t > first]
    assert first < readmitted < again


@needs_terrain
def test_the_ground_slows_a_packet_down():
    """telemetry_rate nav 5 s: from the command's arrival the nav packets come every 5 s, the
    others as before."""
    from touchdown.telemetry.downlink import fly_downlink

    s = commanded("chandrayaan-3", [{"time_s": SENT, "command": "telemetry_rate",
                                     "arguments": {"packet": "nav", "period_s": 5.0}}])
    link = fly_downlink(s, 0)
    (arrived,) = times(link.flight, "command_executed")
    nav = [p.t for p in link.packets if p.apid == link.dictionary["nav"].apid]
    gnc = [p.t for p in link.packets if p.apid == link.dictionary["gnc"].apid]
    after = [b - a for a, b in itertools.pairwise(nav) if a > arrived + 1.0]
    before = [b - a for a, b in itertools.pairwise(nav) if b < arrived - 1.0]
    assert after and set(after) == {5.0} and set(before[-10:]) == {1.0}
    assert {b - a for a, b in itertools.pairwise(gnc) if a > arrived} == {1.0}


@needs_terrain
def test_a_time_sync_moves_the_onboard_clock_s_stamps():
    """time_sync +2.5 s: the packets made from the arrival on are stamped 2.5 s later than
    mission time (the downlink still sends them when they are made)."""
    from touchdown.telemetry.downlink import fly_downlink
    from touchdown.telemetry.packets import decode_packet

    link = fly_downlink(commanded("chandrayaan-3", [
        {"time_s": SENT, "command": "time_sync", "arguments": {"correction_s": 2.5}}]), 0)
    (arrived,) = times(link.flight, "command_executed")
    shift = {round(decode_packet(p.data, link.dictionary).t - p.t, 3)
             for p in link.packets if abs(p.t - arrived) > 0.2}
    assert shift == {0.0, 2.5}
    assert all(decode_packet(p.data, link.dictionary).t - p.t == pytest.approx(2.5, abs=1e-3)
               for p in link.packets if p.t > arrived + 0.2)


@needs_terrain
def test_an_abort_holds_the_lander_until_the_ground_resumes():
    """Chandrayaan-3 aborted in its vertical descent holds the altitude it had, far longer
    than its hover, until a mode_override resumes the descent; it lands. An abort while
    coasting in orbit is refused."""
    nominal = fly(Scenario.from_toml(resolve("chandrayaan-3")), 0)
    (start,) = times(nominal, "vertical_descent_start")
    abort_at, resume_at = start + 10.0, start + 130.0
    f = fly(commanded("chandrayaan-3", [
        {"time_s": 100.0, "command": "abort"},
        {"time_s": abort_at, "command": "abort"},
        {"time_s": resume_at, "command": "mode_override",
         "arguments": {"mode": "vertical_descent"}}]), 0)
    assert values(f, "command_rejected") == [13.0]  # in orbit: nothing to stop
    held, resumed = times(f, "command_executed")
    assert times(f, "hover_start")[-1] == held and held < resumed
    tr = f.trace  # two engines stop its ~6 m/s within ~60 m, then it climbs back and holds
    hold = tr[(tr.t_s > resumed - 60.0) & (tr.t_s < resumed - 0.5)]
    level = float(tr[tr.t_s <= held].iloc[-1]["altitude_est_m"])
    assert len(hold) > 500 and (hold["altitude_est_m"] - level).abs().max() < 5.0
    assert hold["vertical_speed_mps"].abs().max() < 0.5
    assert tr[(tr.t_s > held) & (tr.t_s < resumed)]["altitude_m"].min() > 20.0  # stopped
    assert f.outcome == "landed" and f.touchdown()["time_s"] > resumed
