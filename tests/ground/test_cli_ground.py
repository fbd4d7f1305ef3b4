"""``touchdown ground``: --get in-process, errors to exit codes, and a live serve end to end."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request

from click.testing import CliRunner

from touchdown.cli import main
from touchdown.ground.archive import Archive
from touchdown.ground.ingest import Ingest
from touchdown.telemetry.dictionary import load_dictionary
from touchdown.telemetry.frames import ASM, FrameEncoder


def test_get_answers_one_request_and_exits_by_status(tmp_path):
    archive = str(tmp_path / "g.sqlite")
    Archive(archive, create=True).close()
    result = CliRunner().invoke(main, ["ground", "--archive", archive, "--get", "/api/link"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["status"] == "UNAVAIL"
    result = CliRunner().invoke(main, ["ground", "--archive", archive, "--get",
                                       "/api/history/nav.nothing"])
    assert result.exit_code == 1 and "/api/parameters" in result.output


def test_an_archive_that_is_not_one_exits_2_naming_the_option(tmp_path):
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"not a database" * 200)
    result = CliRunner().invoke(main, ["ground", "--archive", str(bad), "--get", "/api/link"])
    assert result.exit_code == 2 and "--archive" in result.output


def test_serve_ingests_over_tcp_answers_the_api_and_stops_cleanly(tmp_path, dictionary,
                                                                  encoder, packet):
    archive = tmp_path / "live.sqlite"
    cli = [sys.executable, "-c", "from touchdown.cli import main; main()"]
    proc = subprocess.Popen([*cli, "ground", "--archive", str(archive), "--new", "--port", "0",
                             "--ingest-port", "0"],
                            stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONWARNINGS": "error"})
    try:
        lines = [proc.stderr.readline() for _ in range(5)]
        assert re.search(r"mission control on http://127.0.0.1:\d+/$", lines[1].strip())
        assert "nobody may act on alarms yet" in lines[4]  # and how to add an operator:
        assert f"touchdown ground users add NAME --role operator --archive {archive}" in lines[4]
        api = re.search(r"http://([\d.]+):(\d+)", lines[2])
        tcp = re.search(r"tcp://([\d.]+):(\d+)", lines[3])
        assert api and tcp, lines
        assert api.group(1) == "127.0.0.1"  # the safe default
        framer = FrameEncoder(dictionary.spacecraft_id)  # the lander's TM frames, 256 octets
        for k in range(10):
            framer.push(packet(dictionary, encoder, "nav", float(k), altitude_m=k))
        stream = b""
        while framer.pending_octets:
            stream += ASM + framer.next_frame()
        with socket.create_connection((tcp.group(1), int(tcp.group(2)))) as s:
            s.sendall(stream)
        url = f"http://127.0.0.1:{api.group(2)}/api/latest"
        for _ in range(100):
            latest = json.load(urllib.request.urlopen(url, timeout=5))
            if latest.get("nav.altitude_m", {}).get("value") == 9.0:
                break
            time.sleep(0.05)
        assert latest["nav.altitude_m"]["value"] == 9.0
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=20)
        proc.stderr.close()
    assert proc.returncode == 0
    with Archive(archive) as a:
        assert a.packet_count() == 10 and Ingest(load_dictionary(), a).counters["packets"] == 10
