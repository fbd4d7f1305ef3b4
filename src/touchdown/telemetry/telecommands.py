"""CCSDS telecommand packets made from the command dictionary: encoded on the ground, decoded
onboard (shell).

A telecommand is a Space Packet (CCSDS 133.0-B-2): a 6-octet primary header (telecommand,
no secondary header, unsegmented, the command's APID and the ground's 14-bit sequence count
for that APID), the command's opcode (one octet), its arguments in the dictionary's order
(big-endian) and a packet error control field, CRC-16/CCITT-FALSE of everything before it (as
ECSS PUS packets carry), which the lander checks before it acts.

The ground's encoder refuses a command the dictionary does not allow (unknown, arguments
missing, unknown or out of range) so that it is never sent; the onboard decoder refuses any
packet that is not exactly such a command and says why (``CommandError``), for telemetry.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from touchdown.errors import CommandError
from touchdown.telemetry.dictionary import Command, Dictionary
from touchdown.telemetry.frames import crc16

HEADER_LEN = 6  # octets, the space packet primary header
PEC_LEN = 2  # octets, the packet error control field
MIN_LEN = HEADER_LEN + 1 + PEC_LEN  # a command without arguments
SEQ_MODULO = 1 << 14
_PRIMARY = struct.Struct(">HHH")
TC_TYPE = 1  # the packet type bit of a telecommand
UNSEGMENTED = 0b11


@dataclass(frozen=True)
class Telecommand:
    """A decoded telecommand: the command, the packet's sequence count, its raw arguments."""

    command: Command
    seq: int
    arguments: dict[str, float]

    @property
    def name(self) -> str:
        return self.command.name


def raw_arguments(command: Command, arguments: Mapping[str, Any]) -> list[float]:
    """The raw values of ``arguments`` (by name; enumerated ones by state) in the dictionary's
    order; CommandError names what is missing, unknown or out of range."""
    names = [a.name for a in command.arguments]
    if set(arguments) != set(names):
        missing, unknown = sorted(set(names) - set(arguments)), sorted(set(arguments) - set(names))
        want = ", ".join(f"{a.name} ({a.describe()})" for a in command.arguments) or "none"
        raise CommandError(f"{command.name}: arguments missing {missing}, unknown {unknown}; "
                           f"it takes {want}")
    try:
        return [a.raw(arguments[a.name]) for a in command.arguments]
    except ValueError as exc:
        raise CommandError(f"{command.name}: {exc}") from None


class TelecommandEncoder:
    """The ground's packetiser: checks a command against the dictionary and keeps each APID's
    sequence count (14 bits, wrapping)."""

    def __init__(self, dictionary: Dictionary) -> None:
        self.dictionary = dictionary
        self.counts: dict[int, int] = {}

    def command(self, name: str) -> Command:
        """The dictionary's command ``name``; CommandError lists the commands there are."""
        command = self.dictionary.command(name)
        if command is None:
            known = ", ".join(c.name for c in self.dictionary.commands)
            raise CommandError(f"unknown command {name!r}; the dictionary's commands are {known}")
        return command

    def encode(self, name: str, arguments: Mapping[str, Any] | None = None) -> bytes:
        """One telecommand packet of command ``name`` with ``arguments`` by name."""
        command = self.command(name)
        raw = raw_arguments(command, arguments or {})
        body = bytes([command.opcode]) + command.layout.pack(
            *(v if a.type.startswith("f") else int(v)
              for a, v in zip(command.arguments, raw, strict=True)))
        seq = self.counts.get(command.apid, 0)
        self.counts[command.apid] = (seq + 1) % SEQ_MODULO
        header = _PRIMARY.pack((TC_TYPE << 12) | command.apid, (UNSEGMENTED << 14) | seq,
                               len(body) + PEC_LEN - 1)
        packet = header + body
        return packet + crc16(packet).to_bytes(2, "big")


def decode_telecommand(data: bytes, dictionary: Dictionary) -> Telecommand:
    """Decode one whole telecommand packet onboard; CommandError says why a packet is refused
    (length, header, checksum, unknown command, arguments out of range)."""
    if len(data) < MIN_LEN:
        raise CommandError(f"packet of {len(data)} octets is shorter than the shortest "
                           f"telecommand ({MIN_LEN})")
    word, seq_word, length = _PRIMARY.unpack_from(data)
    version, tc, secondary, apid = word >> 13, (word >> 12) & 1, (word >> 11) & 1, word & 0x7FF
    if version != 0 or tc != TC_TYPE or secondary or seq_word >> 14 != UNSEGMENTED:
        raise CommandError(f"not an unsegmented version-0 telecommand without a secondary "
                           f"header (version {version}, type {tc}, secondary {secondary}, "
                           f"sequence flags {seq_word >> 14})")
    total = HEADER_LEN + length + 1
    if len(data) != total:
        raise CommandError(f"APID {apid:#05x}: length field says {total} octets, got "
                           f"{len(data)}")
    if crc16(data[:-PEC_LEN]) != int.from_bytes(data[-PEC_LEN:], "big"):
        raise CommandError(f"APID {apid:#05x}: packet error control (CRC) does not match")
    opcode = data[HEADER_LEN]
    command = dictionary.by_opcode(apid, opcode)
    if command is None:
        raise CommandError(f"APID {apid:#05x} opcode {opcode} is not in the command dictionary",
                           "unknown")
    body = data[HEADER_LEN + 1:-PEC_LEN]
    if len(body) != command.layout.size:
        raise CommandError(f"{command.name}: {len(body)} octets of arguments, the dictionary "
                           f"says {command.layout.size}", "packet", opcode)
    values = dict(zip((a.name for a in command.arguments), command.layout.unpack(body),
                      strict=True))
    for a in command.arguments:  # the lander checks what it was sent, as the ground did
        try:
            a.raw(values[a.name] if not a.enum else int(values[a.name]))
        except ValueError as exc:
            raise CommandError(f"{command.name}: {exc}", "range", opcode) from None
    return Telecommand(command, seq_word & 0x3FFF, {k: float(v) for k, v in values.items()})
