"""COP-1, the command link's sequence control (CCSDS 232.1-B-2), both ends (shell).

``Farm`` is the lander's Frame Acceptance and Reporting Mechanism: it accepts a type-A frame
only when its N(S) is the V(R) it expects, so a lost frame stops everything after it until the
ground resends, and a replayed or duplicated frame (N(S) behind V(R), within the window) is
discarded; a frame far outside the window puts it in lockout, where only an Unlock control
command (type-B) brings it back. Type-B frames bypass the check. Its state goes down in every
telemetry frame's CLCW.

``Fop`` is the ground's Frame Operation Procedure: it numbers type-A frames, keeps each until a
CLCW acknowledges it (V(R) past it), resends every outstanding frame when the CLCW asks
(retransmit flag) or when none has been acknowledged for ``t1_s``, holds new frames while
``window`` are outstanding, and raises an alert (lockout, a frame resent ``limit`` times, an
impossible acknowledgement) that stops it until an operator acts (``unlock``, ``set_vr``, then
``resume``).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from touchdown.telemetry.tc_frames import SET_VR, UNLOCK, Clcw, TcFrame, encode_tc_frame

MODULO = 256  # frame sequence numbers are 8 bits


@dataclass(frozen=True)
class Acceptance:
    """What the FARM did with a frame: accepted (its data goes on to the packet decoder) or
    discarded, with the reason."""

    accepted: bool
    reason: str = ""


class Farm:
    """FARM-1 for one virtual channel (sliding window width ``window``: even, 2-254)."""

    def __init__(self, virtual_channel: int, window: int) -> None:
        self.virtual_channel = virtual_channel
        self.positive = self.negative = window // 2  # PW, NW
        self.v_r = 0
        self.lockout = self.wait = self.retransmit = False
        self.farm_b = 0

    def receive(self, frame: TcFrame) -> Acceptance:
        """Accept or discard one frame of this virtual channel (a decoded, error-free one)."""
        if frame.virtual_channel != self.virtual_channel:
            return Acceptance(False, f"virtual channel {frame.virtual_channel}, not "
                                     f"{self.virtual_channel}")
        if frame.control:
            return self._control(frame.data)
        if frame.bypass:
            self.farm_b += 1
            return Acceptance(True)
        if self.lockout:
            return Acceptance(False, "lockout: type-A frames are refused until an Unlock")
        ahead = (frame.seq - self.v_r) % MODULO
        if ahead == 0:
            self.v_r = (self.v_r + 1) % MODULO
            self.retransmit = False
            return Acceptance(True)
        if ahead < self.positive:
            self.retransmit = True
            return Acceptance(False, f"N(S) {frame.seq} ahead of V(R) {self.v_r}: a frame was "
                                     "lost, retransmission requested")
        if (self.v_r - frame.seq) % MODULO <= self.negative:
            return Acceptance(False, f"N(S) {frame.seq} behind V(R) {self.v_r}: already "
                                     "accepted (a repeat or a replay)")
        self.lockout = True
        return Acceptance(False, f"N(S) {frame.seq} outside the window about V(R) {self.v_r}: "
                                 "lockout")

    def _control(self, data: bytes) -> Acceptance:
        if data == UNLOCK:
            self.farm_b += 1
            self.lockout = self.wait = self.retransmit = False
            return Acceptance(True)
        if len(data) == 3 and data[:2] == SET_VR:
            self.farm_b += 1
            if self.lockout:
                return Acceptance(False, "Set V(R) refused in lockout: send an Unlock first")
            self.v_r, self.wait, self.retransmit = data[2], False, False
            return Acceptance(True)
        return Acceptance(False, f"unknown control command {data.hex()}")

    def clcw(self) -> Clcw:
        """The status the lander reports in its telemetry."""
        return Clcw(self.virtual_channel, self.v_r, self.lockout, self.wait, self.retransmit,
                    self.farm_b % 4)


@dataclass
class _Sent:
    seq: int
    octets: bytes
    sent_s: float
    transmissions: int = 1


class Fop:
    """FOP-1 for one virtual channel: type-A frames out, CLCWs in.

    window: frames outstanding at most (K, at most the FARM's positive window); t1_s: resend
    everything outstanding when nothing has been acknowledged for this long (at least the round
    trip); limit: transmissions of one frame before the alert.
    """

    def __init__(self, spacecraft_id: int, virtual_channel: int, window: int, t1_s: float,
                 limit: int = 3) -> None:
        self.spacecraft_id, self.virtual_channel = spacecraft_id, virtual_channel
        self.window, self.t1_s, self.limit = window, t1_s, limit
        self.v_s = 0  # N(S) of the next new frame
        self.acknowledged = 0  # NN(R): the N(S) of the oldest frame not yet acknowledged
        self.outstanding: deque[_Sent] = deque()
        self.waiting: deque[bytes] = deque()  # packets held while the window is full
        self.alert = ""  # why the FOP stopped ("" while it runs)
        self._asked = -1  # the V(R) whose retransmit flag was answered

    def submit(self, packet: bytes, now: float) -> list[bytes]:
        """Queue a telecommand packet; returns the frames to radiate now."""
        self.waiting.append(packet)
        return self._release(now)

    def on_clcw(self, clcw: Clcw, now: float) -> list[bytes]:
        """Take a CLCW from the telemetry; returns the frames to radiate (resent, released)."""
        if clcw.virtual_channel != self.virtual_channel or self.alert:
            return []
        if clcw.lockout:
            self.alert = "the lander is in lockout: send an Unlock (fop.unlock), then resume"
            return []
        done = (clcw.report_value - self.acknowledged) % MODULO
        if 0 < (self.acknowledged - clcw.report_value) % MODULO <= self.window:
            return []  # an older CLCW (from before a Set V(R)): nothing new
        if done > len(self.outstanding):
            self.alert = (f"the lander reports V(R) {clcw.report_value}, beyond every frame "
                          "sent: set V(R) or resume once the link is understood")
            return []
        for _ in range(done):
            self.outstanding.popleft()
        if done:
            self.acknowledged = clcw.report_value
            for s in self.outstanding:
                s.sent_s = now  # the timer restarts on progress
        out = []
        if clcw.retransmit and self.outstanding and self._asked != clcw.report_value:
            self._asked = clcw.report_value
            out = self._resend(now)
        return out + self._release(now)

    def tick(self, now: float) -> list[bytes]:
        """Resend everything outstanding when the oldest frame has waited t1_s unacknowledged."""
        if self.alert or not self.outstanding or now - self.outstanding[0].sent_s < self.t1_s:
            return []
        return self._resend(now)

    def unlock(self) -> bytes:
        """The Unlock control command (type-B), for a lander in lockout."""
        return self._bypass(UNLOCK, control=True)

    def set_vr(self, value: int) -> bytes:
        """Set V(R): the lander and this FOP restart numbering at ``value``; what is outstanding
        or waiting is dropped (the operator resends what still matters)."""
        self.v_s = self.acknowledged = value % MODULO
        self.outstanding.clear()
        self._asked = -1
        return self._bypass(SET_VR + bytes([value % MODULO]), control=True)

    def bypass(self, packet: bytes) -> bytes:
        """A type-B frame for ``packet``: accepted onboard without sequence control (for
        recovery; not resent)."""
        return self._bypass(packet, control=False)

    def resume(self, now: float) -> list[bytes]:
        """Clear the alert (after the operator has acted); returns the frames released."""
        self.alert = ""
        self._asked = -1
        return self._release(now)

    def _bypass(self, data: bytes, control: bool) -> bytes:
        return encode_tc_frame(TcFrame(self.spacecraft_id, self.virtual_channel, 0, data,
                                       bypass=True, control=control))

    def _resend(self, now: float) -> list[bytes]:
        out = []
        for s in self.outstanding:
            if s.transmissions >= self.limit:
                self.alert = (f"frame {s.seq} sent {s.transmissions} times without "
                              "acknowledgement: check the link, then resume")
                return out
            s.transmissions += 1
            s.sent_s = now
            out.append(s.octets)
        return out

    def _release(self, now: float) -> list[bytes]:
        out = []
        while self.waiting and not self.alert and len(self.outstanding) < self.window:
            octets = encode_tc_frame(TcFrame(self.spacecraft_id, self.virtual_channel, self.v_s,
                                             self.waiting.popleft()))
            self.outstanding.append(_Sent(self.v_s, octets, now))
            self.v_s = (self.v_s + 1) % MODULO
            out.append(octets)
        return out
