"""The lander's images on the ground (shell): put together from the archive's ``image_info``
and ``image`` packets and from those arriving, and served.

- ``GET /api/images`` — every image announced or begun, oldest first: its number, onboard time
  (``t``), when its last piece arrived (``t_received``), strips complete of how many, octets
  received of how many, ``complete``, and the flight software's estimates when it was taken
  (position, altitude, attitude, exposure).
- ``GET /api/images/{id}.png`` — the image as far as it came (strips not wholly received
  mid-grey); ``?width=N`` scales it down (a filmstrip's thumbnail). 404 for an image nobody
  announced, 409 for one whose ``image_info`` has not arrived (its size is unknown).

The archive keeps the packets (evidence); the images are made from them, so a reopened archive
shows the same images.
"""

from __future__ import annotations

import io
from typing import Any

from aiohttp import web
from PIL import Image as PilImage

from touchdown.ground.archive import Archive
from touchdown.ground.http import INGEST, error, json_response, path_id
from touchdown.ground.ingest import Ingest
from touchdown.telemetry.dictionary import Dictionary
from touchdown.telemetry.image_assembly import ImageAssembler
from touchdown.telemetry.packets import TmPacket, decode_packet

IMAGES = web.AppKey("images", object)  # GroundImages
THUMB_MIN, THUMB_MAX = 16, 4096  # pixels: the widths a scaled image may have


def has_images(dictionary: Dictionary) -> bool:
    """Whether the dictionary declares the camera's packets."""
    return {"image_info", "image"} <= {p.name for p in dictionary.packets}


class GroundImages:
    """The images of an archive, put together from its packets; with an ingest, kept up to date
    as packets arrive."""

    def __init__(self, archive: Archive, dictionary: Dictionary,
                 ingest: Ingest | None = None) -> None:
        self.assembler = ImageAssembler()
        self.t_received: dict[int, float] = {}  # image: when its newest piece arrived
        if not has_images(dictionary):
            return
        for packet in (dictionary["image_info"], dictionary["image"]):
            for _, _, _, t_rx, raw in archive.packets(apid=packet.apid):
                self._add(decode_packet(raw, dictionary), t_rx)
        if ingest is not None:
            ingest.packet_listeners.append(self.on_packet)

    def on_packet(self, packet: TmPacket, t_received: float) -> None:
        """A packet archived, received at ground time t_received: an image's, added."""
        if packet.name in ("image_info", "image"):
            self._add(packet, t_received)

    def _add(self, packet: TmPacket, t_received: float) -> None:
        image = self.assembler.add(packet)
        if image is not None:
            self.t_received[image.image_id] = max(t_received,
                                                  self.t_received.get(image.image_id, t_received))

    def listing(self) -> list[dict[str, Any]]:
        out = []
        for k in sorted(self.assembler.images):
            image = self.assembler.images[k]
            info = image.info or {}
            out.append({**image.summary(), "t_received": self.t_received.get(k),
                        "url": f"/api/images/{k}.png",
                        **{f: info.get(f) for f in ("width_px", "height_px", "exposure_s",
                                                    "lat_deg", "lon_deg", "altitude_m")}})
        return out


async def listing(request: web.Request) -> web.Response:
    return json_response({"images": request.app[IMAGES].listing()})


async def picture(request: web.Request) -> web.Response:
    image_id = path_id(request)
    image = request.app[IMAGES].assembler.images.get(image_id)
    if image is None:
        return error(404, f"no image {image_id}: GET /api/images lists them")
    pixels = image.pixels()
    if pixels is None:
        return error(409, f"image {image_id}: its image_info has not arrived, so its size is "
                     "not known yet")
    picture = PilImage.fromarray(pixels, mode="L")
    width = request.query.get("width")
    if width is not None:
        if not width.isdigit() or not THUMB_MIN <= int(width) <= THUMB_MAX:
            return error(400, f"width={width[:20]!r}: give a whole number of pixels, "
                         f"{THUMB_MIN}..{THUMB_MAX}")
        w = int(width)
        picture = picture.resize((w, max(1, round(w * picture.height / picture.width))))
    buf = io.BytesIO()
    picture.save(buf, format="PNG")
    return web.Response(body=buf.getvalue(), content_type="image/png",
                        headers={"Cache-Control": "no-store"})


def add_image_routes(app: web.Application) -> None:
    """The images API over the app's ingest."""
    ingest = app[INGEST]
    app[IMAGES] = GroundImages(ingest.archive, ingest.dictionary, ingest)
    app.add_routes([web.get("/api/images", listing),
                    web.get(r"/api/images/{id:\d+}.png", picture)])
