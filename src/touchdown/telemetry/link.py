"""The downlink: onboard packets through a priority queue, TM frames, the radio and space (shell).

Model, in the order things happen:

1. Packets made onboard, ``(t_s, priority, packet)`` in time order, join a priority queue when
   they are made: lower priority number first, first in first out within a priority. When the
   queue holds more than ``queue_limit_octets``, the oldest packets of the lowest priority
   (largest number) present are dropped and counted.
2. The transmitter starts with the first packet and sends ASM + frame back to back at
   ``rate_bps``: frame k occupies ``[t0 + k T, t0 + (k + 1) T)`` with
   ``T = (4 + frame_length) * 8 / rate_bps``. When frame k starts it takes packets from the queue
   into the framer (``FrameEncoder``) until a frame's worth is committed, so a packet waits at
   most one frame behind packets of a higher priority that came later. An empty queue gives idle
   fill (see ``touchdown.telemetry.frames``), or, when the transmitter has a ``filler`` (the
   imaging task), with what it gives for the room left (an image's octets): the frames then
   carry the same telemetry as without it, in the same places. Every frame ends in an
   operational control
   field: the command receiver's CLCW as it stood when the frame started. It stops when every
   packet made before the end has been sent and the filler has nothing more, or at the
   destruction of the lander (loss of signal): a frame being sent then is cut off and lost,
   and what is still queued is never sent.
3. A frame is sent at the end of its slot (``t_send_s``, when its last bit leaves). Sent while
   the Earth is below ``elevation_mask_deg`` at the lander's position, it is lost. Otherwise it
   is lost at random with ``frame_loss_probability``, and each of its bits (ASM included) is
   flipped with probability ``bit_error_rate``. The random draws come from two streams
   spawned from the seed (losses, bit errors), drawn for every frame sent in order whatever the
   visibility, so a seed gives one outcome, whether the link runs in one go (a recorded
   flight) or chunk by chunk (a live one: ``Transmitter``).
4. A frame that survives arrives at ``t_send_s`` plus the one-way light time from the lander's
   site (on the 1737.4 km sphere) to the Earth's centre, from DE421 (``touchdown.moon.ephemeris``).

Times are seconds after the scenario epoch.
"""

from __future__ import annotations

import math
from bisect import insort
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import numpy as np

from touchdown.errors import LinkError
from touchdown.telemetry.frames import ASM, LENGTH_MAX, LENGTH_MIN, FrameEncoder

PathFunction = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
ClcwFunction = Callable[[float], bytes]  # the CLCW (4 octets) at a time (s)


class Filler(Protocol):
    """What fills a frame's room the telemetry leaves (the imaging task)."""

    @property
    def pending(self) -> bool:
        """Whether it has more to send."""

    def fill(self, room: int, t: float) -> bytes | None:
        """A whole packet of at most ``room`` octets for a frame starting at t (s), or None."""
FRAMES_MAX = 20_000_000  # a guard: ~4 days at 4 kbit/s with 256-octet frames


@dataclass(frozen=True)
class LinkConfig:
    """Downlink settings (the scenario's ``[link]`` section).

    Parameters
    ----------
    rate_bps : float
        Channel bit rate (bit/s), ASM and frames back to back.
    frame_length : int
        TM frame length (octets), header and FECF included.
    frame_loss_probability : float
        Probability a frame is lost (-).
    bit_error_rate : float
        Probability each bit of a delivered frame is flipped (-).
    elevation_mask_deg : float
        Frames sent while the Earth is lower than this (deg) are lost.
    queue_limit_octets : int
        Octets the onboard queue holds before it drops packets.
    seed : int
        Seed of the loss and bit-error draws.
    """

    rate_bps: float = 4000.0
    frame_length: int = 256
    frame_loss_probability: float = 1e-3
    bit_error_rate: float = 1e-6
    elevation_mask_deg: float = 5.0
    queue_limit_octets: int = 65536
    seed: int | np.random.SeedSequence = 0

    def __post_init__(self) -> None:
        checks = (
            ("rate_bps", self.rate_bps > 0, "must be > 0; give the bit rate in bit/s"),
            ("frame_length", LENGTH_MIN <= self.frame_length <= LENGTH_MAX,
             f"must be {LENGTH_MIN}..{LENGTH_MAX} octets; 256 is usual at low rates"),
            ("frame_loss_probability", 0.0 <= self.frame_loss_probability <= 1.0,
             "must be a probability, 0..1"),
            ("bit_error_rate", 0.0 <= self.bit_error_rate <= 0.5, "must be 0..0.5"),
            ("elevation_mask_deg", -90.0 <= self.elevation_mask_deg <= 90.0,
             "must be -90..90 deg"),
            ("queue_limit_octets", self.queue_limit_octets >= 0, "must be >= 0 octets"),
        )
        for name, ok, fix in checks:
            if not ok:
                raise LinkError(f"link {name} = {getattr(self, name)!r} {fix}")

    @property
    def frame_period_s(self) -> float:
        """Time to send one ASM + frame (s)."""
        return (len(ASM) + self.frame_length) * 8.0 / self.rate_bps

    @classmethod
    def from_scenario(cls, scenario: Any,
                      seed: int | np.random.SeedSequence = 0) -> LinkConfig:
        """The ``[link]`` section of a ``touchdown.scenario.Scenario``, with a seed."""
        return cls(rate_bps=scenario["link.rate_bps"],
                   frame_length=int(scenario["link.frame_length_octets"]),
                   frame_loss_probability=scenario["link.frame_loss_probability"],
                   bit_error_rate=scenario["link.bit_error_rate"],
                   elevation_mask_deg=scenario["link.elevation_mask_deg"],
                   queue_limit_octets=int(scenario["link.queue_limit_octets"]),
                   seed=seed)


@dataclass
class LinkStats:
    """What happened on the link (counts; times in s)."""

    frames_sent: int = 0  # frames whose last bit left before loss of signal
    frames_lost_visibility: int = 0  # sent with the Earth below the mask
    frames_lost_random: int = 0  # lost on the way (frame_loss_probability)
    frames_lost_destruction: int = 0  # cut off by the destruction (0 or 1)
    frames_delivered: int = 0
    frames_bit_errors: int = 0  # delivered with one bit flipped or more
    bits_flipped: int = 0
    packets_queued: int = 0  # packets made before loss of signal
    packets_dropped: int = 0  # dropped by the queue limit
    packets_sent: int = 0  # wholly framed into frames that were sent
    packets_unsent: int = 0  # still on board at loss of signal (or made after it)
    max_queue_delay_s: float = 0.0  # longest wait from made to first octet framed
    priority_dropped: dict[int, int] = field(default_factory=dict)  # priority: packets dropped


@dataclass
class Downlink:
    """The frames that reach the ground and how the link treated the traffic.

    ``frames[i] = (t_receive_s, ASM + frame)``, in order of arrival; ``t_send_s[i]`` and
    ``sent_index[i]`` give the send time and the transmission slot of each.
    """

    frames: list[tuple[float, bytes]]
    t_send_s: np.ndarray
    sent_index: np.ndarray
    t_start_s: float
    stats: LinkStats


class _PriorityQueue:
    """Packets by priority, FIFO within one, with an octet limit that drops the least wanted."""

    def __init__(self, limit: int, stats: LinkStats) -> None:
        self.limit, self.stats = limit, stats
        self.octets = 0
        self._lanes: dict[int, deque[tuple[float, bytes]]] = {}
        self._busy: list[int] = []  # priorities with packets, ascending

    def push(self, t: float, priority: int, packet: bytes) -> None:
        lane = self._lanes.setdefault(priority, deque())
        if not lane:
            insort(self._busy, priority)
        lane.append((t, packet))
        self.octets += len(packet)
        while self.octets > self.limit:
            worst = self._busy[-1]
            self._take(worst)
            self.stats.packets_dropped += 1
            self.stats.priority_dropped[worst] = self.stats.priority_dropped.get(worst, 0) + 1

    def pop(self) -> tuple[float, bytes]:
        return self._take(self._busy[0])

    def _take(self, priority: int) -> tuple[float, bytes]:
        lane = self._lanes[priority]
        item = lane.popleft()
        if not lane:
            self._busy.remove(priority)
        self.octets -= len(item[1])
        return item

    def __bool__(self) -> bool:
        return bool(self._busy)


def _path_at(path: PathFunction | tuple[Sequence[float], Sequence[float], Sequence[float]],
             t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if callable(path):
        lat, lon = path(t)
        return (np.broadcast_to(np.asarray(lat, dtype=float), t.shape),
                np.broadcast_to(np.asarray(lon, dtype=float), t.shape))
    try:
        tp, latp, lonp = (np.asarray(a, dtype=float) for a in path)
    except (TypeError, ValueError):
        raise LinkError("path must be a function t_s -> (lat_deg, lon_deg) or three arrays "
                        "(t_s, lat_deg, lon_deg)") from None
    if not (tp.ndim == 1 and tp.shape == latp.shape == lonp.shape and tp.size > 0):
        raise LinkError(f"path arrays must be 1-D and of one length, got shapes {tp.shape}, "
                        f"{latp.shape}, {lonp.shape}")
    if np.any(np.diff(tp) <= 0):
        raise LinkError("path t_s must increase strictly; sort the samples by time")
    lon_cont = np.degrees(np.unwrap(np.radians(lonp)))
    return np.interp(t, tp, latp), np.interp(t, tp, lon_cont)


class Transmitter:
    """The downlink frame by frame as time passes: packets pushed as they are made, frames sent
    back to back from the first packet on (see the module's model), delivered with their
    arrival times. ``simulate_downlink`` runs one to the end; a live flight runs one chunk by
    chunk (``run(until_s)``), its idle frames included.

    The random draws (loss, the bits flipped) are made per frame sent, in order, whatever the
    visibility, from two streams spawned from ``config.seed`` (losses, bit errors): a seed
    gives one outcome, run in one go or in pieces. ``clcw`` gives the command receiver's CLCW
    at a frame's start, for its operational control field; ``filler`` fills the room the
    telemetry leaves.
    """

    def __init__(self, config: LinkConfig, *, epoch_utc: datetime, spacecraft_id: int,
                 clcw: ClcwFunction, ephemeris: Any = None, vcid: int = 0,
                 filler: Filler | None = None) -> None:
        if ephemeris is None:
            from touchdown.moon.ephemeris import load_ephemeris

            ephemeris = load_ephemeris()
        self.config, self.epoch_utc, self.ephemeris = config, epoch_utc, ephemeris
        self.stats = LinkStats()
        self.encoder = FrameEncoder(spacecraft_id, vcid=vcid, length=config.frame_length,
                                    ocf=True)
        self.clcw, self.filler = clcw, filler
        self.queue = _PriorityQueue(config.queue_limit_octets, self.stats)
        self.t0: float | None = None  # the first packet's time: the first slot starts then
        self.k = 0  # slots done
        self.ended = False  # loss of signal, or (run to the end) nothing left to send
        self.t_send: list[float] = []  # of the frames delivered
        self.sent_index: list[int] = []
        self._made: deque[tuple[float, int, bytes]] = deque()  # made, not yet queued
        self._pushed = 0
        seq = (config.seed if isinstance(config.seed, np.random.SeedSequence)
               else np.random.SeedSequence(config.seed))
        # losses and bit errors from streams of their own: the same frames are lost whatever
        # the bit error rate
        self._loss_rng, self._bit_rng = (np.random.default_rng(s) for s in seq.spawn(2))
        self._nbits = (len(ASM) + config.frame_length) * 8

    def push(self, t_s: float, priority: int, packet: bytes) -> None:
        """A packet made onboard at t_s (pushes come in time order)."""
        if not math.isfinite(t_s) or (self._made and t_s < self._made[-1][0]):
            raise LinkError("packets must be given in time order with finite times; sort them "
                            "by t_s")
        if self.t0 is None:
            self.t0 = t_s
        self._made.append((t_s, int(priority), bytes(packet)))
        self._pushed += 1

    def run(self, until_s: float, path: PathFunction | tuple[Sequence[float], ...],
            destroyed_s: float | None = None, *, to_the_end: bool = False,
            ) -> list[tuple[float, bytes]]:
        """Send the frames whose slots end by until_s (all of them, ``to_the_end``, until
        nothing is left); returns those delivered: (arrival s, ASM + frame), in order sent.
        ``path`` gives the lander's position for visibility and light time; nothing is sent
        from ``destroyed_s`` on (a frame under way then is cut off)."""
        if self.t0 is None or self.ended:
            return []
        T = self.config.frame_period_s
        los = math.inf if destroyed_s is None else float(destroyed_s)
        data_len = self.encoder.data_length
        frames: list[bytes] = []
        slots: list[int] = []
        while True:
            start = self.t0 + self.k * T
            if start + T > los:
                if start < los:
                    self.stats.frames_lost_destruction = 1
                self.ended = True
                break
            if not to_the_end and start + T > until_s:
                break
            while self._made and self._made[0][0] <= start:
                t_p, prio, pkt = self._made.popleft()
                if t_p < los:
                    self.stats.packets_queued += 1
                    self.queue.push(t_p, prio, pkt)
            if (to_the_end and (not self._made or self._made[0][0] >= los) and not self.queue
                    and self.encoder.pending_octets == 0
                    and not (self.filler is not None and self.filler.pending)):
                self.ended = True
                break
            while self.queue and self.encoder.pending_octets < data_len:
                t_p, pkt = self.queue.pop()
                self.stats.max_queue_delay_s = max(self.stats.max_queue_delay_s, start - t_p)
                self.encoder.push(pkt)
            room = data_len - self.encoder.pending_octets
            while self.filler is not None and room > 0:  # what would be idle fill
                pkt = self.filler.fill(room, start)
                if pkt is None:
                    break
                self.encoder.push(pkt, counted=False)  # (the filler counts its own)
                room -= len(pkt)
            frames.append(self.encoder.next_frame(self.clcw(start)))
            slots.append(self.k)
            self.k += 1
            if self.k > FRAMES_MAX:
                raise LinkError(f"the link would send over {FRAMES_MAX} frames; shorten the "
                                "packet times' span or raise rate_bps")
        return self._deliver(frames, slots, path)

    def _deliver(self, frames: list[bytes], slots: list[int],
                 path: PathFunction | tuple[Sequence[float], ...]) -> list[tuple[float, bytes]]:
        stats, n = self.stats, len(frames)
        stats.frames_sent += n
        stats.packets_sent = self.encoder.packets_framed
        if not n:
            return []
        assert self.t0 is not None
        t_send = self.t0 + (np.asarray(slots) + 1.0) * self.config.frame_period_s
        lat, lon = _path_at(path, t_send)
        elevation = np.asarray(self.ephemeris.earth_elevation_deg(self.epoch_utc, t_send, lat,
                                                                  lon))
        light = np.asarray(self.ephemeris.light_time_s(self.epoch_utc, t_send, lat, lon))
        out: list[tuple[float, bytes]] = []
        for i, frame in enumerate(frames):  # the draws: every frame, in order
            lost = self._loss_rng.random() < self.config.frame_loss_probability
            n_flips = int(self._bit_rng.binomial(self._nbits, self.config.bit_error_rate))
            bits = (self._bit_rng.choice(self._nbits, size=n_flips, replace=False) if n_flips
                    else None)
            if elevation[i] < self.config.elevation_mask_deg:
                stats.frames_lost_visibility += 1
                continue
            if lost:
                stats.frames_lost_random += 1
                continue
            wire = ASM + frame
            if bits is not None:
                buf = np.frombuffer(wire, dtype=np.uint8).copy()
                np.bitwise_xor.at(buf, bits // 8, (0x80 >> (bits % 8)).astype(np.uint8))
                wire = buf.tobytes()
                stats.frames_bit_errors += 1
                stats.bits_flipped += n_flips
            stats.frames_delivered += 1
            self.t_send.append(float(t_send[i]))
            self.sent_index.append(slots[i])
            out.append((float(t_send[i] + light[i]), wire))
        return out

    def unsent(self) -> int:
        """Packets pushed and neither sent nor dropped (still onboard, or made after LOS)."""
        return self._pushed - self.stats.packets_dropped - self.stats.packets_sent


def simulate_downlink(
    packets: Sequence[tuple[float, int, bytes]],
    path: PathFunction | tuple[Sequence[float], Sequence[float], Sequence[float]],
    config: LinkConfig,
    *,
    epoch_utc: datetime,
    spacecraft_id: int,
    clcw: ClcwFunction,
    destroyed_s: float | None = None,
    ephemeris: Any = None,
    vcid: int = 0,
    filler: Filler | None = None,
) -> Downlink:
    """Carry onboard packets to the ground (a ``Transmitter`` run to the end).

    Parameters
    ----------
    packets : sequence of (float, int, bytes)
        ``(t_s, priority, packet)`` in time order: when the packet was made (s after the epoch),
        its priority (0 first) and the whole space packet.
    path : callable or (t_s, lat_deg, lon_deg) arrays
        The lander's position for Earth visibility and light time: a function of an array of
        times (s) returning latitude and east longitude (deg), or samples interpolated linearly.
    config : LinkConfig
        Link settings and seed.
    epoch_utc : datetime
        The scenario epoch (UTC).
    spacecraft_id : int
        10-bit spacecraft ID in the frame headers.
    clcw : callable
        The command receiver's CLCW (4 octets) at a time (s), for the frames' OCF.
    destroyed_s : float, optional
        When the lander was destroyed (s); nothing is sent from then on.
    ephemeris : touchdown.moon.ephemeris.Ephemeris, optional
        Default: ``load_ephemeris()``.
    vcid : int
        Virtual channel of the frames.
    filler : Filler, optional
        What fills the room the telemetry leaves (the imaging task).

    Returns
    -------
    Downlink
        Received frames with their arrival times, and LinkStats.
    """
    if not packets:
        return Downlink([], np.empty(0), np.empty(0, dtype=np.int64), 0.0, LinkStats())
    tx = Transmitter(config, epoch_utc=epoch_utc, spacecraft_id=spacecraft_id, clcw=clcw,
                     ephemeris=ephemeris, vcid=vcid, filler=filler)
    for t_p, prio, pkt in packets:
        tx.push(float(t_p), int(prio), pkt)
    out = tx.run(math.inf, path, destroyed_s, to_the_end=True)
    los = math.inf if destroyed_s is None else float(destroyed_s)
    tx.stats.packets_queued = sum(1 for p in packets if p[0] < los)  # made before LOS
    tx.stats.packets_unsent = tx.unsent()
    assert tx.t0 is not None
    return Downlink(out, np.asarray(tx.t_send), np.asarray(tx.sent_index, dtype=np.int64),
                    tx.t0, tx.stats)
