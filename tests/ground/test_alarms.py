"""Alarms as Yamcs keeps them: trigger, most severe and current value; acknowledge, shelve,
clear; latching until acknowledged; a history of every step."""

import math

import pytest

from touchdown.errors import AlarmError
from touchdown.ground.alarms import GARBAGE, AlarmMonitor


def _kinds(archive, alarm_id):
    return [e.kind for e in archive.alarm_history_page(100, alarm_id=alarm_id)[0]]


def test_an_alarm_keeps_its_trigger_its_most_severe_and_its_current_value(packet, ingest,
                                                                         dictionary, encoder):
    def prop(t, kg):
        ingest.packet(packet(dictionary, encoder, "prop", t, propellant_kg=kg), t + 1.0)

    prop(0.0, 200.0)
    assert ingest.alarms.active() == []
    prop(5.0, 30.0)  # below watch's 40 kg
    (a,) = ingest.alarms.active()
    assert (a.parameter, a.trigger_severity, a.trigger_value, a.t_trigger,
            a.t_trigger_onboard) == ("prop.propellant_kg", "watch", 30.0, 6.0, 5.0)
    prop(10.0, 10.0)  # below warning's 15 kg
    prop(15.0, -1.0)  # below critical's 0 kg
    prop(20.0, 12.0)  # better, still out: the worst is kept, the trigger too
    (a,) = ingest.alarms.active()
    assert (a.trigger_severity, a.trigger_value, a.t_trigger) == ("watch", 30.0, 6.0)
    assert (a.severity, a.most_severe_value, a.t_most_severe, a.t_most_severe_onboard) == (
        "critical", -1.0, 16.0, 15.0)
    assert (a.current_severity, a.current_value, a.t_current) == ("warning", 12.0, 21.0)
    prop(25.0, 100.0)  # back to normal, not acknowledged: stays active
    (a,) = ingest.alarms.active()
    assert a.current_severity is None and a.t_returned == 26.0 and a.t_cleared is None
    acked = ingest.alarms.acknowledge(a.id, "flight director", 30.0, "propellant margin")
    assert (acked.acknowledged_by, acked.t_acknowledged, acked.ack_comment, acked.t_cleared) \
        == ("flight director", 30.0, "propellant margin", 30.0)
    assert ingest.alarms.active() == []
    ingest.archive.flush()
    (stored,) = ingest.archive.alarms()
    assert stored == acked and ingest.archive.alarms(active_only=True) == []
    assert _kinds(ingest.archive, a.id) == ["triggered", "escalated", "escalated",
                                            "deescalated", "returned", "acknowledged",
                                            "cleared"]


def test_the_current_value_of_an_alarm_going_on_is_archived_with_each_commit(
        packet, ingest, dictionary, encoder):
    for k, kg in enumerate((30.0, 29.0, 28.5)):  # watch all along: no change of severity
        ingest.packet(packet(dictionary, encoder, "prop", float(k), propellant_kg=kg), k + 1.0)
    ingest.archive.flush()
    (a,) = ingest.archive.alarms()
    assert (a.trigger_value, a.current_value, a.t_current_onboard) == (30.0, 28.5, 2.0)
    assert _kinds(ingest.archive, a.id) == ["triggered"]


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
    assert b.id != a.id and b.t_trigger == 7.0


def test_a_shelved_alarm_is_hidden_until_its_shelve_lapses_and_clear_ends_it(
        packet, ingest, dictionary, encoder):
    ingest.packet(packet(dictionary, encoder, "lrf", 1.0, state=2), 2.0)
    (a,) = ingest.alarms.active()
    s = ingest.alarms.shelve(a.id, "ops", 3.0, 600.0, "known: beam over the rim")
    assert (s.shelved_by, s.shelve_comment, s.shelved_until) == (
        "ops", "known: beam over the rim", 603.0)
    assert s.shelved_at(602.9) and not s.shelved_at(603.0)  # lapses by itself, nothing written
    with pytest.raises(AlarmError, match="at most 86400"):
        ingest.alarms.shelve(a.id, "ops", 3.0, 1e9)
    u = ingest.alarms.unshelve(a.id, "ops", 10.0)
    assert not u.shelved_at(10.0)
    c = ingest.alarms.clear(a.id, "flight director", 11.0, "sensor judged faulty by design")
    assert (c.t_cleared, c.cleared_by) == (11.0, "flight director")
    assert ingest.alarms.active() == []
    assert _kinds(ingest.archive, a.id) == ["triggered", "shelved", "unshelved", "cleared"]
    ingest.packet(packet(dictionary, encoder, "lrf", 12.0, state=2), 13.0)  # still faulty: new
    (b,) = ingest.alarms.active()
    assert b.id != a.id


def test_acknowledging_an_unknown_or_cleared_alarm_says_so(ingest):
    with pytest.raises(AlarmError, match="does not exist") as err:
        ingest.alarms.acknowledge(99, "ops", 1.0)
    assert err.value.status == 404


def test_active_alarms_survive_a_restart(packet, tmp_path, dictionary, ingest, encoder):
    ingest.packet(packet(dictionary, encoder, "nav", 1.0, vertical_speed_mps=-100.0), 2.0)
    ingest.archive.flush()
    again = AlarmMonitor(dictionary, ingest.archive)
    (a,) = again.active()
    assert (a.parameter, a.severity, a.trigger_value) == ("nav.vertical_speed_mps", "warning",
                                                          -100.0)
    again.acknowledge(a.id, "ops", 3.0)
    again.check("nav.vertical_speed_mps", 4.0, -10.0, 4.0)
    assert again.active() == []
    with pytest.raises(AlarmError, match="already cleared"):
        again.acknowledge(a.id, "ops", 5.0)


def test_the_ground_garbage_parameter_alarms_like_a_telemetry_one(ingest):
    assert ingest.alarms.check(GARBAGE.qualified, 1.0, 0.05, 1.0) is None
    assert ingest.alarms.check(GARBAGE.qualified, 2.0, 0.9, 2.0) == "warning"
    (a,) = ingest.alarms.active()
    assert a.parameter == "link.garbage" and math.isclose(a.trigger_value, 0.9)
