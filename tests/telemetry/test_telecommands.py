"""Telecommand packets and TC frames: made from the dictionary on the ground, taken apart
onboard, and every malformed one refused with its reason (fuzzed)."""

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from touchdown.errors import CommandError, FrameError
from touchdown.telemetry.dictionary import load_dictionary
from touchdown.telemetry.frames import crc16
from touchdown.telemetry.tc_frames import (
    Clcw,
    TcFrame,
    decode_tc_frame,
    encode_tc_frame,
    split_packets,
)
from touchdown.telemetry.telecommands import TelecommandEncoder, decode_telecommand

D = load_dictionary()
SCID = D.spacecraft_id


def test_a_command_goes_down_and_comes_back_the_same():
    enc = TelecommandEncoder(D)
    first, second = enc.encode("imu_reset", {"unit": "B"}), enc.encode("computer_reset")
    tc = decode_telecommand(first, D)
    assert (tc.name, tc.seq, tc.arguments) == ("imu_reset", 0, {"unit": 1.0})
    assert decode_telecommand(second, D).seq == 1  # one count per APID (both the FSW's)
    assert enc.counts == {D.uplink.apid: 2}


def test_the_ground_refuses_what_the_dictionary_does_not_allow():
    enc = TelecommandEncoder(D)
    with pytest.raises(CommandError, match=r"unknown command 'imu_reboot'.*computer_reset"):
        enc.encode("imu_reboot")
    with pytest.raises(CommandError, match=r"missing \['unit'\].*unit \(A \| B\)"):
        enc.encode("imu_reset")
    with pytest.raises(CommandError, match=r"unknown \['rate'\]"):
        enc.encode("computer_reset", {"rate": 1})
    with pytest.raises(CommandError, match="imu_reset: unit must be one of A, B, got 'C'"):
        enc.encode("imu_reset", {"unit": "C"})
    assert enc.counts == {}  # nothing was numbered, nothing sent


@pytest.mark.parametrize(("mutate", "reason"), [
    (lambda p: p[:-1], "length field"),
    (lambda p: p[:4] + b"\x00\x00" + p[6:], "length field"),
    (lambda p: p[:-1] + bytes([p[-1] ^ 1]), "CRC"),
    (lambda p: bytes([p[0] & 0xEF]) + p[1:], "not an unsegmented version-0 telecommand"),
    (lambda p: p[:3], "shorter than the shortest"),
])
def test_the_lander_refuses_a_damaged_packet_and_says_why(mutate, reason):
    packet = TelecommandEncoder(D).encode("imu_reset", {"unit": "A"})
    with pytest.raises(CommandError, match=reason):
        decode_telecommand(mutate(packet), D)


def test_the_lander_refuses_an_unknown_opcode_and_an_argument_out_of_its_range():
    packet = bytearray(TelecommandEncoder(D).encode("imu_reset", {"unit": "A"}))
    for offset, value, reason in ((6, 99, "opcode 99 is not in the command dictionary"),
                                  (7, 7, "unit must be one of A, B, got 7")):
        forged = bytearray(packet)
        forged[offset] = value
        forged[-2:] = crc16(bytes(forged[:-2])).to_bytes(2, "big")  # a well-formed forgery
        with pytest.raises(CommandError, match=reason):
            decode_telecommand(bytes(forged), D)


def test_frames_carry_packets_and_refuse_damage():
    enc = TelecommandEncoder(D)
    packets = [enc.encode("computer_reset"), enc.encode("imu_reset", {"unit": "B"})]
    octets = encode_tc_frame(TcFrame(SCID, 0, 7, b"".join(packets)))
    frame = decode_tc_frame(octets, SCID)
    assert (frame.seq, frame.kind, list(split_packets(frame.data))) == (7, "AD", packets)
    for bad, reason in ((octets[:-1], "length field"),
                        (octets[:6] + bytes([octets[6] ^ 0x10]) + octets[7:], "CRC"),
                        (octets[:3], "shorter")):
        with pytest.raises(FrameError, match=reason):
            decode_tc_frame(bad, SCID)
    with pytest.raises(FrameError, match=f"for spacecraft {SCID}, this is {SCID + 1}"):
        decode_tc_frame(octets, SCID + 1)
    with pytest.raises(FrameError, match="inside a packet"):
        list(split_packets(packets[0][:-1]))
    with pytest.raises(FrameError, match="1 to 1017 octets"):
        encode_tc_frame(TcFrame(SCID, 0, 0, bytes(1018)))


def test_the_clcw_keeps_every_flag():
    clcw = Clcw(5, 200, lockout=True, retransmit=True, farm_b_counter=3, no_bit_lock=True)
    octets = clcw.encode()
    assert Clcw.decode(octets) == clcw and octets[0] >> 7 == 0 and (octets[0] & 3) == 1
    with pytest.raises(FrameError, match="COP-1 CLCW"):
        Clcw.decode(bytes([0x80]) + octets[1:])


@settings(max_examples=400, deadline=None)
@given(hs.binary(max_size=80))
def test_fuzz_the_onboard_decoders_refuse_junk_with_their_own_errors(junk):
    """Any octets at all: a frame or a packet decodes, or the decoder says why; nothing else
    escapes (no IndexError, struct.error, UnicodeError...)."""
    for decode in (lambda b: decode_tc_frame(b, SCID), lambda b: decode_telecommand(b, D),
                   lambda b: list(split_packets(b)), Clcw.decode):
        with contextlib.suppress(CommandError, FrameError):
            decode(junk)


@settings(max_examples=300, deadline=None)
@given(hs.integers(0, 12), hs.integers(0, 255))
def test_fuzz_a_valid_packet_with_one_octet_changed_is_refused(index, value):
    packet = TelecommandEncoder(D).encode("imu_reset", {"unit": "B"})
    i = index % len(packet)
    forged = packet[:i] + bytes([value]) + packet[i + 1:]
    if forged == packet:
        return
    with pytest.raises(CommandError):
        decode_telecommand(forged, D)  # the CRC catches any one-octet change
