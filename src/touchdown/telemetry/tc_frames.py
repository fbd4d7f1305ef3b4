"""CCSDS TC Transfer Frames and the CLCW (shell): telecommand packets into frames on the
ground, frames back to packets onboard, and the onboard status word the telemetry carries back.

TC Transfer Frame (CCSDS 232.0-B-4), at most 1,024 octets:

=======  ======  ==============================================================================
octets   bits    field
=======  ======  ==============================================================================
0-1      2       transfer frame version number, 00
         1       bypass flag: 0 type-A (sequence-controlled, FARM-checked), 1 type-B (bypass)
         1       control command flag: 0 data (packets), 1 control command (COP-1 directive)
         2       spare, 00
         10      spacecraft ID
2-3      6       virtual channel ID
         10      frame length - 1 (octets)
4        8       frame sequence number N(S) (type-A frames; 0 in type-B ones)
5..L-3           data field: whole telecommand packets, back to back; or a control command
L-2..L-1         frame error control field: CRC-16/CCITT-FALSE of octets 0..L-3
=======  ======  ==============================================================================

Control commands (CCSDS 232.0-B-4 §4.1.3.3): Unlock is the one octet 0x00; Set V(R) is 0x82
0x00 and the new V(R).

CLCW, the Communications Link Control Word (32 bits, carried in the TM frames' operational
control field): control word type 0, version 00, status field 000, COP in effect 01 (COP-1),
virtual channel ID (6 bits), spare 00, No RF Available, No Bit Lock, Lockout, Wait,
Retransmit, the FARM-B counter's two low bits, spare 0, report value V(R) (8 bits).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

from touchdown.errors import FrameError
from touchdown.telemetry.frames import crc16

HEADER_LEN = 5  # octets
FECF_LEN = 2  # octets
LENGTH_MAX = 1024  # octets, the largest TC frame
DATA_MAX = LENGTH_MAX - HEADER_LEN - FECF_LEN
UNLOCK = b"\x00"  # control command: leave lockout
SET_VR = b"\x82\x00"  # control command prefix: set V(R) to the octet that follows
COP_1 = 0b01  # "COP in effect" of a CLCW
_HEADER = struct.Struct(">HHB")


@dataclass(frozen=True)
class TcFrame:
    """One TC transfer frame, decoded."""

    spacecraft_id: int
    virtual_channel: int
    seq: int  # N(S)
    data: bytes
    bypass: bool = False  # type-B: accepted without sequence control
    control: bool = False  # a control command (Unlock, Set V(R)), always type-B

    @property
    def kind(self) -> str:
        """AD (sequence-controlled data), BD (bypass data) or BC (bypass control)."""
        return "BC" if self.control else "BD" if self.bypass else "AD"


def encode_tc_frame(frame: TcFrame) -> bytes:
    """The octets of ``frame``, with its frame error control field."""
    if not 0 <= frame.spacecraft_id < 1024 or not 0 <= frame.virtual_channel < 64:
        raise FrameError(f"spacecraft ID {frame.spacecraft_id} or virtual channel "
                         f"{frame.virtual_channel} out of range (0-1023, 0-63)")
    if frame.control and not frame.bypass:
        raise FrameError("a control command goes in a type-B frame: set bypass")
    if not 0 < len(frame.data) <= DATA_MAX:
        raise FrameError(f"a TC frame carries 1 to {DATA_MAX} octets of data, got "
                         f"{len(frame.data)}: send fewer or shorter packets per frame")
    length = HEADER_LEN + len(frame.data) + FECF_LEN
    head = _HEADER.pack((frame.bypass << 13) | (frame.control << 12) | frame.spacecraft_id,
                        (frame.virtual_channel << 10) | (length - 1), frame.seq & 0xFF)
    body = head + frame.data
    return body + crc16(body).to_bytes(2, "big")


def decode_tc_frame(data: bytes, spacecraft_id: int) -> TcFrame:
    """Decode one TC frame addressed to ``spacecraft_id``; FrameError says why one is refused
    (length, version, spacecraft, checksum)."""
    if len(data) < HEADER_LEN + 1 + FECF_LEN:
        raise FrameError(f"TC frame of {len(data)} octets is shorter than a header, one octet "
                         f"of data and the error control ({HEADER_LEN + 1 + FECF_LEN})")
    first, second, seq = _HEADER.unpack_from(data)
    if first >> 14:
        raise FrameError(f"TC frame version {first >> 14}, expected 0")
    if (first >> 10) & 0b11:
        raise FrameError("TC frame spare bits are set")
    if first & 0x3FF != spacecraft_id:
        raise FrameError(f"TC frame for spacecraft {first & 0x3FF}, this is {spacecraft_id}")
    length = (second & 0x3FF) + 1
    if length != len(data):
        raise FrameError(f"TC frame length field says {length} octets, got {len(data)}")
    if crc16(data[:-FECF_LEN]) != int.from_bytes(data[-FECF_LEN:], "big"):
        raise FrameError("TC frame error control (CRC) does not match: corrupted in transit")
    bypass, control = bool((first >> 13) & 1), bool((first >> 12) & 1)
    if control and not bypass:
        raise FrameError("TC frame is a control command but not type-B")
    return TcFrame(spacecraft_id, second >> 10, seq, bytes(data[HEADER_LEN:-FECF_LEN]), bypass,
                   control)


def split_packets(data: bytes) -> Iterator[bytes]:
    """The whole space packets of a frame's data field, by their length fields; FrameError when
    the last one does not end with the field."""
    i = 0
    while i < len(data):
        if len(data) - i < 6:
            raise FrameError(f"TC frame data ends {len(data) - i} octets into a packet header")
        end = i + 6 + ((data[i + 4] << 8) | data[i + 5]) + 1
        if end > len(data):
            raise FrameError(f"TC frame data ends inside a packet ({end - len(data)} octets "
                             "short)")
        yield bytes(data[i:end])
        i = end


@dataclass(frozen=True)
class Clcw:
    """The Communications Link Control Word: the FARM's state as the ground sees it."""

    virtual_channel: int
    report_value: int  # V(R): the N(S) the lander expects next
    lockout: bool = False
    wait: bool = False
    retransmit: bool = False
    farm_b_counter: int = 0  # two low bits
    no_rf: bool = False
    no_bit_lock: bool = False

    def encode(self) -> bytes:
        word = ((COP_1 << 24) | ((self.virtual_channel & 0x3F) << 18) | (self.no_rf << 15)
                | (self.no_bit_lock << 14) | (self.lockout << 13) | (self.wait << 12)
                | (self.retransmit << 11) | ((self.farm_b_counter & 0b11) << 9)
                | (self.report_value & 0xFF))
        return word.to_bytes(4, "big")

    @classmethod
    def decode(cls, data: bytes) -> Clcw:
        """A CLCW from 4 octets; FrameError when they are not a COP-1 CLCW."""
        if len(data) != 4:
            raise FrameError(f"a CLCW is 4 octets, got {len(data)}")
        word = int.from_bytes(data, "big")
        if word >> 31 or (word >> 29) & 0b11 or (word >> 24) & 0b11 != COP_1:
            raise FrameError(f"not a version-0 COP-1 CLCW ({data.hex()})")
        return cls((word >> 18) & 0x3F, word & 0xFF, bool((word >> 13) & 1),
                   bool((word >> 12) & 1), bool((word >> 11) & 1), (word >> 9) & 0b11,
                   bool((word >> 15) & 1), bool((word >> 14) & 1))
