"""The command dictionary: what it holds, how arguments are checked, and clear errors for a
malformed command."""

import pytest

from touchdown.core import layout as st
from touchdown.errors import DictionaryError
from touchdown.telemetry.dictionary import load_dictionary, parse

BASE = """
[mission]
spacecraft_id = 5
[[packet]]
name = "event"
apid = 1
[[packet.fields]]
name = "code"
type = "u1"
unit = "-"
description = "c"
enum = { 0 = "command_received", 1 = "done" }
[[packet.fields]]
name = "value"
type = "f4"
unit = "-"
description = "v"
"""
COMMAND = """
[[command]]
name = "go"
opcode = 3
significance = "normal"
description = "d"
effect = "e"
arguments = [{ name = "rate", type = "f4", unit = "Hz", description = "r", range = [0.1, 10.0] }]
verifiers = [{ stage = "received", condition = "event.code == command_received", window_s = 2.0 }]
"""


def test_the_flight_software_commands_are_the_kernel_s():
    """Every command the compiled flight software executes is in the dictionary under its code
    (a command added to core.layout.COMMANDS must be described there, and the reverse)."""
    d = load_dictionary()
    onboard = {c.name: c.opcode for c in d.commands if c.apid == d.uplink.apid}
    assert onboard == {name: code for code, name in enumerate(st.COMMANDS)}


def test_every_shipped_command_is_acknowledged_in_telemetry():
    d = load_dictionary()
    for c in d.commands:
        received = c.verifiers[0]
        assert received.stage == "received" and received.packet == "event"
        assert ("event.value", "==", float(c.opcode)) in {
            (k.parameter, k.op, k.value) for k in received.conditions}


def test_arguments_take_their_states_and_ranges_and_refuse_the_rest():
    unit = load_dictionary().command("imu_reset").arguments[0]
    assert unit.raw("B") == 1 and unit.raw(0) == 0
    for bad in ("C", 2, 1.5, None, True):
        with pytest.raises(ValueError, match="unit must be one of A, B"):
            unit.raw(bad)
    (rate,) = parse(BASE + COMMAND).command("go").arguments
    assert rate.raw(10.0) == 10.0 and rate.describe() == "0.1 to 10 Hz"
    for bad, why in ((10.5, r"within \[0.1, 10\] Hz"), ("fast", "a number"),
                     (float("nan"), "a number"), (False, "a number")):
        with pytest.raises(ValueError, match=why):
            rate.raw(bad)


def test_conditions_resolve_states_and_test_a_packet():
    (v,) = parse(BASE + COMMAND.replace(
        "event.code == command_received", "event.code == done and event.value >= 2")
    ).command("go").verifiers
    assert [(c.parameter, c.op, c.value) for c in v.conditions] == [
        ("event.code", "==", 1.0), ("event.value", ">=", 2.0)]
    assert v.conditions[1].holds(2.0) and not v.conditions[1].holds(1.9)


@pytest.mark.parametrize(("old", "new", "message"), [
    ('significance = "normal"', 'significance = "urgent"', "use normal or critical"),
    ("opcode = 3", "opcode = 300", "use 0 to 255"),
    ('range = [0.1, 10.0]', 'range = [10.0, 0.1]', "low <= high"),
    ('range = [0.1, 10.0]', 'range = [0.1, 10.0], enum = { 0 = "x" }', "not both"),
    ("range = [0.1, 10.0]", "range = [0.1, 1e40]", "does not fit its type f4"),
    ("event.code == command_received", "event.code == landed", "its states are"),
    ("event.code == command_received", "nav.nope == 1", "not a telemetry parameter"),
    ("event.code == command_received", "event.value ~ 1", "OP one of"),
    ('stage = "received"', 'stage = "executed"', "needs a 'received' verifier"),
    ('stage = "received"', 'stage = "done"', "use received, executed, effect"),
    ("window_s = 2.0", "window_s = 0.0", "window_s above 0"),
    ('effect = "e"', 'effect = "e"\nurgency = 1', r"unknown keys \['urgency'\]"),
])
def test_malformed_commands_name_the_command_and_problem(old, new, message):
    text = BASE + COMMAND.replace(old, new)
    assert text != BASE + COMMAND
    with pytest.raises(DictionaryError, match=message) as info:
        parse(text)
    assert "command 'go'" in str(info.value)


def test_commands_may_not_repeat_a_name_or_an_opcode():
    with pytest.raises(DictionaryError, match="repeat the name"):
        parse(BASE + COMMAND + COMMAND.replace("opcode = 3", "opcode = 4"))
    with pytest.raises(DictionaryError, match="repeat the apid and opcode"):
        parse(BASE + COMMAND + COMMAND.replace('name = "go"', 'name = "went"'))
    with pytest.raises(DictionaryError, match="even width"):
        parse(BASE + "[uplink]\nfarm_window = 7\n" + COMMAND)


def test_the_commanding_packet_and_the_arguments_name_the_layout_s_codes():
    """The enumerations the dictionary shows are the flight software's codes (a command, mode,
    policy or rejection reason added to core.layout must be named there)."""
    d = load_dictionary()
    fields = {f.name: f.enum for f in d["commanding"].fields}
    assert fields["last_command"] == dict(enumerate(st.COMMANDS))
    assert fields["last_rejection"] == dict(enumerate(st.TC_REJECTIONS))
    assert fields["lrf_policy"] == dict(enumerate(st.POLICIES))
    assert d.command("lrf_policy").arguments[0].enum == dict(enumerate(st.POLICIES))
    modes = d.command("mode_override").arguments[0].enum
    assert all(st.MODES[code] == name for code, name in modes.items())
    assert set(st.MODES) - set(modes.values()) == {"touchdown", "free_fall"}


def test_docs_commanding_shows_the_dictionary_s_commands():
    """docs/commanding.md's table is the dictionary's (regenerate it with
    ``python -m touchdown.telemetry.command_docs`` after changing a command)."""
    from touchdown.telemetry.command_docs import PAGE, current, section

    assert current(PAGE.read_text("utf-8")) == section(load_dictionary())


RULE = """
[[rule]]
name = "r"
commands = ["go"]
condition = "event.code in command_received,done"
reason = "because"
"""


def test_flight_rules_name_dictionary_commands_and_test_sets():
    (rule,) = parse(BASE + COMMAND + RULE).rules
    (c,) = rule.conditions
    assert (rule.commands, c.op, c.values) == (("go",), "in", (0.0, 1.0))
    assert c.holds(1.0) and not c.holds(2.0)
    for old, new, message in (('["go"]', '["went"]', "must list commands of the dictionary"),
                              ('reason = "because"', 'reason = " "', "needs a reason"),
                              ("command_received,done", "command_received,gone",
                               "its states are"),
                              ('reason = "because"', 'why = "because"',
                               "must hold name, commands, condition and reason")):
        with pytest.raises(DictionaryError, match=message):
            parse(BASE + COMMAND + RULE.replace(old, new))
    shipped = {r.name: r for r in load_dictionary().rules}
    assert set(shipped["no_reset_in_powered_descent"].commands) == {"computer_reset",
                                                                     "imu_reset"}


def test_telemetry_rate_names_the_periodic_packets_by_their_place():
    d = load_dictionary()
    packet = d.command("telemetry_rate").arguments[0]
    assert {d.packets[k].name: k for k in packet.enum} == {
        p.name: k for k, p in enumerate(d.packets) if p.period_s > 0}
    assert max(packet.enum) < st.N_TM_PERIODS
