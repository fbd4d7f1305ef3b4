"""Benchmark: the ground server ingesting TM frames while serving a realtime subscriber.

    python benchmarks/bench_ground.py [--packets 200000] [--baseline REV | --baseline none]
                                      [--repeat N] [--no-subscriber]

A `touchdown ground` server runs in its own process, pinned to one core where `taskset`
exists. This script streams it the lander's packets (the dictionary's periodic packets in turn,
plausible values) as attached-sync-marker TM frames over its TCP ingest port, as fast as the
socket takes them, while one websocket client on /api/realtime receives every parameter value.
Reported: packets, parameters and frames decoded and archived per second (from the first octet
sent until the server's counters show every packet), and the values the subscriber received.
Anchors (reference/physics-and-standards.md): Yamcs ~2,000 packets/s on a quad-core, COSMOS
~3,500/s. Goal: >= 20,000 packets/s.

Side by side: ``--baseline REV`` (default 745c614, the code before issue 15) exports that
revision's ``src`` (``git archive``, read-only on the repository) into a temporary folder and
runs the same stream against its server (``PYTHONPATH=<folder>/src``) in the same run, the two
alternating ``--repeat`` times; it prints both rates and their ratio. ``--baseline none``
measures the working tree's server alone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import aiohttp

from touchdown.telemetry.dictionary import load_dictionary
from touchdown.telemetry.frames import ASM, FrameEncoder
from touchdown.telemetry.packets import PacketEncoder

sys.path.insert(0, str(Path(__file__).resolve().parent))
from trees import export_source  # the benchmarks' own module, beside this one

BASELINE = "745c614"  # the commit before issue 15
START_TIMEOUT_S = 60.0


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


class Server:
    """A `touchdown ground` server in its own process, from ``src`` (default: this checkout's
    installed package), with a new archive in ``folder``; its ports are read from its start-up
    lines, whatever their wording (the first http:// and tcp:// addresses with a port)."""

    def __init__(self, folder: Path, src: Path | None = None, pin: bool = True,
                 extra: tuple[str, ...] = ()) -> None:
        self.archive = folder / "bench.sqlite"
        env = dict(os.environ)
        if src is not None:
            env["PYTHONPATH"] = os.pathsep.join([str(src), *filter(None, [
                os.environ.get("PYTHONPATH")])])
        cli = [sys.executable, "-c", "from touchdown.cli import main; main()", "ground"]
        helptext = subprocess.run([*cli, "serve", "--help"], env=env, capture_output=True,
                                  text=True, timeout=START_TIMEOUT_S).stdout
        new = ["--new"] if re.search(r"^\s*--new\b", helptext, re.M) else []
        self.pinned = pin and shutil.which("taskset") is not None
        taskset = ["taskset", "-c", "0"] if self.pinned else []
        self.proc = subprocess.Popen(
            [*taskset, *cli, "--archive", str(self.archive), *new, "--port", "0",
             "--ingest-port", "0", *extra], env=env, stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self._ports: dict[str, int] = {}
        self._found = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        if not self._found.wait(START_TIMEOUT_S) or self.proc.poll() is not None:
            self.stop()
            raise RuntimeError("the ground server did not say its ports; it wrote:\n"
                               + "".join(self.lines))
        self.web_port, self.tcp_port = self._ports["http"], self._ports["tcp"]

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:  # read to the end, so the server never blocks on it
            self.lines.append(line)
            for scheme, port in re.findall(r"\b(http|tcp)://[^\s/]*:(\d+)", line):
                self._ports.setdefault(scheme, int(port))
            if len(self._ports) == 2:
                self._found.set()
        self._found.set()

    def archive_bytes(self) -> int:
        """The archive's size on disk: the database and its write-ahead log."""
        return sum(p.stat().st_size for p in (self.archive, Path(f"{self.archive}-wal"))
                   if p.exists())

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


async def link_counters(session: aiohttp.ClientSession, base: str) -> dict[str, int]:
    async with session.get(f"{base}/api/link") as r:
        return (await r.json())["counters"]


async def measure(server: Server, stream: bytes, n_packets: int,
                  subscriber: bool = True) -> tuple[float, int]:
    """Stream into ``server`` with a realtime subscriber (or none); (wall s, values the
    subscriber got)."""
    base = f"http://127.0.0.1:{server.web_port}"
    received = 0
    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(f"{base}/api/realtime") if subscriber else None

        async def listen() -> None:
            nonlocal received
            async for msg in ws or ():
                m = json.loads(msg.data)
                if m.get("type") == "values":
                    received += len(m["values"])

        listener = asyncio.create_task(listen())
        _, writer = await asyncio.open_connection("127.0.0.1", server.tcp_port)
        t0 = time.perf_counter()
        writer.write(stream)
        await writer.drain()
        while True:
            counters = await link_counters(session, base)
            if counters["packets"] + counters["bad"] >= n_packets:
                break
            await asyncio.sleep(0.02)
        wall = time.perf_counter() - t0
        writer.close()
        await asyncio.sleep(0.5)  # let the last values reach the subscriber
        listener.cancel()
        if ws is not None:
            await ws.close()
    return wall, received


def run_one(stream: bytes, n_packets: int, src: Path | None,
            subscriber: bool = True) -> dict[str, float]:
    folder = Path(tempfile.mkdtemp())
    try:
        server = Server(folder, src)
        try:
            wall, received = asyncio.run(measure(server, stream, n_packets, subscriber))
        finally:
            server.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {"wall_s": wall, "packets_per_s": n_packets / wall, "subscriber_values": received,
            "pinned_to_one_core": server.pinned}


def run(n_packets: int, baseline: str | None = None, repeat: int = 1,
        subscriber: bool = True) -> dict:
    """The working tree's server (and the baseline's, alternating) on the same stream."""
    stream, n_frames, n_params = make_stream(n_packets)
    tmp = Path(tempfile.mkdtemp())
    try:
        old_src = export_source(baseline, tmp) if baseline else None
        runs: dict[str, list[dict[str, float]]] = {"new": [], "baseline": []}
        for _ in range(repeat):
            if old_src is not None:
                runs["baseline"].append(run_one(stream, n_packets, old_src, subscriber))
            runs["new"].append(run_one(stream, n_packets, None, subscriber))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    out: dict = {"packets": n_packets, "frames": n_frames, "parameters": n_params,
                 "baseline_rev": baseline, "repeat": repeat, "subscriber": subscriber}
    for name, rs in runs.items():
        if rs:
            rate = statistics.median(r["packets_per_s"] for r in rs)
            out[name] = {"packets_per_s": rate, "frames_per_s": rate * n_frames / n_packets,
                         "parameters_per_s": rate * n_params / n_packets,
                         "packets_per_s_each": [r["packets_per_s"] for r in rs],
                         "wall_s": [r["wall_s"] for r in rs],
                         "subscriber_values": [r["subscriber_values"] for r in rs],
                         "subscriber_complete": not subscriber or all(
                             r["subscriber_values"] == n_params for r in rs),
                         "pinned_to_one_core": rs[0]["pinned_to_one_core"]}
    if runs["baseline"]:
        out["ratio"] = out["new"]["packets_per_s"] / out["baseline"]["packets_per_s"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packets", type=int, default=200_000)
    parser.add_argument("--baseline", default=BASELINE, metavar="REV",
                        help=f"revision to compare with, side by side (default {BASELINE}, "
                             "the code before issue 15); 'none': no comparison")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs of each server, alternating; the median is reported")
    parser.add_argument("--no-subscriber", action="store_true",
                        help="no realtime websocket client (the ingest path alone)")
    args = parser.parse_args()
    baseline = None if args.baseline.lower() in ("", "none") else args.baseline
    r = run(args.packets, baseline, max(1, args.repeat), not args.no_subscriber)
    new = r["new"]
    print(f"ground ingest, {'one core' if new['pinned_to_one_core'] else 'not pinned'}, "
          + ("with a realtime websocket subscriber:" if r["subscriber"] else
             "no realtime subscriber:"))
    print(f"  {r['packets']:,} packets in {r['frames']:,} frames, median of {r['repeat']}")
    for name, label in (("new", "this tree"), ("baseline", f"baseline {baseline}")):
        if name in r:
            m = r[name]
            print(f"  {label:<18} {m['packets_per_s']:,.0f} packets/s, "
                  f"{m['frames_per_s']:,.0f} frames/s, {m['parameters_per_s']:,.0f} "
                  "parameters/s" + (f"; subscriber received {min(m['subscriber_values']):,} "
                                    f"of {r['parameters']:,} values (fewest in a run)"
                                    if r["subscriber"] else ""))
            if not m["subscriber_complete"]:
                print(f"  {'':<18} the subscriber missed values (dropped as too slow?): this "
                      "run is not like for like")
    if "ratio" in r:
        print(f"  ratio this tree / baseline: {r['ratio']:.2f}")
    print("  goal >= 20,000 packets/s; Yamcs ~2,000, COSMOS ~3,500")
    print(json.dumps(r))


if __name__ == "__main__":
    main()
