"""CCSDS Space Packets made from the telemetry dictionary: encoded onboard, decoded on the ground.

A packet is a 6-octet primary header (CCSDS 133.0-B-2, made with the ``spacepackets`` package:
telemetry, secondary header present, unsegmented, the packet's APID and its own 14-bit sequence
count), a 7-octet secondary header holding the time as a CCSDS Unsegmented Time Code (CUC,
CCSDS 301.0-B-4: a P-field, 4 octets of seconds and 2 of binary fraction since the mission
epoch) and the fields in the dictionary's order, big-endian; a packet the dictionary marks
``payload`` carries octets after its fields (an image's segment).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from spacepackets.ccsds.spacepacket import (
    SPACE_PACKET_HEADER_SIZE,
    PacketType,
    SequenceFlags,
    SpacePacketHeader,
)

from touchdown.errors import PacketError
from touchdown.telemetry.dictionary import Dictionary, Packet

# P-field: extension 0, time code ID 010 (agency-defined epoch: the scenario's), 4 coarse
# octets (11), 2 fine octets (10)
CUC_PFIELD = 0b0_010_11_10
CUC_LEN = 7  # octets: P-field + 4 + 2
HEADER_LEN = SPACE_PACKET_HEADER_SIZE + CUC_LEN
SEQ_MODULO = 1 << 14
_CUC = struct.Struct(">BIH")
_PRIMARY = struct.Struct(">HHH")


@dataclass(frozen=True)
class TmPacket:
    """A decoded telemetry packet: what it is, its sequence count, onboard time and values."""

    apid: int
    name: str
    seq: int
    t: float  # s since the mission epoch (onboard time)
    values: dict[str, float]
    payload: bytes = b""  # the octets after the fields (``Packet.payload`` packets)


def cuc_encode(t: float) -> bytes:
    """The CUC time code of t (s since the epoch, 0 <= t < 2^32), fraction to 2^-16 s."""
    if not 0.0 <= t < 2.0**32:
        raise PacketError(f"time {t} s is outside the CUC range 0 to 2^32 s since the epoch")
    coarse = math.floor(t)
    fine = round((t - coarse) * 65536.0)
    if fine == 65536:
        coarse, fine = coarse + 1, 0
    return _CUC.pack(CUC_PFIELD, coarse, fine)


def cuc_decode(data: bytes) -> float:
    """Seconds since the epoch from a 7-octet CUC time code with this mission's P-field."""
    pfield, coarse, fine = _CUC.unpack_from(data)
    if pfield != CUC_PFIELD:
        raise PacketError(f"time code P-field is {pfield:#04x}, expected {CUC_PFIELD:#04x} "
                          "(CUC, agency epoch, 4 + 2 octets)")
    return coarse + fine / 65536.0


def _in_order(packet: Packet, values: Mapping[str, float]) -> list[float]:
    """The values of a packet's fields in the dictionary's order; PacketError names the fields
    missing or unknown."""
    names = [f.name for f in packet.fields]
    if values.keys() != set(names):
        missing, unknown = sorted(set(names) - set(values)), sorted(set(values) - set(names))
        raise PacketError(f"packet {packet.name!r}: values do not match its dictionary fields "
                          f"(missing {missing}, unknown {unknown})")
    return [values[n] for n in names]


class PacketEncoder:
    """Onboard packetiser: keeps each APID's sequence count (14 bits, wrapping)."""

    def __init__(self) -> None:
        self.counts: dict[int, int] = {}

    def encode(self, packet: Packet, t: float,
               values: Mapping[str, float] | Sequence[float], payload: bytes = b"") -> bytes:
        """One packet of type ``packet`` at onboard time t (s): ``values`` by field name (exactly
        the packet's fields, as the dictionary names them) or in the dictionary's order, and
        the ``payload`` octets after them (a ``payload`` packet only)."""
        if payload and not packet.payload:
            raise PacketError(f"packet {packet.name!r} carries no payload; the dictionary "
                              "marks the packets that do (payload = true)")
        if isinstance(values, Mapping):
            values = _in_order(packet, values)
        if len(values) != len(packet.fields):
            raise PacketError(f"packet {packet.name!r} has {len(packet.fields)} fields, "
                              f"got {len(values)} values")
        body = packet.layout.pack(*(v if f.is_float else int(v)
                                    for f, v in zip(packet.fields, values, strict=True)))
        seq = self.counts.get(packet.apid, 0)
        self.counts[packet.apid] = (seq + 1) % SEQ_MODULO
        header = SpacePacketHeader(packet_type=PacketType.TM, apid=packet.apid, seq_count=seq,
                                   data_len=CUC_LEN + len(body) + len(payload) - 1,
                                   sec_header_flag=True, seq_flags=SequenceFlags.UNSEGMENTED)
        return bytes(header.pack()) + cuc_encode(t) + body + payload


def packet_length(header: bytes) -> int:
    """Total octets of the packet whose primary header starts ``header`` (6 octets or more)."""
    return SPACE_PACKET_HEADER_SIZE + ((header[4] << 8) | header[5]) + 1


def decode_packet(data: bytes, dictionary: Dictionary) -> TmPacket:
    """Decode one whole telemetry packet; PacketError names what is wrong with a bad one."""
    if len(data) < HEADER_LEN:
        raise PacketError(f"packet of {len(data)} octets is shorter than its headers "
                          f"({HEADER_LEN})")
    # the primary header by hand (the ground reads thousands a second): 3 version bits, type,
    # secondary header flag, 11-bit APID; 2 sequence flags, 14-bit count; data length - 1
    word, seq_word, length = _PRIMARY.unpack_from(data)
    version, tc, apid = word >> 13, (word >> 12) & 1, word & 0x7FF
    if version != 0 or tc:
        raise PacketError(f"not a version-0 telemetry packet (version {version}, type {tc})")
    total = SPACE_PACKET_HEADER_SIZE + length + 1
    if len(data) != total:
        raise PacketError(f"APID {apid:#05x}: length field says {total} octets, got "
                          f"{len(data)}")
    packet = dictionary.by_apid(apid)
    if packet is None:
        raise PacketError(f"APID {apid:#05x} is not in the telemetry dictionary")
    if not (word >> 11) & 1 or seq_word >> 14 != SequenceFlags.UNSEGMENTED:
        raise PacketError(f"{packet.name}: expected an unsegmented packet with a time header")
    layout = packet.layout
    if len(data) != HEADER_LEN + layout.size and not (
            packet.payload and len(data) > HEADER_LEN + layout.size):
        raise PacketError(f"{packet.name}: {len(data) - HEADER_LEN} octets of fields, the "
                          f"dictionary says {layout.size}"
                          + (" and a payload after them" if packet.payload else ""))
    t = cuc_decode(data[SPACE_PACKET_HEADER_SIZE:HEADER_LEN])
    raw = layout.unpack_from(data, HEADER_LEN)
    return TmPacket(apid, packet.name, seq_word & 0x3FFF, t,
                    {f.name: float(v) for f, v in zip(packet.fields, raw, strict=True)},
                    bytes(data[HEADER_LEN + layout.size:]))
