"""The ground station's side of the ingest link (shell): the frames it received, sent over TCP
to a ground server's ingest port (``touchdown fly --ground tcp://HOST:PORT``) at their receive
times, ``speed`` times faster than real time. The server's side is ``server.start_ingest_server``.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Sequence

from touchdown.errors import GroundLinkError
from touchdown.ground.live import PacedClock

CONNECT_TIMEOUT_S = 10.0


def parse_address(url: str) -> tuple[str, int]:
    """HOST, PORT from ``tcp://HOST:PORT``; ValueError naming the form otherwise."""
    host, sep, port = url.removeprefix("tcp://").rpartition(":")
    if not url.startswith("tcp://") or not sep or not host or not port.isdigit():
        raise ValueError(f"{url!r} is not tcp://HOST:PORT")
    return host, int(port)


def send_frames(frames: Sequence[tuple[float, bytes]], host: str, port: int, speed: float,
                progress: Callable[[int], None] | None = None) -> None:
    """Send each received frame ``(t_received s, octets)`` to the ground server at host:port
    when its receive time comes (light time included), ``speed`` times faster than real time.
    GroundLinkError when the server cannot be reached or closes the link."""
    where = f"tcp://{host}:{port}"
    try:
        sock = socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S)
    except OSError as exc:
        raise GroundLinkError(f"could not reach the ground server at {where} "
                              f"({exc.strerror or exc}); start it with `touchdown ground` or "
                              "check --ground") from None
    with sock:
        clock = PacedClock(frames[0][0] if frames else 0.0, speed)
        clock.start()
        for t, data in frames:
            wait = (t - clock()) / speed
            if wait > 0:
                time.sleep(wait)
            try:
                sock.sendall(data)
            except OSError as exc:
                raise GroundLinkError(f"the ground server at {where} closed the link "
                                      f"({exc.strerror or exc})") from None
            if progress is not None:
                progress(1)
