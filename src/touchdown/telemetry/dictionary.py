"""The telemetry dictionary: packets, their fields, units, limits and enumerations (shell).

``dictionary.toml`` beside this module is the single source; everything else (the onboard
encoder, the ground decoder, limit checks, the API's parameter list, the Open MCT dictionary)
is made from the ``Dictionary`` it loads. A parameter's name is ``packet.field``.
"""

from __future__ import annotations

import math
import struct
import tomllib
from dataclasses import dataclass, field
from functools import cache, cached_property
from itertools import pairwise
from pathlib import Path
from typing import Any

from touchdown.errors import DictionaryError

SOURCE = Path(__file__).with_name("dictionary.toml")
TYPES = {"u1": "B", "u2": "H", "u4": "I", "i2": "h", "i4": "i", "f4": "f", "f8": "d"}
# The one severity scale (Yamcs' event severities, mildest first), shared by the ground's alarms,
# the report's findings and the Open MCT plugin (served in ``/api/dictionary``): ``info`` is
# nominal, worth noting; the rest are alarm levels, what a limit or an enumeration state raises.
SEVERITIES = ("info", "watch", "warning", "distress", "critical", "severe")
ALARM_SEVERITIES = SEVERITIES[1:]
APID_IDLE = 0x7FF


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

    @cached_property
    def layout(self) -> struct.Struct:
        """The user data field's layout, big-endian."""
        return struct.Struct(">" + "".join(TYPES[f.type] for f in self.fields))

    @property
    def expiry_s(self) -> float:
        """After this long without a new packet its parameters are stale (Yamcs: 1.9 periods)."""
        return 1.9 * self.period_s if self.period_s > 0 else math.inf


@dataclass(frozen=True)
class Dictionary:
    """Every packet, by APID and by name."""

    spacecraft_id: int
    packets: tuple[Packet, ...]

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
        packets.append(Packet(name, p["apid"], float(p.get("period_s", 0.0)),
                              int(p.get("priority", 9)), str(p.get("description", "")), fields))
    for what, key in (("name", lambda q: q.name), ("apid", lambda q: q.apid)):
        seen = [key(q) for q in packets]
        dup = {x for x in seen if seen.count(x) > 1}
        if dup:
            raise _fail(path, "packets", f"repeat the {what} {sorted(dup)}")
    scid = raw.get("mission", {}).get("spacecraft_id", 0)
    if not 0 <= scid < 1024:
        raise _fail(path, "mission.spacecraft_id", f"is {scid}; use 0 to 1023 (10 bits)")
    return Dictionary(scid, tuple(packets))


@cache
def load_dictionary() -> Dictionary:
    """The shipped telemetry dictionary."""
    return parse(SOURCE.read_text("utf-8"), SOURCE)
