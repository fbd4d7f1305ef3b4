"""Ingest (shell): whole space packets in, archive, sequence checks, alarms and expiry out.

``Ingest.packet(raw, t_received)`` takes one packet's bytes and its ground receive time (s). It
never raises for a bad packet: a packet that does not decode (garbage, truncated, unknown APID,
wrong length) is counted and logged with its reason, and the good packets around it are kept.

Sequence counts are checked per APID (14 bits, wrapping at 16384): a forward jump of d counts
d − 1 missing packets (a gap); a count already seen recently is a duplicate (counted, not
archived again); an older count not yet seen is a late, reordered packet (archived, counted, and
taken off the missing count). A backward jump beyond ``REORDER_WINDOW`` is taken as a counter
reset (an onboard restart) and logged.
"""

from __future__ import annotations

import logging
import math
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from touchdown.ground.alarms import AlarmMonitor
from touchdown.ground.archive import Archive
from touchdown.ground.status import LinkMonitor
from touchdown.telemetry.dictionary import Dictionary
from touchdown.telemetry.packets import SEQ_MODULO, PacketError, TmPacket, decode_packet

log = logging.getLogger(__name__)
REORDER_WINDOW = 1024  # packets: how far back a count is remembered (< SEQ_MODULO / 2)
HALF = SEQ_MODULO // 2

# A subscriber gets (name, t_onboard s, value, severity or None, t_received s)
Subscriber = Callable[[str, float, float, "str | None", float], None]


@dataclass
class _Sequence:
    last: int  # the newest (furthest forward) count seen
    seen: OrderedDict[int, None]  # counts seen, oldest first, at most REORDER_WINDOW
    missing: set[int]  # counts skipped by a gap and not yet arrived (within the window)


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
        self._seq: dict[int, _Sequence] = {}
        for p in dictionary.packets:  # a reopened archive: continue each APID's counts
            last = archive.last_sequence(p.apid)
            if last is not None:
                self._seq[p.apid] = _Sequence(last, OrderedDict({last: None}), set())
        self._event_codes = dictionary["event"].fields[0] if _has(dictionary, "event") else None

    @property
    def counters(self) -> dict[str, int]:
        """Link counters: packets, bad, missing, gaps, duplicates, reordered, resets, bytes."""
        c = self.archive.counters
        return {k: c.get(k, 0) for k in ("packets", "bytes", "bad", "gaps", "missing",
                                         "duplicates", "reordered", "resets")}

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Call ``callback`` with every new parameter value; returns the unsubscribe function."""
        self.subscribers.append(callback)
        return lambda: self.subscribers.remove(callback) if callback in self.subscribers \
            else None

    def packet(self, raw: bytes, t_received: float) -> TmPacket | None:
        """Ingest one whole packet received at ground time t_received (s); returns it decoded,
        or None when it was bad or a duplicate (both counted and logged)."""
        archive = self.archive
        try:
            tm = decode_packet(raw, self.dictionary)
        except PacketError as exc:
            archive.count("bad")
            archive.log_link(t_received, "bad", _apid_of(raw), 1, str(exc))
            archive.maybe_commit()
            return None
        except Exception as exc:  # a decoder bug must not stop the ground station
            archive.count("bad")
            archive.log_link(t_received, "bad", _apid_of(raw), 1,
                             f"undecodable ({type(exc).__name__}: {exc})")
            archive.maybe_commit()
            return None
        if not self._sequence_ok(tm, t_received):
            archive.maybe_commit()
            return None
        qualified = {f"{tm.name}.{k}": v for k, v in tm.values.items()}
        archive.add_packet(tm.apid, tm.seq, tm.t, t_received, bytes(raw), qualified)
        archive.count("packets")
        archive.count("bytes", len(raw))
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
        archive.maybe_commit()
        return tm

    def _sequence_ok(self, tm: TmPacket, t_received: float) -> bool:
        """Track the APID's sequence count; False for a duplicate (not to be archived)."""
        s = self._seq.get(tm.apid)
        log = self.archive.log_link
        if s is None:
            self._seq[tm.apid] = _Sequence(tm.seq, OrderedDict({tm.seq: None}), set())
            return True
        d = (tm.seq - s.last) % SEQ_MODULO
        if d == 0 or (d >= HALF and tm.seq in s.seen):
            self.archive.count("duplicates")
            log(t_received, "duplicate", tm.apid, 1, f"{tm.name} count {tm.seq} again")
            return False
        if d < HALF:  # forward
            if d > 1:
                first = (s.last + 1) % SEQ_MODULO
                self.archive.count("gaps")
                self.archive.count("missing", d - 1)
                log(t_received, "gap", tm.apid, d - 1,
                    f"{tm.name}: {d - 1} missing, counts {first} to {(tm.seq - 1) % SEQ_MODULO}")
                s.missing.update((s.last + k) % SEQ_MODULO
                                 for k in range(1, min(d, REORDER_WINDOW)))
            s.last = tm.seq
        elif SEQ_MODULO - d <= REORDER_WINDOW:  # late: behind the newest, not seen yet
            self.archive.count("reordered")
            log(t_received, "reordered", tm.apid, 1,
                f"{tm.name} count {tm.seq} arrived after {s.last}")
            if tm.seq in s.missing:
                s.missing.discard(tm.seq)
                self.archive.count("missing", -1)
        else:  # far behind: the onboard counter restarted
            self.archive.count("resets")
            log(t_received, "reset", tm.apid, 1,
                f"{tm.name} count jumped back from {s.last} to {tm.seq}")
            s.last = tm.seq
            s.seen.clear()
            s.missing.clear()
        s.seen[tm.seq] = None
        while len(s.seen) > REORDER_WINDOW:
            s.seen.popitem(last=False)
        if len(s.missing) > REORDER_WINDOW:
            keep = {(s.last - k) % SEQ_MODULO for k in range(REORDER_WINDOW)}
            s.missing &= keep
        return True


def _has(dictionary: Dictionary, name: str) -> bool:
    return any(p.name == name for p in dictionary.packets)


def _apid_of(raw: bytes) -> int | None:
    """The APID field of what may be a packet's header (None when too short to have one)."""
    return ((raw[0] & 0x07) << 8) | raw[1] if len(raw) >= 2 else None
