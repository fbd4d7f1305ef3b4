"""Mission time as people read it: T+mm:ss.s since the scenario epoch."""

from __future__ import annotations

import math


def mission_clock(t: float | None) -> str:
    """Time since the scenario epoch as T+mm:ss.s (minutes may pass 59); "-" when unknown."""
    if t is None or not math.isfinite(t):
        return "-"
    m, s = divmod(round(t, 1), 60.0)
    return f"T+{int(m):02d}:{s:04.1f}"
