"""The uplink (shell): the ground's TC frames through its transmitter and space to the lander,
and the lander's command receiver, which hands the flight software what it accepts.

1. ``Uplink``: the station radiates frames one after another at ``rate_bps``; a frame arrives
   one light time (DE421, from the Moon's centre) after its last bit leaves, unless it is lost
   (``frame_loss_probability``, drawn per frame from the seed) or the Earth is below the
   lander's horizon mask when it arrives.
2. ``Receiver``: the lander decodes a frame (a damaged one is refused: reason ``frame``), its
   FARM accepts it or not (a discard is the sequence control's business, reported in the CLCW,
   not a refused command), then each packet is decoded against the command dictionary: a
   command goes to the flight software's timeline at its arrival time, a packet that is not
   one (damaged, unknown, an argument out of range) goes as a refusal the flight software logs
   and counts at that time (``fsw.commands``: a row with code -reason).
   After every frame the receiver keeps the FARM's CLCW by arrival time (``clcw_at``): the
   downlink's frames carry it in their operational control field.
3. ``deliver`` writes rows into a flight's timeline between compiled chunks (the rows the
   flight software has executed are dropped first, so a long session never fills it).

A scenario's ``[[commands]]`` timeline takes this same path (``receive_timeline``): each command
is encoded, framed, radiated at its send time and accepted by a FARM, without losses.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from touchdown.core import layout as st
from touchdown.errors import CommandError, FrameError, LinkError
from touchdown.telemetry.cop import Farm, Fop
from touchdown.telemetry.dictionary import Dictionary, load_dictionary
from touchdown.telemetry.tc_frames import decode_tc_frame, split_packets
from touchdown.telemetry.telecommands import TelecommandEncoder, decode_telecommand

Row = tuple[float, float, float, float]  # a timeline row: arrival (s), code (or -reason), the
# arguments' raw values (st.MAX_ARGUMENTS, 0 where none; a refusal: its code, 0)
FOP_T1_S = 10.0  # s, ASSUMPTION: resend after this long unacknowledged (4 light times and more)


@dataclass(frozen=True)
class UplinkConfig:
    """Uplink settings (the scenario's ``link.uplink_*`` fields)."""

    rate_bps: float = 4000.0
    frame_loss_probability: float = 0.0
    seed: int | np.random.SeedSequence = 0

    def __post_init__(self) -> None:
        if not self.rate_bps > 0:
            raise LinkError(f"uplink rate_bps = {self.rate_bps!r} must be > 0 bit/s")
        if not 0.0 <= self.frame_loss_probability <= 1.0:
            raise LinkError(f"uplink frame_loss_probability = {self.frame_loss_probability!r} "
                            "must be a probability, 0..1")

    @classmethod
    def from_scenario(cls, scenario: object, seed: int | np.random.SeedSequence = 0,
                      ) -> UplinkConfig:
        s = scenario  # a touchdown.scenario.Scenario
        return cls(s["link.uplink_rate_bps"], s["link.uplink_frame_loss_probability"], seed)


@dataclass
class Uplink:
    """The station's transmitter and the path to the lander."""

    config: UplinkConfig
    light_time_s: Callable[[float], float]  # one-way light time at a time (s after the epoch)
    visible: Callable[[float], bool] = lambda t: True  # the Earth above the lander's mask
    busy_until_s: float = -np.inf
    radiated: int = 0
    lost: int = 0
    _rng: np.random.Generator = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._rng = np.random.default_rng(self.config.seed)

    def radiate(self, octets: bytes, now: float) -> tuple[float, float | None]:
        """Radiate a frame from ``now`` (or when the one before ends): its end (s) and its
        arrival at the lander (None when lost)."""
        start = max(now, self.busy_until_s)
        end = start + len(octets) * 8.0 / self.config.rate_bps
        self.busy_until_s = end
        self.radiated += 1
        arrival = end + self.light_time_s(end)
        if self._rng.random() < self.config.frame_loss_probability or not self.visible(arrival):
            self.lost += 1
            return end, None
        return end, arrival


class Receiver:
    """The lander's command receiver: frames to flight-software timeline rows."""

    def __init__(self, dictionary: Dictionary, farm: Farm) -> None:
        self.dictionary, self.farm = dictionary, farm
        self.discarded: list[str] = []  # the FARM's reasons, for the log
        self.given: list[Row] = []  # every row handed to the flight software
        self._clcw_t: list[float] = []  # arrivals (s), in order
        self._clcw: list[bytes] = [farm.clcw().encode()]  # before the first frame, then after each

    def clcw_at(self, t: float) -> bytes:
        """The CLCW (4 octets) as it stood at ``t`` (s): what a telemetry frame made then
        carries in its operational control field."""
        return self._clcw[bisect_right(self._clcw_t, t)]

    def rows(self, octets: bytes, arrival: float) -> list[Row]:
        """What one frame arriving at ``arrival`` (in order of arrival) gives the flight
        software."""
        rows = self._rows(octets, arrival)
        self.given += rows
        self._clcw_t.append(arrival)
        self._clcw.append(self.farm.clcw().encode())
        return rows

    def _rows(self, octets: bytes, arrival: float) -> list[Row]:
        try:
            frame = decode_tc_frame(octets, self.dictionary.spacecraft_id)
        except FrameError:
            return [(arrival, -float(st.TC_FRAME), -1.0, 0.0)]
        accepted = self.farm.receive(frame)
        if not accepted.accepted:
            self.discarded.append(accepted.reason)
            return []
        if frame.control:
            return []
        rows: list[Row] = []
        try:
            packets = list(split_packets(frame.data))
        except FrameError:
            return [(arrival, -float(st.TC_PACKET), -1.0, 0.0)]
        for packet in packets:
            try:
                tc = decode_telecommand(packet, self.dictionary)
            except CommandError as exc:
                rows.append((arrival, -float(st.TC_REJECTIONS.index(exc.reason)),
                             float(exc.opcode), 0.0))
                continue
            args = [*tc.arguments.values(), 0.0, 0.0][:st.MAX_ARGUMENTS]
            rows.append((arrival, float(tc.command.opcode), args[0], args[1]))
        return rows


def deliver(fsw: np.ndarray, fp: np.ndarray, rows: Sequence[Row]) -> None:
    """Add rows to a flight's command timeline (``FP_COMMANDS``) between compiled chunks: the
    rows already executed go first; LinkError when the rest and the new do not fit."""
    if not rows:
        return
    table = fp[st.FP_COMMANDS:st.FP_COMMANDS + st.MAX_COMMANDS * st.N_UPLINK].reshape(
        st.MAX_COMMANDS, st.N_UPLINK)
    done, n = int(fsw[st.F_CMD_NEXT]), int(fp[st.FP_N_COMMANDS])
    pending = table[done:n].copy()
    if len(pending) + len(rows) > st.MAX_COMMANDS:
        raise LinkError(f"the lander's command queue holds {st.MAX_COMMANDS} commands; "
                        f"{len(pending)} wait and {len(rows)} more arrived: send fewer at once")
    merged = sorted([tuple(r) for r in pending] + [tuple(r) for r in rows],
                    key=lambda r: r[st.UC_ARRIVAL])
    table[:] = 0.0
    for k, row in enumerate(merged):
        table[k, st.UC_ARRIVAL], table[k, st.UC_CODE] = row[0], row[1]
        table[k, st.UC_ARG:st.UC_ARG + st.MAX_ARGUMENTS] = row[2:]
    fp[st.FP_N_COMMANDS] = len(merged)
    fsw[st.F_CMD_NEXT] = 0


def command_receiver(dictionary: Dictionary) -> Receiver:
    """The lander's command receiver as the dictionary's ``[uplink]`` sets it up."""
    up = dictionary.uplink
    return Receiver(dictionary, Farm(up.virtual_channel, up.farm_window))


def receive_timeline(commands: Sequence[tuple[float, str, tuple[float, ...]]],
                     epoch_utc: datetime, rate_bps: float) -> Receiver:
    """A scenario's ``[[commands]]`` (send time, command, raw arguments) through the real path:
    encoded, framed, radiated in order at ``rate_bps`` and accepted by the lander's FARM; the
    receiver after them (``given``: the timeline's rows; ``clcw_at``: its CLCW by time)."""
    dictionary = load_dictionary()
    receiver = command_receiver(dictionary)
    if not commands:
        return receiver
    from touchdown.moon.ephemeris import load_ephemeris  # only a scenario that commands

    eph = load_ephemeris()
    encoder = TelecommandEncoder(dictionary)
    fop = Fop(dictionary.spacecraft_id, dictionary.uplink.virtual_channel,
              dictionary.uplink.farm_window // 2, FOP_T1_S)
    uplink = Uplink(UplinkConfig(rate_bps), lambda t: float(eph.light_time_s(epoch_utc, t)))
    for sent, name, raw in sorted(commands):
        command = encoder.command(name)
        args = {a.name: int(v) if a.enum else v for a, v in zip(command.arguments, raw,
                                                                  strict=True)}
        for octets in fop.submit(encoder.encode(name, args), sent):
            _, arrival = uplink.radiate(octets, sent)
            if arrival is None:
                raise LinkError("a lossless uplink lost a frame")  # cannot happen
            receiver.rows(octets, arrival)
        fop.on_clcw(receiver.farm.clcw(), sent)  # acknowledged: the window never fills
    return receiver
