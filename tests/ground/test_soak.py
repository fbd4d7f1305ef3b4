"""Soak (issue 15, "Must deliver" 8): a `touchdown ground` server ingesting telemetry while 50
websocket clients connect and never read. They are dropped (counted in /api/link) and, once they
are gone, the server's memory is back within 10 % of its baseline. Bounded: loopback only, one
server, fixed loops, well under 60 s.

The measurement: the server's resident set (VmRSS from /proc) is sampled while telemetry flows
throughout. Warm-up first (telemetry and one round of stalled clients, so that what a process
allocates once — code paths, interpreter caches, the archive's page cache — is in), then the
baseline, then two more rounds of 50 stalled clients; after each round the clients close and
the resident set must come back within 10 % of the baseline (the peak is bounded too).
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from touchdown.ground.server import QUEUE_LEN
from touchdown.telemetry.frames import ASM, FrameEncoder

CLIENTS = 50
FRAMES_PER_S = 200  # ~1,000 packets/s, ~5,000 values/s: to every client, 250,000 a second
ROUND_S = 10.0  # at most, for a round's clients to be dropped


def rss_mib(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024


def telemetry(dictionary, encoder, packet, n_frames: int) -> list[bytes]:
    """n_frames attached-sync-marker TM frames of the periodic packets in turn."""
    kinds = [p.name for p in dictionary.packets if p.period_s > 0]
    framer, frames, k = FrameEncoder(dictionary.spacecraft_id), [], 0
    while len(frames) < n_frames:
        framer.push(packet(dictionary, encoder, kinds[k % len(kinds)], 0.05 * k))
        k += 1
        while framer.pending_octets >= framer.length:
            frames.append(ASM + framer.next_frame())
    return frames


def link(port: int) -> dict:
    return json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/api/link", timeout=10))


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc (Linux)")
def test_stalled_websocket_clients_are_dropped_and_memory_comes_back(tmp_path, dictionary,
                                                                      encoder, packet,
                                                                      stalled_websocket):
    t_start = time.monotonic()
    frames = telemetry(dictionary, encoder, packet, FRAMES_PER_S * 50)
    cli = [sys.executable, "-c", "from touchdown.cli import main; main()"]
    log = tmp_path / "server.log"  # a file, not a pipe: a full pipe would stall the server
    with log.open("w") as err:
        server = subprocess.Popen([*cli, "ground", "--archive", str(tmp_path / "soak.sqlite"),
                                   "--new", "--port", "0", "--ingest-port", "0"], stderr=err)
    stop = threading.Event()
    try:
        for _ in range(300):
            text = log.read_text()
            web = re.search(r"http://127\.0\.0\.1:(\d+)/", text)
            tcp = re.search(r"tcp://127\.0\.0\.1:(\d+)", text)
            if web and tcp:
                break
            time.sleep(0.1)
        assert web and tcp, text
        web_port, tcp_port = int(web.group(1)), int(tcp.group(1))

        def send() -> None:  # FRAMES_PER_S, paced, for as long as the test runs
            with socket.create_connection(("127.0.0.1", tcp_port)) as s:
                t0 = time.monotonic()
                for i, frame in enumerate(frames):
                    if stop.is_set():
                        return
                    s.sendall(frame)
                    time.sleep(max(0.0, t0 + (i + 1) / FRAMES_PER_S - time.monotonic()))

        sender = threading.Thread(target=send, daemon=True)
        sender.start()

        def round_of_stalled_clients() -> tuple[float, int]:
            """50 clients that never read, until the server drops them; (peak MiB, dropped)."""
            before = link(web_port)["server"]["clients_dropped"]
            clients = [stalled_websocket(web_port) for _ in range(CLIENTS)]
            peak, t0 = 0.0, time.monotonic()
            while time.monotonic() - t0 < ROUND_S:
                peak = max(peak, rss_mib(server.pid))
                if link(web_port)["server"]["clients_dropped"] - before >= CLIENTS:
                    break
                time.sleep(0.1)
            for c in clients:
                c.close()
            time.sleep(1.0)
            return peak, link(web_port)["server"]["clients_dropped"] - before

        time.sleep(2.0)
        started = rss_mib(server.pid)
        warm_peak, warm_dropped = round_of_stalled_clients()  # warm-up
        time.sleep(1.0)
        baseline = rss_mib(server.pid)
        rounds = [(*round_of_stalled_clients(), rss_mib(server.pid)) for _ in range(2)]
        status = link(web_port)
    finally:
        stop.set()
        server.send_signal(signal.SIGINT)
        server.wait(timeout=20)
    elapsed = time.monotonic() - t_start
    print(f"\nsoak: RSS {started:.1f} MiB after start, warm-up peak {warm_peak:.1f} MiB, "
          f"baseline {baseline:.1f} MiB; rounds of {CLIENTS} stalled clients (queue "
          f"{QUEUE_LEN} values each): " + "; ".join(
              f"peak {p:.1f} MiB, dropped {d}, after {a:.1f} MiB "
              f"({100 * (a / baseline - 1):+.1f} %)" for p, d, a in rounds)
          + f"; {status['counters']['packets']:,} packets archived; {elapsed:.1f} s",
          file=sys.stderr)
    if os.environ.get("TOUCHDOWN_SOAK_REPORT"):
        Path(os.environ["TOUCHDOWN_SOAK_REPORT"]).write_text(json.dumps({
            "started_mib": started, "warm_peak_mib": warm_peak, "baseline_mib": baseline,
            "rounds": rounds, "packets": status["counters"]["packets"], "elapsed_s": elapsed}))
    assert warm_dropped == CLIENTS
    for peak, dropped, after in rounds:
        assert dropped == CLIENTS  # every stalled client dropped, and counted
        assert after <= baseline * 1.10  # the memory came back
        assert peak - baseline < 40  # MiB: 50 stalled clients hold little while they last
    assert status["server"]["clients"] == 0
    assert status["counters"]["packets"] > 10_000  # telemetry flowed all along
    assert elapsed < 60
