"""The web side is bounded (issue 15, "Found" 8 and 9): lists come in pages with a default and
a maximum limit, bad parameters are a 400 naming them, a websocket client cannot make the server
keep or echo junk, one that does not read is dropped and counted, and the web port caps its
connections and closes idle ones."""

import asyncio
import contextlib
import json
import time

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from tests.ground.conftest import ReadingClient

from touchdown.cli.serving import start_web
from touchdown.ground import server as server_module
from touchdown.ground.server import CLIENTS, QUEUE_LEN, make_app

LIMIT_DEFAULT, LIMIT_MAX = 1_000, 10_000  # rows of a list page: when not asked, at most


def run(coro):
    return asyncio.run(coro)


def test_history_comes_in_pages_that_a_cursor_walks_once_each(ingest, dictionary, encoder,
                                                               packet):
    for k in range(2_500):
        ingest.packet(packet(dictionary, encoder, "nav", float(k), altitude_m=float(k)),
                      k + 1.0)

    async def check():
        async with TestClient(TestServer(make_app(ingest, lambda: 0.0))) as client:
            url = "/api/history/nav.altitude_m"
            page = await (await client.get(url)).json()  # no limit: the default
            assert len(page["values"]) == LIMIT_DEFAULT and page["next"]
            rows, after, pages = [], None, 0
            while True:
                params = {"limit": "1000", **({"after": after} if after else {})}
                page = await (await client.get(url, params=params)).json()
                rows += page["values"]
                pages += 1
                after = page["next"]
                if after is None:
                    break
            assert pages == 3 and [v for _, v in rows] == [float(k) for k in range(2_500)]
            page = await (await client.get(url, params={"limit": "10", "start": "100",
                                                        "end": "104"})).json()
            assert [t for t, _ in page["values"]] == [100.0, 101.0, 102.0, 103.0, 104.0]
            assert page["next"] is None
            page = await (await client.get(url, params={"limit": "3", "newest": "1"})).json()
            assert [t for t, _ in page["values"]] == [2497.0, 2498.0, 2499.0]
            page = await (await client.get(url, params={"limit": str(LIMIT_MAX)})).json()
            assert len(page["values"]) == 2_500 and page["next"] is None

    run(check())


def test_events_and_alarms_come_in_pages(ingest, dictionary, encoder, packet):
    for k in range(25):
        ingest.packet(packet(dictionary, encoder, "event", float(k), code=10, value=float(k)),
                      k + 1.0)
    ingest.packet(packet(dictionary, encoder, "prop", 30.0, propellant_kg=0.0), 31.0)
    ingest.packet(packet(dictionary, encoder, "lrf", 30.0, state=2), 31.0)

    async def check():
        async with TestClient(TestServer(make_app(ingest, lambda: 40.0))) as client:
            events, after = [], None
            while True:
                params = {"limit": "10", **({"after": after} if after else {})}
                page = await (await client.get("/api/events", params=params)).json()
                assert len(page["events"]) <= 10
                events += page["events"]
                after = page["next"]
                if after is None:
                    break
            assert [e["value"] for e in events] == [float(k) for k in range(25)]
            page = await (await client.get("/api/alarms", params={"limit": "1"})).json()
            assert len(page["alarms"]) == 1 and page["next"]
            page = await (await client.get("/api/alarms", params={"limit": "1",
                                                                  "after": page["next"]})).json()
            assert len(page["alarms"]) == 1 and page["next"] is None

    run(check())


BAD_LIMITS = ["99999999999999999999999", "²", "٣", "-1", "0", str(LIMIT_MAX + 1), "1.5",
              "abc", " 5", "1e3"]


def test_bad_parameters_are_a_400_naming_them_never_a_500(ingest, accounts):
    accounts.add(ingest.archive, "capcom", "operator")

    async def check():
        async with TestClient(TestServer(make_app(ingest, lambda: 0.0))) as client:
            token = (await accounts.sign_in(client, "capcom"))["X-CSRF-Token"]
            for path in ("/api/history/nav.altitude_m", "/api/events", "/api/alarms",
                         "/api/alarm-history", "/api/audit"):
                for limit in BAD_LIMITS:
                    r = await client.get(path, params={"limit": limit})
                    message = (await r.json())["error"]
                    assert r.status == 400, (path, limit)
                    assert "limit" in message and str(LIMIT_MAX) in message, (path, limit)
                for cursor in ("!!!", "AAAA", "x" * 5000):
                    r = await client.get(path, params={"after": cursor})
                    assert r.status == 400 and "after" in (await r.json())["error"], path
            for key, value in (("start", "nan"), ("end", "soon"), ("start", "1,5")):
                r = await client.get("/api/history/nav.altitude_m", params={key: value})
                assert r.status == 400 and key in (await r.json())["error"], (key, value)
                r = await client.get("/api/events", params={key: value})
                assert r.status == 400 and key in (await r.json())["error"], (key, value)
            r = await client.get("/api/history/nav.altitude_m", params={"start": "-1e999"})
            assert r.status == 200  # -inf: from the beginning
            for alarm_id in ("99999999999999999999999", "-1", "²", "1e3", "9" * 400):
                r = await client.post(f"/api/alarms/{alarm_id}/acknowledge", json={},
                                      headers={"X-CSRF-Token": token})
                assert r.status == 400 and "id" in (await r.json())["error"], alarm_id
                r = await client.get(f"/api/alarms/{alarm_id}")
                assert r.status == 400, alarm_id

    run(check())


def test_odd_bodies_and_tokens_are_refused_cleanly(ingest, dictionary, encoder, packet,
                                                   accounts):
    ingest.packet(packet(dictionary, encoder, "lrf", 1.0, state=2), 2.0)  # an alarm to act on
    (alarm,) = ingest.alarms.active()
    accounts.add(ingest.archive, "capcom", "operator")

    async def check():
        async with TestClient(TestServer(make_app(ingest, lambda: 3.0))) as client:
            token = (await accounts.sign_in(client, "capcom"))["X-CSRF-Token"]
            url = f"/api/alarms/{alarm.id}/shelve"
            for body in ('{"duration_s": 1' + "0" * 400 + "}", "[" * 20_000 + "]" * 20_000,
                         '{"duration_s": "soon"}', '{"by": "x", "duration_s": 60}'):
                r = await client.post(url, data=body, headers={
                    "X-CSRF-Token": token, "Content-Type": "application/json"})
                assert r.status == 400, (body[:40], await r.text())
            for body in ("[" * 20_000 + "]" * 20_000, '{"name": 1, "password": []}', "null"):
                r = await client.post("/api/login", data=body, headers={
                    "X-CSRF-Token": token, "Content-Type": "application/json"})
                assert r.status == 400 and "password" in (await r.json())["error"], body[:40]
            r = await client.post(url, json={"duration_s": 60},
                                  headers={"X-CSRF-Token": "\xff\xfe"})
            assert r.status == 403
            assert not ingest.alarms.active()[0].shelved_at(3.0)  # nothing changed

    run(check())


async def answer(ws: aiohttp.ClientWebSocketResponse) -> aiohttp.WSMessage:
    """The next answer to a command (the feed's own messages skipped)."""
    while True:
        m = await ws.receive(timeout=10)
        if m.type != aiohttp.WSMsgType.TEXT or json.loads(m.data)["type"] in (
                "subscribed", "error"):
            return m


def test_a_websocket_survives_bad_commands_and_keeps_no_junk(ingest, monkeypatch):
    async def check():
        app = make_app(ingest, lambda: 0.0)
        async with TestClient(TestServer(app)) as client:
            ws = await client.ws_connect("/api/realtime")
            assert [(await ws.receive_json(timeout=5))["type"] for _ in range(3)] == [
                "clock", "link", "alarms"]
            for bad in ('{"subscribe": 5}', '{"subscribe": "nav.altitude_m"}',
                        '{"subscribe": [1, 2]}', '{"unsubscribe": {"a": 1}}', "[1, 2]", "17",
                        "not json", "[" * 60_000, "{}", '{"subscribe": [' + "9" * 5000 + "]}"):
                await ws.send_str(bad)
                m = json.loads((await answer(ws)).data)
                assert m["type"] == "error" and "subscribe" in m["error"], bad[:40]
            await ws.send_bytes(b"\x00" * 100)  # ignored
            await ws.send_json({"subscribe": ["nav.altitude_m", "junk.name", "gnc.mode"]})
            m = json.loads((await answer(ws)).data)
            assert m == {"type": "subscribed", "all": False, "count": 2,
                         "names": ["gnc.mode", "nav.altitude_m"], "unknown": 1}
            # 1.5 million junk names, 3,000 to a message: refused, counted, never echoed
            junk = [f"junk.{i:07d}" for i in range(3_000)]
            t0 = time.perf_counter()
            for _ in range(500):
                await ws.send_str(json.dumps({"subscribe": junk}))
                reply = await answer(ws)
                assert len(reply.data) < 200
                assert json.loads(reply.data)["unknown"] == 3_000
            assert time.perf_counter() - t0 < 30
            (server_side,) = app[CLIENTS]
            assert server_side.names == {"gnc.mode", "nav.altitude_m"}
            # at most MAX_SUBSCRIPTIONS names
            monkeypatch.setattr(server_module, "MAX_SUBSCRIPTIONS", 3)
            await ws.send_json({"subscribe": ["nav.lat_deg", "nav.lon_deg"]})
            m = json.loads((await answer(ws)).data)
            assert m["type"] == "error" and "at most 3 names" in m["error"]
            assert server_side.names == {"gnc.mode", "nav.altitude_m"}
            await ws.send_json({"unsubscribe": ["gnc.mode"]})
            assert json.loads((await answer(ws)).data)["names"] == ["nav.altitude_m"]
            # one message of 1.5 million names is over the size limit: closed at once (1009)
            huge = json.dumps({"subscribe": [f"junk.{i}" for i in range(1_500_000)]})
            with contextlib.suppress(ConnectionError):
                await ws.send_str(huge)  # the server closes before it has all 22 MB
            m = await answer(ws)
            assert m.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED,
                              aiohttp.WSMsgType.ERROR)
            # (the server closes with 1009; the client, cut off mid-send, may see only 1006)
            for _ in range(100):
                if not app[CLIENTS]:
                    break
                await asyncio.sleep(0.02)
            assert not app[CLIENTS]
            assert (await client.get("/api/link")).status == 200  # the server goes on

    run(check())


def test_a_websocket_client_that_does_not_read_is_dropped_and_counted(
        ingest, dictionary, encoder, packet, stalled_websocket):
    async def check():
        app = make_app(ingest, lambda: 0.0)
        async with TestClient(TestServer(app)) as client:
            reader = await client.ws_connect("/api/realtime")
            reading = ReadingClient(reader)
            stalled = stalled_websocket(client.port)
            for _ in range(250):
                if len(app[CLIENTS]) == 2:
                    break
                await asyncio.sleep(0.02)
            assert len(app[CLIENTS]) == 2
            sent = 0
            while server_module.server_status(app)["clients_dropped"] == 0 and sent < 40_000:
                for _ in range(50):  # 400 values, then the loop serves the clients
                    ingest.packet(packet(dictionary, encoder, "nav", float(sent)), sent + 1.0)
                    sent += 1
                await asyncio.sleep(0.002)
            link = await (await client.get("/api/link")).json()
            await asyncio.sleep(0.2)
            for _ in range(50):  # the stalled socket is cut off
                await asyncio.sleep(0.02)
                try:
                    stalled.setblocking(False)
                    while stalled.recv(65536):
                        pass
                    break  # EOF
                except BlockingIOError:
                    continue
                except ConnectionResetError:
                    break
            else:
                pytest.fail("the stalled client's socket was not closed")
            stalled.close()
            await reader.close()
            reading.stop()
            return link, reading.values, sent

    link, values, sent = run(check())
    assert link["server"]["clients_dropped"] == 1 and link["server"]["clients"] == 1
    assert sent < 40_000  # dropped within QUEUE_LEN values plus the socket buffers
    assert values > QUEUE_LEN  # the reading client kept up and stayed


def test_the_web_port_caps_connections_and_closes_idle_ones(ingest, monkeypatch):
    from touchdown.ground import guard
    from touchdown.ground.guard import WEB_MAX_CONNECTIONS

    monkeypatch.setattr(guard, "WEB_KEEPALIVE_S", 1.0)

    async def check():
        app = make_app(ingest, lambda: 0.0)
        runner, port = await start_web(app, "127.0.0.1", 0)
        try:
            idle = [await asyncio.open_connection("127.0.0.1", port)
                    for _ in range(WEB_MAX_CONNECTIONS)]
            await asyncio.sleep(0.2)
            r, w = await asyncio.open_connection("127.0.0.1", port)
            refused = await asyncio.wait_for(r.read(), 5)
            w.close()
            t0 = time.perf_counter()
            for r, w in idle:  # nothing sent: closed after the keep-alive timeout
                assert await asyncio.wait_for(r.read(), 10) == b""
                w.close()
            waited = time.perf_counter() - t0
            async with aiohttp.ClientSession() as s, \
                    s.get(f"http://127.0.0.1:{port}/api/link") as answer:
                link = await answer.json()
        finally:
            await runner.cleanup()
        return refused, waited, link

    refused, waited, link = run(check())
    assert refused.startswith(b"HTTP/1.1 503") and b"too many connections" in refused
    assert 0.3 < waited < 5
    assert link["server"]["connections_refused"] == 1
    assert link["server"]["max_connections"] == WEB_MAX_CONNECTIONS
