"""Ingest (shell): whole space packets in, archive, sequence checks, alarms and expiry out.

``Ingest.packet(raw, t_received)`` takes one packet's bytes and its ground receive time (s since
the mission epoch). It never raises for a bad packet: a packet that does not decode (garbage,
truncated, unknown APID, wrong length) is counted and logged with its reason, and the good
packets around it are kept.

Sequence counts are checked per APID (14 bits, wrapping at 16384): a forward jump of d counts
d − 1 missing packets (a gap); a count already seen recently is a duplicate (counted, not
archived again); an older count not yet seen is a late, reordered packet (archived, counted, and
taken off the missing count). A backward jump beyond ``REORDER_WINDOW`` is taken as a counter
reset (an onboard restart) and logged. The window is rebuilt from the archive on reopening, so a
sender that re-sends what was archived before a restart archives nothing twice.

Counters (``counters``, ``counters_by_apid``) are kept per APID and for the link, in the archive,
and add up: the frame decoders of one ingest share ``frame_stats``, saved with every commit.
"""

from __future__ import annotations

import logging
import math
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from touchdown.errors import PacketError
from touchdown.ground.alarms import AlarmMonitor
from touchdown.ground.archive import LINK, Archive
from touchdown.ground.status import LOS_TIMEOUT, LinkMonitor
from touchdown.telemetry.dictionary import Dictionary
from touchdown.telemetry.frames import DecoderStats
from touchdown.telemetry.packets import SEQ_MODULO, TmPacket, decode_packet

log = logging.getLogger(__name__)
REORDER_WINDOW = 1024  # packets: how far back a count is remembered (< SEQ_MODULO / 2)
HALF = SEQ_MODULO // 2
FRAMES = "frames"  # the counters' scope of the shared frame decoder statistics
APID_COUNTERS = ("packets", "bytes", "gaps", "missing", "duplicates", "reordered", "resets")
FRAME_COUNTERS = {  # the totals' name: DecoderStats' name
    "frames_ok": "frames_ok", "frames_bad_crc": "frames_bad_crc",
    "frames_bad_header": "frames_bad_header", "frames_lost": "frames_lost",
    "frame_gaps": "gaps", "idle_frames": "idle_frames",
    "sync_octets_discarded": "garbage_octets",
    "packets_incomplete": "packets_dropped_incomplete"}

# A subscriber gets (name, t_onboard s, value, severity or None, t_received s)
Subscriber = Callable[[str, float, float, "str | None", float], None]


@dataclass
class _Sequence:
    """One APID's sequence-count window."""

    last: int  # the newest (furthest forward) count seen
    seen: OrderedDict[int, None] = field(default_factory=OrderedDict)  # <= REORDER_WINDOW
    missing: set[int] = field(default_factory=set)  # skipped by a gap, not arrived, in window

    def advance(self, seq: int) -> tuple[str, int]:
        """Take count ``seq``: ("next" | "gap" | "duplicate" | "reordered" | "reset", n) with
        n the counts skipped (gap) or recovered (reordered: 1 when it was missing)."""
        d = (seq - self.last) % SEQ_MODULO
        if d == 0 or (d >= HALF and seq in self.seen):
            return "duplicate", 0
        kind, n = "next", 0
        if d < HALF:  # forward
            if d > 1:
                kind, n = "gap", d - 1
                self.missing.update((self.last + k) % SEQ_MODULO
                                    for k in range(1, min(d, REORDER_WINDOW)))
            self.last = seq
        elif SEQ_MODULO - d <= REORDER_WINDOW:  # late: behind the newest, not seen yet
            kind, n = "reordered", int(seq in self.missing)
            self.missing.discard(seq)
        else:  # far behind: the onboard counter restarted
            kind = "reset"
            self.last = seq
            self.seen.clear()
            self.missing.clear()
        self.seen[seq] = None
        while len(self.seen) > REORDER_WINDOW:
            self.seen.popitem(last=False)
        if len(self.missing) > REORDER_WINDOW:
            self.missing &= {(self.last - k) % SEQ_MODULO for k in range(REORDER_WINDOW)}
        return kind, n


class Ingest:
    """Decode, check and archive telemetry packets; feed alarms, expiry and subscribers.

    Parameters
    ----------
    dictionary : the telemetry dictionary the packets follow.
    archive : where everything goes.
    los_timeout_s : passed to the ``LinkMonitor`` (s; default the longest packet expiry).
    """

    def __init__(self, dictionary: Dictionary, archive: Archive,
                 los_timeout_s: float | None = None) -> None:
        self.dictionary = dictionary
        self.archive = archive
        self.alarms = AlarmMonitor(dictionary, archive)
        self.link = LinkMonitor(dictionary, archive, los_timeout_s)
        self.subscribers: list[Subscriber] = []
        # called with every packet archived and its receive time (the command link's
        # verifiers, the camera's images)
        self.packet_listeners: list[Callable[[TmPacket, float], None]] = []
        # called with every good frame's operational control field (the command link's CLCW)
        self.ocf_listeners: list[Callable[[bytes], None]] = []
        self.frame_stats = DecoderStats()
        self._seq: dict[int, _Sequence] = {}
        self._load()
        if not archive.read_only:
            archive.before_commit.append(self._save)
            archive.after_rollback.append(self._load)
        self._event_codes = dictionary["event"].fields[0] if _has(dictionary, "event") else None

    def _load(self) -> None:
        """The frame counts and each APID's sequence window as the archive holds them (a
        reopened archive continues them)."""
        saved = self.archive.counters(FRAMES)
        for k in asdict(self.frame_stats):
            setattr(self.frame_stats, k, saved.get(k, 0))  # (decoders share this object)
        self._seq.clear()
        for p in self.dictionary.packets:
            counts = self.archive.recent_sequence(p.apid, REORDER_WINDOW)
            if counts:
                s = self._seq[p.apid] = _Sequence(counts[0], OrderedDict({counts[0]: None}))
                for seq in counts[1:]:
                    s.advance(seq)

    def _save(self) -> None:
        """With every commit: the frame counts, and the LOS timeout the losses are found with
        (so that a report reading the archive finds the same ones)."""
        self.archive.set_counters(FRAMES, asdict(self.frame_stats))
        if self.archive.meta(LOS_TIMEOUT) != self.link.los_timeout_s:
            self.archive.set_meta(LOS_TIMEOUT, self.link.los_timeout_s, commit=False)

    @property
    def counters(self) -> dict[str, int]:
        """The link's counters (``link_counters``), the frames counted so far included."""
        return link_counters(self.archive, self.dictionary, asdict(self.frame_stats))

    def counters_by_apid(self) -> dict[str, dict[str, int]]:
        """Each APID's counters, by packet name (``apid_counters``)."""
        return apid_counters(self.archive, self.dictionary)

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Call ``callback`` with every new parameter value; returns the unsubscribe function."""
        self.subscribers.append(callback)
        return lambda: self.subscribers.remove(callback) if callback in self.subscribers \
            else None

    def ocf(self, octets: bytes) -> None:
        """A good frame's operational control field (4 octets): to the listeners."""
        for listener in tuple(self.ocf_listeners):
            listener(octets)

    def packet(self, raw: bytes, t_received: float) -> TmPacket | None:
        """Ingest one whole packet received at ground time t_received (s); returns it decoded,
        or None when it was bad or a duplicate (both counted and logged)."""
        archive = self.archive
        try:
            tm = decode_packet(raw, self.dictionary)
        except Exception as exc:  # a decoder bug must not stop the ground station either
            why = str(exc) if isinstance(exc, PacketError) else \
                f"undecodable ({type(exc).__name__}: {exc})"
            archive.count("bad")
            archive.log_link(t_received, "bad", _apid_of(raw), 1, why)
            archive.maybe_commit()
            return None
        if not self._sequence_ok(tm, t_received):
            archive.maybe_commit()
            return None
        qualified = {f"{tm.name}.{k}": v for k, v in tm.values.items()}
        archive.add_packet(tm.apid, tm.seq, tm.t, t_received, bytes(raw), qualified)
        archive.count("packets", apid=tm.apid)
        archive.count("bytes", len(raw), apid=tm.apid)
        if tm.name == "event" and self._event_codes is not None:
            code = int(tm.values["code"])
            archive.add_event(tm.t, t_received, code, self._event_codes.state(code) or "",
                              tm.values.get("value", math.nan))
        self.link.received(tm.name, tm.t, t_received)
        for name, value in qualified.items():
            sev = self.alarms.check(name, tm.t, value, t_received)
            for sub in tuple(self.subscribers):
                try:
                    sub(name, tm.t, value, sev, t_received)
                except Exception:  # a broken subscriber must not stop the ingest
                    archive.count("subscriber_errors")
                    log.exception("subscriber %r failed on %s", sub, name)
        for listener in tuple(self.packet_listeners):
            try:
                listener(tm, t_received)
            except Exception:  # a broken listener must not stop the ingest
                archive.count("subscriber_errors")
                log.exception("packet listener %r failed on %s", listener, tm.name)
        archive.maybe_commit()
        return tm

    def _sequence_ok(self, tm: TmPacket, t_received: float) -> bool:
        """Track the APID's sequence count; False for a duplicate (not to be archived)."""
        s = self._seq.get(tm.apid)
        if s is None:
            self._seq[tm.apid] = _Sequence(tm.seq, OrderedDict({tm.seq: None}))
            return True
        kind, n = s.advance(tm.seq)
        count, log_link, apid = self.archive.count, self.archive.log_link, tm.apid
        if kind == "duplicate":
            count("duplicates", apid=apid)
            log_link(t_received, "duplicate", apid, 1, f"{tm.name} count {tm.seq} again")
            return False
        if kind == "gap":
            count("gaps", apid=apid)
            count("missing", n, apid=apid)
            log_link(t_received, "gap", apid, n, f"{tm.name}: {n} missing, counts "
                     f"{(tm.seq - n) % SEQ_MODULO} to {(tm.seq - 1) % SEQ_MODULO}")
        elif kind == "reordered":
            count("reordered", apid=apid)
            if n:
                count("missing", -1, apid=apid)
            log_link(t_received, "reordered", apid, 1,
                     f"{tm.name} count {tm.seq} arrived after {s.last}")
        elif kind == "reset":
            count("resets", apid=apid)
            log_link(t_received, "reset", apid, 1, f"{tm.name} count jumped back to {tm.seq}")
        return True


def apid_counters(archive: Archive, dictionary: Dictionary) -> dict[str, dict[str, int]]:
    """Each APID's archived counters, by packet name: {name: {apid, packets, bytes, gaps,
    missing, duplicates, reordered, resets}}."""
    names = {p.apid: p.name for p in dictionary.packets}
    out = {}
    for scope in archive.counter_scopes():
        if scope.isdigit():
            apid, c = int(scope), archive.counters(scope)
            out[names.get(apid, f"apid {apid:#x}")] = {
                "apid": apid, **{k: c.get(k, 0) for k in APID_COUNTERS}}
    return out


def link_counters(archive: Archive, dictionary: Dictionary,
                  frames: dict[str, int] | None = None) -> dict[str, int]:
    """The link's counters, totals over every APID: packets, bytes, bad, gaps, missing,
    duplicates, reordered, resets; the frame decoders' (``frames``, a ``DecoderStats`` as a
    dict; default what the archive holds): frames_ok, frames_bad_crc, frames_bad_header,
    frames_lost, frame_gaps, idle_frames, sync_octets_discarded, packets_incomplete; and
    junk_octets_kept."""
    link = archive.counters(LINK)
    out = {k: 0 for k in APID_COUNTERS}
    for per in apid_counters(archive, dictionary).values():
        for k in APID_COUNTERS:
            out[k] += per[k]
    out["bad"] = link.get("bad", 0)
    stats = archive.counters(FRAMES) if frames is None else frames
    out.update({k: stats.get(v, 0) for k, v in FRAME_COUNTERS.items()})
    out["junk_octets_kept"] = link.get("junk_octets_kept", 0)
    return out


def _has(dictionary: Dictionary, name: str) -> bool:
    return any(p.name == name for p in dictionary.packets)


def _apid_of(raw: bytes) -> int | None:
    """The APID field of what may be a packet's header (None when too short to have one)."""
    return ((raw[0] & 0x07) << 8) | raw[1] if len(raw) >= 2 else None
