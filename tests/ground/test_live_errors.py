"""`touchdown fly --live` refuses what it cannot serve at once, before the (minutes-long)
flight: one ``error:`` line naming the parameter and the fix, exit 2, no archive left behind."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from touchdown.cli import main

FLY_S = 60.0  # s, far below a flight (minutes) and far above the CLI's start


@pytest.fixture
def openmct(tmp_path, monkeypatch) -> Path:
    """A stand-in Open MCT dist folder, so that only the port or the archive can be refused."""
    dist = tmp_path / "openmct-dist"
    dist.mkdir()
    (dist / "openmct.js").write_text("")
    monkeypatch.setenv("TOUCHDOWN_OPENMCT", str(dist))
    return dist


def test_fly_live_on_a_busy_port_exits_2_at_once_and_leaves_no_archive(tmp_path, openmct):
    archive = tmp_path / "flights" / "x.sqlite"
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        t0 = time.monotonic()
        r = subprocess.run(
            [str(Path(sys.executable).parent / "touchdown"), "fly", "hakuto-r-m1", "--live",
             "--port", str(port), "--archive", str(archive), "--no-wait", "-q"],
            capture_output=True, text=True, timeout=FLY_S, env=os.environ)
        wall = time.monotonic() - t0
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in lines[0], lines[0]
    assert "give another --port, or 0 for a free one" in lines[0], lines[0]
    assert r.stdout == ""
    assert not archive.exists()
    assert wall < FLY_S / 2


def test_fly_live_with_an_archive_that_exists_is_one_line(tmp_path, openmct):
    old = tmp_path / "old.sqlite"
    old.write_bytes(b"")
    r = CliRunner().invoke(main, ["fly", "hakuto-r-m1", "--live", "--port", "0",
                                  "--archive", str(old)])
    assert r.exit_code == 2, r.output
    assert r.stderr.strip().splitlines() == [
        f"error: {old} exists; --live needs a fresh archive: give --archive a new file (open the "
        f"old one with `touchdown ground --archive {old}`)"]
    assert old.read_bytes() == b""
