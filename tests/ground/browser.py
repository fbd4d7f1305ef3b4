"""What the browser tests share: where screenshots go, waiting for a condition, and
`touchdown ground` run on an archive for the length of a block."""

from __future__ import annotations

import contextlib
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

SHOTS = Path(__file__).parents[2] / "out" / "screenshots"


def wait_for(predicate: Callable[[], Any], timeout_s: float, what: str) -> Any:
    """The predicate's first true value, polled every 0.2 s; AssertionError after timeout_s."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}")


@contextlib.contextmanager
def ground(archive: Path) -> Iterator[str]:
    """`touchdown ground` on an archive until the block ends (SIGTERM: it must say so and exit
    0); yields the URL of mission control."""
    proc = subprocess.Popen([str(Path(sys.executable).parent / "touchdown"), "ground",
                             "--archive", str(archive), "--port", "0", "--ingest-port", "0"],
                            stderr=subprocess.PIPE, text=True)
    try:
        url = None
        deadline = time.monotonic() + 60
        while url is None and time.monotonic() < deadline:
            line = proc.stderr.readline()
            assert line, f"touchdown ground ended (exit {proc.poll()})"
            m = re.search(r"mission control on (http://\S+/)$", line.strip())
            url = m.group(1) if m else None
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        rest = proc.communicate(timeout=20)[1]
    assert proc.returncode == 0 and "ground: stopped (SIGTERM)" in rest, rest[-2000:]
