"""The lander's imaging task (shell): images taken as the scenario's plan says, kept in the
onboard storage, compressed strip by strip, and sent down in the room the telemetry leaves.

- **Plan** (the scenario's ``[camera]``): an image every ``period_s`` from ``start_s`` (0: no
  periodic images), and one at each flight-software event named in ``events`` (from the
  lander's own event log). Due images are taken when the host next samples the flight (every
  ``downlink.SAMPLE_S``), at that instant.
- **Taking** an image is the camera's business (``world.camera``: the truth terrain at the true
  pose, the Sun from DE421, the sensor's noise from a stream of the flight's seed); what goes
  with it is what the flight software believed: its position and attitude estimates.
- **Keeping**: the image is cut into strips of ``strip_rows`` rows, each a JPEG of its own
  (Pillow, ``quality``), so a strip lost on the way costs that strip alone. An image that does
  not fit what is left of ``storage_octets`` is not kept (its ``image_info`` says so:
  ``octets`` 0).
- **Sending**: an ``image_info`` packet goes with the telemetry when the image is taken; the
  strips go in ``image`` packets only when a frame would otherwise end in idle fill
  (``link.Transmitter``'s filler), sized to the room left, oldest image first. So images never
  delay a telemetry packet: the telemetry's frames are the same with or without them.

Rendering costs ~0.1-0.7 s an image; the same flight renders the same images, so they are kept
by pose for the process (``_RENDERED``: a flight flown again takes them from there).
"""

from __future__ import annotations

import io
import math
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from PIL import Image as PilImage

from touchdown.core import layout as st
from touchdown.core.layout import C_TICK, TICK_S
from touchdown.moon.constants import OMEGA
from touchdown.moon.frames import rotate_z
from touchdown.sim.run import Arrays
from touchdown.telemetry.dictionary import Dictionary
from touchdown.telemetry.onboard import SAMPLERS, Outgoing
from touchdown.telemetry.packets import HEADER_LEN, PacketEncoder
from touchdown.world.camera import Camera, expose, render

ROOM_MIN = 48  # octets: a frame's room smaller than this is left to idle fill
RENDERED_MAX = 256  # images the process keeps by pose
_RENDERED: OrderedDict[bytes, np.ndarray] = OrderedDict()


@dataclass(frozen=True)
class ImagingPlan:
    """When images are taken and how they are kept (the scenario's ``[camera]``)."""

    camera: Camera
    start_s: float = 0.0
    period_s: float = 0.0
    events: tuple[int, ...] = ()  # event codes
    storage_octets: int = 8 << 20
    quality: int = 75
    strip_rows: int = 64

    @property
    def active(self) -> bool:
        """Whether the plan takes any image."""
        return self.period_s > 0.0 or bool(self.events)

    @classmethod
    def from_scenario(cls, s: Any) -> ImagingPlan:
        c = {k.split(".", 1)[1]: v for k, v in s.values.items() if k.startswith("camera.")}
        camera = Camera(c["width_px"], c["height_px"], c["fov_deg"], c["boresight_body"],
                        c["up_body"], c["exposure_s"], c["saturation_exposure_s"], c["albedo"],
                        c["read_noise_dn"])
        return cls(camera, c["start_s"], c["period_s"], tuple(st.EV[e] for e in c["events"]),
                   int(c["storage_octets"]), int(c["quality"]), int(c["strip_rows"]))


@dataclass
class Image:
    """One image taken: what the camera saw, its strips and how far they have gone down."""

    image_id: int
    t: float  # s since the epoch (mission time)
    pixels: np.ndarray  # (H, W) uint8
    strips: list[bytes]
    kept: bool  # in the storage (False: it did not fit)
    info: dict[str, float]  # the image_info packet's values
    strip_next: int = 0  # the first strip not wholly sent
    offset_next: int = 0  # octets of it sent
    octets_sent: int = 0

    @property
    def octets(self) -> int:
        return sum(len(s) for s in self.strips)

    @property
    def sent(self) -> bool:
        return self.strip_next >= len(self.strips)


def compress(pixels: np.ndarray, strip_rows: int, quality: int) -> list[bytes]:
    """The image in strips of ``strip_rows`` rows, each a baseline JPEG of its own."""
    out = []
    for top in range(0, pixels.shape[0], strip_rows):
        buf = io.BytesIO()
        PilImage.fromarray(pixels[top:top + strip_rows], mode="L").save(
            buf, format="JPEG", quality=quality)
        out.append(buf.getvalue())
    return out


@dataclass
class Imager:
    """The imaging task of one flight: ``sample(arrays)`` between compiled chunks (as the
    telemetry task), ``fill(room, t)`` as the link's filler."""

    plan: ImagingPlan
    dictionary: Dictionary
    terrain: Any  # the truth terrain (the camera is the world's)
    epoch_utc: datetime
    ephemeris: Any
    seed: int | np.random.SeedSequence = 0
    images: list[Image] = field(default_factory=list)
    packets: list[Outgoing] = field(default_factory=list)  # image_info, with the telemetry
    storage_used: int = 0
    _next_periodic: float = field(init=False)
    _events_seen: int = 0

    def __post_init__(self) -> None:
        self._next_periodic = self.plan.start_s if self.plan.period_s > 0.0 else math.inf
        seq = (self.seed if isinstance(self.seed, np.random.SeedSequence)
               else np.random.SeedSequence(self.seed))
        self._rng = np.random.default_rng(np.random.SeedSequence(seq.entropy, spawn_key=(
            *seq.spawn_key, 0xCA)))  # the sensor's noise: a stream of the flight's own
        self._encoder = PacketEncoder()
        self._info, self._segment = self.dictionary["image_info"], self.dictionary["image"]

    def sample(self, a: Arrays) -> None:
        """Take the images due by now (the plan's periodic ones, the events' since last time)."""
        if not self.plan.active:
            return
        t = float(a.clock[C_TICK]) * TICK_S
        due = 0
        if t >= self._next_periodic:
            due += 1
            while self._next_periodic <= t:
                self._next_periodic += self.plan.period_s
        for k in range(self._events_seen, int(a.n_events[0])):
            due += int(a.events[k][1]) in self.plan.events
        self._events_seen = int(a.n_events[0])
        if due and a.world[st.W_STATUS] != st.CRASHED:
            self._take(a, t)

    def _take(self, a: Arrays, t: float) -> None:
        """One image, now: rendered from the truth, described from the flight software."""
        turn = OMEGA * float(a.world[st.W_T])
        r_mcmf = np.empty(3)
        rotate_z(-turn, a.world[st.W_R:st.W_R + 3], r_mcmf)
        c, s = math.cos(turn), math.sin(turn)
        mcmf_from_mci = np.array([[c, s, 0.0], [-s, c, 0.0], [0.0, 0.0, 1.0]])
        dcm = mcmf_from_mci @ _dcm(a.world[st.W_Q:st.W_Q + 4])
        sun = self.ephemeris.sun_mcmf_unit(self.epoch_utc, t)
        pixels = expose(_rendered(self.terrain, self.plan.camera, r_mcmf, dcm, sun),
                        self.plan.camera, self._rng)
        strips = compress(pixels, self.plan.strip_rows, self.plan.quality)
        octets = sum(map(len, strips))
        kept = self.storage_used + octets <= self.plan.storage_octets
        self.storage_used += octets if kept else 0
        image_id = len(self.images) + 1
        info = info_values(image_id, pixels.shape, self.plan, octets if kept else 0, a.fsw, t)
        self.images.append(Image(image_id, t, pixels, strips if kept else [], kept, info))
        data = self._encoder.encode(self._info, t + a.fsw[st.F_CLOCK], info)
        self.packets.append(Outgoing(t, self._info.priority, self._info.apid, data))

    @property
    def pending(self) -> bool:
        """Whether a kept image has octets still onboard."""
        return any(i.kept and not i.sent for i in self.images)

    def fill(self, room: int, t: float) -> bytes | None:
        """An ``image`` packet of at most ``room`` octets with the next octets of the oldest
        kept image taken by ``t`` (s), or None."""
        overhead = HEADER_LEN + self._segment.layout.size
        if room < max(ROOM_MIN, overhead + 1):
            return None
        image = next((i for i in self.images if i.kept and not i.sent and i.t <= t), None)
        if image is None:
            return None
        strip = image.strips[image.strip_next]
        part = strip[image.offset_next:image.offset_next + room - overhead]
        data = self._encoder.encode(self._segment, t, segment_values(
            image.image_id, image.strip_next, image.offset_next, len(strip)), part)
        image.offset_next += len(part)
        image.octets_sent += len(part)
        if image.offset_next >= len(strip):
            image.strip_next += 1
            image.offset_next = 0
        return data


def info_values(image_id: int, shape: tuple[int, ...], plan: ImagingPlan, octets: int,
                fsw: np.ndarray, t: float) -> dict[str, float]:
    """An ``image_info`` packet's values: the image, how it is kept (``octets`` 0: not kept),
    and the flight software's estimates at time t (s)."""
    return {"image_id": image_id, "width_px": shape[1], "height_px": shape[0],
            "strip_rows": plan.strip_rows, "octets": octets, "quality": plan.quality,
            "exposure_s": plan.camera.exposure_s, **_estimate(fsw, t)}


def segment_values(image_id: int, strip: int, offset: int, strip_octets: int,
                   ) -> dict[str, float]:
    """An ``image`` packet's values (its payload: the strip's octets from ``offset``)."""
    return {"image_id": image_id, "strip": strip, "offset": offset,
            "strip_octets": strip_octets}


def _dcm(q: np.ndarray) -> np.ndarray:
    """The rotation matrix of a unit quaternion (w, x, y, z)."""
    w, x, y, z = q
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
                     [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
                     [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)]])


def _estimate(fsw: np.ndarray, t: float) -> dict[str, float]:
    """Where the flight software believed the lander was (as its ``nav`` packet says), and its
    attitude estimate."""
    nav = SAMPLERS["nav"](fsw, t)
    q = fsw[st.F_Q:st.F_Q + 4]
    return {"lat_deg": nav["lat_deg"], "lon_deg": nav["lon_deg"],
            "altitude_m": nav["altitude_m"], "q_w": q[0], "q_x": q[1], "q_y": q[2], "q_z": q[3]}


def _rendered(terrain: Any, camera: Camera, r_mcmf: np.ndarray, dcm: np.ndarray,
              sun: np.ndarray) -> np.ndarray:
    """The camera's shading image at this pose, rendered or, for a pose seen before in this
    process (the same flight flown again), as it was."""
    key = b"".join(np.ascontiguousarray(v, dtype=np.float64).tobytes()
                   for v in (r_mcmf, dcm, sun)) + repr((camera, id(terrain))).encode()
    shading = _RENDERED.get(key)
    if shading is None:
        shading = render(terrain, camera, r_mcmf, dcm, sun).shading
        _RENDERED[key] = shading
        if len(_RENDERED) > RENDERED_MAX:
            _RENDERED.popitem(last=False)
    else:
        _RENDERED.move_to_end(key)
    return shading
