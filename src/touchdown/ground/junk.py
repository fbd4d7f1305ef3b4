"""What the ground keeps of a stream that did not frame (shell): a bounded sample, the rest counted.

A TM byte stream carries frames behind sync markers; whatever else arrives (noise, a sender's
bug, someone's megabytes of repeated sync markers) is junk. The frame decoder counts every octet
it discards (``DecoderStats.garbage_octets``, the ground's ``sync_octets_discarded``) and hands
them over; ``JunkSampler`` decides what of it the archive keeps:

- every good frame (``Archive.add_frame(t, frame, True)``), always;
- rejected frames (this link's header but a failed CRC, or another spacecraft's), at most
  ``frames_per_min`` a minute of ground time: a token bucket, a burst of that many and then one
  every 60/N s; the rest only counted (the decoder's ``frames_bad_crc``);
- discarded octets as junk records (``Archive.add_junk(t, octets, sample)``): the octets since
  the last record and a sample of at most ``sample_len`` of them, at most ``samples_per_min``
  samples a minute; between samples a record of the count alone at most every ``flush_s``
  seconds of ground time, and one when a stream ends (``flush``). Sample octets are counted as
  the link counter ``junk_octets_kept``.

So whatever arrives, junk grows the archive by a few tens of KB a minute at most (the defaults:
60 frames of 256 octets, 16 samples of 256 octets, 6 count records). One sampler serves every
stream of a server: the budget is the server's, so reconnecting does not renew it.

``GarbageWindow`` follows one stream's share of octets that did not frame over its last
>= 64 KiB; the TCP ingest throttles a stream that is mostly junk and reports the share as the
ground parameter ``link.garbage`` (alarmed by ``AlarmMonitor``).
"""

from __future__ import annotations

from collections.abc import Callable

from touchdown.ground.archive import Archive
from touchdown.telemetry.frames import DecoderStats, FrameDecoder

FRAMES_PER_MIN = 60  # rejected frames archived per minute of ground time, at most
SAMPLES_PER_MIN = 16  # junk samples archived per minute of ground time, at most
SAMPLE_LEN = 256  # octets in one junk sample, at most
FLUSH_S = 10.0  # s of ground time: a count-only junk record at most this often
WINDOW_OCTETS = 65_536  # a stream's garbage share is taken over at least this many octets


class TokenBucket:
    """``per_min`` tokens a minute of the caller's time, at most ``burst`` saved up (default
    ``per_min``); starts full."""

    def __init__(self, per_min: float, burst: float | None = None) -> None:
        self.rate = per_min / 60.0
        self.capacity = float(per_min if burst is None else burst)
        self.tokens = self.capacity
        self._t: float | None = None

    def take(self, t: float, n: float = 1.0) -> bool:
        """Take n tokens at time t (s) if there are; time running backwards adds none."""
        if self._t is None or t > self._t:
            if self._t is not None:
                self.tokens = min(self.capacity, self.tokens + (t - self._t) * self.rate)
            self._t = t
        if self.tokens >= n:
            self.tokens -= n
            return True
        return False


class JunkSampler:
    """Archives good frames, and of what did not frame a sample within a budget.

    Its ``frame`` and ``junk`` methods are a ``FrameDecoder``'s ``on_frame`` and ``on_junk``
    (``decoder`` makes one); ``clock()`` gives ground time (s since the mission epoch).
    """

    def __init__(self, archive: Archive, clock: Callable[[], float], *,
                 frames_per_min: float = FRAMES_PER_MIN,
                 samples_per_min: float = SAMPLES_PER_MIN, sample_len: int = SAMPLE_LEN,
                 flush_s: float = FLUSH_S) -> None:
        self.archive, self.clock = archive, clock
        self.sample_len, self.flush_s = sample_len, flush_s
        self._frames = TokenBucket(frames_per_min)
        self._samples = TokenBucket(samples_per_min)
        self.frames_kept = 0  # rejected frames archived
        self.frames_not_kept = 0  # rejected frames over the budget, only counted
        self.octets = 0  # discarded octets handed over
        self.octets_kept = 0  # of which kept as samples
        self.records = 0  # junk records written
        self._pending = 0  # discarded octets not yet in a junk record
        self._t_record = -float("inf")  # ground time of the last junk record

    def decoder(self, length: int, spacecraft_id: int | None,
                stats: DecoderStats | None = None,
                on_ocf: Callable[[bytes], None] | None = None) -> FrameDecoder:
        """A frame decoder whose frames and junk go through this sampler (``on_ocf``: where
        the frames' operational control fields go)."""
        return FrameDecoder(length, spacecraft_id, self.frame, stats=stats, on_junk=self.junk,
                            on_ocf=on_ocf)

    def frame(self, frame: bytes, ok: bool) -> None:
        """A frame candidate: good ones archived, rejected ones within the budget."""
        t = self.clock()
        if ok:
            self.archive.add_frame(t, frame, True)
        elif self._frames.take(t):
            self.archive.add_frame(t, frame, False)
            self.frames_kept += 1
        else:
            self.frames_not_kept += 1

    def junk(self, octets: bytes) -> None:
        """Octets that did not frame: counted; a sample kept within the budget."""
        if not octets:
            return
        t = self.clock()
        self.octets += len(octets)
        self._pending += len(octets)
        if self._samples.take(t):
            self._record(t, bytes(octets[:self.sample_len]))
        elif t - self._t_record >= self.flush_s:
            self._record(t, b"")

    def flush(self) -> None:
        """Record the octets not yet in a junk record (a stream ended)."""
        if self._pending:
            self._record(self.clock(), b"")

    def _record(self, t: float, sample: bytes) -> None:
        self.archive.add_junk(t, self._pending, sample)
        if sample:
            self.archive.count("junk_octets_kept", len(sample))
        self.octets_kept += len(sample)
        self.records += 1
        self._pending = 0
        self._t_record = t


class GarbageWindow:
    """One stream's share of octets that did not frame over its last ``window`` octets or
    more (between one and two windows): ``update`` it with the decoder's running totals."""

    def __init__(self, window: int = WINDOW_OCTETS) -> None:
        self.window = window
        self.fraction: float | None = None  # None until a whole window has been seen
        self._mark = (0, 0)  # (fed, discarded) where the current block began
        self._last = (0, 0)  # the block before: (octets, discarded)

    def update(self, fed: int, discarded: int) -> bool:
        """Take the totals so far (octets fed, of which discarded); True when a block of
        ``window`` octets completed and ``fraction`` was renewed."""
        n, d = fed - self._mark[0], discarded - self._mark[1]
        if n < self.window:
            return False
        total, junk = n + self._last[0], d + self._last[1]
        self.fraction = min(1.0, max(0.0, junk / total))
        self._last, self._mark = (n, d), (fed, discarded)
        return True
