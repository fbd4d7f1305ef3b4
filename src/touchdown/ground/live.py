"""A flight live with a ground server (shell): ``touchdown fly SCENARIO --live``.

``fly_live`` flies the lander in step with the ground's clock (``Space``: the flight, its
downlink and its uplink, which the ground never sees inside) and feeds the frames the station
receives into the server's ingest at their receive times, ``speed`` times faster than real
time, while the server's web API and the browser UI show them and operators command the
lander through the uplink (``touchdown.ground.command_api``). ``stream`` feeds a recorded
flight's frames the same way.
The server's ground clock is the flight's own (s since the scenario epoch), running ``speed``
times faster than the wall clock, so expiry, loss of signal and alarm times come out as they
would at real-time pace. The stream starts at the first frame received (acquisition of signal:
the silence before it is skipped), when a browser opens the page or at once.
"""

from __future__ import annotations

import asyncio
import heapq
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from touchdown.ground.ingest import Ingest
from touchdown.ground.replay import Replayer, ReplayReport

START_LEAD_S = 10.0  # s of flight time the page sees before the first frame arrives
STEP_WALL_S = 0.02  # s (wall clock) between the live flight's steps: it catches up to the clock


class Space(Protocol):
    """The space segment of a live flight, as the ground station meets it."""

    @property
    def done(self) -> bool:
        """The flight is over and nothing more will come down."""

    def step(self, until_s: float) -> list[tuple[float, bytes]]:
        """Fly to until_s (ground clock, s since the epoch); the downlink frames that reach
        the station, (arrival s, octets), arrivals later than until_s. Runs in a worker
        thread: what the ground calls meanwhile (the station's transmitter) must be safe."""


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


async def _record(replayer: Replayer, t: float, data: bytes,
                  progress: Callable[[int], None] | None) -> None:
    """Record one frame, then give the loop a turn. Frames late all at once (after a slow
    step: the flight computing on a busy machine) would otherwise be recorded in one go, and
    their values overflow every websocket client's queue however fast it reads."""
    replayer.record(t, data)
    if progress is not None:
        progress(1)
    await asyncio.sleep(0)


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
        await _record(replayer, t, data, progress)
    if replayer.report.t_last is not None:
        t_los = replayer.report.t_last + ingest.link.los_timeout_s
        await asyncio.sleep(max(0.0, (t_los - clock()) / clock.speed) + 0.05)
    return replayer.finish()


async def fly_live(space: Space, ingest: Ingest, clock: PacedClock, frame_length: int,
                   spacecraft_id: int, progress: Callable[[int], None] | None = None,
                   ) -> ReplayReport:
    """Fly ``space`` with ``clock`` and feed each frame it sends into ``ingest`` when the clock
    reaches its arrival; then let the silence run until loss of signal is declared. Starts
    ``clock`` if it is not running."""
    clock.start()
    replayer = Replayer(ingest, frame_length, spacecraft_id)
    arriving: list[tuple[float, int, bytes]] = []
    order = 0
    while not space.done or arriving:
        now = clock()
        if not space.done:  # in a thread: the server answers while the flight computes
            for t, data in await asyncio.to_thread(space.step, now):
                heapq.heappush(arriving, (t, order, data))
                order += 1
        while arriving and arriving[0][0] <= now:
            t, _, data = heapq.heappop(arriving)
            await _record(replayer, t, data, progress)
        replayer.silence(now)
        await asyncio.sleep(STEP_WALL_S)
    if replayer.report.t_last is not None:
        t_los = replayer.report.t_last + ingest.link.los_timeout_s
        await asyncio.sleep(max(0.0, (t_los - clock()) / clock.speed) + 0.05)
    return replayer.finish()
