"""Junk on the ingest port costs little: counted, a bounded sample kept, throttled, alarmed.

Each stream here is built from good frames (the dictionary's packets, framed as the lander does)
with junk between them: 1 MB of repeated sync markers (before this was handled, every marker was
a 256-octet "bad frame" in the archive: ~80x the junk's size), or 1 MB of random octets. What must
hold: every good frame's packets archived, the discarded octets counted to the octet, the archive
grown by less than 100 KB, and the ground alarm ``link.garbage`` raised. Then the TCP bounds: a
connection cap, an idle timeout, and a mostly-junk stream throttled while another goes on.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import numpy as np
import pytest

from touchdown.ground.archive import Archive
from touchdown.ground.ingest import Ingest
from touchdown.ground.junk import GarbageWindow, JunkSampler, TokenBucket
from touchdown.ground.server import start_ingest_server
from touchdown.telemetry.frames import ASM, FrameEncoder

L = 256
MB = 1 << 20


class Clock:
    def __init__(self, t: float = 100.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def good_frames(dictionary, encoder, packet, n_packets: int) -> list[bytes]:
    """Frames (no ASM) carrying n_packets of the dictionary's periodic packets, in full."""
    framer = FrameEncoder(dictionary.spacecraft_id, length=L)
    names = ["nav", "lrf", "gnc", "prop", "health"]
    for k in range(n_packets):
        framer.push(packet(dictionary, encoder, names[k % len(names)], float(k)))
    frames = []
    while framer.pending_octets:
        frames.append(framer.next_frame())
    return frames


def interleave(junk: bytes, frames: list[bytes]) -> bytes:
    """junk cut into len(frames) pieces, each followed by one ASM + frame."""
    cuts = np.linspace(0, len(junk), len(frames) + 1).astype(int)
    return b"".join(junk[a:b] + ASM + f for a, b, f in zip(cuts[:-1], cuts[1:], frames,
                                                            strict=True))


def archive_bytes(path: str | Path) -> int:
    return sum(p.stat().st_size for p in (Path(path), Path(f"{path}-wal")) if p.exists())


def decoder_factory(ingest: Ingest, junk: JunkSampler):
    """What ``touchdown ground`` gives the TCP ingest: one decoder per connection, frames and
    junk through the server's sampler, counts into the ingest's shared frame statistics."""
    return lambda: junk.decoder(L, ingest.dictionary.spacecraft_id, ingest.frame_stats)


async def send(port: int, data: bytes) -> None:
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    await writer.drain()
    writer.close()
    await writer.wait_closed()


async def until(condition, timeout_s: float = 20.0) -> None:
    for _ in range(int(timeout_s / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("timed out waiting")


def ingest_over_tcp(path: Path, dictionary, stream: bytes, n_packets: int, n_junk: int):
    """``stream`` into a new archive at ``path`` through a TCP ingest wired as ``touchdown
    ground`` wires it; returns what the ground saw, read before the archive is closed."""
    archive = Archive(path, create=True)
    ingest = Ingest(dictionary, archive)
    clock = Clock()
    sampler = JunkSampler(archive, clock)

    async def run():
        server = await start_ingest_server(ingest, "127.0.0.1", 0, clock=clock,
                                           decoder=decoder_factory(ingest, sampler),
                                           junk=sampler)
        await send(server.sockets[0].getsockname()[1], stream)
        await until(lambda: ingest.counters["packets"] == n_packets
                    and ingest.frame_stats.garbage_octets == n_junk
                    and any(e.kind == "disconnect" for e in archive.link_log()))
        server.close()
        await server.wait_closed()

    try:
        asyncio.run(run())
        archive.flush()
        return (ingest.counters, archive.junk(), archive.frames(ok=True),
                archive.frames(ok=False), archive.alarms())
    finally:
        archive.close()


@pytest.mark.parametrize("kind", ["repeated sync markers", "random octets"])
def test_a_megabyte_of_junk_is_counted_sampled_and_alarmed(kind, tmp_path, dictionary,
                                                           encoder, packet):
    junk = (ASM * (MB // 4) if kind == "repeated sync markers"
            else np.random.default_rng(7).bytes(MB))
    frames = good_frames(dictionary, encoder, packet, 40)
    assert 5 <= len(frames) <= 30
    Archive(tmp_path / "empty.sqlite", create=True).close()
    ingest_over_tcp(tmp_path / "control.sqlite", dictionary, interleave(b"", frames), 40, 0)
    c, records, good, bad, alarms = ingest_over_tcp(
        tmp_path / "junk.sqlite", dictionary, interleave(junk, frames), 40, len(junk))
    size = {name: archive_bytes(tmp_path / f"{name}.sqlite")
            for name in ("empty", "control", "junk")}
    assert size["junk"] - size["empty"] < 100_000, size
    assert size["junk"] - size["control"] < 20_000, size  # what the junk cost
    assert c["packets"] == 40 and c["gaps"] == 0 and c["bad"] == 0
    assert c["frames_ok"] == len(frames) == len(good) and c["frames_lost"] == 0
    assert c["sync_octets_discarded"] == len(junk)  # to the octet
    assert c["frames_bad_crc"] == 0 and bad == []  # no candidate had this link's header
    assert sum(n for _, n, _ in records) == len(junk)
    kept = sum(len(s) for _, _, s in records)
    assert 0 < kept <= 16 * 256 and c["junk_octets_kept"] == kept
    assert all(s in junk for _, _, s in records)
    (alarm,) = [a for a in alarms if a.parameter == "link.garbage"]
    assert alarm.trigger_severity == "warning" and alarm.trigger_value > 0.99


def test_damaged_frames_beyond_the_budget_are_counted_not_stored(archive):
    clock = Clock(0.0)
    sampler = JunkSampler(archive, clock, frames_per_min=10, samples_per_min=4)
    framer = FrameEncoder(0x1A5, length=L)
    bad = []
    for _ in range(100):
        f = bytearray(framer.next_frame())
        f[100] ^= 0xFF  # header intact, CRC fails
        bad.append(ASM + bytes(f))
    dec = sampler.decoder(L, 0x1A5)
    dec.feed(b"".join(bad[:50]))
    assert dec.stats.frames_bad_crc == 50
    assert sampler.frames_kept == 10 and sampler.frames_not_kept == 40
    clock.t = 30.0  # half a minute: five more may be kept
    dec.feed(b"".join(bad[50:]))
    assert dec.stats.frames_bad_crc == 100 and sampler.frames_kept == 15
    assert len(archive.frames(ok=False)) == 15
    sampler.flush()
    records = archive.junk()
    assert sum(n for _, n, _ in records) == dec.stats.garbage_octets == dec.octets_discarded
    assert sum(len(s) > 0 for _, _, s in records) <= 4 + 2


def test_a_token_bucket_refills_with_the_callers_time_only():
    b = TokenBucket(60)  # one a second, 60 saved at most
    assert sum(b.take(0.0) for _ in range(100)) == 60
    assert not b.take(0.5) and b.take(1.0)
    assert not b.take(0.0)  # time running backwards adds nothing
    assert sum(b.take(1000.0) for _ in range(100)) == 60


def test_the_garbage_window_covers_one_to_two_windows():
    w = GarbageWindow(1000)
    assert not w.update(999, 999) and w.fraction is None
    assert w.update(1000, 1000) and w.fraction == 1.0
    assert w.update(2000, 1000) and w.fraction == 0.5  # the last two blocks
    assert w.update(3500, 1000) and w.fraction == 0.0


def test_connections_beyond_the_cap_are_refused_and_logged(ingest):
    async def check():
        server = await start_ingest_server(ingest, "127.0.0.1", 0, max_connections=2)
        port = server.sockets[0].getsockname()[1]
        held = [await asyncio.open_connection("127.0.0.1", port) for _ in range(2)]
        for _, w in held:
            w.write(b"\x00")  # an octet each: a connection that sent nothing leaves no trace
        await asyncio.sleep(0.2)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        assert await asyncio.wait_for(reader.read(10), 5.0) == b""  # closed at once
        writer.close()
        held[0][1].close()
        await held[0][1].wait_closed()
        await until(lambda: any(e.kind == "disconnect" for e in ingest.archive.link_log()))
        reader, writer = await asyncio.open_connection("127.0.0.1", port)  # room again
        writer.write(b"\x00")
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(reader.read(10), 0.3)
        for _, w in [held[1], (reader, writer)]:
            w.close()
            await w.wait_closed()
        await until(lambda: sum(e.kind == "disconnect" for e in ingest.archive.link_log()) == 3)
        server.close()
        await server.wait_closed()

    asyncio.run(check())
    ingest.archive.flush()
    refused = [e for e in ingest.archive.link_log() if e.kind == "refused"]
    assert len(refused) == 1 and refused[0].count == 1
    assert "2 ingest connections are open" in refused[0].detail


def test_an_idle_connection_is_closed_and_logged(ingest, dictionary, encoder, packet):
    async def check():
        server = await start_ingest_server(ingest, "127.0.0.1", 0, idle_timeout_s=0.3)
        port = server.sockets[0].getsockname()[1]
        idle_reader, idle = await asyncio.open_connection("127.0.0.1", port)
        idle.write(b"\x00")  # one octet, then silence (one that never sent leaves no trace)
        busy_reader, busy = await asyncio.open_connection("127.0.0.1", port)
        for k in range(6):  # one packet every 0.1 s: never idle for 0.3 s
            busy.write(packet(dictionary, encoder, "nav", float(k)))
            await asyncio.sleep(0.1)
        assert await asyncio.wait_for(idle_reader.read(10), 5.0) == b""
        assert not busy_reader.at_eof()
        for w in (idle, busy):
            w.close()
            await w.wait_closed()
        await until(lambda: [e.kind for e in ingest.archive.link_log()] == ["idle", "disconnect"])
        server.close()
        await server.wait_closed()

    asyncio.run(check())
    ingest.archive.flush()
    idle = [e for e in ingest.archive.link_log() if e.kind == "idle"]
    assert len(idle) == 1 and "sent nothing for 0.3 s" in idle[0].detail
    assert ingest.counters["packets"] == 6


def test_a_mostly_junk_stream_is_throttled_while_another_goes_on(tmp_path, dictionary,
                                                                 encoder, packet):
    with Archive(tmp_path / "g.sqlite", create=True) as archive:
        ingest = Ingest(dictionary, archive)
        sampler = JunkSampler(archive, Clock())
        frames = good_frames(dictionary, encoder, packet, 20)
        junk = os.urandom(600_000)
        progress = {}

        async def check():
            server = await start_ingest_server(
                ingest, "127.0.0.1", 0, clock=Clock(), decoder=decoder_factory(ingest, sampler),
                junk=sampler, junk_rate=150_000, garbage_window=16_384)
            port = server.sockets[0].getsockname()[1]
            loop = asyncio.get_running_loop()
            t0 = loop.time()
            sender = asyncio.create_task(send(port, junk))
            await asyncio.sleep(0.3)
            await send(port, b"".join(ASM + f for f in frames))
            await until(lambda: ingest.counters["packets"] == 20, 2.5)
            progress["good_s"] = loop.time() - t0
            progress["junk_read"] = ingest.frame_stats.garbage_octets
            await asyncio.wait_for(sender, 20.0)
            await until(lambda: ingest.frame_stats.garbage_octets >= len(junk) - 3)
            progress["junk_s"] = loop.time() - t0
            server.close()
            await server.wait_closed()

        asyncio.run(check())
        assert progress["good_s"] < 2.5
        assert progress["junk_read"] < len(junk) // 2  # held back while the good ones went in
        assert progress["junk_s"] > 3.0  # ~600 kB at 150 kB/s once found to be junk
        (alarm,) = [a for a in archive.alarms() if a.parameter == "link.garbage"]
        assert alarm.current_severity is None  # back to normal once the junk stream left
