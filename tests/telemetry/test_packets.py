"""CCSDS space packets: header bits against the standard, CUC time, round trips, bad packets."""

import math
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from touchdown.errors import PacketError
from touchdown.telemetry.dictionary import load_dictionary
from touchdown.telemetry.packets import (
    CUC_PFIELD,
    HEADER_LEN,
    SEQ_MODULO,
    PacketEncoder,
    cuc_decode,
    cuc_encode,
    decode_packet,
    packet_length,
)

DICT = load_dictionary()


def primary_header_fields(data: bytes) -> dict[str, int]:
    """CCSDS 133.0-B-2 section 4.1.3, read bit by bit: 3 version, 1 type, 1 secondary header
    flag, 11 APID, 2 sequence flags, 14 sequence count, 16 data length (octets - 1)."""
    bits = int.from_bytes(data[:6], "big")
    return {"version": bits >> 45, "type": (bits >> 44) & 1, "sec": (bits >> 43) & 1,
            "apid": (bits >> 32) & 0x7FF, "seq_flags": (bits >> 30) & 3,
            "count": (bits >> 16) & 0x3FFF, "length": bits & 0xFFFF}


def values_for(packet):
    out = []
    for k, f in enumerate(packet.fields):
        if f.enum:
            out.append(min(f.enum))
        elif f.is_float:
            out.append(0.5 + 1.25 * k)
        else:
            out.append(3 + k)
    return out


def test_header_bits_follow_the_standard():
    packet = DICT["lrf"]
    enc = PacketEncoder()
    for _ in range(3):
        data = enc.encode(packet, 12.25, values_for(packet))
    h = primary_header_fields(data)
    assert h == {"version": 0, "type": 0, "sec": 1, "apid": packet.apid, "seq_flags": 0b11,
                 "count": 2, "length": len(data) - 7}
    assert packet_length(data[:6]) == len(data)
    # secondary header: CUC P-field 0 010 11 10, 4 octets of seconds, 2 of 1/65536 s
    assert data[6] == 0b0010_1110 == CUC_PFIELD
    assert struct.unpack(">IH", data[7:13]) == (12, 16384)


def test_cuc_time_rounds_to_the_nearest_2_to_the_minus_16_seconds():
    for t in (0.0, 1.0, 3374.4, 4340.999999, 2.0**32 - 1.0):
        assert abs(cuc_decode(cuc_encode(t)) - t) <= 0.5 / 65536.0 + 1e-9
    assert cuc_encode(0.9999999) == cuc_encode(1.0)  # carried into the seconds
    with pytest.raises(PacketError, match="CUC range"):
        cuc_encode(-1.0)
    with pytest.raises(PacketError, match="P-field"):
        cuc_decode(b"\x1e" + bytes(6))


@pytest.mark.parametrize("name", [p.name for p in DICT.packets])
def test_every_packet_type_round_trips(name):
    packet = DICT[name]
    values = values_for(packet)
    data = PacketEncoder().encode(packet, 3374.5, values)
    assert len(data) == HEADER_LEN + packet.layout.size
    got = decode_packet(data, DICT)
    assert (got.apid, got.name, got.seq, got.t) == (packet.apid, name, 0, 3374.5)
    for f, v in zip(packet.fields, values, strict=True):
        assert got.values[f.name] == pytest.approx(v, rel=1e-7)


def test_nan_survives_and_sequence_counts_are_per_apid_and_wrap():
    enc = PacketEncoder()
    nav, lrf = DICT["nav"], DICT["lrf"]
    vals = values_for(lrf)
    vals[0] = math.nan
    assert math.isnan(decode_packet(enc.encode(lrf, 1.0, vals), DICT).values["range_m"])
    assert decode_packet(enc.encode(nav, 1.0, values_for(nav)), DICT).seq == 0
    enc.counts[nav.apid] = SEQ_MODULO - 1
    assert decode_packet(enc.encode(nav, 2.0, values_for(nav)), DICT).seq == SEQ_MODULO - 1
    assert decode_packet(enc.encode(nav, 3.0, values_for(nav)), DICT).seq == 0
    assert decode_packet(enc.encode(lrf, 3.0, values_for(lrf)), DICT).seq == 1


def test_bad_packets_name_what_is_wrong():
    nav = DICT["nav"]
    good = PacketEncoder().encode(nav, 5.0, values_for(nav))
    cases = {
        "shorter than its headers": good[:10],
        "length field says": good[:-1],
        "not in the telemetry dictionary": bytes([good[0] & 0xF8 | 0x03, 0xFE]) + good[2:],
        "not a version-0 telemetry packet": bytes([good[0] | 0x10]) + good[1:],
        "P-field": good[:6] + b"\x00" + good[7:],
    }
    for message, data in cases.items():
        with pytest.raises(PacketError, match=message):
            decode_packet(data, DICT)
    with pytest.raises(PacketError, match="has 8 fields, got 2"):
        PacketEncoder().encode(nav, 0.0, [1.0, 2.0])
    values = dict(zip([f.name for f in nav.fields], values_for(nav), strict=True))
    assert PacketEncoder().encode(nav, 5.0, values) == good  # by name: the same bytes
    del values["altitude_m"]
    with pytest.raises(PacketError, match=r"missing \['altitude_m'\], unknown \['alt'\]"):
        PacketEncoder().encode(nav, 5.0, {**values, "alt": 1.0})


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=80))
def test_random_bytes_decode_or_raise_packet_error(data):
    try:
        got = decode_packet(data, DICT)
    except PacketError:
        return
    assert DICT.by_apid(got.apid) is not None


@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from([p.name for p in DICT.packets]),
       flips=st.lists(st.tuples(st.integers(0, 200), st.integers(0, 7)), max_size=4),
       cut=st.integers(0, 60))
def test_damaged_packets_decode_or_raise_packet_error(name, flips, cut):
    """Flipped bits and truncation never escape as anything but PacketError."""
    data = bytearray(PacketEncoder().encode(DICT[name], 7.0, values_for(DICT[name])))
    for pos, bit in flips:
        data[pos % len(data)] ^= 1 << bit
    data = bytes(data[:len(data) - cut % len(data)])
    try:
        got = decode_packet(data, DICT)
    except PacketError:
        return
    assert len(got.values) == len(DICT[got.name].fields)
