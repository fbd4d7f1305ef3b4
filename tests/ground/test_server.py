"""The ground server: REST API, websocket realtime and the TCP ingest listener."""

import asyncio
import json

from aiohttp.test_utils import TestClient, TestServer

from touchdown.ground.server import PacketStreamSplitter, make_app, start_ingest_server
from touchdown.telemetry.dictionary import ALARM_SEVERITIES, SEVERITIES


def run(coro):
    return asyncio.run(coro)


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


async def csrf(client) -> dict[str, str]:
    """The headers of a state-changing request: the session's CSRF token (its cookie is
    kept by the client)."""
    token = (await (await client.get("/api/session")).json())["csrf_token"]
    return {"X-CSRF-Token": token}


def test_the_dictionary_is_served_whole_with_its_one_severity_scale(ingest, dictionary):
    async def check():
        async with TestClient(TestServer(make_app(ingest))) as client:
            d = await (await client.get("/api/dictionary")).json()
            assert d["severities"] == list(SEVERITIES)
            assert d["alarm_severities"] == list(ALARM_SEVERITIES)
            assert d["spacecraft_id"] == dictionary.spacecraft_id
            assert d["parameters"] == await (await client.get("/api/parameters")).json()

    run(check())


def test_rest_api_serves_dictionary_history_latest_alarms_link_events_estimate(
        ingest, dictionary, encoder, packet, accounts):
    clock = Clock(100.0)
    accounts.add(ingest.archive, "capcom", "operator")
    for k in range(5):
        ingest.packet(packet(dictionary, encoder, "nav", 90.0 + k, altitude_m=1000.0 - k,
                             lat_deg=float("nan")), 95.0 + k)
    ingest.packet(packet(dictionary, encoder, "prop", 94.0, propellant_kg=0.0), 99.0)  # warning
    ingest.packet(packet(dictionary, encoder, "gnc", 94.0, mode=6), 99.0)
    ingest.packet(packet(dictionary, encoder, "event", 94.5, code=10, value=0.0), 99.5)

    async def check():
        async with TestClient(TestServer(make_app(ingest, clock))) as client:
            r = await client.get("/api/parameters")
            assert r.status == 200
            params = {p["name"]: p for p in await r.json()}
            assert params.keys() == dictionary.parameters.keys()
            alt = params["nav.altitude_m"]
            assert alt["unit"] == "m" and alt["limits"]["critical"] == [-500.0, 250000.0]
            assert params["gnc.mode"]["enumeration"]["6"] == "terminal_descent"
            assert params["event.code"]["expiry_s"] is None  # infinite: never expires

            r = await client.get("/api/history/nav.altitude_m", params={"start": "91",
                                                                       "end": "92.5"})
            assert (await r.json())["values"] == [[91.0, 999.0], [92.0, 998.0]]
            r = await client.get("/api/history/nav.lat_deg")
            assert (await r.json())["values"][0] == [90.0, None]  # NaN as null
            r = await client.get("/api/history/nav.nothing")
            assert r.status == 404 and "/api/parameters" in (await r.json())["error"]
            r = await client.get("/api/history/nav.altitude_m", params={"start": "soon"})
            assert r.status == 400 and "start" in (await r.json())["error"]

            r = await client.get("/api/latest")
            latest = await r.json()
            assert latest["nav.altitude_m"] == {"t": 94.0, "value": 996.0, "state": None,
                                                "severity": None, "stale": False}
            assert latest["gnc.mode"]["state"] == "terminal_descent"
            assert latest["prop.propellant_kg"]["severity"] == "warning"

            r = await client.get("/api/alarms", params={"active": "1"})
            (alarm,) = (await r.json())["alarms"]
            assert alarm["parameter"] == "prop.propellant_kg" and alarm["active"]
            headers = await csrf(client)
            r = await client.post(f"/api/alarms/{alarm['id']}/acknowledge", json={},
                                  headers=headers)
            assert r.status == 401  # nobody signed in
            headers = await accounts.sign_in(client, "capcom")
            r = await client.post(f"/api/alarms/{alarm['id']}/acknowledge", json=[],
                                  headers=headers)
            assert r.status == 400
            clock.t = 101.0
            r = await client.post(f"/api/alarms/{alarm['id']}/acknowledge", json={},
                                  headers=headers)
            acked = await r.json()
            assert r.status == 200 and acked["acknowledged_by"] == "capcom"
            assert acked["t_acknowledged"] == 101.0 and acked["active"]
            r = await client.post("/api/alarms/999/acknowledge", json={}, headers=headers)
            assert r.status == 404

            r = await client.get("/api/events", params={"start": "94"})
            assert [e["state"] for e in (await r.json())["events"]] == [
                "altitude_estimate_zero"]

            link = await (await client.get("/api/link")).json()
            assert link["status"] == "OK" and link["counters"]["packets"] == 8
            assert link["los"] is None

            clock.t = 99.5 + 19.5  # silence past the 19 s timeout
            link = await (await client.get("/api/link")).json()
            assert link["status"] == "FAILED" and link["los"]["t_los"] == 99.5
            est = await (await client.get("/api/estimate")).json()
            assert est["signal"] == "lost" and est["los"]["t_los"] == 99.5
            out = est["outcome"]
            assert out["altitude_m"] == 996.0 and out["powered"] is False
            assert out["time_to_impact_s"] > 0 and "own estimates" in out["basis"]
            assert est["last_known_state"]["gnc.mode"]["state"] == "terminal_descent"

    run(check())


def test_a_websocket_subscriber_receives_new_values(ingest, dictionary, encoder, packet):
    async def check():
        async with TestClient(TestServer(make_app(ingest, Clock(10.0)))) as client:
            ws = await client.ws_connect("/api/realtime")
            await ws.send_json({"subscribe": ["nav.vertical_speed_mps"]})
            first = [(await ws.receive_json(timeout=5))["type"] for _ in range(4)]
            assert first == ["clock", "link", "alarms", "subscribed"]  # where things stand, ours
            ingest.packet(packet(dictionary, encoder, "prop", 1.0), 10.0)  # not subscribed
            ingest.packet(packet(dictionary, encoder, "nav", 2.0, vertical_speed_mps=-90.0),
                          10.0)
            while True:
                m = await ws.receive_json(timeout=5)
                if m["type"] == "values":
                    break
            assert m["values"] == [{"name": "nav.vertical_speed_mps", "t": 2.0,
                                    "value": -90.0, "state": None, "severity": "warning",
                                    "t_received": 10.0}]
            await ws.close()

    run(check())


def test_the_stream_splitter_cuts_packets_whatever_the_chunking(dictionary, encoder, packet):
    packets = [packet(dictionary, encoder, n, 1.0) for n in ("nav", "lrf", "event", "gnc")]
    stream = b"".join(packets)
    for size in (1, 5, 13, len(stream)):
        s = PacketStreamSplitter()
        got = []
        for i in range(0, len(stream), size):
            got += s.feed(stream[i:i + size])
        assert got == packets


def test_tcp_ingest_archives_a_streamed_packet_sequence(ingest, dictionary, encoder, packet):
    packets = [packet(dictionary, encoder, "nav", float(k), altitude_m=100.0 * k)
               for k in range(20)]

    async def check():
        server = await start_ingest_server(ingest, "127.0.0.1", 0, clock=Clock(5.0))
        port = server.sockets[0].getsockname()[1]
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        data = b"".join(packets)
        writer.write(data[:100])
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.write(data[100:])
        await writer.drain()
        writer.close()
        await writer.wait_closed()
        for _ in range(100):
            if ingest.counters["packets"] == 20:
                break
            await asyncio.sleep(0.02)
        server.close()
        await server.wait_closed()

    run(check())
    assert ingest.counters["packets"] == 20 and ingest.counters["bad"] == 0
    assert [v for _, v in ingest.archive.history("nav.altitude_m")] == [
        100.0 * k for k in range(20)]
    assert json.dumps(ingest.counters)
