"""The downlink model: rate, priorities, visibility, destruction, light time and random damage.

What validates what:

- Throughput: a saturated link's frames leave every (4 + L) * 8 / rate seconds and the packets
  decoded on the ground (``FrameDecoder``) come in at rate * (L - 8) / (L + 4) octets/s.
- Priorities: with the dictionary's packet mix on a link too slow for it, every packet is either
  received or counted dropped, no priority-1 packet is dropped, and delays grow with the priority
  number.
- Geometry: arrivals are the send time plus the light time the ephemeris gives for the lander's
  site; frames lost to visibility are exactly those sent with the Earth's elevation, computed
  here, below the mask; none arrives after destruction plus light time.
- Randomness: frame losses and flipped bits within 5 sigma of their binomial expectations,
  flipped bits counted by comparing with an error-free run; one seed, one outcome.
"""

from __future__ import annotations

import math
import struct
import time
from datetime import UTC, datetime

import numpy as np
import pytest

from touchdown.errors import LinkError
from touchdown.moon.ephemeris import load_ephemeris
from touchdown.scenario import Scenario, resolve
from touchdown.telemetry.dictionary import load_dictionary
from touchdown.telemetry.frames import FrameDecoder
from touchdown.telemetry.link import LinkConfig, simulate_downlink
from touchdown.telemetry.packets import PacketEncoder

EPOCH = datetime(2023, 4, 25, 15, 40, tzinfo=UTC)
SCID = 0x1A5


def CLCW(t: float) -> bytes:  # noqa: N802  the receiver's CLCW by time: V(R) 7 after 100 s
    return bytes([1, 0, 0, 7 if t > 100.0 else 0])

ATLAS = (np.array([0.0, 1e5]), np.array([47.5, 47.5]), np.array([44.4, 44.4]))
CLEAN = dict(frame_loss_probability=0.0, bit_error_rate=0.0, elevation_mask_deg=-90.0)


@pytest.fixture(scope="module")
def eph():
    return load_ephemeris()


def packet(seq: int, size: int = 100, apid: int = 0x101) -> bytes:
    head = struct.pack(">HHH", 0x0800 | apid, 0xC000 | (seq & 0x3FFF), size - 7)
    return head + seq.to_bytes(4, "big") + bytes(size - 10)


def dictionary_traffic(duration_s: float) -> list[tuple[float, int, bytes]]:
    """Every periodic packet of the telemetry dictionary at its period, in time order."""
    d, enc = load_dictionary(), PacketEncoder()
    out = []
    for i in range(int(duration_s / 0.5)):
        t = 0.5 * i
        for p in d.packets:
            if p.period_s > 0 and math.isclose(t / p.period_s, round(t / p.period_s)):
                out.append((t, p.priority, bytes(enc.encode(p, t, [1.0] * len(p.fields)))))
    return out


def receive(downlink, length: int = 256) -> tuple[list[bytes], list[float], FrameDecoder]:
    dec = FrameDecoder(length, spacecraft_id=SCID)
    got, when = [], []
    for t, wire in downlink.frames:
        new = dec.feed(wire)
        got += new
        when += [t] * len(new)
    return got, when, dec


def test_saturated_link_runs_at_its_rate(eph):
    cfg = LinkConfig(rate_bps=8000.0, frame_length=256, queue_limit_octets=10**7, **CLEAN)
    sent = [(0.0, 3, packet(i)) for i in range(2000)]
    dl = simulate_downlink(sent, ATLAS, cfg, epoch_utc=EPOCH, spacecraft_id=SCID, clcw=CLCW,
                           ephemeris=eph)
    T = (4 + 256) * 8 / 8000.0
    assert np.allclose(np.diff(dl.t_send_s), T, rtol=0, atol=1e-9)
    # every frame carries the receiver's CLCW as it stood when the frame started
    ocfs: list[bytes] = []
    dec = FrameDecoder(256, SCID, on_ocf=ocfs.append)
    for _, wire in dl.frames:
        dec.feed(wire)
    assert ocfs == [CLCW(t - T) for t in dl.t_send_s] and {o[3] for o in ocfs} == {0, 7}
    got, when, _ = receive(dl)
    assert got == [p for _, _, p in sent]  # FIFO within a priority, nothing lost
    octets_per_s = 100 * (len(got) - 1) / (when[-1] - when[0])
    # 244 octets of data a frame: 256 less the header (6), the OCF (4) and the FECF (2)
    assert octets_per_s == pytest.approx(8000.0 / 8 * 244 / 260, rel=2e-3)
    assert dl.stats.frames_sent == dl.stats.frames_delivered == len(dl.frames)
    assert dl.stats.packets_sent == 2000 and dl.stats.packets_unsent == 0


def _delays_by_priority(traffic, got, when) -> dict[int, list[float]]:
    made = {p: (t, prio) for t, prio, p in traffic}
    delays: dict[int, list[float]] = {}
    for p, t in zip(got, when, strict=True):
        delays.setdefault(made[p][1], []).append(t - made[p][0])
    return delays


def test_short_link_delays_high_priority_numbers_more(eph):
    traffic = dictionary_traffic(600.0)  # ~1,190 bit/s of packets: needs ~1,250 bit/s of frames
    cfg = LinkConfig(rate_bps=1100.0, queue_limit_octets=10**7, **CLEAN)
    dl = simulate_downlink(traffic, ATLAS, cfg, epoch_utc=EPOCH, spacecraft_id=SCID, clcw=CLCW,
                           ephemeris=eph)
    got, when, _ = receive(dl)
    assert sorted(got) == sorted(p for _, _, p in traffic)  # late, but all there
    assert dl.stats.packets_dropped == 0
    delays = _delays_by_priority(traffic, got, when)
    assert max(delays[1]) < 1.4 + 3 * cfg.frame_period_s  # the range finder is never held up
    assert np.mean(delays[1]) < np.mean(delays[2]) < np.mean(delays[4])
    assert np.mean(delays[4]) > 60.0  # the backlog is real


def test_full_queue_drops_the_lowest_priority_first_and_counts(eph):
    traffic = dictionary_traffic(600.0)
    cfg = LinkConfig(rate_bps=800.0, queue_limit_octets=6000, **CLEAN)
    dl = simulate_downlink(traffic, ATLAS, cfg, epoch_utc=EPOCH, spacecraft_id=SCID, clcw=CLCW,
                           ephemeris=eph)
    got, when, _ = receive(dl)
    made = {p: prio for _, prio, p in traffic}
    assert len(got) == len(set(got)) and all(p in made for p in got)
    s = dl.stats
    assert s.packets_dropped > 0 and s.packets_unsent == 0  # the queue drains at the end
    assert len(traffic) - len(got) == s.packets_dropped == sum(s.priority_dropped.values())
    assert set(p for _, prio, p in traffic if prio == 1) <= set(got)
    share = {k: v / sum(prio == k for _, prio, _ in traffic)
             for k, v in s.priority_dropped.items()}
    assert 1 not in share and min(share[3], share[4]) > 0.9 > share[2] > 0.1
    delays = _delays_by_priority(traffic, got, when)
    assert np.mean(delays[1]) < np.mean(delays[2])
    # every packet taken from the queue arrived: the longest wait plus light time and at most
    # the frames a packet spans bound the longest delay seen on the ground
    worst = max(max(d) for d in delays.values())
    assert s.max_queue_delay_s < worst < s.max_queue_delay_s + 1.4 + 2 * cfg.frame_period_s


def test_nothing_after_destruction(eph):
    traffic = dictionary_traffic(300.0)
    cfg = LinkConfig(**CLEAN)
    destroyed = 120.3
    dl = simulate_downlink(traffic, ATLAS, cfg, epoch_utc=EPOCH, spacecraft_id=SCID, clcw=CLCW,
                           destroyed_s=destroyed, ephemeris=eph)
    last_arrival = destroyed + eph.light_time_s(EPOCH, destroyed, *(a[0] for a in ATLAS[1:]))
    assert max(t for t, _ in dl.frames) <= last_arrival
    assert dl.t_send_s.max() <= destroyed < dl.t_send_s.max() + cfg.frame_period_s
    assert dl.stats.packets_unsent > 0
    got, _, _ = receive(dl)
    assert all(t < destroyed for t, _, p in traffic if p in set(got))


def test_arrival_is_send_plus_light_time_along_the_path(eph):
    path = (np.array([0.0, 200.0]), np.array([40.0, 47.5]), np.array([30.0, 44.4]))
    cfg = LinkConfig(**CLEAN)
    dl = simulate_downlink(dictionary_traffic(200.0), path, cfg, epoch_utc=EPOCH,
                           spacecraft_id=SCID, clcw=CLCW, ephemeris=eph)
    t_send = dl.t_start_s + (dl.sent_index + 1) * cfg.frame_period_s
    assert np.allclose(dl.t_send_s, t_send, rtol=0, atol=1e-9)
    lat = np.interp(t_send, path[0], path[1])
    lon = np.interp(t_send, path[0], path[2])
    light = eph.light_time_s(EPOCH, t_send, lat, lon)
    t_recv = np.array([t for t, _ in dl.frames])
    assert np.allclose(t_recv - t_send, light, rtol=0, atol=1e-9)
    assert np.all((light > 1.2) & (light < 1.4))


def test_frames_sent_with_the_earth_below_the_mask_are_lost(eph):
    # along the equator from 80 E to 100 E the Earth sets (sub-Earth longitude ~3 E)
    path = (np.array([0.0, 130.0]), np.array([0.0, 0.0]), np.array([80.0, 100.0]))
    cfg = LinkConfig(**{**CLEAN, "elevation_mask_deg": 5.0, "queue_limit_octets": 10**6})
    traffic = [(0.0, 1, packet(i)) for i in range(1000)]
    dl = simulate_downlink(traffic, path, cfg, epoch_utc=EPOCH, spacecraft_id=SCID, clcw=CLCW,
                           ephemeris=eph)
    n = dl.stats.frames_sent
    t_send = dl.t_start_s + (np.arange(n) + 1) * cfg.frame_period_s
    el = eph.earth_elevation_deg(EPOCH, t_send, 0.0, np.interp(t_send, path[0], path[2]))
    assert 0 < dl.stats.frames_lost_visibility < n
    assert dl.stats.frames_lost_visibility == int((el < 5.0).sum())
    assert np.array_equal(dl.sent_index, np.flatnonzero(el >= 5.0))
    far = simulate_downlink(traffic, (ATLAS[0], ATLAS[1], ATLAS[2] + 180.0), cfg,
                            epoch_utc=EPOCH, spacecraft_id=SCID, clcw=CLCW, ephemeris=eph)
    assert far.frames == [] and far.stats.frames_lost_visibility == far.stats.frames_sent > 0


def test_loss_and_bit_errors_are_binomial_and_counted(eph):
    traffic = [(0.0, 1, packet(i, 200)) for i in range(3000)]
    noisy = LinkConfig(frame_loss_probability=0.1, bit_error_rate=1e-4,
                       elevation_mask_deg=-90.0, queue_limit_octets=10**7, seed=3)
    dl = simulate_downlink(traffic, ATLAS, noisy, epoch_utc=EPOCH, spacecraft_id=SCID, clcw=CLCW,
                           ephemeris=eph)
    n, s = dl.stats.frames_sent, dl.stats
    assert n > 2000
    assert abs(s.frames_lost_random - 0.1 * n) < 5 * math.sqrt(n * 0.1 * 0.9)
    nbits = 260 * 8
    bits = s.frames_delivered * nbits
    assert abs(s.bits_flipped - 1e-4 * bits) < 5 * math.sqrt(bits * 1e-4)
    clean = simulate_downlink(traffic, ATLAS, LinkConfig(**{**noisy.__dict__,
                                                            "bit_error_rate": 0.0}),
                              epoch_utc=EPOCH, spacecraft_id=SCID, clcw=CLCW, ephemeris=eph)
    assert np.array_equal(clean.sent_index, dl.sent_index)  # the same frames were lost
    diff = sum(int.from_bytes(bytes(a ^ b for a, b in zip(x, y, strict=True)), "big")
               .bit_count() for (_, x), (_, y) in zip(dl.frames, clean.frames, strict=True))
    assert diff == s.bits_flipped
    assert s.frames_bit_errors == sum(x != y for (_, x), (_, y) in
                                      zip(dl.frames, clean.frames, strict=True))


def test_same_seed_same_output(eph):
    traffic = dictionary_traffic(120.0)
    cfg = LinkConfig(frame_loss_probability=0.05, bit_error_rate=1e-4, seed=7)
    a, b = (simulate_downlink(traffic, ATLAS, cfg, epoch_utc=EPOCH, spacecraft_id=SCID, clcw=CLCW,
                              ephemeris=eph) for _ in range(2))
    assert a.frames == b.frames and a.stats == b.stats
    c = simulate_downlink(traffic, ATLAS, LinkConfig(**{**cfg.__dict__, "seed": 8}),
                          epoch_utc=EPOCH, spacecraft_id=SCID, clcw=CLCW, ephemeris=eph)
    assert c.frames != a.frames


def test_a_75_minute_flight_is_quick(eph):
    traffic = dictionary_traffic(4500.0)
    assert len(traffic) > 19_000
    start = time.perf_counter()
    dl = simulate_downlink(traffic, ATLAS, LinkConfig(), epoch_utc=EPOCH,
                           spacecraft_id=SCID, clcw=CLCW, ephemeris=eph)
    assert time.perf_counter() - start < 2.0
    assert dl.stats.packets_sent == len(traffic)


def test_config_from_scenario_and_bad_values():
    cfg = LinkConfig.from_scenario(Scenario.from_toml(resolve("hakuto-r-m1")), seed=4)
    assert (cfg.rate_bps, cfg.frame_length, cfg.elevation_mask_deg, cfg.seed) == (
        4000.0, 256, 5.0, 4)
    assert cfg.frame_period_s == pytest.approx(0.52)
    with pytest.raises(LinkError, match="rate_bps"):
        LinkConfig(rate_bps=0.0)
    with pytest.raises(LinkError, match="frame_length"):
        LinkConfig(frame_length=8)
    with pytest.raises(LinkError, match="time order"):
        simulate_downlink([(5.0, 1, packet(0)), (1.0, 1, packet(1))], ATLAS, LinkConfig(),
                          epoch_utc=EPOCH, spacecraft_id=SCID, clcw=CLCW)


def test_a_link_run_in_pieces_sends_what_one_run_does(eph):
    """A live flight runs the transmitter chunk by chunk; a recorded one in one go: the same
    frames arrive at the same times (idle frames aside: a live link keeps sending)."""
    from touchdown.telemetry.link import Transmitter

    traffic = dictionary_traffic(60.0)
    cfg = LinkConfig(frame_loss_probability=0.05, bit_error_rate=1e-4, seed=11)
    whole = simulate_downlink(traffic, ATLAS, cfg, epoch_utc=EPOCH, spacecraft_id=SCID, clcw=CLCW,
                              ephemeris=eph)
    tx = Transmitter(cfg, epoch_utc=EPOCH, spacecraft_id=SCID, clcw=CLCW, ephemeris=eph)
    pieces, made, t = [], list(traffic), 0.0
    while made or t < whole.t_send_s[-1] + 1.0:
        t += 0.5
        while made and made[0][0] <= t:
            tx.push(*made.pop(0))
        pieces += tx.run(t, ATLAS)
    assert pieces[:len(whole.frames)] == whole.frames
