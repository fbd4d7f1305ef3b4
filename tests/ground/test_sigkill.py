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
    archive = Archive(sys.argv[1], batch_packets=40)
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
        assert a.counters["packets"] == n  # counters are committed with the packets
        ingest = Ingest(d, a)  # the archive continues
        enc = PacketEncoder()
        enc.counts[d["nav"].apid] = n % 16384
        ingest.packet(enc.encode(d["nav"], 1e6, [0.0] * 8), 2e6)
        assert ingest.counters["missing"] == 0 and ingest.counters["duplicates"] == 0
    with Archive(path) as a:
        assert a.packet_count() == n + 1
