"""A flight streamed live into a ground server (shell): ``touchdown fly SCENARIO --live``.

The frames the ground station received go into the server's ingest at their receive times,
``speed`` times faster than real time, while the server's web API and the browser UI show them.
The server's ground clock is the flight's own (s since the scenario epoch), running ``speed``
times faster than the wall clock, so expiry, loss of signal and alarm times come out as they
would at real-time pace. The stream starts at the first frame received (acquisition of signal:
the silence before it is skipped), when a browser opens the page or at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from touchdown.ground.ingest import Ingest
from touchdown.ground.replay import Replayer, ReplayReport

START_LEAD_S = 10.0  # s of flight time the page sees before the first frame arrives


class PacedClock:
    """Ground time (s since the epoch) running ``speed`` times faster than the wall clock,
    held at ``t0`` until ``start()``."""

    def __init__(self, t0: float, speed: float) -> None:
        if not speed > 0:
            raise ValueError(f"speed must be > 0, got {speed}")
        self.t0, self.speed = t0, speed
        self._wall0: float | None = None

    def start(self) -> None:
        if self._wall0 is None:
            self._wall0 = time.monotonic()

    @property
    def started(self) -> bool:
        return self._wall0 is not None

    def __call__(self) -> float:
        if self._wall0 is None:
            return self.t0
        return self.t0 + (time.monotonic() - self._wall0) * self.speed


@dataclass
class LiveStream:
    """What to stream: the received frames [(t_received s, octets)] and how they are framed."""

    frames: list[tuple[float, bytes]]
    frame_length: int
    spacecraft_id: int

    def clock(self, speed: float) -> PacedClock:
        """A clock that starts START_LEAD_S before the first frame."""
        t0 = self.frames[0][0] - START_LEAD_S if self.frames else 0.0
        return PacedClock(t0, speed)


async def stream(live: LiveStream, ingest: Ingest, clock: PacedClock,
                 progress: Callable[[int], None] | None = None) -> ReplayReport:
    """Feed every frame into ``ingest`` when ``clock`` reaches its receive time, then let the
    silence run until loss of signal is declared. Starts ``clock`` if it is not running."""
    clock.start()
    replayer = Replayer(ingest, live.frame_length, live.spacecraft_id)
    for t, data in live.frames:
        wait = (t - clock()) / clock.speed
        if wait > 0:
            await asyncio.sleep(wait)
        replayer.record(t, data)
        if progress is not None:
            progress(1)
    if replayer.report.t_last is not None:
        t_los = replayer.report.t_last + ingest.link.los_timeout_s
        await asyncio.sleep(max(0.0, (t_los - clock()) / clock.speed) + 0.05)
    return replayer.finish()
