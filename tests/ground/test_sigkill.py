"""Durability: an ingest killed with SIGKILL loses nothing it had committed."""

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from touchdown.ground.archive import Archive
from touchdown.ground.ingest import Ingest
from touchdown.telemetry.dictionary import load_dictionary
from touchdown.telemetry.packets import PacketEncoder

CHILD = textwrap.dedent("""
    import sys
    from touchdown.ground.archive import Archive
    from touchdown.ground.ingest import Ingest
    from touchdown.telemetry.dictionary import load_dictionary
    from touchdown.telemetry.packets import PacketEncoder

    d = load_dictionary()
    nav = d["nav"]
    archive = Archive(sys.argv[1], create=True, batch_packets=40)
    ingest = Ingest(d, archive)
    enc = PacketEncoder()
    commits = 0
    for k in range(10**7):
        raw = enc.encode(nav, 0.1 * k, [45.0, 44.0, 0.0, 1000.0, -5.0, 10.0, 1.0, 0.1])
        ingest.packet(raw, 0.1 * k + 1.0)
        if archive.commits != commits:
            commits = archive.commits
            print("committed", archive.committed_packets, flush=True)
""")


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sigkill_mid_stream_keeps_every_committed_packet(tmp_path):
    path = tmp_path / "killed.sqlite"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE,
                             text=True, env={**os.environ, "PYTHONWARNINGS": "error"})
    reported = 0
    try:
        for line in child.stdout:
            reported = int(line.split()[1])
            if reported >= 2000:
                break
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    assert reported >= 2000, "the child never reported its commits"

    d = load_dictionary()
    with Archive(path) as a:
        assert a.integrity_check() == "ok"
        n = a.packet_count()
        assert n >= reported  # everything reported as committed is there
        seqs = [p[1] for p in a.packets()]
        assert seqs == [k % 16384 for k in range(n)]  # a whole prefix, no holes
        assert len(a.history("nav.altitude_m")) == n
        ingest = Ingest(d, a)  # the archive continues
        assert ingest.counters["packets"] == n  # counters are committed with the packets
        enc = PacketEncoder()
        enc.counts[d["nav"].apid] = n % 16384
        ingest.packet(enc.encode(d["nav"], 1e6, [0.0] * 8), 2e6)
        assert ingest.counters["missing"] == 0 and ingest.counters["duplicates"] == 0
    with Archive(path) as a:
        assert a.packet_count() == n + 1


def _start_server(path):
    import re

    proc = subprocess.Popen([sys.executable, "-c", "from touchdown.cli import main; main()",
                             "ground", "--archive", str(path), "--port", "0",
                             "--ingest-port", "0", *([] if path.exists() else ["--new"])],
                            stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONWARNINGS": "error"})
    lines = "".join(proc.stderr.readline() for _ in range(4))  # archive, UI, API, ingest
    web = int(re.search(r"http://[\d.]+:(\d+)", lines).group(1))
    tcp = int(re.search(r"tcp://[\d.]+:(\d+)", lines).group(1))
    return proc, web, tcp


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_the_server_killed_mid_stream_keeps_what_it_committed_and_resumes(tmp_path):
    """`touchdown ground` takes a long frame stream over TCP; killed with SIGKILL while
    ingesting, it keeps every packet its API had counted half a second before (it commits every
    0.2 s), and restarted on the same archive it carries on from there."""
    import json
    import socket
    import threading
    import time
    import urllib.request

    from touchdown.telemetry.frames import ASM, FrameEncoder

    d = load_dictionary()
    nav, enc, framer = d["nav"], PacketEncoder(), FrameEncoder(d.spacecraft_id)
    for k in range(60_000):
        framer.push(enc.encode(nav, 0.1 * k, [45.0, 44.0, 0.0, 1000.0, -5.0, 10.0, 1.0, 0.1]))
    stream = b"".join(ASM + framer.next_frame() for _ in range(-(-framer.pending_octets
                                                                   // 248) + 1))
    path = tmp_path / "server.sqlite"
    proc, web, tcp = _start_server(path)

    def counted() -> int:
        with urllib.request.urlopen(f"http://127.0.0.1:{web}/api/link", timeout=5) as r:
            return json.load(r)["counters"]["packets"]

    sock = socket.create_connection(("127.0.0.1", tcp))
    sender = threading.Thread(target=lambda: sock.sendall(stream), daemon=True)
    sender.start()
    try:
        deadline = time.monotonic() + 30
        while (n_seen := counted()) < 5000 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        assert counted() < 60_000, "the stream ended before the kill: make it longer"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        proc.stderr.close()
        sock.close()
    with Archive(path) as a:
        assert a.integrity_check() == "ok"
        n = a.packet_count()
        assert n >= n_seen >= 5000
        assert [p[1] for p in a.packets()] == [k % 16384 for k in range(n)]
    proc, web, tcp = _start_server(path)  # restarted, it continues the same archive
    try:
        assert counted() == n
        framer = FrameEncoder(d.spacecraft_id)
        enc.counts[nav.apid] = n % 16384
        framer.push(enc.encode(nav, 1e5, [45.0, 44.0, 0.0, 1000.0, -5.0, 10.0, 1.0, 0.1]))
        with socket.create_connection(("127.0.0.1", tcp)) as s:
            s.sendall(ASM + framer.next_frame())
        deadline = time.monotonic() + 10
        while counted() < n + 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert counted() == n + 1
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
        proc.stderr.close()
