"""Shared helpers for the ground tests: the shipped dictionary and nominal packets."""

from __future__ import annotations

import socket

import pytest

from touchdown.ground.archive import Archive
from touchdown.ground.ingest import Ingest
from touchdown.telemetry.dictionary import Dictionary, load_dictionary
from touchdown.telemetry.packets import PacketEncoder

NOMINAL = {  # one nominal value per field, in the dictionary's order
    "nav": [45.0, 44.5, -1000.0, 5000.0, -20.0, 50.0, 10.0, 0.5],
    "lrf": [5000.0, 5001.0, 0.5, 1, 1, 0, 10],
    "gnc": [3, 12.0, 300.0, 1.0, 0, 0.0, 30.0, 0.0, 0],
    "prop": [200.0],
    "health": [0, 12],
    "event": [2, 0.0],
}


@pytest.fixture
def dictionary() -> Dictionary:
    return load_dictionary()


@pytest.fixture
def encoder() -> PacketEncoder:
    return PacketEncoder()


@pytest.fixture
def archive(tmp_path):
    with Archive(tmp_path / "ground.sqlite", create=True) as a:
        yield a


@pytest.fixture
def ingest(dictionary, archive) -> Ingest:
    return Ingest(dictionary, archive)


def make_packet(dictionary: Dictionary, encoder: PacketEncoder, name: str, t: float,
                **changes: float) -> bytes:
    """A packet of type ``name`` at onboard time t (s): nominal values with some changed."""
    p = dictionary[name]
    values = list(NOMINAL[name])
    for k, v in changes.items():
        values[[f.name for f in p.fields].index(k)] = v
    return encoder.encode(p, t, values)


@pytest.fixture
def packet():
    """make_packet as a fixture: ``packet(dictionary, encoder, name, t, field=value, ...)``."""
    return make_packet


def open_stalled_websocket(port: int) -> socket.socket:
    """A websocket client on 127.0.0.1:port that never reads (a 4 KiB receive buffer): the
    handshake sent, nothing read after it."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", port))
    s.sendall(f"GET /api/realtime HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
              "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
              "Sec-WebSocket-Version: 13\r\n\r\n".encode())
    return s


@pytest.fixture
def stalled_websocket():
    """open_stalled_websocket as a fixture: ``stalled_websocket(port)``."""
    return open_stalled_websocket
