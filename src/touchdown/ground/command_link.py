"""The ground's end of the command link (shell): released commands through COP-1's FOP to the
station's transmitter, the lander's CLCW from the telemetry frames' operational control field
back to the FOP, and the command queue told what the link did.

The ground knows what it radiated and when, and the light time from the ephemeris; it never
knows whether a frame arrived: the estimated arrival is the frame's end plus the light time,
and only the telemetry (the verifiers, the CLCW) says what happened onboard.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from touchdown.errors import CommandingError, FrameError
from touchdown.ground.commanding import Commanding, CommandRecord
from touchdown.ground.users import refused
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
        self.clcw_t: float | None = None  # when it was received (ground s)

    def release(self, record: CommandRecord) -> None:
        """Hand a released command to the FOP (``Commanding``'s release callback)."""
        now = self.commanding.clock()
        before = self.fop.v_s
        frames = self.fop.submit(record.packet, now)
        self._by_seq[before] = record.id  # one packet per frame: the next N(S) is its frame
        self.commanding.sent(record.id)
        self._send(frames, now)

    def on_packet(self, packet: TmPacket, t_received: float) -> None:
        """A telemetry packet arrived (at ground time t_received): the verifiers."""
        self.commanding.on_packet(packet)

    def on_ocf(self, octets: bytes) -> None:
        """A telemetry frame's operational control field: the lander's CLCW, to the FOP (an
        OCF that is no COP-1 CLCW is passed over)."""
        try:
            self.clcw = Clcw.decode(octets)
        except FrameError:
            return
        now = self.commanding.clock()
        self.clcw_t = now
        self._send(self.fop.on_clcw(self.clcw, now), now)

    def directive(self, name: str, user: str, role: str, value: int | None = None) -> None:
        """An operator's COP-1 directive, audited: ``unlock`` radiates an Unlock (a lander in
        lockout accepts type-A frames again), ``set_vr`` a Set V(R) to ``value`` (the lander
        and the FOP restart numbering there; the frames outstanding are dropped, and their
        commands time out unless the telemetry verifies them), ``resume`` clears the FOP's
        alert and sends what waits. CommandingError (400) for a bad name or value."""
        now = self.commanding.clock()
        detail: dict[str, Any] = {"alert": self.fop.alert}
        if name == "set_vr":
            detail["value"] = value
        why = ""
        if name not in ("unlock", "set_vr", "resume"):
            why = f"no COP-1 directive {name!r}: unlock, set_vr or resume"
        elif name == "set_vr" and not (isinstance(value, int) and not isinstance(value, bool)
                                       and 0 <= value < 256):
            why = f"set_vr needs a value 0..255 (the next frame's N(S)), got {value!r}"
        if why:
            self.commanding.audit(user, role, f"uplink {name}", "uplink", detail,
                                  refused(400, why))
            raise CommandingError(why, 400)
        if name == "unlock":
            self._send([self.fop.unlock()], now)
        elif name == "set_vr":
            self._send([self.fop.set_vr(int(value))], now)  # type: ignore[arg-type]
        else:
            self._send(self.fop.resume(now), now)
        self.commanding.audit(user, role, f"uplink {name}", "uplink", detail, "ok")

    def status(self) -> dict[str, Any]:
        """The FOP's state and the lander's last CLCW, for the operators."""
        fop, clcw = self.fop, self.clcw
        return {"alert": fop.alert, "next_seq": fop.v_s, "acknowledged": fop.acknowledged,
                "outstanding": len(fop.outstanding), "waiting": len(fop.waiting),
                "window": fop.window, "t1_s": fop.t1_s, "limit": fop.limit,
                "clcw": None if clcw is None else {
                    "t": self.clcw_t, "report_value": clcw.report_value,
                    "lockout": clcw.lockout, "wait": clcw.wait,
                    "retransmit": clcw.retransmit, "farm_b_counter": clcw.farm_b_counter}}

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
