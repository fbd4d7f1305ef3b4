"""TM transfer frames: CRC, header layout, packet round trips, and a decoder that survives damage.

What validates what:

- ``crc16`` against the CRC catalogue's check value (0x29B1 for "123456789") and against a
  bit-at-a-time CRC written here from the definition (poly 0x1021, init 0xFFFF, MSB first).
- The header against a bit-level reading of CCSDS 132.0-B-3's field table done here on a string
  of '0'/'1' (not with the module's decoder).
- Round trips: random packets (7 to 700 octets, some longer than a frame) through the encoder,
  the ASM'd stream, and a decoder fed random chunk sizes come back identical and in order.
- Damage: the packets expected to survive are worked out here from where each packet lies in the
  data-field stream; the decoder must return exactly those.
- A hypothesis fuzz: random bytes and random mutations of a valid stream (frames with an OCF,
  as the link sends them) never raise and never produce a packet or an OCF that was not sent.
"""

from __future__ import annotations

import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from touchdown.errors import FrameError
from touchdown.telemetry import frames as frames_module
from touchdown.telemetry.dictionary import load_dictionary
from touchdown.telemetry.frames import (
    ASM,
    DecoderStats,
    FrameDecoder,
    FrameEncoder,
    crc16,
    decode_frame,
)
from touchdown.telemetry.packets import PacketEncoder, decode_packet

SCID = 0x1A5
L = 256
D = L - 8  # data field octets


def crc_bitwise(data: bytes) -> int:
    """CRC-16/CCITT-FALSE one bit at a time, from its definition."""
    crc = 0xFFFF
    for byte in data:
        for i in range(7, -1, -1):
            bit = (byte >> i) & 1
            top = (crc >> 15) & 1
            crc = (crc << 1) & 0xFFFF
            if top ^ bit:
                crc ^= 0x1021
    return crc


def header_fields(frame: bytes) -> dict[str, int]:
    """CCSDS 132.0-B-3 primary header read from a bit string, field by field in the table."""
    bits = "".join(f"{b:08b}" for b in frame[:6])
    table = [("version", 2), ("scid", 10), ("vcid", 3), ("ocf", 1), ("mc", 8), ("vc", 8),
             ("sec", 1), ("sync", 1), ("order", 1), ("seglen", 2), ("fhp", 11)]
    out, at = {}, 0
    for name, width in table:
        out[name] = int(bits[at:at + width], 2)
        at += width
    assert at == 48
    return out


def make_packet(rng: np.random.Generator, seq: int, size: int | None = None) -> bytes:
    """A TM space packet with a random APID (not idle), random length and random data."""
    size = int(rng.integers(7, 700)) if size is None else size
    apid = int(rng.integers(0, 0x7FF))
    head = struct.pack(">HHH", apid, 0xC000 | (seq & 0x3FFF), size - 7)
    return head + rng.bytes(size - 6)


def frames_for(packets: list[bytes], length: int = L, extra_idle: int = 0,
               vcid: int = 0, ocf: bool = False) -> list[bytes]:
    """Push every packet, then frame until the queue is empty (plus some only-idle frames);
    ``ocf``: each frame ends in an OCF holding its own number (octet 3)."""
    enc = FrameEncoder(SCID, vcid=vcid, length=length, ocf=ocf)
    for p in packets:
        enc.push(p)
    frames: list[bytes] = []

    def next_frame() -> bytes:
        return enc.next_frame(bytes([1, 0, 0, len(frames) & 0xFF]) if ocf else b"")

    while enc.pending_octets:
        frames.append(next_frame())
    frames += [next_frame() for _ in range(extra_idle)]
    return frames


def stream_of(frames: list[bytes]) -> bytes:
    return b"".join(ASM + f for f in frames)


def feed_in_chunks(dec: FrameDecoder, stream: bytes, rng: np.random.Generator,
                   max_chunk: int = 700) -> list[bytes]:
    out, at = [], 0
    while at < len(stream):
        n = int(rng.integers(1, max_chunk))
        out += dec.feed(stream[at:at + n])
        at += n
    return out


def spans(packets: list[bytes]) -> list[tuple[int, int]]:
    """Each packet's [start, end) in the data-field stream (packets pushed back to back)."""
    out, at = [], 0
    for p in packets:
        out.append((at, at + len(p)))
        at += len(p)
    return out


def surviving(packets: list[bytes], lost_frames: set[int]) -> list[bytes]:
    """Packets that touch none of the lost frames' data fields."""
    return [p for p, (s, e) in zip(packets, spans(packets), strict=True)
            if not any(s < (f + 1) * D and e > f * D for f in lost_frames)]


@pytest.fixture
def traffic() -> tuple[list[bytes], list[bytes]]:
    rng = np.random.default_rng(11)
    packets = [make_packet(rng, i) for i in range(120)]
    return packets, frames_for(packets)


def test_crc_check_value_and_bitwise_definition():
    assert crc16(b"123456789") == 0x29B1
    assert crc_bitwise(b"123456789") == 0x29B1
    rng = np.random.default_rng(1)
    for n in (0, 1, 5, 254, 1000):
        data = rng.bytes(n)
        assert crc16(data) == crc_bitwise(data)


def test_header_bits_follow_the_standard_table():
    rng = np.random.default_rng(2)
    enc = FrameEncoder(0x3C9, vcid=5, length=L)
    a, b = make_packet(rng, 0, size=100), make_packet(rng, 1, size=400)
    enc.push(a)
    enc.push(b)
    frames = [enc.next_frame() for _ in range(4)]
    fields = [header_fields(f) for f in frames]
    for k, h in enumerate(fields):
        assert (h["version"], h["scid"], h["vcid"], h["ocf"]) == (0, 0x3C9, 5, 0)
        assert h["mc"] == h["vc"] == k
        assert (h["sec"], h["sync"], h["order"], h["seglen"]) == (0, 0, 0, 3)
        assert len(frames[k]) == L
        assert int.from_bytes(frames[k][-2:], "big") == crc_bitwise(frames[k][:-2])
    # Frame 0: packet A at 0, packet B at 100. Frame 1: B continues, no header starts.
    # Frame 2: B ends at 500 - 2 * 248 = 4, where the idle fill packet starts. Frame 3: empty
    # queue, only-idle.
    assert [h["fhp"] for h in fields] == [0, 0x7FF, 4, 0x7FE]
    assert frames[0][6:106] == a and frames[0][106:-2] + frames[1][6:-2] + frames[2][6:10] == b
    idle = frames[2][10:-2]  # the fill: an idle packet (APID 0x7FF) to the end of the frame
    assert int.from_bytes(idle[:2], "big") == 0x07FF  # version 0, TM, no sec. header, idle
    assert int.from_bytes(idle[4:6], "big") == len(idle) - 7
    decoded = decode_frame(frames[2], spacecraft_id=0x3C9)
    assert (decoded.first_header_pointer, decoded.vc_count, decoded.vcid) == (4, 2, 5)


def test_frame_counts_wrap_at_256():
    enc = FrameEncoder(SCID)
    counts = [header_fields(enc.next_frame())["vc"] for _ in range(300)]
    assert counts[255] == 255 and counts[256] == 0 and counts[299] == 43


def test_decode_frame_names_the_problem():
    frame = bytearray(FrameEncoder(SCID).next_frame())
    frame[10] ^= 0x01
    with pytest.raises(FrameError, match="fails its CRC"):
        decode_frame(bytes(frame))
    good = FrameEncoder(SCID).next_frame()
    with pytest.raises(FrameError, match="spacecraft 0x1a5"):
        decode_frame(good, spacecraft_id=0x001)
    with pytest.raises(FrameError, match="frames are 512"):
        decode_frame(good, length=512)
    with pytest.raises(FrameError, match="use a length"):
        FrameEncoder(SCID, length=4000)
    with pytest.raises(FrameError, match="whole space packet"):
        FrameEncoder(SCID).push(b"\x01\x01\xc0\x00\x00\x09abc")


@pytest.mark.parametrize("length", [64, 256, 1115])
def test_round_trip_random_packets_random_chunks(length: int):
    rng = np.random.default_rng(length)
    packets = [make_packet(rng, i) for i in range(300)]
    enc = FrameEncoder(SCID, length=length)
    frames = []
    for p in packets:  # interleave pushes and frames so the queue runs dry now and then
        enc.push(p)
        while enc.pending_octets > int(rng.integers(0, 3 * length)):
            frames.append(enc.next_frame())
        if rng.random() < 0.1:  # run dry: idle fill, then an only-idle frame
            while enc.pending_octets:
                frames.append(enc.next_frame())
            frames.append(enc.next_frame())
    while enc.pending_octets:
        frames.append(enc.next_frame())
    dec = FrameDecoder(length, spacecraft_id=SCID)
    out = feed_in_chunks(dec, stream_of(frames), rng)
    assert out == packets
    s = dec.stats
    assert s.frames_ok == len(frames) and s.packets == len(packets)
    assert s.frames_bad_crc == s.frames_lost == s.garbage_octets == 0
    assert s.idle_frames == sum(header_fields(f)["fhp"] == 0x7FE for f in frames) > 0
    assert s.packets_dropped_incomplete == 0


def test_dictionary_packets_survive_framing():
    dictionary = load_dictionary()
    penc = PacketEncoder()
    sent = [penc.encode(p, 0.5 * k, [1.0] * len(p.fields))
            for k in range(40) for p in dictionary.packets]
    dec = FrameDecoder(L, spacecraft_id=dictionary.spacecraft_id)
    out = dec.feed(stream_of(frames_for(sent)))
    assert out == sent
    assert [decode_packet(p, dictionary).name for p in out[:len(dictionary.packets)]] == [
        p.name for p in dictionary.packets]


def test_flipped_bits_lose_that_frame_only(traffic):
    packets, frames = traffic
    bad = 7
    damaged = [bytearray(f) for f in frames]
    damaged[bad][40] ^= 0x10
    damaged[bad][200] ^= 0x81
    dec = FrameDecoder(L, spacecraft_id=SCID)
    out = dec.feed(stream_of([bytes(f) for f in damaged]))
    expected = surviving(packets, {bad})
    assert len(expected) < len(packets)
    assert out == expected
    assert dec.stats.frames_bad_crc == 1
    assert dec.stats.frames_ok == len(frames) - 1
    assert dec.stats.frames_lost == 1  # the rejected frame is missing from the count sequence
    assert dec.stats.garbage_octets == L + 4


def test_dropped_frame_is_a_gap_and_its_partial_packet_goes(traffic):
    packets, frames = traffic
    boundaries = {s for s, _ in spans(packets)}
    drop = next(f for f in range(5, len(frames)) if f * D not in boundaries)  # mid-packet
    dec = FrameDecoder(L, spacecraft_id=SCID)
    out = dec.feed(stream_of(frames[:drop] + frames[drop + 1:]))
    assert out == surviving(packets, {drop})
    assert dec.stats.frames_lost == 1 and dec.stats.gaps == 1
    assert dec.stats.packets_dropped_incomplete == 1
    assert dec.stats.frames_bad_crc == 0


def test_garbage_between_frames_costs_nothing(traffic):
    packets, frames = traffic
    rng = np.random.default_rng(5)
    junk = [rng.bytes(33), ASM + rng.bytes(50), ASM[:3], ASM + frames[4][:100], b"\x1a\xcf"]
    stream, at = b"", 0
    for k, f in enumerate(frames):
        if k % 9 == 3:
            stream += junk[at % len(junk)]
            at += 1
        stream += ASM + f
    dec = FrameDecoder(L, spacecraft_id=SCID)
    out = feed_in_chunks(dec, stream, rng, max_chunk=97)
    assert out == packets
    assert dec.stats.frames_ok == len(frames) and dec.stats.frames_lost == 0
    assert dec.stats.garbage_octets == len(stream) - len(frames) * (L + 4)
    # The false ASMs followed by the start of a real frame (this link's header) fail the CRC;
    # those followed by noise or by another ASM are no frame candidates at all.
    assert dec.stats.frames_bad_crc == sum(k % 9 == 3 and (k // 9) % len(junk) == 3
                                           for k in range(len(frames))) >= 2
    assert dec.stats.frames_bad_header == 0


def test_truncated_stream_returns_what_is_whole_and_resumes(traffic):
    packets, frames = traffic
    stream = stream_of(frames)
    cut = 10 * (L + 4) + 123
    dec = FrameDecoder(L, spacecraft_id=SCID)
    first = dec.feed(stream[:cut])
    assert first == [p for p, (_, e) in zip(packets, spans(packets), strict=True) if e <= 10 * D]
    assert first + dec.feed(stream[cut:]) == packets


def test_other_spacecraft_frames_are_refused(traffic):
    _, frames = traffic
    dec = FrameDecoder(L, spacecraft_id=0x001)
    assert dec.feed(stream_of(frames)) == []
    assert dec.stats.frames_bad_header == len(frames) and dec.stats.frames_ok == 0


class _CountingHeader:
    """Stands in for the module's header struct, counting the headers the decoder reads."""

    def __init__(self, real) -> None:
        self.real, self.reads = real, 0

    def unpack_from(self, *args):
        self.reads += 1
        return self.real.unpack_from(*args)

    def pack(self, *args):
        return self.real.pack(*args)


def test_runs_of_sync_markers_cost_no_crc_and_no_frame(traffic, monkeypatch):
    """256 KiB of sync markers back to back around good frames: no marker is a frame candidate
    (its "header" is the next marker, OCF flag set), none reaches the CRC or on_frame, all are
    counted as discarded octets, and the decoder reads a few headers per chunk, not one per
    marker (65,536 here)."""
    packets, frames = traffic
    header, crcs = _CountingHeader(frames_module._HEADER), []
    monkeypatch.setattr(frames_module, "_HEADER", header)
    real_crc = frames_module.crc16
    monkeypatch.setattr(frames_module, "crc16", lambda b: crcs.append(1) or real_crc(b))
    junk = ASM * 65_536
    stream = junk[:100_001] + b"".join(ASM + f for f in frames[:20]) + junk[100_001:] + b"".join(
        ASM + f for f in frames[20:])
    seen, dropped = [], []
    dec = FrameDecoder(L, SCID, lambda f, ok: seen.append(ok), on_junk=dropped.append)
    out = []
    for at in range(0, len(stream), 16_384):
        out += dec.feed(stream[at:at + 16_384])
    assert out == packets
    s = dec.stats
    assert s.frames_ok == len(frames) and s.frames_bad_crc == s.frames_bad_header == 0
    assert seen == [True] * len(frames) and len(crcs) == len(frames)
    assert s.garbage_octets == dec.octets_discarded == len(junk) == sum(map(len, dropped))
    assert b"".join(dropped) == junk  # the junk as it came, in order
    assert dec.octets_fed == len(stream)
    assert header.reads < 4 * (len(stream) // 16_384 + len(frames))


def test_only_candidates_with_this_links_header_reach_the_crc(traffic):
    _, frames = traffic
    rng = np.random.default_rng(3)
    damaged = bytearray(frames[1])
    damaged[77] ^= 0x40  # this link's header, a failed CRC: a bad frame
    bad_version = bytearray(frames[2])
    bad_version[0] |= 0x40  # version 1: no frame of this link, whatever its CRC
    with_sync = bytearray(frames[3])
    with_sync[4] |= 0x40  # synchronisation flag set: no frame of this link
    fhp_out = bytearray(frames[4])
    fhp_out[4:6] = (0x1800 | (D + 5)).to_bytes(2, "big")  # first header pointer past the data
    candidates = [bytes(x) for x in (damaged, bad_version, with_sync, fhp_out)]
    noise = rng.bytes(300)
    stream = ASM + frames[0] + b"".join(ASM + c for c in candidates) + noise + ASM + frames[5]
    seen = []
    dec = FrameDecoder(L, SCID, lambda f, ok: seen.append((f, ok)))
    dec.feed(stream)
    s = dec.stats
    assert s.frames_ok == 2 and s.frames_bad_crc == 1 and s.frames_bad_header == 0
    assert seen == [(frames[0], True), (bytes(damaged), False), (frames[5], True)]
    assert s.garbage_octets == 4 * (L + 4) + len(noise)
    assert s.frames_lost == 4  # frames 1 to 4 of the count sequence never came


def test_decoders_share_their_stats_and_keep_their_own_stream_counts(traffic):
    packets, frames = traffic
    shared = DecoderStats()
    rng = np.random.default_rng(8)
    noise = rng.bytes(1000)
    a = FrameDecoder(L, SCID, stats=shared)
    b = FrameDecoder(L, SCID, stats=shared)
    assert a.feed(stream_of(frames)) == packets
    junk: list[bytes] = []
    b.on_junk = junk.append
    assert b.feed(noise + stream_of(frames[:3])) == [
        p for p, (_, e) in zip(packets, spans(packets), strict=True) if e <= 3 * D]
    assert a.stats is b.stats is shared
    assert shared.frames_ok == len(frames) + 3 and shared.garbage_octets == len(noise)
    assert (a.octets_fed, a.octets_discarded) == (len(frames) * (L + 4), 0)
    assert (b.octets_fed, b.octets_discarded) == (len(noise) + 3 * (L + 4), len(noise))
    assert b"".join(junk) == noise


def test_noise_alone_is_discarded_to_the_octet(traffic):
    noise = np.random.default_rng(12).bytes(50_000)
    dropped: list[bytes] = []
    dec = FrameDecoder(L, SCID, on_junk=dropped.append)
    for at in range(0, len(noise), 4096):
        assert dec.feed(noise[at:at + 4096]) == []
    # The last three octets wait: a sync marker may straddle them and the next chunk.
    assert dec.stats.garbage_octets == len(noise) - 3 and b"".join(dropped) == noise[:-3]
    assert dec.stats.frames_bad_crc == dec.stats.frames_bad_header == dec.stats.frames_ok == 0


_RNG = np.random.default_rng(99)
_PACKETS = [make_packet(_RNG, i) for i in range(25)]
_FRAMES = frames_for(_PACKETS, length=64, extra_idle=2, ocf=True)  # as the link sends them
_STREAM = stream_of(_FRAMES)
_SENT = set(_PACKETS)
_OCFS = {f[-6:-2] for f in _FRAMES}

mutation = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, len(_STREAM) - 1), st.integers(1, 255)),
    st.tuples(st.just("delete"), st.integers(0, len(_STREAM) - 1), st.integers(1, 300)),
    st.tuples(st.just("insert"), st.integers(0, len(_STREAM) - 1), st.binary(max_size=80)),
    st.tuples(st.just("copy"), st.integers(0, len(_STREAM) - 1), st.integers(1, 300)),
)


def mutate(stream: bytes, ops) -> bytes:
    s = bytearray(stream)
    for op, at, arg in ops:
        at = min(at, len(s))
        if op == "flip" and at < len(s):
            s[at] ^= arg
        elif op == "delete":
            del s[at:at + arg]
        elif op == "insert":
            s[at:at] = arg
        elif op == "copy":
            s[at:at] = s[at:at + arg]
    return bytes(s)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=st.lists(mutation, max_size=6), chunks=st.lists(st.integers(1, 400), min_size=1),
       noise=st.binary(max_size=600))
def test_fuzz_never_raises_and_never_invents_packets(ops, chunks, noise):
    for stream in (noise, mutate(_STREAM, ops), noise + _STREAM[:500]):
        ocfs: list[bytes] = []
        dec = FrameDecoder(64, spacecraft_id=SCID, on_ocf=ocfs.append)
        out, at, k = [], 0, 0
        while at < len(stream):
            n = chunks[k % len(chunks)]
            out += dec.feed(stream[at:at + n])
            at, k = at + n, k + 1
        assert all(p in _SENT for p in out) and all(o in _OCFS for o in ocfs)
        assert dec.stats.packets == len(out)
    if not ops:
        ocfs = []
        assert FrameDecoder(64, SCID, on_ocf=ocfs.append).feed(_STREAM) == _PACKETS
        assert ocfs == [f[-6:-2] for f in _FRAMES]


def test_the_operational_control_field_rides_at_the_end_of_each_frame():
    """Frames with an OCF (flag set, 4 octets before the FECF, the data field 4 shorter) and
    frames without one decode alike, packets across both; each accepted frame's OCF goes to
    ``on_ocf`` in order, a corrupted frame's never."""
    rng = np.random.default_rng(7)
    packets = [make_packet(rng, i, size=300) for i in range(4)]
    with_ocf = FrameEncoder(SCID, length=L, ocf=True)
    for p in packets:
        with_ocf.push(p)
    words = [bytes([1, 0, 0, k]) for k in range(6)]
    frames = [with_ocf.next_frame(w) for w in words]
    h = header_fields(frames[0])
    assert h["ocf"] == 1 and frames[0][-6:-2] == words[0] and with_ocf.data_length == D - 4
    decoded = decode_frame(frames[1], spacecraft_id=SCID)
    assert decoded.ocf == words[1] and len(decoded.data) == D - 4
    assert decode_frame(FrameEncoder(SCID).next_frame()).ocf is None
    with pytest.raises(FrameError, match="4 octets of OCF"):
        with_ocf.next_frame()
    with pytest.raises(FrameError, match="0 octets of OCF"):
        FrameEncoder(SCID).next_frame(words[0])
    damaged = bytearray(frames[4])
    damaged[-4] ^= 0x40  # the OCF itself: the CRC covers it
    seen: list[bytes] = []
    dec = FrameDecoder(L, SCID, on_ocf=seen.append)
    out = dec.feed(b"".join(ASM + f for f in (*frames[:4], bytes(damaged), frames[5])))
    assert seen == [words[k] for k in (0, 1, 2, 3, 5)]
    # packets 0-2 end within the first four frames' data; the damaged frame loses packet 3
    assert out == packets[:3] and dec.stats.frames_bad_crc == 1
