"""One finding of an investigation: what, how bad, when, its causal role, the evidence, the
packets behind it and the figures (shell)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from touchdown.report.values import utc
from touchdown.telemetry.dictionary import SEVERITIES
from touchdown.timefmt import mission_clock as clock

# A finding's place in the causes the findings show (``findings.causal_roles``)
ROLES = ("root cause", "contributing", "consequence", "context")
SUMMARY = "summary"  # a chain of events: the links, each a finding of its own


@dataclass(frozen=True)
class Source:
    """Packets a finding rests on: one packet type's from onboard time t_from to t_to (s), or
    with no t_to the one in force at t_from (the newest at or before it)."""

    packet: str
    t_from: float
    t_to: float | None = None


@dataclass(eq=False)
class Finding:
    """One finding: what, how bad, when (onboard s), the evidence, the figures showing it and
    the packets it rests on; ``causes`` are the findings that led to it."""

    key: str
    severity: str
    title: str
    text: str
    t_s: float | None
    evidence: dict[str, Any] = field(default_factory=dict)
    figures: tuple[str, ...] = ()
    sources: tuple[Source, ...] = ()
    causes: list[Finding] = field(default_factory=list)
    chain: list[Finding] = field(default_factory=list)  # a summary's links, in order
    role: str = "context"
    id: str = ""
    packets: list[dict[str, Any]] = field(default_factory=list)  # the sources, as received
    effects: list[Finding] = field(default_factory=list)  # what it led to (``causes`` turned)

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"finding {self.key!r}: severity {self.severity!r} is not one of "
                             f"the dictionary's {SEVERITIES}")

    def caused(self, effect: Finding | None) -> None:
        """Record that this finding led to ``effect`` (None, itself or known: nothing)."""
        if effect is not None and effect is not self and all(c is not self
                                                             for c in effect.causes):
            effect.causes.append(self)

    def to_dict(self, epoch: datetime | None = None) -> dict[str, Any]:
        return {"id": self.id, "key": self.key, "severity": self.severity, "role": self.role,
                "title": self.title, "text": self.text, "t_s": self.t_s, "t": clock(self.t_s),
                "t_utc": utc(self.t_s, epoch), "evidence": self.evidence,
                "packets": self.packets, "follows_from": [c.id for c in self.causes],
                "leads_to": [e.id for e in self.effects], "figures": list(self.figures)}
