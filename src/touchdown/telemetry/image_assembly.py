"""The lander's images put together from what came down (shell): ``image_info`` and ``image``
packets in, images out, each strip complete or not. The ground's ingest and a run folder's
record of what the ground received both use it.

An image is announced by its ``image_info`` packet (size, strips, exposure, the flight
software's position and attitude estimates) and comes in ``image`` packets, each the octets of
one strip from an offset on. A strip whose octets have all arrived is a JPEG of its own and is
decoded; the others are shown as missing (mid-grey), so a partial image shows as far as it came.
Pieces may arrive before their ``image_info`` (it can be lost): they are kept, and the image's
size is known from it once it comes.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image as PilImage

from touchdown.telemetry.packets import TmPacket

MISSING_DN = 128  # a strip not (wholly) received is drawn mid-grey


@dataclass
class Strip:
    """One strip's octets as received so far."""

    octets: int  # its JPEG's length
    data: bytearray
    have: list[tuple[int, int]] = field(default_factory=list)  # received [start, end) spans

    def add(self, offset: int, payload: bytes) -> None:
        end = offset + len(payload)
        if offset < 0 or end > self.octets:
            return  # not this strip's (a damaged count)
        self.data[offset:end] = payload
        spans = sorted([*self.have, (offset, end)])
        merged = [spans[0]]
        for a, b in spans[1:]:
            if a <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], b))
            else:
                merged.append((a, b))
        self.have = merged

    @property
    def received(self) -> int:
        return sum(b - a for a, b in self.have)

    @property
    def complete(self) -> bool:
        return self.have == [(0, self.octets)]


@dataclass
class ReceivedImage:
    """An image as far as the ground has it."""

    image_id: int
    info: dict[str, float] | None = None  # the image_info packet's values (None: not yet)
    t: float | None = None  # onboard time it was taken (from image_info)
    strips: dict[int, Strip] = field(default_factory=dict)

    @property
    def n_strips(self) -> int | None:
        if self.info is None:
            return None
        rows, height = int(self.info["strip_rows"]), int(self.info["height_px"])
        return -(-height // rows) if self.info["octets"] else 0

    @property
    def octets_received(self) -> int:
        return sum(s.received for s in self.strips.values())

    @property
    def complete(self) -> bool:
        n = self.n_strips
        return n is not None and all(k in self.strips and self.strips[k].complete
                                     for k in range(n))

    def pixels(self) -> np.ndarray | None:
        """The image, missing strips mid-grey (None before its image_info)."""
        if self.info is None:
            return None
        h, w = int(self.info["height_px"]), int(self.info["width_px"])
        rows = int(self.info["strip_rows"])
        out = np.full((h, w), MISSING_DN, dtype=np.uint8)
        for k, strip in self.strips.items():
            if not strip.complete:
                continue
            try:
                part = np.asarray(PilImage.open(io.BytesIO(bytes(strip.data))).convert("L"))
            except (OSError, ValueError):
                continue  # a strip that does not decode stays missing
            top = k * rows
            take = part[:max(0, min(rows, h - top)), :w]
            out[top:top + take.shape[0], :take.shape[1]] = take
        return out

    def summary(self) -> dict[str, Any]:
        n = self.n_strips
        return {"image_id": self.image_id, "t": self.t, "strips": n,
                "strips_complete": sum(s.complete for s in self.strips.values()),
                "octets": None if self.info is None else int(self.info["octets"]),
                "octets_received": self.octets_received, "complete": self.complete}


class ImageAssembler:
    """Puts the lander's images together from their packets (``add``)."""

    def __init__(self) -> None:
        self.images: dict[int, ReceivedImage] = {}

    def add(self, packet: TmPacket) -> ReceivedImage | None:
        """Take an ``image_info`` or ``image`` packet; the image it adds to (None: another)."""
        if packet.name not in ("image_info", "image"):
            return None
        image_id = int(packet.values["image_id"])
        image = self.images.setdefault(image_id, ReceivedImage(image_id))
        if packet.name == "image_info":
            image.info, image.t = dict(packet.values), packet.t
            return image
        k, octets = int(packet.values["strip"]), int(packet.values["strip_octets"])
        strip = image.strips.get(k)
        if strip is None or strip.octets != octets:
            strip = image.strips[k] = Strip(octets, bytearray(octets))
        strip.add(int(packet.values["offset"]), packet.payload)
        return image
