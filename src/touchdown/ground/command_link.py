"""The ground's end of the command link (shell): released commands through COP-1's FOP to the
station's transmitter, the lander's CLCW from the telemetry back to the FOP, and the command
queue told what the link did.

The ground knows what it radiated and when, and the light time from the ephemeris; it never
knows whether a frame arrived: the estimated arrival is the frame's end plus the light time,
and only the telemetry (the verifiers, the CLCW) says what happened onboard.
"""

from __future__ import annotations

from collections.abc import Callable

from touchdown.errors import FrameError
from touchdown.ground.commanding import Commanding, CommandRecord
from touchdown.telemetry.cop import Fop
from touchdown.telemetry.packets import TmPacket
from touchdown.telemetry.tc_frames import HEADER_LEN, Clcw


class CommandLink:
    """Released commands out through the FOP; CLCWs in.

    radiate: the station's transmitter, called with each frame and the time it is handed over;
    it returns when the frame's last bit leaves (s). light_time_s: the one-way light time at a
    time (the ground's ephemeris).
    """

    def __init__(self, commanding: Commanding, fop: Fop,
                 radiate: Callable[[bytes, float], float],
                 light_time_s: Callable[[float], float]) -> None:
        self.commanding, self.fop = commanding, fop
        self._radiate, self.light_time_s = radiate, light_time_s
        self._by_seq: dict[int, int] = {}  # a type-A frame's N(S): the command it carries
        self.clcw: Clcw | None = None  # the latest the telemetry brought

    def release(self, record: CommandRecord) -> None:
        """Hand a released command to the FOP (``Commanding``'s release callback)."""
        now = self.commanding.clock()
        before = self.fop.v_s
        frames = self.fop.submit(record.packet, now)
        self._by_seq[before] = record.id  # one packet per frame: the next N(S) is its frame
        self.commanding.sent(record.id)
        self._send(frames, now)

    def on_packet(self, packet: TmPacket) -> None:
        """A telemetry packet arrived: the verifiers, and the CLCW when it carries one."""
        self.commanding.on_packet(packet)
        word = int(packet.values.get("clcw", 0)) if packet.name == "commanding" else 0
        if word:
            try:
                self.clcw = Clcw.decode(word.to_bytes(4, "big"))
            except FrameError:
                return
            self._send(self.fop.on_clcw(self.clcw, self.commanding.clock()),
                       self.commanding.clock())

    def tick(self) -> None:
        """The FOP's timer and the verifiers' timeouts."""
        now = self.commanding.clock()
        self._send(self.fop.tick(now), now)
        self.commanding.tick()

    def _send(self, frames: list[bytes], now: float) -> None:
        for octets in frames:
            end = self._radiate(octets, now)
            record_id = self._by_seq.get(octets[HEADER_LEN - 1])
            if record_id is not None and not (octets[0] >> 5) & 1:  # a type-A frame
                self.commanding.radiated(record_id, end, end + self.light_time_s(end))
