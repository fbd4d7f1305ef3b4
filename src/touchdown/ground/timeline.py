"""The operator's timeline: one chronological log of everything the ground knows happened.

Onboard events (with their values and what the values mean), the link (acquisition of
signal, sequence gaps with the APID and the count missed, bad packets, losses of signal), alarm
transitions, operator actions (the audit log) and commands' stages, merged in order of ground
time, each with its onboard time where it has one (both on the archive's scale, MET: s since
the mission epoch; docs/ground.md). Read only from the archive (and the link monitor, which
rebuilds its losses from the archive's arrivals): reading it changes nothing, and a reopened
archive gives the same log.

Severity is the dictionary's one scale (``telemetry.dictionary.SEVERITIES``): an event's is its
code's alarm level in the dictionary (else info); an alarm transition's the level it moved to;
a loss of signal is distress (the lander's state from then on is unknown), a sequence gap or a
bad packet watch (data lost), other link lines info; a refused operator action or a command
that failed or timed out watch.
"""

from __future__ import annotations

import bisect
import csv
import io
import math
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

from touchdown.core.layout import EVENTS
from touchdown.ground.archive import Archive, decode_cursor, encode_cursor
from touchdown.ground.status import losses
from touchdown.telemetry.dictionary import SEVERITIES, Dictionary
from touchdown.timefmt import mission_clock

KINDS = ("event", "link", "alarm", "operator", "command")
MEANING = {name: meaning for _, name, meaning in EVENTS}  # what an event's value is
LINK_SEVERITY = {"gap": "watch", "bad": "watch", "los": "distress"}  # others: info
FAILED_STAGES = frozenset({"failed", "timed_out"})
PAGE = 10_000  # rows read from the archive at a time


@dataclass(frozen=True)
class Entry:
    """One line of the timeline: ground time and onboard time (MET s; None where the ground
    alone saw it), its kind (``KINDS``), severity, what it is about and what happened."""

    t_received: float
    t_onboard: float | None
    kind: str
    severity: str
    subject: str
    text: str


def timeline(archive: Archive, dictionary: Dictionary, los_timeout_s: float, now: float,
             kinds: frozenset[str] | None = None, severity: str = "info") -> list[Entry]:
    """Every entry of the given kinds (all: None) at ``severity`` or above, oldest first by
    ground time (then onboard time), as known at ground time ``now`` (s; ``math.inf``: the
    archive is finished); losses of signal are the silences longer than ``los_timeout_s``
    between the archive's arrivals (``ground.status.losses``), however often anyone looked."""
    least = SEVERITIES.index(severity)
    sources: dict[str, Callable[[], Iterator[Entry]]] = {
        "event": lambda: _events(archive, dictionary),
        "link": lambda: _link(archive, los_timeout_s, now),
        "alarm": lambda: _alarms(archive, dictionary),
        "operator": lambda: _operators(archive),
        "command": lambda: _commands(archive),
    }
    out = [e for kind, read in sources.items() if kinds is None or kind in kinds
           for e in read() if SEVERITIES.index(e.severity) >= least]
    out.sort(key=lambda e: (e.t_received, -math.inf if e.t_onboard is None else e.t_onboard))
    return out


def page(entries: list[Entry], limit: int, after: str | None = None,
         ) -> tuple[list[Entry], str | None]:
    """One page of a timeline and the cursor of the next (None: no more): the cursor is the
    last entry's ground time and how many entries at that time were given, so entries that
    come later at later times do not shift the pages; ValueError for a cursor not given here."""
    start = 0
    if after is not None:
        t, k = decode_cursor(after, 2)
        if not (math.isfinite(t) and 0.0 <= k < math.inf and k == int(k)):
            raise ValueError(f"after={after!r} is not a cursor this server gave; pass the "
                             "'next' of the previous page unchanged")
        start = bisect.bisect_left([e.t_received for e in entries], t) + int(k)
    rows = entries[start:start + limit]
    if start + limit >= len(entries):
        return rows, None
    t_last = rows[-1].t_received
    given = sum(1 for e in entries[:start + limit] if e.t_received == t_last)
    return rows, encode_cursor(t_last, given)


def to_csv(entries: list[Entry]) -> str:
    """The timeline as CSV, a header first: both times as T+mm:ss.s, then the fields of
    ``Entry`` (times in MET s; empty: no onboard time)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=["received", "onboard",
                                             *Entry.__dataclass_fields__])
    writer.writeheader()
    for e in entries:
        writer.writerow({"received": mission_clock(e.t_received),
                         "onboard": mission_clock(e.t_onboard),
                         **{k: "" if v is None else v for k, v in asdict(e).items()}})
    return buf.getvalue()


def number(value: float) -> str:
    """A value rounded to its meaning: whole above 100, 1 decimal above 1, else 3 figures."""
    if math.isnan(value):
        return "NaN"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.1f}" if abs(value) >= 1 else f"{value:.3g}"


def _pages(read: Callable[[str | None], tuple[list[Any], str | None]]) -> Iterator[Any]:
    after = None
    while True:
        rows, after = read(after)
        yield from rows
        if after is None:
            return


def _events(archive: Archive, dictionary: Dictionary) -> Iterator[Entry]:
    code = dictionary.parameters.get("event.code")
    for e in _pages(lambda a: archive.events_page(-math.inf, math.inf, PAGE, a)):
        meaning = MEANING.get(e.state, "")
        level = (code.severity(e.code) if code is not None else None) or "info"
        yield Entry(e.t_received, e.t_onboard, "event", level, e.state,
                    f"{e.state}: {number(e.value)} ({meaning})" if meaning else
                    f"{e.state}: {number(e.value)}")


def _link(archive: Archive, los_timeout_s: float, now: float) -> Iterator[Entry]:
    for line in archive.link_log():
        apid = "" if line.apid is None else f" (APID {line.apid:#05x})"
        yield Entry(line.t_received, None, "link", LINK_SEVERITY.get(line.kind, "info"),
                    line.kind, f"{line.kind}{apid}: {line.detail}")
    arrivals = sorted((tr, t) for _, t, tr in archive.arrivals())
    lost = losses(arrivals, los_timeout_s, now)
    received = [tr for tr, _ in arrivals]
    after = (bisect.bisect_right(received, los.t_los) for los in lost)  # the next packet's
    starts = arrivals[:1] + [arrivals[k] for k in after if k < len(arrivals)]
    for tr, t in starts:  # acquisition: the first packet, and the first after each loss
        yield Entry(tr, t, "link", "info", "aos", "acquisition of signal: packets received")
    for los in lost:  # (after an acquisition at the same time: the last packet's)
        yield Entry(los.t_los, los.t_onboard_last, "link", LINK_SEVERITY["los"], "los",
                    f"loss of signal: nothing received since (declared "
                    f"{number(los.t_declared - los.t_los)} s later)")


def _alarms(archive: Archive, dictionary: Dictionary) -> Iterator[Entry]:
    fields = dictionary.parameters
    for h in _pages(lambda a: archive.alarm_history_page(PAGE, a)):
        by = f" by {h.by}" if h.by else ""
        why = f": {h.comment}" if h.comment else ""
        field = fields.get(h.parameter)
        said = [h.severity] if h.severity else []  # (an operator's step has neither)
        if not math.isnan(h.value):
            unit = f" {field.unit}" if field is not None and field.unit not in ("", "-") else ""
            state = field.state(h.value) if field is not None else None
            said.append(state or f"{number(h.value)}{unit}")  # an enumeration by its name
        value = f" ({', '.join(said)})" if said else ""
        yield Entry(h.t_received, h.t_onboard, "alarm", h.severity or "info", h.parameter,
                    f"{h.parameter} {h.kind}{value}{by}{why}")


def _operators(archive: Archive) -> Iterator[Entry]:
    for a in _pages(lambda c: archive.audit_page(PAGE, c)):
        who = (a.user or "an unknown user") + (f" ({a.role})" if a.role else "")
        target = f" {a.target}" if a.target else ""
        yield Entry(a.t_ground, None, "operator", "info" if a.outcome == "ok" else "watch",
                    a.action, f"{who} {a.action}{target}: {a.outcome}")


def _commands(archive: Archive) -> Iterator[Entry]:
    for c in _pages(lambda a: archive.command_page(PAGE, a)):
        for s in c["stages"]:
            by = f" by {s['by']}" if s["by"] else ""
            detail = f": {s['detail']}" if s["detail"] else ""
            yield Entry(s["t"], None, "command",
                        "watch" if s["stage"] in FAILED_STAGES else "info", c["name"],
                        f"command {c['id']} {c['name']} {s['stage']}{by}{detail}")
