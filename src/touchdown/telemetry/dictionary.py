"""The telemetry and command dictionary: packets, their fields, units, limits and
enumerations; telecommands, their arguments, significance, effect and verifiers (shell).

``dictionary.toml`` beside this module is the single source; everything else (the onboard
encoder, the ground decoder, limit checks, the API's parameter list, the Open MCT dictionary;
the ground's command encoder and checks, the onboard command decoder, docs/commanding.md) is
made from the ``Dictionary`` it loads. A parameter's name is ``packet.field``.
"""

from __future__ import annotations

import math
import operator
import struct
import tomllib
from dataclasses import dataclass, field
from functools import cache, cached_property
from itertools import pairwise
from pathlib import Path
from typing import Any, Literal

from touchdown.errors import DictionaryError

SOURCE = Path(__file__).with_name("dictionary.toml")
TYPES = {"u1": "B", "u2": "H", "u4": "I", "i2": "h", "i4": "i", "f4": "f", "f8": "d"}
# The one severity scale (Yamcs' event severities, mildest first), shared by the ground's alarms,
# the report's findings and the Open MCT plugin (served in ``/api/dictionary``): ``info`` is
# nominal, worth noting; the rest are alarm levels, what a limit or an enumeration state raises.
SEVERITIES = ("info", "watch", "warning", "distress", "critical", "severe")
ALARM_SEVERITIES = SEVERITIES[1:]
APID_IDLE = 0x7FF
SIGNIFICANCES = ("normal", "critical")
# The verification stages a verifier may prove, in order (the ground's others, queued to
# radiated, are its own; see docs/commanding.md)
VERIFIER_STAGES = ("received", "executed", "effect")
OPERATORS = {"==": operator.eq, "!=": operator.ne, "<=": operator.le, ">=": operator.ge,
             "<": operator.lt, ">": operator.gt}


@dataclass(frozen=True)
class Field:
    """One telemetry field (a parameter)."""

    packet: str
    name: str
    type: str  # a key of TYPES
    unit: str
    description: str
    limits: dict[str, tuple[float, float]] = field(default_factory=dict)  # severity: nominal range
    enum: dict[int, str] = field(default_factory=dict)  # raw value: state
    alarms: dict[str, str] = field(default_factory=dict)  # state: severity
    split_by: str = ""  # an enumerated field of the packet; displays show a series per state

    @property
    def qualified(self) -> str:
        return f"{self.packet}.{self.name}"

    @property
    def is_float(self) -> bool:
        return self.type.startswith("f")

    def severity(self, value: float) -> str | None:
        """The severity this value is in alarm at (None: nominal)."""
        if self.enum:
            return self.alarms.get(self.enum.get(int(value), ""))
        if math.isnan(value):
            return None
        for sev in reversed(ALARM_SEVERITIES):
            lo_hi = self.limits.get(sev)
            if lo_hi and not lo_hi[0] <= value <= lo_hi[1]:
                return sev
        return None

    def state(self, value: float) -> str | None:
        """The enumeration state of a raw value (None when the field is not enumerated)."""
        return self.enum.get(int(value), f"unknown ({int(value)})") if self.enum else None


@dataclass(frozen=True)
class Packet:
    """One packet type: an APID, a period (0: sent on occasion), a priority and its fields."""

    name: str
    apid: int
    period_s: float
    priority: int  # 0 is sent first when the link is short
    description: str
    fields: tuple[Field, ...]
    payload: bool = False  # octets follow the fields (an image's segment), not parameters

    @cached_property
    def layout(self) -> struct.Struct:
        """The user data field's layout, big-endian."""
        return struct.Struct(">" + "".join(TYPES[f.type] for f in self.fields))

    @property
    def expiry_s(self) -> float:
        """After this long without a new packet its parameters are stale (Yamcs: 1.9 periods)."""
        return 1.9 * self.period_s if self.period_s > 0 else math.inf


@dataclass(frozen=True)
class Argument:
    """One argument of a telecommand: a typed field with a range or an enumeration."""

    name: str
    type: str  # a key of TYPES
    unit: str
    description: str
    range: tuple[float, float] | None = None  # [low, high], when not enumerated
    enum: dict[int, str] = field(default_factory=dict)  # raw value: state

    def raw(self, value: Any) -> float:
        """The raw value sent for ``value`` (a number, or an enumerated state's name); ValueError
        names what the argument accepts."""
        if self.enum:
            by_state = {state: raw for raw, state in self.enum.items()}
            if isinstance(value, str) and value in by_state:
                return by_state[value]
            if isinstance(value, int) and not isinstance(value, bool) and value in self.enum:
                return value
            raise ValueError(f"{self.name} must be one of {', '.join(by_state)}, got {value!r}")
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(
                value):
            raise ValueError(f"{self.name} must be a number ({self.unit}), got {value!r}")
        if not self.type.startswith("f") and value != int(value):
            raise ValueError(f"{self.name} must be a whole number, got {value!r}")
        lo, hi = self.range or (-math.inf, math.inf)
        if not lo <= value <= hi:
            raise ValueError(f"{self.name} must be within [{lo:g}, {hi:g}] {self.unit}, got "
                             f"{value!r}")
        return value

    def describe(self) -> str:
        """What the argument accepts, for docs and errors."""
        if self.enum:
            return " | ".join(self.enum.values())
        lo, hi = self.range or (math.nan, math.nan)
        return f"{lo:g} to {hi:g} {self.unit}"


@dataclass(frozen=True)
class Condition:
    """``parameter op value`` (or ``parameter in a,b,c``) on a parameter's raw value."""

    parameter: str  # packet.field
    op: str  # a key of OPERATORS, or "in"
    value: float  # raw (an enumerated state resolved); for "in" the first of ``values``
    values: tuple[float, ...] = ()  # "in": the raw values that hold

    def holds(self, value: float) -> bool:
        if self.op == "in":
            return value in self.values
        return bool(OPERATORS[self.op](value, self.value))


@dataclass(frozen=True)
class Verifier:
    """The telemetry that proves one verification stage, within window_s of the arrival."""

    stage: Literal["received", "executed", "effect"]
    text: str  # the condition as written
    conditions: tuple[Condition, ...]  # all hold in one packet
    window_s: float

    @property
    def packet(self) -> str:
        return self.conditions[0].parameter.split(".")[0]


@dataclass(frozen=True)
class Command:
    """One telecommand: where it goes, what it takes, how it is verified."""

    name: str
    apid: int
    opcode: int
    significance: str  # one of SIGNIFICANCES
    description: str
    effect: str
    arguments: tuple[Argument, ...]
    verifiers: tuple[Verifier, ...]

    @cached_property
    def layout(self) -> struct.Struct:
        """The arguments' layout, big-endian."""
        return struct.Struct(">" + "".join(TYPES[a.type] for a in self.arguments))

    @property
    def critical(self) -> bool:
        return self.significance == "critical"


@dataclass(frozen=True)
class Rule:
    """A flight rule: the commands it blocks while its condition holds on the latest
    telemetry, and the text an operator is shown (a flight director may override it, with a
    reason the audit log keeps)."""

    name: str
    commands: tuple[str, ...]
    text: str  # the condition as written
    conditions: tuple[Condition, ...]  # all hold: the commands are blocked
    reason: str  # why: what the operator reads


@dataclass(frozen=True)
class Uplink:
    """The telecommand link's constants: the flight software's APID, the virtual channel, the
    FARM-1 window, and the longest a command waits onboard for the flight software's next
    cycle (which the verifiers' windows allow for)."""

    apid: int = 0x0C0
    virtual_channel: int = 0
    farm_window: int = 10
    execution_wait_s: float = 10.0  # the longest a command waits onboard for a cycle


@dataclass(frozen=True)
class Dictionary:
    """Every packet, by APID and by name; every command, by name and by (APID, opcode)."""

    spacecraft_id: int
    packets: tuple[Packet, ...]
    commands: tuple[Command, ...] = ()
    uplink: Uplink = Uplink()
    rules: tuple[Rule, ...] = ()

    @cached_property
    def _commands(self) -> dict[str, Command]:
        return {c.name: c for c in self.commands}

    @cached_property
    def _by_opcode(self) -> dict[tuple[int, int], Command]:
        return {(c.apid, c.opcode): c for c in self.commands}

    def command(self, name: str) -> Command | None:
        return self._commands.get(name)

    def by_opcode(self, apid: int, opcode: int) -> Command | None:
        return self._by_opcode.get((apid, opcode))

    @cached_property
    def _by_apid(self) -> dict[int, Packet]:
        return {p.apid: p for p in self.packets}

    @cached_property
    def _by_name(self) -> dict[str, Packet]:
        return {p.name: p for p in self.packets}

    def by_apid(self, apid: int) -> Packet | None:
        return self._by_apid.get(apid)

    def __getitem__(self, name: str) -> Packet:
        return self._by_name[name]

    @property
    def parameters(self) -> dict[str, Field]:
        """Every field by its qualified name ``packet.field``."""
        return {f.qualified: f for p in self.packets for f in p.fields}


def _fail(path: Path, where: str, problem: str) -> DictionaryError:
    return DictionaryError(f"{path}: {where} {problem}")


def _field(path: Path, packet: str, raw: dict[str, Any]) -> Field:
    where = f"packet {packet!r} field {raw.get('name', '?')!r}"
    for key in ("name", "type", "unit", "description"):
        if not isinstance(raw.get(key), str):
            raise _fail(path, where, f"needs a string {key!r}")
    if raw["type"] not in TYPES:
        raise _fail(path, where, f"has type {raw['type']!r}; use one of {', '.join(TYPES)}")
    limits: dict[str, tuple[float, float]] = {}
    for sev, lo_hi in raw.get("limits", {}).items():
        if sev not in ALARM_SEVERITIES:
            raise _fail(path, where,
                        f"has limits for {sev!r}; use {', '.join(ALARM_SEVERITIES)}")
        if len(lo_hi) != 2 or not float(lo_hi[0]) < float(lo_hi[1]):
            raise _fail(path, where, f"limits.{sev} must be [low, high] with low < high")
        limits[sev] = (float(lo_hi[0]), float(lo_hi[1]))
    ranked = [limits[s] for s in ALARM_SEVERITIES if s in limits]
    for milder, graver in pairwise(ranked):
        if not (graver[0] <= milder[0] and milder[1] <= graver[1]):
            raise _fail(path, where, "has a graver limit range inside a milder one; each "
                        "severity's nominal range must hold the milder ones'")
    enum = {int(k): str(v) for k, v in raw.get("enum", {}).items()}
    alarms = dict(raw.get("alarms", {}))
    for state, sev in alarms.items():
        if state not in enum.values() or sev not in ALARM_SEVERITIES:
            raise _fail(path, where, f"alarms {state!r} = {sev!r} names an unknown state or "
                        "severity")
    split_by = raw.get("split_by", "")
    if not isinstance(split_by, str):
        raise _fail(path, where, "split_by must name a field of the same packet")
    return Field(packet, raw["name"], raw["type"], raw["unit"], raw["description"], limits,
                 enum, alarms, split_by)


def _argument(path: Path, command: str, raw: Any) -> Argument:
    name = raw.get("name", "?") if isinstance(raw, dict) else "?"
    where = f"command {command!r} argument {name!r}"
    if not isinstance(raw, dict):
        raise _fail(path, where, "must be a table { name, type, unit, description, ... }")
    for key in ("name", "type", "unit", "description"):
        if not isinstance(raw.get(key), str):
            raise _fail(path, where, f"needs a string {key!r}")
    extra = set(raw) - {"name", "type", "unit", "description", "range", "enum"}
    if extra:
        raise _fail(path, where, f"has unknown keys {sorted(extra)}")
    if raw["type"] not in TYPES:
        raise _fail(path, where, f"has type {raw['type']!r}; use one of {', '.join(TYPES)}")
    enum = {int(k): str(v) for k, v in raw.get("enum", {}).items()}
    limits = raw.get("range")
    if bool(enum) == (limits is not None):
        raise _fail(path, where, "needs either a range [low, high] or an enum, not both")
    span = None
    if limits is not None:
        if (not isinstance(limits, list) or len(limits) != 2
                or not float(limits[0]) <= float(limits[1])):
            raise _fail(path, where, "range must be [low, high] with low <= high")
        span = (float(limits[0]), float(limits[1]))
    fits = struct.Struct(">" + TYPES[raw["type"]])
    for v in [*enum, *(span or ())]:
        try:
            fits.pack(v if raw["type"].startswith("f") else int(v))
        except (struct.error, OverflowError):
            raise _fail(path, where, f"value {v:g} does not fit its type {raw['type']}") from None
    return Argument(raw["name"], raw["type"], raw["unit"], raw["description"], span, enum)


def _condition(path: Path, where: str, text: str,
               parameters: dict[str, Field]) -> tuple[Condition, ...]:
    out = []
    for part in text.split(" and "):
        words = part.split()
        if len(words) != 3 or words[1] not in (*OPERATORS, "in"):
            raise _fail(path, where, f"condition {part!r} must read 'packet.field OP value' "
                        f"with OP one of {' '.join(OPERATORS)} in (in: values a,b,c)")
        name, op, value = words
        f = parameters.get(name)
        if f is None:
            raise _fail(path, where, f"condition names {name!r}, not a telemetry parameter")
        raw = []
        for v in value.split(",") if op == "in" else [value]:
            if f.enum:
                by_state = {state: code for code, state in f.enum.items()}
                if v not in by_state:
                    raise _fail(path, where, f"condition gives {name} the state {v!r}; its "
                                f"states are {', '.join(by_state)}")
                raw.append(float(by_state[v]))
                continue
            try:
                raw.append(float(v))
            except ValueError:
                raise _fail(path, where, f"condition compares {name} with {v!r}, not a "
                            "number") from None
        out.append(Condition(name, op, raw[0], tuple(raw) if op == "in" else ()))
    if len({c.parameter.split(".")[0] for c in out}) != 1:
        raise _fail(path, where, f"condition {text!r} must test fields of one packet")
    return tuple(out)


def _command(path: Path, raw: Any, uplink: Uplink,
             parameters: dict[str, Field]) -> Command:
    name = raw.get("name") if isinstance(raw, dict) else None
    where = f"command {name!r}"
    if not isinstance(name, str):
        raise _fail(path, "a command", "needs a string name")
    extra = set(raw) - {"name", "apid", "opcode", "significance", "description", "effect",
                        "arguments", "verifiers"}
    if extra:
        raise _fail(path, where, f"has unknown keys {sorted(extra)}")
    for key in ("description", "effect"):
        if not isinstance(raw.get(key), str):
            raise _fail(path, where, f"needs a string {key!r}")
    apid, opcode = raw.get("apid", uplink.apid), raw.get("opcode")
    if not isinstance(apid, int) or not 0 <= apid < APID_IDLE:
        raise _fail(path, where, f"has apid {apid!r}; use 0 to 2046")
    if not isinstance(opcode, int) or not 0 <= opcode < 256:
        raise _fail(path, where, f"has opcode {opcode!r}; use 0 to 255 (one octet)")
    if raw.get("significance") not in SIGNIFICANCES:
        raise _fail(path, where, f"has significance {raw.get('significance')!r}; use "
                    f"{' or '.join(SIGNIFICANCES)}")
    arguments = tuple(_argument(path, name, a) for a in raw.get("arguments", []))
    names = [a.name for a in arguments]
    if len(set(names)) != len(names):
        raise _fail(path, where, f"repeats an argument name ({names})")
    verifiers = []
    for v in raw.get("verifiers", []):
        if not isinstance(v, dict) or set(v) != {"stage", "condition", "window_s"}:
            raise _fail(path, where, "verifiers must be tables { stage, condition, window_s }")
        if v["stage"] not in VERIFIER_STAGES:
            raise _fail(path, where, f"has a verifier for stage {v['stage']!r}; use "
                        f"{', '.join(VERIFIER_STAGES)}")
        window = v["window_s"]
        if isinstance(window, bool) or not isinstance(window, int | float) or not window > 0:
            raise _fail(path, where, f"verifier {v['stage']!r} needs a window_s above 0")
        verifiers.append(Verifier(v["stage"], str(v["condition"]), _condition(
            path, f"{where} verifier {v['stage']!r}", str(v["condition"]), parameters),
            float(window)))
    stages = [v.stage for v in verifiers]
    if stages != sorted(stages, key=VERIFIER_STAGES.index) or len(set(stages)) != len(stages):
        raise _fail(path, where, f"verifiers must be one per stage in the order "
                    f"{', '.join(VERIFIER_STAGES)}")
    if "received" not in stages:
        raise _fail(path, where, "needs a 'received' verifier (what acknowledges it onboard)")
    return Command(name, apid, opcode, raw["significance"], raw["description"], raw["effect"],
                   arguments, tuple(verifiers))


def parse(text: str, path: Path = SOURCE) -> Dictionary:
    """A Dictionary from the TOML text of a dictionary file (checked)."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DictionaryError(f"{path}: not valid TOML ({exc})") from None
    packets = []
    for p in raw.get("packet", []):
        name = p.get("name")
        if not isinstance(name, str) or not isinstance(p.get("apid"), int):
            raise _fail(path, "a packet", "needs a string name and an integer apid")
        if not 0 <= p["apid"] < APID_IDLE:
            raise _fail(path, f"packet {name!r}", f"has apid {p['apid']}; use 0 to 2046")
        fields = tuple(_field(path, name, f) for f in p.get("fields", []))
        if not fields:
            raise _fail(path, f"packet {name!r}", "has no fields")
        enumerated = {f.name for f in fields if f.enum}
        for f in fields:
            if f.split_by and f.split_by not in enumerated:
                raise _fail(path, f"packet {name!r} field {f.name!r}", f"has split_by = "
                            f"{f.split_by!r}; name an enumerated field of packet {name!r}")
        if not isinstance(p.get("payload", False), bool):
            raise _fail(path, f"packet {name!r}", "has payload = "
                        f"{p['payload']!r}; give true or false")
        packets.append(Packet(name, p["apid"], float(p.get("period_s", 0.0)),
                              int(p.get("priority", 9)), str(p.get("description", "")), fields,
                              p.get("payload", False)))
    for what, key in (("name", lambda q: q.name), ("apid", lambda q: q.apid)):
        seen = [key(q) for q in packets]
        dup = {x for x in seen if seen.count(x) > 1}
        if dup:
            raise _fail(path, "packets", f"repeat the {what} {sorted(dup)}")
    scid = raw.get("mission", {}).get("spacecraft_id", 0)
    if not 0 <= scid < 1024:
        raise _fail(path, "mission.spacecraft_id", f"is {scid}; use 0 to 1023 (10 bits)")
    up = raw.get("uplink", {})
    if set(up) - {"apid", "virtual_channel", "farm_window", "execution_wait_s"}:
        raise _fail(path, "uplink", "holds apid, virtual_channel, farm_window and "
                    "execution_wait_s only")
    if not all(isinstance(v, int) and not isinstance(v, bool) for k, v in up.items()
               if k != "execution_wait_s"):
        raise _fail(path, "uplink", "apid, virtual_channel and farm_window must be whole numbers")
    wait = up.get("execution_wait_s", 10.0)
    if isinstance(wait, bool) or not isinstance(wait, int | float) or not 0 <= wait <= 3600:
        raise _fail(path, "uplink.execution_wait_s", f"is {wait!r}; give 0 to 3600 s")
    uplink = Uplink(**up)
    if not 0 <= uplink.apid < APID_IDLE or not 0 <= uplink.virtual_channel < 64:
        raise _fail(path, "uplink", "needs an apid of 0 to 2046 and a virtual_channel of 0 to 63")
    if not (2 <= uplink.farm_window <= 254 and uplink.farm_window % 2 == 0):
        raise _fail(path, "uplink.farm_window", f"is {uplink.farm_window}; COP-1 takes an even "
                    "width of 2 to 254")
    parameters = {f.qualified: f for p in packets for f in p.fields}
    commands = tuple(_command(path, c, uplink, parameters) for c in raw.get("command", []))
    for what, key in (("name", lambda c: c.name), ("apid and opcode",
                                                   lambda c: (c.apid, c.opcode))):
        seen = [key(c) for c in commands]
        dup = {x for x in seen if seen.count(x) > 1}
        if dup:
            raise _fail(path, "commands", f"repeat the {what} {sorted(dup)}")
    rules = tuple(_rule(path, r, commands, parameters) for r in raw.get("rule", []))
    names = [r.name for r in rules]
    if len(set(names)) != len(names):
        raise _fail(path, "rules", f"repeat a name ({names})")
    return Dictionary(scid, tuple(packets), commands, uplink, rules)


def _rule(path: Path, raw: Any, commands: tuple[Command, ...],
          parameters: dict[str, Field]) -> Rule:
    name = raw.get("name") if isinstance(raw, dict) else None
    where = f"rule {name!r}"
    if not isinstance(name, str):
        raise _fail(path, "a rule", "needs a string name")
    if set(raw) != {"name", "commands", "condition", "reason"}:
        raise _fail(path, where, "must hold name, commands, condition and reason")
    known = {c.name for c in commands}
    blocked = raw["commands"]
    if (not isinstance(blocked, list) or not blocked
            or not all(isinstance(c, str) and c in known for c in blocked)):
        raise _fail(path, where, f"commands must list commands of the dictionary ({blocked!r})")
    if not isinstance(raw["reason"], str) or not raw["reason"].strip():
        raise _fail(path, where, "needs a reason the operator is shown")
    text = str(raw["condition"])
    return Rule(name, tuple(blocked), text, _condition(path, where, text, parameters),
                raw["reason"])


@cache
def load_dictionary() -> Dictionary:
    """The shipped telemetry dictionary."""
    return parse(SOURCE.read_text("utf-8"), SOURCE)
