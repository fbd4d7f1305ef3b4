"""COP-1: the lander's FARM accepts frames in order only, refuses repeats and replays, locks
out on nonsense and reports in its CLCW; the ground's FOP resends until acknowledged, so over a
lossy link every command arrives once and in order."""

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from touchdown.telemetry.cop import Farm, Fop
from touchdown.telemetry.tc_frames import TcFrame, decode_tc_frame, encode_tc_frame

SCID = 0x1A5


def ad(seq: int, data: bytes = b"x") -> TcFrame:
    return TcFrame(SCID, 0, seq, data)


def test_the_farm_accepts_in_order_and_refuses_repeats_gaps_and_nonsense():
    farm = Farm(0, window=10)
    assert farm.receive(ad(0)).accepted and farm.receive(ad(1)).accepted
    repeat = farm.receive(ad(1))  # a replay of an accepted frame
    assert not repeat.accepted and "already accepted" in repeat.reason
    assert farm.clcw().report_value == 2 and not farm.clcw().retransmit
    gap = farm.receive(ad(4))  # 2 and 3 were lost
    assert not gap.accepted and farm.clcw().retransmit and farm.v_r == 2
    assert farm.receive(ad(2)).accepted and not farm.clcw().retransmit
    far = farm.receive(ad(200))
    assert not far.accepted and "lockout" in far.reason and farm.clcw().lockout
    assert not farm.receive(ad(3)).accepted  # in lockout even the expected frame is refused
    bypass = TcFrame(SCID, 0, 0, b"y", bypass=True)
    assert farm.receive(bypass).accepted  # type-B frames pass in lockout
    assert farm.receive(TcFrame(SCID, 0, 0, b"\x00", bypass=True, control=True)).accepted
    assert not farm.clcw().lockout and farm.receive(ad(3)).accepted
    assert farm.clcw().farm_b_counter == 2
    assert farm.receive(TcFrame(SCID, 0, 0, b"\x82\x00\x09", True, True)).accepted
    assert farm.v_r == 9 and farm.receive(ad(9)).accepted
    assert not farm.receive(TcFrame(SCID, 1, 10, b"x")).accepted  # another virtual channel


def test_the_fop_resends_what_the_clcw_asks_for_and_holds_the_window():
    fop, farm = Fop(SCID, 0, window=3, t1_s=10.0), Farm(0, window=10)
    sent = [fop.submit(bytes([k]), 0.0) for k in range(5)]
    assert [len(s) for s in sent] == [1, 1, 1, 0, 0]  # three outstanding at most
    farm.receive(decode_tc_frame(sent[0][0], SCID))
    farm.receive(decode_tc_frame(sent[2][0], SCID))  # frame 1 was lost
    resent = fop.on_clcw(farm.clcw(), 1.0)  # acknowledges 0, asks for the rest
    assert [decode_tc_frame(f, SCID).seq for f in resent] == [1, 2, 3]  # 1, 2 again, 3 new
    assert fop.on_clcw(farm.clcw(), 1.5) == []  # the same request is answered once
    for f in resent:
        farm.receive(decode_tc_frame(f, SCID))
    assert [decode_tc_frame(f, SCID).seq for f in fop.on_clcw(farm.clcw(), 2.0)] == [4]
    assert fop.tick(5.0) == [] and len(fop.tick(12.1)) == 1  # T1 resends the unacknowledged


def test_the_fop_stops_on_lockout_and_on_its_limit_and_an_unlock_recovers():
    fop, farm = Fop(SCID, 0, window=2, t1_s=1.0, limit=2), Farm(0, window=10)
    farm.receive(ad(100))  # nonsense put the lander in lockout
    fop.submit(b"a", 0.0)
    assert fop.on_clcw(farm.clcw(), 0.5) == [] and "lockout" in fop.alert
    assert fop.submit(b"b", 0.6) == []  # nothing new goes while the alert stands
    assert farm.receive(decode_tc_frame(fop.unlock(), SCID)).accepted
    assert len(fop.resume(0.7)) == 1  # "b" goes now
    assert len(fop.tick(2.0)) == 2  # both resent: "a"'s second transmission
    assert fop.tick(4.0) == [] and "sent 2 times" in fop.alert


@settings(max_examples=60, deadline=None)
@given(hs.integers(0, 2**32 - 1), hs.floats(0.0, 0.6))
def test_over_a_lossy_link_every_command_arrives_once_and_in_order(seed, loss):
    """Frames up and CLCWs down are each lost with probability ``loss``; the FOP's resends and
    timer deliver every packet to the lander exactly once, in the order given."""
    rng = random.Random(seed)
    fop, farm = Fop(SCID, 0, window=4, t1_s=3.0, limit=1000), Farm(0, window=10)
    packets = [bytes([k]) for k in range(30)]
    delivered, t, pending = [], 0.0, list(packets)
    while len(delivered) < len(packets) and t < 2000.0:
        frames = fop.submit(pending.pop(0), t) if pending else []
        frames += fop.tick(t)
        for octets in frames:
            if rng.random() >= loss:
                frame = decode_tc_frame(octets, SCID)
                if farm.receive(frame).accepted:
                    delivered.append(frame.data)
        if rng.random() >= loss:
            for octets in fop.on_clcw(farm.clcw(), t):
                if rng.random() >= loss:
                    frame = decode_tc_frame(octets, SCID)
                    if farm.receive(frame).accepted:
                        delivered.append(frame.data)
        t += 1.0
    assert delivered == packets and not fop.alert


@settings(max_examples=300, deadline=None)
@given(hs.lists(hs.tuples(hs.integers(0, 255), hs.booleans(), hs.booleans(),
                          hs.binary(min_size=1, max_size=4)), max_size=40))
def test_fuzz_the_farm_takes_any_frame_sequence_without_failing(frames):
    farm = Farm(0, window=10)
    for seq, bypass, control, data in frames:
        octets = encode_tc_frame(TcFrame(SCID, 0, seq, data, bypass or control, control))
        result = farm.receive(decode_tc_frame(octets, SCID))
        assert result.accepted or result.reason
        clcw = farm.clcw()
        assert 0 <= clcw.report_value < 256 and 0 <= clcw.farm_b_counter < 4


@pytest.mark.parametrize("window", [2, 10, 254])
def test_the_window_splits_evenly_ahead_and_behind(window):
    farm = Farm(0, window)
    assert farm.positive == farm.negative == window // 2
