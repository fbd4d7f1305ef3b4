"""Ingesting a downlink recording (shell): the frames as the ground station received them.

Each record's octets (attached sync marker and frame, damaged or not) go through the frame
decoder into ``Ingest`` at the record's receive time, so the archive, the sequence checks, the
alarms and loss of signal come out as they would have live; after the last record the silence
that follows is let run until loss of signal is declared. Frames and junk are archived through
a ``JunkSampler`` as live (every good frame, a bounded sample of the rest), and the frame counts
add to the ingest's (``Ingest.frame_stats``), so the archive's counters hold every replay into
it. The recording's flight plan (scenario, epoch, target) goes into the archive with it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from touchdown.ground.ingest import Ingest
from touchdown.ground.junk import JunkSampler
from touchdown.ground.status import LossOfSignal
from touchdown.telemetry.flight_info import FlightInfo
from touchdown.telemetry.frames import DecoderStats
from touchdown.telemetry.recording import Recording


@dataclass
class ReplayReport:
    """What a replay went through: records, frames, packets and the signal's episodes."""

    records: int = 0
    octets: int = 0
    frames: DecoderStats = field(default_factory=DecoderStats)
    packets: int = 0  # whole packets out of the frame decoder
    t_first: float | None = None  # ground receive times (s since the epoch)
    t_last: float | None = None
    losses: list[LossOfSignal] = field(default_factory=list)  # every loss of signal, in order
    truncated: bool = False


class Replayer:
    """Received frames into an ingest, one record at a time, at their receive times (s)."""

    def __init__(self, ingest: Ingest, frame_length: int = 256,
                 spacecraft_id: int | None = None) -> None:
        self.ingest = ingest
        self._t = 0.0
        self.junk = JunkSampler(ingest.archive, lambda: self._t)
        self.decoder = self.junk.decoder(frame_length, spacecraft_id, ingest.frame_stats,
                                         ingest.ocf)
        self.report = ReplayReport(frames=self.decoder.stats)

    def record(self, t: float, data: bytes) -> None:
        """The octets (sync marker and frame, damaged or not) received at ground time t."""
        ingest, report = self.ingest, self.report
        self._t = t
        if report.t_first is None:
            report.t_first = t
        self.silence(t)
        for raw in self.decoder.feed(data):
            report.packets += 1
            ingest.packet(raw, t)
        report.records += 1
        report.octets += len(data)
        report.t_last = t
        ingest.archive.maybe_commit()

    def silence(self, t: float) -> None:
        """Nothing more received up to ground time t: declare loss of signal if it is due."""
        lost = self.ingest.link.update(t)
        if lost is not None and lost not in self.report.losses:
            self.report.losses.append(lost)

    def finish(self) -> ReplayReport:
        """Let the silence after the last record run until loss of signal; commit."""
        if self.report.t_last is not None:
            self.silence(self.report.t_last + self.ingest.link.los_timeout_s + 1e-3)
        self.decoder.close()
        self.junk.flush()
        self.ingest.archive.flush()
        return self.report


def replay_recording(recording: Recording, ingest: Ingest,
                     progress: Callable[[int], None] | None = None) -> ReplayReport:
    """Ingest every record of ``recording``, its flight plan (when it names its scenario)
    into the archive first; ``progress`` gets the octets of each record."""
    meta = recording.meta
    if meta.get("scenario"):
        ingest.archive.set_flight(FlightInfo.from_dict(meta).to_dict())
    replayer = Replayer(ingest, int(meta.get("frame_length", 256)), meta.get("spacecraft_id"))
    for t, data in recording.records():
        replayer.record(t, data)
        if progress is not None:
            progress(len(data))
    replayer.report.truncated = recording.truncated
    return replayer.finish()
