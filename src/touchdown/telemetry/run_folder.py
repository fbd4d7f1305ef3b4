"""A run folder (shell): the files one simulated flight leaves, named, written and read here only.

``touchdown fly --out``, ``compare --out``, ``campaign rerun`` and ``report --flight`` write one
(``write_run_folder``); ``touchdown report`` reads it (``RECORDING`` through the ground's ingest,
``read_truth`` for the overlays) and ``touchdown ground ingest`` takes its recording.

    trajectory.parquet   the simulation's trace, one row per cycle (truth and the onboard
                         estimates; the mode as text)
    flight.json          the flight's summary (``Flight.to_dict``): outcome, touchdown, events
    flight.png           the one-page picture of the flight (``plots.flight``)
    received.downlink    what the ground station received (``telemetry.recording``), when the
                         flight was flown with its downlink
    images/              every image the camera took, as it took it (``NNN.png``), and
                         ``images.json``: when, kept onboard or not (storage full), its octets,
                         and how much of it the ground received (from the frames that arrived)

Every file is written atomically (a temporary name in the folder, then renamed). The trace and
the summary are simulation truth: the report draws them apart, marked, and finds nothing in them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from touchdown.errors import OutputError, PacketError
from touchdown.files import jsonable, write_atomic

if TYPE_CHECKING:
    from touchdown.sim.run import Flight
    from touchdown.telemetry.downlink import DownlinkedFlight

TRACE = "trajectory.parquet"
SUMMARY = "flight.json"
PICTURE = "flight.png"
RECORDING = "received.downlink"
IMAGES = "images"


@dataclass
class Truth:
    """A simulated run's own record: its trace (``TRACE``), summary (``SUMMARY``) and the images
    its camera took (``IMAGES``). Used only to overlay the report's figures, marked as
    simulation truth."""

    trace: pd.DataFrame
    flight: dict[str, Any]
    images: list[dict[str, Any]] = field(default_factory=list)  # images.json's, with "path"

    def event_time(self, name: str) -> float | None:
        """Time (s since the epoch) of the first event called ``name``; None if none."""
        return next((e["time_s"] for e in self.flight["events"] if e["name"] == name), None)


def write_run_folder(folder: Path, flight: Flight,
                     link: DownlinkedFlight | None = None) -> list[Path]:
    """Write ``flight``'s run folder (with ``link``, what the ground received too); returns the
    files written. OutputError names the folder when it cannot be written."""
    from touchdown.plots.flight import plot_flight

    trace = flight.trace.copy()
    trace["mode"] = trace["mode"].astype(str)
    text = json.dumps(jsonable(flight.to_dict()), indent=2) + "\n"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        written = [write_atomic(folder / TRACE, lambda p: trace.to_parquet(p, index=False)),
                   plot_flight(flight, folder / PICTURE),
                   write_atomic(folder / SUMMARY, lambda p: p.write_text(text, encoding="utf-8"))]
        if link is not None:
            written.append(link.record(folder / RECORDING))
            if link.imager is not None:
                written += write_images(folder / IMAGES, link)
    except OSError as exc:
        raise OutputError(f"could not write the outputs in {folder}: {exc}; give --out a folder "
                          "you can write to") from exc
    return written


def received_images(link: DownlinkedFlight) -> dict[int, dict[str, Any]]:
    """What the ground received of each image, from the frames that arrived (its summary)."""
    from touchdown.telemetry.frames import FrameDecoder
    from touchdown.telemetry.image_assembly import ImageAssembler
    from touchdown.telemetry.packets import decode_packet

    decoder = FrameDecoder(link.config.frame_length, link.dictionary.spacecraft_id)
    assembler = ImageAssembler()
    for _, octets in link.link.frames:
        for raw in decoder.feed(octets):
            try:
                assembler.add(decode_packet(raw, link.dictionary))
            except PacketError:
                continue  # (a damaged packet: the ground counts it)
    return {k: image.summary() for k, image in assembler.images.items()}


def write_images(folder: Path, link: DownlinkedFlight) -> list[Path]:
    """Every image the camera took (PNG) and ``images.json``: when, kept, octets, received."""
    from PIL import Image as PilImage

    assert link.imager is not None
    folder.mkdir(parents=True, exist_ok=True)
    received = received_images(link)
    index, written = [], []
    for image in link.imager.images:
        name = f"{image.image_id:03d}.png"
        written.append(write_atomic(folder / name, lambda p, px=image.pixels:
                                    PilImage.fromarray(px, mode="L").save(p, format="PNG")))
        got = received.get(image.image_id, {})
        index.append({"image_id": image.image_id, "file": name, "t_s": image.t,
                      "kept": image.kept, "octets": image.octets,
                      "octets_sent": image.octets_sent,
                      "octets_received": got.get("octets_received", 0),
                      "received": ("complete" if got.get("complete") else
                                   "partial" if got.get("octets_received") else "no"),
                      "estimate": {k: image.info[k] for k in ("lat_deg", "lon_deg",
                                                              "altitude_m")}})
    text = json.dumps(jsonable({"images": index}), indent=2) + "\n"
    written.append(write_atomic(folder / "images.json",
                                lambda p: p.write_text(text, encoding="utf-8")))
    return written


def read_truth(folder: Path) -> Truth | None:
    """The simulation's record in a run folder; None when its trace or summary is missing."""
    if not ((folder / TRACE).is_file() and (folder / SUMMARY).is_file()):
        return None
    index = folder / IMAGES / "images.json"
    images = (json.loads(index.read_text(encoding="utf-8"))["images"] if index.is_file()
              else [])
    for image in images:
        image["path"] = folder / IMAGES / image["file"]
    return Truth(pd.read_parquet(folder / TRACE),
                 json.loads((folder / SUMMARY).read_text(encoding="utf-8")), images)
