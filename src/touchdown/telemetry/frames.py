"""CCSDS TM Transfer Frames: packets into fixed-length frames and back, over a byte stream (shell).

Frame layout (CCSDS 132.0-B-3), ``length`` octets in all (256 by default):

=======  ======  ==============================================================================
octets   bits    field
=======  ======  ==============================================================================
0-1      2       transfer frame version number, 00
         10      spacecraft ID
         3       virtual channel ID
         1       operational control field flag: 1 when the frame ends in an OCF
2        8       master channel frame count (wraps at 256)
3        8       virtual channel frame count (wraps at 256)
4-5      1       secondary header flag, 0
         1       synchronisation flag, 0 (packets in the data field)
         1       packet order flag, 0
         2       segment length ID, 11
         11      first header pointer: offset in the data field of the first packet header that
                 starts in this frame; 0x7FF when none starts, 0x7FE for an only-idle frame
6..             data field: packets back to back, a packet may span frames
L-6..L-3         operational control field (when flagged): the command receiver's CLCW
                 (``touchdown.telemetry.tc_frames.Clcw``), so every frame reports it
L-2..L-1         frame error control field: CRC-16/CCITT-FALSE of octets 0..L-3
=======  ======  ==============================================================================

On a byte stream (TCP, a file) every frame is preceded by the Attached Sync Marker
0x1ACFFC1D (CCSDS 131.0-B).

Idle data. When the packet queue runs dry part-way through a frame, the rest of the frame is
filled with an idle packet (APID 0x7FF, CCSDS 133.0-B-2); if fewer than 7 octets are left (the
shortest packet), the idle packet is 7 octets long and spills into the next frame. When nothing at
all is queued when a frame is due, the frame is an only-idle frame: first header pointer 0x7FE
and a data field of 0x55 octets. The decoder skips both.
"""

from __future__ import annotations

import binascii
import struct
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from touchdown.errors import FrameError
from touchdown.telemetry.packets import packet_length

ASM = bytes.fromhex("1ACFFC1D")  # Attached Sync Marker, CCSDS 131.0-B
HEADER_LEN = 6  # octets, TM frame primary header
FECF_LEN = 2  # octets, frame error control field
OCF_LEN = 4  # octets, operational control field
FHP_NONE = 0x7FF  # no packet header starts in this frame
FHP_IDLE = 0x7FE  # the data field holds only idle data
APID_IDLE = 0x7FF
PACKET_HEADER_LEN = 6  # octets, space packet primary header
PACKET_MIN_LEN = 7  # octets: a header and one octet of data
IDLE_OCTET = 0x55
LENGTH_MIN = 16  # octets, a frame this module accepts (header, FECF and 8 octets of data)
LENGTH_MAX = 2048  # octets, CCSDS 132.0-B-3 maximum
_HEADER = struct.Struct(">HBBH")
_ASM_RUN = memoryview(ASM * 1024)  # 4 KiB of sync markers back to back


def _asm_run_end(buf: bytearray, i: int) -> int:
    """The first offset i + 4k (k >= 1) of ``buf`` where no sync marker starts, ``buf[i:]``
    starting with one: whole 4 KiB blocks of markers are compared in C, then the rest of the
    run is found by bisection, a dozen comparisons for a run of any length."""
    block = len(_ASM_RUN)
    while buf.startswith(_ASM_RUN, i):
        i += block
    lo, hi = 0, block // len(ASM)  # markers at i: lo of them match, hi do not
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if buf.startswith(_ASM_RUN[:mid * len(ASM)], i):
            lo = mid
        else:
            hi = mid
    return i + lo * len(ASM)


def crc16(data: bytes | bytearray | memoryview) -> int:
    """CRC-16/CCITT-FALSE of ``data``: poly 0x1021, init 0xFFFF, not reflected, no final XOR.

    ``binascii.crc_hqx`` is this CRC (the CCITT polynomial, MSB first, table-driven in C);
    started from 0xFFFF it gives the TM frame FECF. ``crc16(b"123456789") == 0x29B1``.
    """
    return binascii.crc_hqx(data, 0xFFFF)


def _check_length(length: int) -> int:
    if isinstance(length, bool) or not isinstance(length, int):
        raise FrameError(f"frame length must be an integer number of octets, got {length!r}")
    if not LENGTH_MIN <= length <= LENGTH_MAX:
        raise FrameError(f"frame length {length} octets is outside {LENGTH_MIN}..{LENGTH_MAX}; "
                         "use a length the physical channel is set to, e.g. 256 or 1115")
    return length


def idle_packet(length: int) -> bytes:
    """An idle space packet (APID 0x7FF, unsegmented, count 0) of ``length`` octets (>= 7)."""
    if length < PACKET_MIN_LEN:
        raise FrameError(f"an idle packet needs at least {PACKET_MIN_LEN} octets, asked {length}")
    head = struct.pack(">HHH", APID_IDLE, 0xC000, length - PACKET_HEADER_LEN - 1)
    return head + bytes([IDLE_OCTET]) * (length - PACKET_HEADER_LEN)


@dataclass(frozen=True)
class FrameHeader:
    """The primary header fields of one TM transfer frame."""

    version: int
    spacecraft_id: int
    vcid: int
    ocf_flag: int
    mc_count: int
    vc_count: int
    secondary_header_flag: int
    sync_flag: int
    packet_order_flag: int
    segment_length_id: int
    first_header_pointer: int
    data: bytes  # the data field
    ocf: bytes | None = None  # the operational control field, when the frame has one


def _unpack_header(frame: bytes | bytearray | memoryview) -> tuple[int, ...]:
    w0, mc, vc, w4 = _HEADER.unpack_from(frame)
    return (w0 >> 14, (w0 >> 4) & 0x3FF, (w0 >> 1) & 0x7, w0 & 1, mc, vc,
            w4 >> 15, (w4 >> 14) & 1, (w4 >> 13) & 1, (w4 >> 11) & 3, w4 & 0x7FF)


def _header_problem(frame: bytes | bytearray | memoryview, length: int,
                    spacecraft_id: int | None) -> str:
    """Why ``frame`` is not a good frame of this link ('' if it is)."""
    if len(frame) != length:
        return f"is {len(frame)} octets long, the channel's frames are {length}"
    want, got = int.from_bytes(frame[-FECF_LEN:], "big"), crc16(frame[:-FECF_LEN])
    if want != got:
        return f"fails its CRC (FECF {want:#06x}, computed {got:#06x}): it was corrupted"
    version, scid, _, ocf, _, _, sec, sync, _, seg, fhp = _unpack_header(frame)
    if version != 0:
        return f"has version {version}; TM transfer frames are version 0 (binary 00)"
    if spacecraft_id is not None and scid != spacecraft_id:
        return f"is from spacecraft {scid:#05x}, this link expects {spacecraft_id:#05x}"
    if sec or sync or seg != 3:
        return ("has a secondary header or a sync flag this link does not use "
                "(expected flags 0 and segment length ID 11)")
    if fhp not in (FHP_NONE, FHP_IDLE) and fhp >= length - HEADER_LEN - FECF_LEN - OCF_LEN * ocf:
        return f"has first header pointer {fhp}, beyond its data field"
    return ""


def decode_frame(frame: bytes, *, length: int | None = None,
                 spacecraft_id: int | None = None) -> FrameHeader:
    """Check and decode one TM transfer frame (no ASM).

    Parameters
    ----------
    frame : bytes
        The whole frame, header to FECF.
    length : int, optional
        Expected frame length (octets); by default ``len(frame)``.
    spacecraft_id : int, optional
        Expected spacecraft ID; by default any.

    Raises
    ------
    FrameError
        When the length, CRC, version, spacecraft ID or flags are wrong.
    """
    length = _check_length(len(frame) if length is None else length)
    problem = _header_problem(frame, length, spacecraft_id)
    if problem:
        raise FrameError(f"TM frame {problem}; drop it (FrameDecoder does) or check the "
                         "frame length and spacecraft ID the link is set to")
    fields = _unpack_header(frame)
    end = len(frame) - FECF_LEN - OCF_LEN * fields[3]
    return FrameHeader(*fields, data=bytes(frame[HEADER_LEN:end]),
                       ocf=bytes(frame[end:-FECF_LEN]) if fields[3] else None)


class FrameEncoder:
    """Onboard framer: whole packets in, fixed-length TM transfer frames out (one VC).

    Parameters
    ----------
    spacecraft_id : int
        10-bit spacecraft ID (0..1023).
    vcid : int
        Virtual channel ID (0..7).
    length : int
        Frame length (octets), header, OCF and FECF included.
    ocf : bool
        Every frame ends in a 4-octet operational control field (``next_frame`` is given it).
    """

    def __init__(self, spacecraft_id: int, vcid: int = 0, length: int = 256,
                 ocf: bool = False) -> None:
        if not 0 <= spacecraft_id < 1024:
            raise FrameError(f"spacecraft ID {spacecraft_id} does not fit 10 bits; use 0..1023")
        if not 0 <= vcid < 8:
            raise FrameError(f"virtual channel ID {vcid} does not fit 3 bits; use 0..7")
        self.spacecraft_id, self.vcid = spacecraft_id, vcid
        self.length = _check_length(length)
        self.ocf = ocf
        self.data_length = length - HEADER_LEN - FECF_LEN - OCF_LEN * ocf
        self.mc_count = 0  # count the next frame will carry
        self.vc_count = 0
        self._queue: deque[bytes] = deque()
        self._uncounted: deque[bool] = deque()  # beside _queue: idle fill, or not counted
        self.packets_framed = 0  # counted pushed packets whose last octet is in a frame made
        self._offset = 0  # octets of the queue's first packet already framed
        self._pending = 0
        self._word0 = (spacecraft_id << 4) | (vcid << 1) | ocf

    @property
    def pending_octets(self) -> int:
        """Octets queued and not yet framed (an idle packet's spill-over included)."""
        return self._pending

    def push(self, packet: bytes, counted: bool = True) -> None:
        """Queue one whole space packet (``counted``: in ``packets_framed`` once framed);
        FrameError if its length field disagrees with it."""
        if len(packet) < PACKET_MIN_LEN or packet_length(packet) != len(packet):
            raise FrameError(f"not a whole space packet: {len(packet)} octets, length field "
                             f"says {packet_length(packet) if len(packet) >= 6 else '?'}; "
                             "push complete packets (PacketEncoder.encode makes them)")
        self._queue.append(bytes(packet))
        self._uncounted.append(not counted)
        self._pending += len(packet)

    def next_frame(self, ocf: bytes = b"") -> bytes:
        """The next frame (no ASM), filled from the queue and then with idle data; ``ocf``:
        its operational control field (4 octets, when the encoder's frames carry one)."""
        if len(ocf) != OCF_LEN * self.ocf:
            raise FrameError(f"this encoder's frames carry {OCF_LEN * self.ocf} octets of OCF, "
                             f"given {len(ocf)}; pass the CLCW's 4 octets (Clcw.encode) "
                             "exactly when the encoder was made with ocf=True")
        n = self.data_length
        if not self._queue:
            fhp = FHP_IDLE
            data = bytes([IDLE_OCTET]) * n
        else:
            fhp = FHP_NONE
            parts: list[bytes] = []
            filled = 0
            while filled < n:
                if not self._queue:
                    idle = idle_packet(max(n - filled, PACKET_MIN_LEN))
                    self._queue.append(idle)
                    self._uncounted.append(True)
                    self._pending += len(idle)
                head = self._queue[0]
                if self._offset == 0 and fhp == FHP_NONE:
                    fhp = filled
                take = min(len(head) - self._offset, n - filled)
                parts.append(head[self._offset:self._offset + take])
                filled += take
                self._offset += take
                if self._offset == len(head):
                    self._queue.popleft()
                    self.packets_framed += not self._uncounted.popleft()
                    self._offset = 0
            self._pending -= n
            data = b"".join(parts)
        header = _HEADER.pack(self._word0, self.mc_count, self.vc_count, 0x1800 | fhp)
        self.mc_count = (self.mc_count + 1) & 0xFF
        self.vc_count = (self.vc_count + 1) & 0xFF
        body = header + data + ocf
        return body + crc16(body).to_bytes(2, "big")


@dataclass
class DecoderStats:
    """What a FrameDecoder has seen so far (counts); several decoders may share one (the
    ground's connections all count into ``Ingest.frame_stats``)."""

    frames_ok: int = 0  # frames accepted (with an OCF or not)
    frames_bad_crc: int = 0  # candidates with this link's header that failed the CRC
    frames_bad_header: int = 0  # whole frames (CRC good) of another spacecraft
    frames_lost: int = 0  # frames missing from the VC count sequence (rejected ones included)
    gaps: int = 0  # breaks in the VC count sequence
    # Octets outside accepted frames, discarded while hunting for sync (the ground's counter
    # sync_octets_discarded): noise, sync markers not followed by this link's header (counted
    # here only, never as frames), the octets of rejected frames.
    garbage_octets: int = 0
    packets: int = 0  # packets returned (idle packets not included)
    packets_dropped_incomplete: int = 0  # partial packets discarded at a gap
    idle_frames: int = 0  # only-idle frames (first header pointer 0x7FE)


@dataclass
class _Channel:
    """Packet reassembly state of one virtual channel."""

    next_count: int | None = None  # VC count the next frame should carry
    in_sync: bool = False  # the octets at the front of the next frame continue ``partial``
    partial: bytearray | None = None  # the packet being assembled (None: at a boundary)


class FrameDecoder:
    """Ground deframer: a byte stream of ASM + frame in, whole packets out, in order.

    ``feed`` takes chunks of any size and never raises on bad input: it searches for the ASM,
    drops frames that fail the CRC or the spacecraft check (and looks for the next ASM one
    octet on, so a good frame right after bad bytes is never missed), notices lost frames from
    the virtual channel frame count, discards the packet that spanned the gap and picks up again
    at the next frame's first header pointer. Idle packets and only-idle frames are skipped.
    ``stats`` counts what happened.

    A frame may end in an operational control field (its OCF flag says so, frame by frame):
    ``on_ocf`` gets it from every accepted frame.

    Junk costs little. A sync marker whose next six octets cannot be this link's frame header
    (version 0, no secondary header, sync flag 0, segment length ID 11, a first header pointer
    inside the data field) is no frame candidate: it is rejected before any CRC and its octets
    are counted as discarded while hunting for sync, not as a frame. A run of sync markers
    back to back is skipped in one step (only its last marker may lead a frame). Only
    candidates with this link's header reach the CRC (``frames_bad_crc`` when they fail it;
    ``frames_bad_header`` for whole frames of another spacecraft) and ``on_frame``.

    Parameters
    ----------
    length : int
        Frame length (octets), header and FECF included.
    spacecraft_id : int, optional
        Accept frames from this spacecraft only (None: any).
    on_frame : callable, optional
        Called with each frame candidate that passed the header check and whether it was
        accepted (the ground archives the good ones and a sample of the others).
    stats : DecoderStats, optional
        Where to count (shared by several decoders; default: a new one).
    on_junk : callable, optional
        Called with the octets discarded while hunting for sync, one contiguous run at a time
        (at most one call per run of octets between accepted frames within a ``feed``); the
        octets of rejected candidates are among them.
    on_ocf : callable, optional
        Called with the 4 octets of each accepted frame's OCF.
    """

    def __init__(self, length: int = 256, spacecraft_id: int | None = None,
                 on_frame: Callable[[bytes, bool], None] | None = None, *,
                 stats: DecoderStats | None = None,
                 on_junk: Callable[[bytes], None] | None = None,
                 on_ocf: Callable[[bytes], None] | None = None) -> None:
        self.on_frame = on_frame
        self.on_junk = on_junk
        self.on_ocf = on_ocf
        self.length = _check_length(length)
        self.data_length = length - HEADER_LEN - FECF_LEN
        self.spacecraft_id = spacecraft_id
        self.stats = DecoderStats() if stats is None else stats
        self.octets_fed = 0  # this decoder's stream so far (octets)
        self.octets_discarded = 0  # of which discarded while hunting for sync
        self._buf = bytearray()
        self._channels: dict[int, _Channel] = {}

    def feed(self, chunk: bytes | bytearray | memoryview) -> list[bytes]:
        """Take the next octets of the stream; return the packets they complete, in order."""
        self._buf += chunk
        self.octets_fed += len(chunk)
        buf, out, stats = self._buf, [], self.stats
        span = len(ASM) + self.length
        dlen = self.data_length
        scid = self.spacecraft_id
        unpack = _HEADER.unpack_from
        pos = junk = 0  # junk: where the octets passed over since the last good frame start
        while True:
            i = buf.find(ASM, pos)
            if i < 0:
                pos = max(pos, len(buf) - (len(ASM) - 1))  # an ASM may straddle the chunks
                break
            if buf.startswith(ASM, i + len(ASM)):
                i = _asm_run_end(buf, i) - len(ASM)  # only the run's last marker may lead
            pos = i
            if len(buf) - i < span:
                break  # wait for the rest of this frame
            w0, _, _, w4 = unpack(buf, i + len(ASM))
            fhp = w4 & 0x7FF
            if w0 & 0xC000 or w4 & 0xD800 != 0x1800 or (dlen - OCF_LEN * (w0 & 1) <= fhp
                                                          < FHP_IDLE):
                pos = i + 1  # no frame of this link: hunt on, from inside the marker
                continue
            frame = bytes(buf[i + len(ASM):i + span])
            crc_ok = crc16(frame[:-FECF_LEN]) == int.from_bytes(frame[-FECF_LEN:], "big")
            if scid is not None and (w0 >> 4) & 0x3FF != scid:
                if crc_ok:  # a whole frame, of another spacecraft
                    stats.frames_bad_header += 1
                    if self.on_frame is not None:
                        self.on_frame(frame, False)
                pos = i + 1
                continue
            if not crc_ok:
                stats.frames_bad_crc += 1
                if self.on_frame is not None:
                    self.on_frame(frame, False)
                pos = i + 1  # a false or damaged ASM: the next one may start inside it
                continue
            if i > junk:
                self._discard(buf, junk, i)
            stats.frames_ok += 1
            if self.on_frame is not None:
                self.on_frame(frame, True)
            self._take(frame, out)
            pos = junk = i + span
        if pos > junk:
            self._discard(buf, junk, pos)
        del buf[:pos]
        return out

    def close(self) -> None:
        """The stream ended: the octets still waiting for a frame's end did not frame."""
        if self._buf:
            self._discard(self._buf, 0, len(self._buf))
            self._buf.clear()

    def _discard(self, buf: bytearray, start: int, end: int) -> None:
        """Octets buf[start:end] did not frame: count them, hand them to ``on_junk``."""
        self.stats.garbage_octets += end - start
        self.octets_discarded += end - start
        if self.on_junk is not None:
            self.on_junk(bytes(buf[start:end]))

    def _take(self, frame: bytes, out: list[bytes]) -> None:
        """Reassemble packets from one accepted frame."""
        stats = self.stats
        _, _, vcid, ocf, _, count, _, _, _, _, fhp = _unpack_header(frame)
        if ocf and self.on_ocf is not None:
            self.on_ocf(frame[-FECF_LEN - OCF_LEN:-FECF_LEN])
        ch = self._channels.setdefault(vcid, _Channel())
        if ch.next_count is not None and count != ch.next_count:
            stats.gaps += 1
            stats.frames_lost += (count - ch.next_count) & 0xFF
            self._lose_sync(ch)
        ch.next_count = (count + 1) & 0xFF
        if fhp == FHP_IDLE:
            stats.idle_frames += 1
            self._lose_sync(ch)
            return
        data = frame[HEADER_LEN:-FECF_LEN - OCF_LEN * ocf]
        n = len(data)
        pos = 0
        if ch.in_sync and ch.partial is None:
            if fhp != 0:  # the last frame ended on a boundary, so a packet must start at 0
                self._lose_sync(ch)
        elif ch.in_sync and ch.partial is not None:
            # The front of this frame finishes the packet the last one left open: it must end
            # where the first header pointer says the next packet starts.
            part = ch.partial
            k = max(0, PACKET_HEADER_LEN - len(part))
            end = packet_length(bytes(part[:PACKET_HEADER_LEN]) + data[:k]) - len(part)
            if end == fhp or (fhp == FHP_NONE and end >= n):
                pos = min(end, n)
                part += data[:pos]
                if pos < end:
                    return  # the packet goes on into the next frame
                self._emit(part, out)
                ch.partial = None
            else:
                self._lose_sync(ch)
        if not ch.in_sync:
            if fhp == FHP_NONE:
                return  # no packet starts here: keep waiting for one
            ch.in_sync, ch.partial, pos = True, None, fhp
        while pos < n:
            if n - pos < PACKET_HEADER_LEN:
                ch.partial = bytearray(data[pos:])
                return
            size = packet_length(data[pos:pos + PACKET_HEADER_LEN])
            if pos + size > n:
                ch.partial = bytearray(data[pos:])
                return
            self._emit(data[pos:pos + size], out)
            pos += size
        ch.partial = None

    def _emit(self, packet: bytes | bytearray, out: list[bytes]) -> None:
        if ((packet[0] << 8) | packet[1]) & 0x7FF != APID_IDLE:
            out.append(bytes(packet))
            self.stats.packets += 1

    def _lose_sync(self, ch: _Channel) -> None:
        part = ch.partial
        if part is not None and (len(part) < 2 or ((part[0] << 8) | part[1]) & 0x7FF != APID_IDLE):
            self.stats.packets_dropped_incomplete += 1
        ch.partial, ch.in_sync = None, False
