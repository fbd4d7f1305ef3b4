"""Shared helpers for the ground tests: the shipped dictionary, nominal packets, and users who
sign in."""

from __future__ import annotations

import asyncio
import json
import socket

import pytest

from touchdown.ground.archive import Archive
from touchdown.ground.ingest import Ingest
from touchdown.ground.users import add_user
from touchdown.telemetry.dictionary import Dictionary, load_dictionary
from touchdown.telemetry.packets import PacketEncoder

NOMINAL = {  # one nominal value per field, in the dictionary's order
    "nav": [45.0, 44.5, -1000.0, 5000.0, -20.0, 50.0, 10.0, 0.5],
    "lrf": [5000.0, 5001.0, 0.5, 1, 1, 0, 10],
    "gnc": [3, 12.0, 300.0, 1.0, 0, 0.0, 30.0, 0.0, 0],
    "prop": [200.0],
    "health": [0, 12],
    "event": [2, 0.0],
}  # a packet not listed: all zeros (commanding: nothing sent, engines armed, range finder on)


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
    values = list(NOMINAL[name]) if name in NOMINAL else [0] * len(p.fields)
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


class ReadingClient:
    """A websocket client that reads everything it is sent, in a task of its own, counting
    the parameter values (``values``); ``stop()`` ends the reading."""

    def __init__(self, ws) -> None:
        self.values = 0
        self.task = asyncio.create_task(self._read(ws))

    async def _read(self, ws) -> None:
        async for msg in ws:
            self.values += len(json.loads(msg.data).get("values", ()))

    def stop(self) -> None:
        self.task.cancel()


PASSWORD = "correct horse battery"  # every test user's


def add_test_user(archive: Archive, name: str, role: str, password: str = PASSWORD) -> None:
    """A user of the archive, as `touchdown ground users add` makes one."""
    add_user(archive, name, role, password, created_by="test", t_ground=0.0)


async def sign_in(client, name: str, password: str = PASSWORD) -> dict[str, str]:
    """Sign ``client`` (an aiohttp TestClient, which keeps cookies) in; the headers of its
    state-changing requests from then on (the new session's CSRF token)."""
    token = (await (await client.get("/api/session")).json())["csrf_token"]
    r = await client.post("/api/login", json={"name": name, "password": password},
                          headers={"X-CSRF-Token": token})
    assert r.status == 200, await r.text()
    return {"X-CSRF-Token": (await r.json())["csrf_token"]}


class Accounts:
    """Users for a test: ``accounts.add(archive, name, role)``, ``await
    accounts.sign_in(client, name)`` (the headers to act with), ``accounts.password``."""

    password = PASSWORD
    add = staticmethod(add_test_user)
    sign_in = staticmethod(sign_in)


@pytest.fixture
def accounts() -> Accounts:
    return Accounts()
