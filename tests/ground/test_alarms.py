"""Alarms: raised, escalated, acknowledged and cleared (latching until acknowledged)."""

import pytest

from touchdown.ground.alarms import AlarmError, AlarmMonitor


def test_an_alarm_is_raised_escalated_acknowledged_and_cleared(packet, ingest, dictionary, encoder):
    def prop(t, kg):
        ingest.packet(packet(dictionary, encoder, "prop", t, propellant_kg=kg), t + 1.0)

    prop(0.0, 200.0)
    assert ingest.alarms.active() == []
    prop(5.0, 30.0)  # below watch's 40 kg
    (a,) = ingest.alarms.active()
    assert (a.parameter, a.severity, a.current_severity, a.t_raised, a.t_onboard, a.value) == (
        "prop.propellant_kg", "watch", "watch", 6.0, 5.0, 30.0)
    prop(10.0, 10.0)  # below warning's 15 kg
    prop(15.0, -1.0)  # below critical's 0 kg
    (a,) = ingest.alarms.active()
    assert (a.severity, a.current_severity, a.value) == ("critical", "critical", -1.0)
    prop(20.0, 12.0)  # better, still out: the worst severity is kept
    (a,) = ingest.alarms.active()
    assert (a.severity, a.current_severity, a.last_value) == ("critical", "warning", 12.0)
    prop(25.0, 100.0)  # back to normal, not acknowledged: stays active
    (a,) = ingest.alarms.active()
    assert a.current_severity is None and a.t_returned == 26.0 and a.t_cleared is None
    acked = ingest.alarms.acknowledge(a.id, "flight director", 30.0)
    assert (acked.acknowledged_by, acked.t_acknowledged, acked.t_cleared) == (
        "flight director", 30.0, 30.0)
    assert ingest.alarms.active() == []
    (stored,) = ingest.archive.alarms()
    assert stored == acked and ingest.archive.alarms(active_only=True) == []


def test_an_acknowledged_alarm_clears_when_the_value_returns(packet, ingest, dictionary, encoder):
    ingest.packet(packet(dictionary, encoder, "lrf", 1.0, state=2), 2.0)  # faulty: critical
    (a,) = ingest.alarms.active()
    assert a.severity == "critical" and a.parameter == "lrf.state"
    ingest.alarms.acknowledge(a.id, "ops", 3.0)
    assert ingest.alarms.active()[0].acknowledged
    ingest.packet(packet(dictionary, encoder, "lrf", 4.0, state=1), 5.0)
    assert ingest.alarms.active() == []
    assert ingest.archive.alarm(a.id).t_cleared == 5.0
    ingest.packet(packet(dictionary, encoder, "lrf", 6.0, state=2), 7.0)  # again: a new alarm
    (b,) = ingest.alarms.active()
    assert b.id != a.id and b.t_raised == 7.0


def test_acknowledging_an_unknown_or_cleared_alarm_says_so(ingest):
    with pytest.raises(AlarmError, match="does not exist"):
        ingest.alarms.acknowledge(99, "ops", 1.0)


def test_active_alarms_survive_a_restart(packet, tmp_path, dictionary, ingest, encoder):
    ingest.packet(packet(dictionary, encoder, "nav", 1.0, vertical_speed_mps=-100.0), 2.0)
    ingest.archive.flush()
    again = AlarmMonitor(dictionary, ingest.archive)
    (a,) = again.active()
    assert (a.parameter, a.severity) == ("nav.vertical_speed_mps", "warning")
    again.acknowledge(a.id, "ops", 3.0)
    again.check("nav.vertical_speed_mps", 4.0, -10.0, 4.0)
    assert again.active() == []
    with pytest.raises(AlarmError, match="already cleared"):
        again.acknowledge(a.id, "ops", 5.0)
