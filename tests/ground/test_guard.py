"""No web page elsewhere can act on the ground server (issue 15, "Found" 7): every forged
request is refused (403) before any handler runs and changes nothing; the server's own page,
and an --allow-origin one, still work."""

import asyncio
import json
import re
import socket

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from click.testing import CliRunner

from touchdown.cli import main
from touchdown.ground.server import CLIENTS, make_app

EVIL = "http://evil.example"


def run(coro):
    return asyncio.run(coro)


@pytest.fixture
def alarmed(ingest, dictionary, encoder, packet, accounts):
    """An ingest with one active, unacknowledged alarm (propellant at 0 kg: warning), and two
    operators who may sign in (alice, capcom)."""
    ingest.packet(packet(dictionary, encoder, "prop", 94.0, propellant_kg=0.0), 99.0)
    (alarm,) = ingest.alarms.active()
    for name in ("alice", "capcom"):
        accounts.add(ingest.archive, name, "operator")
    return ingest, alarm.id


async def token(client: TestClient) -> str:
    return (await (await client.get("/api/session")).json())["csrf_token"]


def acknowledged(ingest, alarm_id: int) -> bool:
    return ingest.archive.alarm(alarm_id).t_acknowledged is not None


def test_forged_requests_are_refused_and_change_nothing(alarmed, accounts):
    ingest, alarm_id = alarmed
    ack = f"/api/alarms/{alarm_id}/acknowledge"
    body = json.dumps({"comment": "mallory was here"})

    async def check():
        async with TestClient(TestServer(make_app(ingest, lambda: 100.0))) as client:
            origin = f"http://127.0.0.1:{client.port}"
            good = (await accounts.sign_in(client, "alice"))["X-CSRF-Token"]  # a session that
            # could act: the forged requests below ride on its cookie
            forged = {
                # a form or fetch() from another site: text/plain needs no CORS preflight
                "cross-origin text/plain": {"headers": {"Origin": EVIL,
                                                        "Content-Type": "text/plain"}},
                "cross-origin JSON with a token": {"headers": {
                    "Origin": EVIL, "Content-Type": "application/json", "X-CSRF-Token": good}},
                "same origin, text/plain, token": {"headers": {
                    "Origin": origin, "Content-Type": "text/plain", "X-CSRF-Token": good}},
                "no token": {"headers": {"Content-Type": "application/json"}},
                "a wrong token": {"headers": {"Content-Type": "application/json",
                                              "X-CSRF-Token": "0" * 64}},
                "Host: evil.example (DNS rebinding)": {"headers": {
                    "Host": "evil.example", "Content-Type": "application/json",
                    "X-CSRF-Token": good}},
                "Origin: null": {"headers": {"Origin": "null",
                                             "Content-Type": "application/json",
                                             "X-CSRF-Token": good}},
            }
            for what, kw in forged.items():
                r = await client.post(ack, data=body, **kw)
                answer = await r.json()
                assert r.status == 403, what
                assert answer["error"] and "\n" not in answer["error"], what
                assert answer["refused"] in ("host", "origin", "csrf"), what
                assert not acknowledged(ingest, alarm_id), what
            # no session cookie at all (a client that never asked for one)
            async with aiohttp.ClientSession() as bare:
                r = await bare.post(client.make_url(ack), data=body,
                                    headers={"Content-Type": "application/json",
                                             "X-CSRF-Token": good})
                assert r.status == 403 and "/api/session" in (await r.json())["error"]
            assert not acknowledged(ingest, alarm_id)

    run(check())


def test_a_token_from_another_session_is_refused(alarmed, accounts):
    ingest, alarm_id = alarmed

    async def check():
        server = TestServer(make_app(ingest, lambda: 100.0))
        async with TestClient(server) as alice, TestClient(server) as mallory:
            alices = (await accounts.sign_in(alice, "alice"))["X-CSRF-Token"]
            mallorys = await token(mallory)
            assert alices != mallorys
            r = await mallory.post(f"/api/alarms/{alarm_id}/acknowledge", json={},
                                   headers={"X-CSRF-Token": alices})
            assert r.status == 403 and "token" in (await r.json())["error"]
            assert not acknowledged(ingest, alarm_id)
            r = await alice.post(f"/api/alarms/{alarm_id}/acknowledge", json={},
                                 headers={"X-CSRF-Token": alices})
            assert r.status == 200 and acknowledged(ingest, alarm_id)
            assert ingest.archive.alarm(alarm_id).acknowledged_by == "alice"

    run(check())


def test_the_session_cookie_is_http_only_and_same_site_strict(ingest):
    async def check():
        async with TestClient(TestServer(make_app(ingest, lambda: 0.0))) as client:
            r = await client.get("/api/session")
            cookie = r.headers["Set-Cookie"]
            first = (await r.json())["csrf_token"]
            again = (await (await client.get("/api/session")).json())["csrf_token"]
        return cookie, first, again

    cookie, first, again = run(check())
    assert re.match(r"td_session_\d+=", cookie) and "HttpOnly" in cookie  # this port's
    assert "SameSite=Strict" in cookie and "Path=/" in cookie
    assert first == again  # the session is kept: a page's token stays valid


def test_the_servers_own_page_and_an_allowed_origin_may_act(alarmed, accounts):
    ingest, alarm_id = alarmed

    async def check():
        app = make_app(ingest, lambda: 100.0, allow_origins=["https://ground.example"])
        async with TestClient(TestServer(app)) as client:
            good = (await accounts.sign_in(client, "capcom"))["X-CSRF-Token"]
            ack = f"/api/alarms/{alarm_id}/acknowledge"
            for origin in (f"http://127.0.0.1:{client.port}", f"http://localhost:{client.port}",
                           "https://ground.example"):
                r = await client.get("/api/latest", headers={"Origin": origin})
                assert r.status == 200, origin
            # behind a reverse proxy that passes the public name on
            r = await client.get("/api/latest", headers={"Host": "ground.example",
                                                          "Origin": "https://ground.example"})
            assert r.status == 200
            r = await client.get("/api/latest", headers={"Origin": "https://ground.example:444"})
            assert r.status == 403  # another port is another origin
            r = await client.get("/api/latest", headers={"Origin": "http://127.0.0.1:1"})
            assert r.status == 403  # another server on this machine
            r = await client.post(ack, json={},
                                  headers={"X-CSRF-Token": good,
                                           "Origin": "https://ground.example"})
            assert r.status == 200 and acknowledged(ingest, alarm_id)

    run(check())


def test_host_must_be_an_address_of_this_server(ingest):
    async def check():
        async with TestClient(TestServer(make_app(ingest, lambda: 0.0))) as client:
            port = client.port
            out = {}
            for host in ("evil.example", f"evil.example:{port}", "127.0.0.1.nip.io",
                         f"127.0.0.1:{port + 1}", "localhost:1", f"127.0.0.1:{port}/x",
                         f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}"):
                r = await client.get("/api/latest", headers={"Host": host})
                out[host] = r.status, (await r.json()) if r.status == 403 else None
            return port, out

    port, out = run(check())
    for host in ("evil.example", f"evil.example:{port}", "127.0.0.1.nip.io",
                 f"127.0.0.1:{port + 1}", "localhost:1", f"127.0.0.1:{port}/x"):
        status, body = out[host]
        assert status == 403, host
        assert "--allow-origin" in body["error"], host  # names the fix
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}"):
        assert out[host][0] == 200, host


def test_a_websocket_from_another_origin_or_host_is_refused(ingest):
    async def check():
        app = make_app(ingest, lambda: 0.0)
        async with TestClient(TestServer(app)) as client:
            for headers in ({"Origin": EVIL}, {"Host": "evil.example"},
                            {"Origin": f"http://127.0.0.1:{client.port + 1}"}):
                with pytest.raises(aiohttp.WSServerHandshakeError) as caught:
                    await client.ws_connect("/api/realtime", headers=headers)
                assert caught.value.status == 403, headers
                assert not app[CLIENTS]
            ws = await client.ws_connect("/api/realtime",
                                         headers={"Origin": f"http://127.0.0.1:{client.port}"})
            assert [(await ws.receive_json(timeout=5))["type"] for _ in range(2)] == [
                "clock", "link"]
            await ws.close()

    run(check())


def test_an_unexpected_error_is_one_line_of_json_without_a_traceback(ingest, monkeypatch):
    def boom():
        raise RuntimeError("secret internals\nline two")

    monkeypatch.setattr(ingest.archive, "latest", boom)

    async def check():
        async with TestClient(TestServer(make_app(ingest, lambda: 0.0))) as client:
            r = await client.get("/api/latest")
            return r.status, await r.text()

    status, text = run(check())
    assert status == 500
    message = json.loads(text)["error"]
    assert "RuntimeError" in message and "log" in message
    assert "\n" not in message and "secret" not in text and "Traceback" not in text


def test_allow_origin_is_checked_and_a_public_host_warns(tmp_path):
    archive = str(tmp_path / "g.sqlite")
    for bad in ("evil.example", "ftp://evil.example", "http://evil.example/path",
                "http://user@evil.example", "http://"):
        r = CliRunner().invoke(main, ["ground", "--archive", archive, "--new",
                                      "--allow-origin", bad])
        assert r.exit_code == 2 and "--allow-origin" in r.output, bad
        assert "https://ground.example:8443" in r.output  # an example of a good one
    with socket.socket() as busy:  # the web port is taken: the server stops right after
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        r = CliRunner().invoke(main, ["ground", "--archive", archive, "--new", "--host",
                                      "0.0.0.0", "--port", str(port), "--ingest-port", "0",
                                      "--quiet"])
    assert r.exit_code == 2
    assert "WARNING: listening on 0.0.0.0 exposes" in r.output
    assert "every network" in r.output and "without a password" in r.output
