"""Benchmark: the ground server ingesting TM frames while serving a realtime subscriber.

    python benchmarks/bench_ground.py [--packets 200000]

A `touchdown ground` server runs in its own process, pinned to one core where `taskset`
exists. This script streams it the lander's packets (the dictionary's periodic packets in turn,
plausible values) as attached-sync-marker TM frames over its TCP ingest port, as fast as the
socket takes them, while one websocket client on /api/realtime receives every parameter value.
Reported: packets, parameters and frames decoded and archived per second (from the first octet
sent until the server's counters show every packet), and the values the subscriber received.
Anchors (reference/physics-and-standards.md): Yamcs ~2,000 packets/s on a quad-core, COSMOS
~3,500/s. Goal: >= 20,000 packets/s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from touchdown.telemetry.dictionary import load_dictionary
from touchdown.telemetry.frames import ASM, FrameEncoder
from touchdown.telemetry.packets import PacketEncoder


def make_stream(n_packets: int) -> tuple[bytes, int, int]:
    """ASM + frame stream of n packets; returns it, the frame count and the parameter count."""
    d = load_dictionary()
    kinds = [p for p in d.packets if p.period_s > 0]
    enc, framer = PacketEncoder(), FrameEncoder(d.spacecraft_id)
    parts, n_params = [], 0
    for k in range(n_packets):
        p = kinds[k % len(kinds)]
        values = [min(f.enum) if f.enum else (1.0 + 0.001 * k if f.is_float else 1) for f in
                  p.fields]
        framer.push(enc.encode(p, 0.2 * k, values))
        n_params += len(p.fields)
        while framer.pending_octets >= framer.length:
            parts.append(ASM + framer.next_frame())
    while framer.pending_octets:
        parts.append(ASM + framer.next_frame())
    return b"".join(parts), len(parts), n_params


async def run(n_packets: int) -> dict[str, float]:
    stream, n_frames, n_params = make_stream(n_packets)
    folder = Path(tempfile.mkdtemp())
    pin = ["taskset", "-c", "0"] if shutil.which("taskset") else []
    server = subprocess.Popen([*pin, sys.executable, "-c", "from touchdown.cli import main; main()",
                               "ground", "--archive", str(folder / "bench.sqlite"), "--port",
                               "0", "--ingest-port", "0"], stderr=subprocess.PIPE, text=True)
    try:
        lines = [server.stderr.readline() for _ in range(3)]
        web_port = int(re.search(r"http://[\d.]+:(\d+)", lines[1]).group(1))
        tcp_port = int(re.search(r"tcp://[\d.]+:(\d+)", lines[2]).group(1))
        base = f"http://127.0.0.1:{web_port}"
        received = 0
        async with aiohttp.ClientSession() as session:
            ws = await session.ws_connect(f"{base}/api/realtime")

            async def listen() -> None:
                nonlocal received
                async for msg in ws:
                    m = json.loads(msg.data)
                    if m.get("type") == "values":
                        received += len(m["values"])

            listener = asyncio.create_task(listen())
            _, writer = await asyncio.open_connection("127.0.0.1", tcp_port)
            t0 = time.perf_counter()
            writer.write(stream)
            await writer.drain()
            while True:
                async with session.get(f"{base}/api/link") as r:
                    counters = (await r.json())["counters"]
                if counters["packets"] + counters["bad"] >= n_packets:
                    break
                await asyncio.sleep(0.02)
            wall = time.perf_counter() - t0
            writer.close()
            await asyncio.sleep(0.5)  # let the last values reach the subscriber
            listener.cancel()
            await ws.close()
    finally:
        server.terminate()
        server.wait(timeout=20)
        shutil.rmtree(folder, ignore_errors=True)
    return {"packets": n_packets, "frames": n_frames, "parameters": n_params, "wall_s": wall,
            "packets_per_s": n_packets / wall, "frames_per_s": n_frames / wall,
            "parameters_per_s": n_params / wall, "subscriber_values": received,
            "pinned_to_one_core": bool(pin)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packets", type=int, default=200_000)
    r = asyncio.run(run(parser.parse_args().packets))
    print(f"ground ingest, {'one core' if r['pinned_to_one_core'] else 'not pinned'}, "
          f"with a realtime websocket subscriber:")
    print(f"  {r['packets']:,} packets in {r['frames']:,} frames: {r['wall_s']:.2f} s")
    print(f"  {r['packets_per_s']:,.0f} packets/s, {r['frames_per_s']:,.0f} frames/s, "
          f"{r['parameters_per_s']:,.0f} parameters/s (goal >= 20,000 packets/s; Yamcs ~2,000,"
          " COSMOS ~3,500)")
    print(f"  subscriber received {r['subscriber_values']:,} of {r['parameters']:,} values")
    print(json.dumps(r))


if __name__ == "__main__":
    main()
