"""How complete the evidence is (shell): what the ground received of what the lander sent, and
what it never received.

Per packet type (the dictionary's), from the archive's packets alone: how many were received,
how many the lander sent between the first and last received (their sequence counts; for a
periodic type also the period over the span, a second way to the same number), how many are
missing in how many gaps, the longest gap, and the count of the first received (the lander's
counts start at 0, so those before it were sent before the ground heard the first). Then the
frames (decoded, failed their CRC, lost from the frame count), what was never received (packet
types with no arrival, the time before the first and after the last packet, silences, the
camera's images that did not come down) and what that means for the findings.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from touchdown.report.finding import SUMMARY, Finding
from touchdown.report.received import Received
from touchdown.report.values import duration
from touchdown.telemetry.dictionary import Packet
from touchdown.telemetry.packets import SEQ_MODULO
from touchdown.timefmt import mission_clock as clock

FRAMES = ("frames_ok", "frames_bad_crc", "frames_bad_header", "frames_lost",
          "packets_incomplete", "sync_octets_discarded")


@dataclass
class PacketCount:
    """One packet type's share of the evidence (times onboard, s)."""

    packet: str
    apid: int
    period_s: float
    received: int
    sent: int  # between the first and last received, by their sequence counts
    missing: int
    gaps: int
    longest_gap: int  # packets missing in the longest gap
    longest_gap_s: float | None  # onboard time between the packets either side of it
    t_longest_gap_s: float | None  # onboard time of the packet after it
    seq_first: int | None
    seq_last: int | None
    t_first_s: float | None
    t_last_s: float | None
    sent_by_period: int | None  # periodic types: the span over the period, plus one


@dataclass
class Completeness:
    """What was received of what was sent, what never was, and what it means."""

    packets: list[PacketCount]
    frames: dict[str, int]
    never: list[str] = field(default_factory=list)
    meaning: list[str] = field(default_factory=list)

    @property
    def received(self) -> int:
        return sum(p.received for p in self.packets)

    @property
    def missing(self) -> int:
        return sum(p.missing for p in self.packets)

    def to_dict(self) -> dict[str, Any]:
        return {"packets": [asdict(p) for p in self.packets], "frames": self.frames,
                "received": self.received, "missing": self.missing, "never": self.never,
                "meaning": self.meaning}


def packet_count(p: Packet, rows: pd.DataFrame) -> PacketCount:
    """One type's count from its archived packets (packet, seq, t columns)."""
    rows = rows.drop_duplicates(["seq", "t"]).sort_values(["t", "seq"])
    if rows.empty:
        return PacketCount(p.name, p.apid, p.period_s, 0, 0, 0, 0, 0, None, None, None, None,
                           None, None, None)
    seq, t = rows["seq"].to_numpy(), rows["t"].to_numpy()
    lost = np.diff(seq) % SEQ_MODULO - 1
    k = int(np.argmax(lost)) if lost.size else 0
    longest = int(lost[k]) if lost.size and lost[k] > 0 else 0
    missing = int(lost[lost > 0].sum())
    span = float(t[-1] - t[0])
    return PacketCount(
        p.name, p.apid, p.period_s, len(rows), len(rows) + missing, missing,
        int((lost > 0).sum()), longest, float(t[k + 1] - t[k]) if longest else None,
        float(t[k + 1]) if longest else None, int(seq[0]),
        int(seq[-1]), float(t[0]), float(t[-1]),
        round(span / p.period_s) + 1 if p.period_s > 0 else None)


def _images(rx: Received) -> list[str]:
    """The camera's images the ground never had whole."""
    listing = rx.images.listing()
    none = [i for i in listing if not i["octets_received"]]
    part = [i for i in listing if i["octets_received"] and not i["complete"]]
    out = []
    if none:
        out.append(f"{len(none)} of the {len(listing)} camera images announced (taken "
                   f"{clock(none[0]['t'])} to {clock(none[-1]['t'])}): none of their octets "
                   "came down.")
    if part:
        out.append(f"Parts of {len(part)}{' more' * bool(none)} images (their grey strips in "
                   "Fig. 9).")
    return out


def _never(rx: Received, counts: list[PacketCount]) -> list[str]:
    """What the ground never received: types, time before and after, silences, images."""
    out = []
    absent = [c.packet for c in counts if not c.received]
    if absent:
        out.append(f"No {' or '.join(absent)} packet at all.")
    before = [c for c in counts if c.seq_first]
    if before:
        listed = ", ".join(f"{c.packet} {c.seq_first:,}" for c in before)
        out.append(f"Anything before onboard time {clock(rx.t_first)}: the first counts "
                   f"received are not 0 ({listed}), so the lander had sent "
                   f"{sum(c.seq_first or 0 for c in before):,} packets before the first the "
                   "ground received.")
    arrived = rx.arrivals["t_received"]
    for los in rx.losses[:-1]:
        out.append(f"Anything between ground times {clock(los.t_los)} and "
                   f"{clock(float(arrived[arrived > los.t_los].min()))}: no signal (newest "
                   f"onboard time before it {clock(los.t_onboard_last)}).")
    if rx.losses:
        last = rx.losses[-1]
        out.append(f"Anything after onboard time {clock(rx.t_last)}: the last packet arrived "
                   f"at ground time {clock(last.t_los)}; loss of signal declared at "
                   f"{clock(last.t_declared)}.")
    return out + _images(rx)


def _meaning(rx: Received, findings: list[Finding], outcome: dict[str, Any],
             counts: list[PacketCount]) -> list[str]:
    """What the gaps mean for the findings."""
    out = []
    short = [(f, p) for f in findings for p in f.packets if p["missing"] and f.role != SUMMARY]
    if not short:
        out.append("No packet is missing from any finding's evidence.")
    else:
        listed = "; ".join(f"{f.title.split(',')[0]}: {p['missing']} of "
                           f"{p['packets'] + p['missing']:,} {p['packet']}" for f, p in short)
        n = len({f.id for f, _ in short})
        out.append(f"Packets are missing from the evidence of {n} finding{'s' * (n > 1)} "
                   f"({listed}).")
        cited = {p["packet"] for _, p in short}
        worst = max((c for c in counts if c.packet in cited), key=lambda c: c.longest_gap)
        out.append(f"The longest gap in {worst.packet} is {worst.longest_gap} packet"
                   f"{'s' * (worst.longest_gap > 1)} ({duration(worst.longest_gap_s or 0.0)} "
                   f"without one, before {clock(worst.t_longest_gap_s)}): the findings' times "
                   "are good to that.")
    t_end = outcome.get("t_s")
    if outcome.get("outcome") == "impact" and t_end is not None and t_end > rx.t_last:
        out.append(f"Nothing was received of the last {duration(t_end - rx.t_last)} before "
                   f"the inferred impact ({clock(t_end)}): its time and speed are inferred from "
                   "the last reports, not seen.")
    images = [i for i in rx.images.listing() if not i["octets_received"]]
    if images:
        out.append(f"No image taken from {clock(images[0]['t'])} on came down: no picture "
                   "shows the ground from then.")
    return out


def completeness(rx: Received, findings: list[Finding], outcome: dict[str, Any]
                 ) -> Completeness:
    """The evidence's completeness, from what the archive holds."""
    counts = [packet_count(p, rx.arrivals[rx.arrivals["apid"] == p.apid])
              for p in rx.dictionary.packets]
    frames = {k: int(rx.counters.get(k, 0)) for k in FRAMES}
    return Completeness(counts, frames, _never(rx, counts),
                        _meaning(rx, findings, outcome, counts))

