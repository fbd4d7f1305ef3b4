"""The ground station's side of the ingest link: frames sent to a ground server over TCP, paced
by their receive times, and errors that name the address."""

import socket
import threading

import pytest

from touchdown.errors import GroundLinkError
from touchdown.ground.station import parse_address, send_frames


def test_an_ingest_address_is_tcp_host_port():
    assert parse_address("tcp://127.0.0.1:10015") == ("127.0.0.1", 10015)
    assert parse_address("tcp://[::1]:9") == ("[::1]", 9)
    for bad in ("udp://x:1", "tcp://x", "tcp://:1", "127.0.0.1:1", "tcp://x:port"):
        with pytest.raises(ValueError, match="is not tcp://HOST:PORT"):
            parse_address(bad)


def test_frames_arrive_in_order_paced_by_their_receive_times():
    frames = [(100.0 + 0.01 * k, bytes([k]) * 8) for k in range(20)]
    got = bytearray()
    with socket.create_server(("127.0.0.1", 0)) as server:
        def receive() -> None:
            conn, _ = server.accept()
            with conn:
                while chunk := conn.recv(4096):
                    got.extend(chunk)

        reader = threading.Thread(target=receive)
        reader.start()
        sent = []
        send_frames(frames, *server.getsockname()[:2], speed=10.0, progress=sent.append)
        reader.join(timeout=10)
    assert bytes(got) == b"".join(data for _, data in frames)
    assert sent == [1] * len(frames)


def test_an_unreachable_server_names_its_address_and_the_fix():
    with socket.create_server(("127.0.0.1", 0)) as s:
        port = s.getsockname()[1]  # closed again: nothing listens there
    with pytest.raises(GroundLinkError, match=rf"tcp://127\.0\.0\.1:{port} .*touchdown ground"):
        send_frames([(0.0, b"x")], "127.0.0.1", port, 1.0)
