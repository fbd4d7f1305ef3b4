"""Downlink recordings (shell): what a ground station received, with its receive times.

A recording is a text line naming the format, one JSON line of metadata (scenario, epoch,
frame length, link settings) and then records, each a big-endian float64 receive time (s since
the scenario's epoch, ground time) and a uint32 length followed by that many octets of the
received stream (an attached sync marker and a frame, corrupted or not, as it arrived). A
recording cut short (the writer was killed) still yields every whole record before the cut.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from touchdown.errors import RecordingError
from touchdown.files import jsonable, write_atomic

MAGIC = b"touchdown downlink recording 1\n"
RECORD = struct.Struct(">dI")
MAX_RECORD = 1 << 20  # octets; longer records mean a corrupt file


@dataclass
class Recording:
    """A recording's metadata and whether its records ended cleanly."""

    path: Path
    meta: dict[str, Any]
    truncated: bool = False  # set once the records have been read to a cut

    def records(self) -> Iterator[tuple[float, bytes]]:
        """(receive time, octets) in file order; stops at a cut, setting ``truncated``."""
        with self.path.open("rb") as f:
            _header(f, self.path)
            while True:
                head = f.read(RECORD.size)
                if not head:
                    return
                if len(head) < RECORD.size:
                    self.truncated = True
                    return
                t, n = RECORD.unpack(head)
                body = f.read(n) if n <= MAX_RECORD else b""
                if len(body) < n or n > MAX_RECORD:
                    self.truncated = True
                    return
                yield t, body


def _header(f: BinaryIO, path: Path) -> dict[str, Any]:
    if f.read(len(MAGIC)) != MAGIC:
        raise RecordingError(f"{path}: not a touchdown downlink recording (it should start "
                             f"with {MAGIC[:-1].decode()!r}); record one with "
                             "`touchdown fly SCENARIO --downlink FILE`")
    line = f.readline()
    try:
        meta = json.loads(line)
    except ValueError:
        raise RecordingError(f"{path}: its metadata line is not JSON; the file is damaged, "
                             "record it again") from None
    if not isinstance(meta, dict):
        raise RecordingError(f"{path}: its metadata line is not a JSON object; record it again")
    return meta


def write_recording(path: Path, meta: dict[str, Any],
                    records: Iterable[tuple[float, bytes]]) -> Path:
    """Write a whole recording (to a temporary name first, then renamed)."""

    def write(tmp: Path) -> None:
        with tmp.open("wb") as f:
            f.write(MAGIC)
            f.write(json.dumps(jsonable(meta)).encode() + b"\n")
            for t, data in records:
                f.write(RECORD.pack(t, len(data)))
                f.write(data)

    return write_atomic(Path(path), write)


def read_recording(path: str | Path) -> Recording:
    """Open a recording: its metadata now, its records as they are read."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            meta = _header(f, path)
    except FileNotFoundError:
        raise RecordingError(f"{path}: no such file; give the path of a recording made with "
                             "`touchdown fly SCENARIO --downlink FILE`") from None
    return Recording(path, meta)
