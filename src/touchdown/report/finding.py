"""One finding of an investigation: what, how bad, when, the evidence and the figures (shell)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from touchdown.telemetry.dictionary import SEVERITIES
from touchdown.timefmt import mission_clock as clock


@dataclass
class Finding:
    """One finding: what, how bad, when (onboard s), the evidence and the figures showing it."""

    key: str
    severity: str
    title: str
    text: str
    t_s: float | None
    evidence: dict[str, Any] = field(default_factory=dict)
    figures: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"finding {self.key!r}: severity {self.severity!r} is not one of "
                             f"the dictionary's {SEVERITIES}")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["t"] = clock(self.t_s)
        d["figures"] = list(self.figures)
        return d
