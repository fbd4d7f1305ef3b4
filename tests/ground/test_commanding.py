"""The ground's commanding: roles, the two-person rule, flight rules and their override, and
each command's verification stages from the telemetry (timeouts and refusals included)."""

from __future__ import annotations

import pytest
from tests.terrain import needs_terrain

from touchdown.errors import CommandError, CommandingError
from touchdown.ground.commanding import Commanding, rules_blocking
from touchdown.telemetry.dictionary import load_dictionary
from touchdown.telemetry.packets import TmPacket
from touchdown.telemetry.telecommands import decode_telecommand

D = load_dictionary()
EVENT = {v: k for k, v in next(f for f in D["event"].fields if f.name == "code").enum.items()}
MODE = {v: k for k, v in next(f for f in D["gnc"].fields if f.name == "mode").enum.items()}


class Ground:
    """A Commanding with a settable clock and latest telemetry, recording what it released
    and audited."""

    def __init__(self, mode: str | None = "descent_coast") -> None:
        self.now = 100.0
        self.latest = {} if mode is None else {"gnc.mode": float(MODE[mode])}
        self.released, self.audit = [], []
        self.c = Commanding(D, lambda: self.now, self.latest.get, self.released.append,
                            lambda *row: self.audit.append(row), light_time_s=lambda t: 1.3)

    def fly(self, record, t_end: float = 100.5) -> None:
        """The link sends and radiates it: due onboard 1.3 s later."""
        self.c.sent(record.id)
        self.c.radiated(record.id, t_end, t_end + 1.3)


def event(t: float, name: str, value: float) -> TmPacket:
    return TmPacket(0x106, "event", 0, t, {"code": float(EVENT[name]), "value": value})


def stages(record) -> list[str]:
    return [s.name for s in record.stages]


def test_a_normal_command_goes_from_queued_to_its_effect_on_telemetry():
    g = Ground()
    r = g.c.submit("engine_arm", {}, "ann", "operator")
    assert stages(r) == ["queued", "released"] and r.stages[1].by == "ann"
    assert decode_telecommand(g.released[0].packet, D).name == "engine_arm"
    g.fly(r)
    assert stages(r)[-1] == "radiated" and r.arrival_first_s == pytest.approx(101.8)
    g.c.on_packet(event(101.9, "command_executed", 2.0))  # executed before received: waits
    assert r.state == "radiated"
    g.c.on_packet(event(101.9, "command_received", 3.0))  # another command's acknowledgement
    assert r.state == "radiated"
    for packet in (event(101.9, "command_received", 2.0), event(101.9, "command_executed", 2.0),
                   TmPacket(0x107, "commanding", 0, 102.0, {
                       "accepted_n": 1, "rejected_n": 0, "last_command": 2, "last_rejection": 0,
                       "engines": 0.0, "lrf": 0.0, "lrf_policy": 0.0, "imu_disabled": 0.0})):
        g.c.on_packet(packet)
    assert stages(r)[-3:] == ["received", "executed", "effect"] and g.c.done(r)
    assert [row[2] for row in g.audit] == ["queue"]


def test_viewers_may_not_command_and_bad_commands_are_never_queued():
    g = Ground()
    with pytest.raises(CommandingError, match="ann is a viewer and may not send") as err:
        g.c.submit("engine_arm", {}, "ann", "viewer")
    assert err.value.status == 403 and g.audit[-1][5].startswith("refused (403): ann is")
    with pytest.raises(CommandError, match="unit must be one of A, B"):
        g.c.submit("imu_reset", {"unit": "C"}, "bob", "operator")
    with pytest.raises(CommandError, match="unknown command"):
        g.c.submit("self_destruct", {}, "bob", "operator")
    assert g.c.records == {} and g.released == []


def test_a_critical_command_needs_arming_executing_and_a_second_person():
    g = Ground()
    r = g.c.submit("lrf_policy", {"policy": "terrain_aware"}, "ann", "operator")
    assert stages(r) == ["queued"] and g.released == []
    with pytest.raises(CommandingError, match="needs it armed"):
        g.c.execute(r.id, "ann", "operator")
    g.c.arm(r.id, "ann", "operator")
    g.c.execute(r.id, "ann", "operator")
    with pytest.raises(CommandingError, match="may not approve") as err:
        g.c.approve(r.id, "bob", "operator")
    assert err.value.status == 403
    fd = g.c.submit("imu_enable", {"unit": "A"}, "fran", "flight_director")  # (normal)
    assert fd.state == "released"
    own = g.c.submit("lrf_policy", {"policy": "as_flown_m1"}, "fran", "flight_director")
    g.c.arm(own.id, "fran", "flight_director")
    g.c.execute(own.id, "fran", "flight_director")
    with pytest.raises(CommandingError, match="two-person rule"):
        g.c.approve(own.id, "fran", "flight_director")
    g.c.approve(r.id, "fran", "flight_director")
    assert stages(r) == ["queued", "armed", "approval", "released"]
    assert r.stages[-1].by == "fran" and g.released[-1] is r


def test_a_flight_rule_blocks_a_reset_in_powered_descent_until_a_director_overrides():
    g = Ground(mode="braking")
    r = g.c.submit("imu_reset", {"unit": "A"}, "ann", "operator")
    g.c.arm(r.id, "ann", "operator")
    g.c.execute(r.id, "ann", "operator")
    g.c.approve(r.id, "fran", "flight_director")
    assert r.state == "blocked" and "Beresheet" in r.stages[-1].detail and g.released == []
    with pytest.raises(CommandingError, match="may not override"):
        g.c.override(r.id, "ann", "operator", "because")
    with pytest.raises(CommandingError, match="say why"):
        g.c.override(r.id, "fran", "flight_director", " ")
    g.c.override(r.id, "fran", "flight_director", "IMU A is lost; B flies; we accept a restart")
    assert r.state == "released" and "overridden" in r.stages[-1].detail
    action = [row for row in g.audit if row[2] == "override" and row[5] == "ok"]
    assert action and action[0][4]["reason"].startswith("IMU A is lost")
    quiet = Ground(mode="descent_coast")  # coasting: the rule does not hold
    assert rules_blocking(D, "imu_reset", quiet.latest.get) == []
    unknown = Ground(mode=None)
    (_, why), = rules_blocking(D, "computer_reset", unknown.latest.get)
    assert "no telemetry yet for gnc.mode" in why


def test_unverified_commands_time_out_and_refused_ones_fail():
    g = Ground()
    quiet = g.c.submit("engine_arm", {}, "ann", "operator")
    refused = g.c.submit("lrf_enable", {}, "ann", "operator")
    g.fly(quiet)
    g.fly(refused)
    g.c.on_packet(event(101.9, "command_received", 4.0))
    g.c.on_packet(event(101.9, "command_rejected", 4.0))
    assert refused.state == "failed"
    wait = D.uplink.execution_wait_s  # the flight software's next cycle (a coast's)
    g.now = 101.8 + wait + 2.0 + 1.3 + 9.0  # within the window, the light time back, margin
    g.c.tick()
    assert quiet.state == "radiated"
    g.now += 2.0
    g.c.tick()
    assert quiet.state == "timed_out" and "no received verifier" in quiet.stages[-1].detail
    assert refused.state == "failed"  # a finished command does not time out


@needs_terrain
def test_the_rule_would_have_stopped_beresheet_s_reset():
    """From Beresheet's own telemetry as the ground received it (seed 0), at the moment the
    reset was sent: the latest mode is braking, and the rule blocks the imu_reset."""
    from touchdown.scenario import Scenario, resolve
    from touchdown.telemetry.downlink import fly_downlink
    from touchdown.telemetry.frames import FrameDecoder
    from touchdown.telemetry.packets import decode_packet

    s = Scenario.from_toml(resolve("beresheet"))
    ((sent, name, _),) = s["commands"]
    flight = fly_downlink(s, 0)
    decoder = FrameDecoder(flight.config.frame_length, D.spacecraft_id)
    latest: dict[str, float] = {}
    for t, octets in flight.link.frames:
        if t > sent:
            break
        for raw in decoder.feed(octets):
            p = decode_packet(raw, D)
            latest.update({f"{p.name}.{k}": v for k, v in p.values.items()})
    assert latest["gnc.mode"] == MODE["braking"]
    ((rule, why),) = rules_blocking(D, name, latest.get)
    assert rule.name == "no_reset_in_powered_descent" and "Beresheet" in why


def test_a_command_arriving_in_a_coast_is_verified_at_the_next_cycle():
    """A coasting flight software runs every 10 s: its acknowledgement 8 s after the arrival
    is in the window; one beyond the wait and the window is not this command's."""
    g = Ground()
    late = g.c.submit("engine_arm", {}, "ann", "operator")
    g.fly(late)  # due onboard at 101.8
    g.c.on_packet(event(101.8 + D.uplink.execution_wait_s + 2.5, "command_received", 2.0))
    assert late.state == "radiated"
    g.c.on_packet(event(109.8, "command_received", 2.0))
    assert late.state == "received"
