"""Benchmark: junk on the ground server's ingest port grows its archive by little.

    python benchmarks/bench_junk.py [--megabytes 100] [--good-every-kib 1024]

For each of two streams, a fresh `touchdown ground` server (its own process, pinned to one core
where `taskset` exists, a new archive) takes over its TCP ingest port ``--megabytes`` MB of junk
with a good TM frame (sync marker + frame of the lander's packets) every ``--good-every-kib``
KiB: random octets, then sync markers repeated back to back (0x1ACFFC1D...; before issue 15
every one of them was archived as a 256-octet "bad frame", ~80x the junk's size). Reported for
each: the archive's growth (database + write-ahead log) at its largest while the stream went
in (from the server's start) and after the server stopped (beside an archive that received
nothing, and the junk's own share beside the good frames sent alone), every good frame's
packets archived, the discarded octets counted to the octet, the rate the junk was taken at (a
stream that is mostly junk is throttled), the slowest /api/link answer meanwhile, and the
``link.garbage`` alarm. Goal: growth < 1 MB for each (the archive
after the stop; the write-ahead log's size while the server runs is SQLite's checkpointing, the
same for any stream that long), the good frames' packets all archived.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_ground import Server, link_counters
from touchdown.telemetry.dictionary import load_dictionary
from touchdown.telemetry.frames import ASM, FrameEncoder
from touchdown.telemetry.packets import PacketEncoder

KINDS = ("random octets", "repeated sync markers")
GOAL_BYTES = 1 << 20  # archive growth per stream


def good_frames(n_frames: int) -> tuple[list[bytes], int]:
    """At least n_frames consecutive frames (no ASM) whose packets are all whole in them;
    returns them and the packet count."""
    d = load_dictionary()
    kinds = [p for p in d.packets if p.period_s > 0]
    enc, framer = PacketEncoder(), FrameEncoder(d.spacecraft_id)
    frames: list[bytes] = []
    k = 0
    while len(frames) < n_frames or framer.pending_octets:
        if len(frames) < n_frames:
            p = kinds[k % len(kinds)]
            values = [min(f.enum) if f.enum else 1.0 + 0.001 * k if f.is_float else 1
                      for f in p.fields]
            framer.push(enc.encode(p, 0.2 * k, values))
            k += 1
        while framer.pending_octets >= framer.length or (len(frames) >= n_frames
                                                         and framer.pending_octets):
            frames.append(framer.next_frame())
    return frames, k


def make_stream(kind: str, junk_octets: int, frames: list[bytes]) -> tuple[bytes, int]:
    """``junk_octets`` of junk with one ASM + frame after each of len(frames) equal pieces
    (the stream ends with a frame, so every junk octet is decided); returns the stream and the
    junk's length."""
    junk = (os.urandom(junk_octets) if kind == "random octets"
            else ASM * (junk_octets // len(ASM)))  # (kind "none": junk_octets is 0)
    cuts = [len(junk) * i // len(frames) // len(ASM) * len(ASM) for i in range(len(frames) + 1)]
    stream = b"".join(junk[a:b] + ASM + f for a, b, f in zip(cuts[:-1], cuts[1:], frames,
                                                               strict=True))
    return stream, len(junk)


async def feed(server: Server, stream: bytes, n_packets: int, n_junk: int,
               timeout_s: float) -> dict:
    """Send the stream; poll /api/link (its answer time too) and the archive's size until the
    server has every packet and every junk octet counted."""
    base = f"http://127.0.0.1:{server.web_port}"
    start_bytes = server.archive_bytes()
    peak, slowest = start_bytes, 0.0
    async with aiohttp.ClientSession() as session:
        _, writer = await asyncio.open_connection("127.0.0.1", server.tcp_port)
        t0 = time.perf_counter()

        async def send() -> None:
            for at in range(0, len(stream), 1 << 20):
                writer.write(stream[at:at + (1 << 20)])
                await writer.drain()

        sender = asyncio.create_task(send())
        while True:
            t = time.perf_counter()
            counters = await link_counters(session, base)
            slowest = max(slowest, time.perf_counter() - t)
            peak = max(peak, server.archive_bytes())
            if (counters["packets"] >= n_packets
                    and counters.get("sync_octets_discarded", 0) >= n_junk):
                break
            if time.perf_counter() - t0 > timeout_s:
                raise RuntimeError(f"timed out after {timeout_s:.0f} s: {counters}")
            await asyncio.sleep(0.05)
        wall = time.perf_counter() - t0
        await sender
        writer.close()
        await writer.wait_closed()
        await asyncio.sleep(0.5)  # the server logs the disconnect, flushes the junk count
        counters = await link_counters(session, base)
        async with session.get(f"{base}/api/alarms") as r:
            alarms = await r.json()
    alarms = alarms.get("alarms", alarms) if isinstance(alarms, dict) else alarms
    garbage = [a for a in alarms if a.get("parameter") == "link.garbage"]
    return {"wall_s": wall, "junk_mb_per_s": n_junk / wall / 1e6, "counters": counters,
            "start_bytes": start_bytes, "peak_bytes": peak, "slowest_api_s": slowest,
            "garbage_alarm": garbage[0] if garbage else None}


def empty_archive_bytes() -> int:
    """The size of an archive a server made and closed with nothing received."""
    folder = Path(tempfile.mkdtemp())
    try:
        server = Server(folder)
        server.stop()
        return server.archive_bytes()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run(megabytes: float, good_every_kib: float = 1024) -> dict:
    junk_octets = int(megabytes * 1e6)
    n_frames = max(2, round(junk_octets / (good_every_kib * 1024)))
    frames, n_packets = good_frames(n_frames)
    out: dict = {"megabytes": megabytes, "good_frames": len(frames), "packets": n_packets,
                 "goal_bytes": GOAL_BYTES, "empty_bytes": empty_archive_bytes(), "streams": {}}
    for kind in ("none", *KINDS):  # none: the good frames alone, for the junk's own share
        stream, n_junk = make_stream(kind, junk_octets if kind != "none" else 0, frames)
        folder = Path(tempfile.mkdtemp())
        try:
            server = Server(folder)
            try:
                r = asyncio.run(feed(server, stream, n_packets, n_junk,
                                     timeout_s=60 + 2 * megabytes))
            finally:
                server.stop()
            r["final_bytes"] = server.archive_bytes()
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        c = r.pop("counters")
        r.update(junk_octets=n_junk, pinned_to_one_core=server.pinned,
                 growth_peak_bytes=r["peak_bytes"] - r["start_bytes"],
                 growth_final_bytes=r["final_bytes"] - out["empty_bytes"],
                 packets_archived=c["packets"], frames_ok=c.get("frames_ok"),
                 frames_bad_crc=c.get("frames_bad_crc"),
                 sync_octets_discarded=c.get("sync_octets_discarded"),
                 junk_octets_kept=c.get("junk_octets_kept"),
                 all_packets=c["packets"] == n_packets and c.get("frames_ok") == len(frames),
                 discarded_exact=c.get("sync_octets_discarded") == n_junk)
        r["met"] = (r["all_packets"] and r["discarded_exact"]
                    and r["growth_final_bytes"] < GOAL_BYTES)
        if kind == "none":
            out["control"] = r
            continue
        r["junk_share_bytes"] = r["growth_final_bytes"] - out["control"]["growth_final_bytes"]
        out["streams"][kind] = r
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=float, default=100.0,
                        help="junk per stream, MB (10^6 octets)")
    parser.add_argument("--good-every-kib", type=float, default=1024.0,
                        help="one good frame per this much junk")
    args = parser.parse_args()
    r = run(args.megabytes, args.good_every_kib)
    print(f"junk on the ingest port: {r['megabytes']:g} MB per stream, {r['good_frames']} good "
          f"frames ({r['packets']} packets) interleaved; goal: archive growth < 1 MB")
    print(f"  the good frames alone: archive grew {r['control']['growth_final_bytes'] / 1e3:,.0f}"
          " kB")
    for kind, s in r["streams"].items():
        alarm = s["garbage_alarm"]
        print(f"  {kind}: archive grew {s['growth_final_bytes'] / 1e3:,.0f} kB (after the "
              f"stop; the junk's own share {s['junk_share_bytes'] / 1e3:,.0f} kB, "
              f"{s['junk_octets_kept']:,} octets of it kept as samples), "
              f"{s['growth_peak_bytes'] / 1e3:,.0f} kB at most while it went in (with the "
              "write-ahead log); "
              f"{s['packets_archived']} of {r['packets']} packets archived; "
              f"{s['sync_octets_discarded']:,} of {s['junk_octets']:,} junk octets counted; "
              f"{s['junk_mb_per_s']:.1f} MB/s (throttled); slowest /api/link "
              f"{s['slowest_api_s'] * 1e3:.0f} ms; link.garbage "
              f"{alarm['severity'] if alarm else 'not raised'}: "
              f"{'met' if s['met'] else 'NOT MET'}")
    print(json.dumps(r))


if __name__ == "__main__":
    main()
