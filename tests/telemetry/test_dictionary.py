"""The telemetry dictionary: what it holds, and clear errors for a malformed one."""

import math

import pytest

from touchdown.errors import DictionaryError
from touchdown.telemetry.dictionary import SEVERITIES, load_dictionary, parse
from touchdown.telemetry.onboard import SAMPLERS

PACKET = """
[mission]
spacecraft_id = 5
[[packet]]
name = "a"
apid = 1
period_s = 2.0
[[packet.fields]]
name = "x"
type = "f4"
unit = "m"
description = "x"
{extra}
"""


def test_shipped_dictionary_has_unique_apids_and_a_sampler_for_every_periodic_packet():
    d = load_dictionary()
    apids = [p.apid for p in d.packets]
    assert len(set(apids)) == len(apids) and all(0 <= a < 0x7FF for a in apids)
    periodic = {p.name for p in d.packets if p.period_s > 0}
    assert periodic - {"health"} <= set(SAMPLERS)
    assert "lrf.state" in d.parameters and d.parameters["lrf.state"].unit == "-"
    assert d["nav"].expiry_s == pytest.approx(1.9) and math.isinf(d["event"].expiry_s)


def test_severity_follows_the_gravest_range_broken_and_enum_alarms():
    d = load_dictionary()
    vs = d.parameters["nav.vertical_speed_mps"]
    assert vs.severity(-10.0) is None
    assert vs.severity(-100.0) == "warning"
    assert vs.severity(-200.0) == "critical"
    assert vs.severity(math.nan) is None
    state = d.parameters["lrf.state"]
    assert state.severity(1) is None and state.severity(2) == "critical"
    assert state.state(2) == "faulty" and state.state(9) == "unknown (9)"
    assert SEVERITIES.index("watch") < SEVERITIES.index("severe")


@pytest.mark.parametrize(("extra", "message"), [
    ('limits = { warning = [0.0, 10.0], critical = [1.0, 5.0] }', "graver limit range"),
    ('limits = { bad = [0.0, 1.0] }', "use watch, warning"),
    ('limits = { warning = [3.0, 1.0] }', "low < high"),
    ('enum = { 0 = "off" }\nalarms = { on = "warning" }', "unknown state"),
])
def test_malformed_fields_name_the_packet_field_and_problem(extra, message):
    with pytest.raises(DictionaryError, match=message) as info:
        parse(PACKET.format(extra=extra))
    assert "packet 'a' field 'x'" in str(info.value)


def test_malformed_packets_are_refused():
    with pytest.raises(DictionaryError, match="type 'f3'"):
        parse(PACKET.format(extra="").replace('"f4"', '"f3"'))
    with pytest.raises(DictionaryError, match="apid 2047"):
        parse(PACKET.format(extra="").replace("apid = 1", "apid = 2047"))
    twice = PACKET.format(extra="") + PACKET.format(extra="").split("[mission]")[1].split(
        "spacecraft_id = 5")[1].replace('name = "a"', 'name = "b"')
    with pytest.raises(DictionaryError, match="repeat the apid"):
        parse(twice)
    with pytest.raises(DictionaryError, match="not valid TOML"):
        parse("[[packet]\n")
    with pytest.raises(DictionaryError, match="spacecraft_id"):
        parse(PACKET.format(extra="").replace("spacecraft_id = 5", "spacecraft_id = 4096"))


def test_the_event_packet_names_every_flight_software_event():
    """The ``event`` packet's codes are core.layout.EVENTS less the world's own (a new event
    added to the layout must be added to the dictionary, or the ground shows it unnamed)."""
    from touchdown.core import layout as st
    from touchdown.telemetry.onboard import WORLD_EVENTS

    code = next(f for f in load_dictionary()["event"].fields if f.name == "code")
    assert code.enum == {c: n for c, n, _ in st.EVENTS if c not in WORLD_EVENTS}


def test_the_gnc_packet_names_every_mode():
    """``gnc.mode`` names core.layout.MODES (a mode added to the layout must be named in the
    dictionary, or the ground shows it unnamed)."""
    from touchdown.core import layout as st

    mode = next(f for f in load_dictionary()["gnc"].fields if f.name == "mode")
    assert mode.enum == dict(enumerate(st.MODES))
