"""What the browser and live tests share: where screenshots go, waiting for a condition, and a
`touchdown` server (`ground` on an archive, `fly --live`) run for the length of a block."""

from __future__ import annotations

import contextlib
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
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


CREDENTIALS = re.compile(r"sign in as (demo-[0-9a-f]{4}) \((\w+)\), password (\S+) ")


@dataclass
class Started:
    """What a `touchdown` server printed at its start."""

    url: str  # mission control's
    users: dict[str, tuple[str, str]] = field(default_factory=dict)  # role: (name, password)

    @property
    def user(self) -> str:
        """The throwaway operator `fly --live` made for this flight."""
        return self.users["operator"][0]

    @property
    def password(self) -> str:
        return self.users["operator"][1]


@contextlib.contextmanager
def touchdown(*args: str) -> Iterator[Started]:
    """Run `touchdown ARGS` until the block ends, then stop it with SIGTERM, as a service
    manager would: it must commit, say so and exit 0. Yields the URL it prints and, for
    `fly --live`, the throwaway people it prints (the operator; with --all-roles a flight
    director and a viewer too)."""
    people = 0 if "--live" not in args else 3 if "--all-roles" in args else 1
    proc = subprocess.Popen([str(Path(sys.executable).parent / "touchdown"), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        started = None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            assert line, f"touchdown {' '.join(args)} ended (exit {proc.poll()})"
            m = re.search(r"(http://\S+/)$", line.strip())
            if m and started is None:
                started = Started(m.group(1))
            creds = CREDENTIALS.search(line)
            if started is not None and creds:
                started.users[creds.group(2)] = creds.group(1, 3)
            if started is not None and len(started.users) == people:
                break
        assert started and len(started.users) == people, \
            f"touchdown {' '.join(args)} printed no URL or not its {people} people"
        yield started
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            rest, _ = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            rest, _ = proc.communicate()
    assert proc.returncode == 0 and "ground: stopped (SIGTERM)" in rest, rest[-2000:]


@contextlib.contextmanager
def ground(archive: Path) -> Iterator[str]:
    """`touchdown ground` on an archive until the block ends; yields the URL of mission
    control."""
    with touchdown("ground", "--archive", str(archive), "--port", "0",
                   "--ingest-port", "0") as started:
        yield started.url
