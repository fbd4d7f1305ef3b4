"""Ingesting a downlink recording (shell): the frames as the ground station received them.

Each record's octets (attached sync marker and frame, damaged or not) go through the frame
decoder into ``Ingest`` at the record's receive time, so the archive, the sequence checks, the
alarms and loss of signal come out as they would have live; after the last record the silence
that follows is let run until loss of signal is declared.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from touchdown.ground.ingest import Ingest
from touchdown.ground.status import LossOfSignal
from touchdown.telemetry.frames import DecoderStats, FrameDecoder
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


def replay_recording(recording: Recording, ingest: Ingest,
                     progress: Callable[[int], None] | None = None) -> ReplayReport:
    """Ingest every record of ``recording``; ``progress`` gets the octets of each record."""
    meta = recording.meta
    t_now = 0.0

    def keep(frame: bytes, ok: bool) -> None:
        ingest.archive.add_frame(t_now, frame, ok)

    decoder = FrameDecoder(int(meta.get("frame_length", 256)), meta.get("spacecraft_id"), keep)
    report = ReplayReport(frames=decoder.stats)
    for t, data in recording.records():
        t_now = t
        if report.t_first is None:
            report.t_first = t
        lost = ingest.link.update(t)
        if lost is not None:
            report.losses.append(lost)
        for raw in decoder.feed(data):
            report.packets += 1
            ingest.packet(raw, t)
        report.records += 1
        report.octets += len(data)
        report.t_last = t
        ingest.archive.maybe_commit()
        if progress is not None:
            progress(len(data))
    report.truncated = recording.truncated
    if report.t_last is not None:  # the silence after the last record
        lost = ingest.link.update(report.t_last + ingest.link.los_timeout_s + 1e-3)
        if lost is not None:
            report.losses.append(lost)
    ingest.archive.flush()
    return report
