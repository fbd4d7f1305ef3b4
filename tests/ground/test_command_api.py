"""The command API: the dictionary for the panel, who may queue, arm, execute, approve and
override, every stage kept in the archive's append-only command history (queryable, CSV), the
audit log, and a server without an uplink that sends nothing."""

from __future__ import annotations

import asyncio
import csv
import io
import sqlite3

import pytest
from aiohttp.test_utils import TestClient, TestServer

from touchdown.ground.command_api import COMMAND_LINK
from touchdown.ground.server import make_app
from touchdown.telemetry.cop import Farm
from touchdown.telemetry.tc_frames import TcFrame, decode_tc_frame, encode_tc_frame
from touchdown.telemetry.telecommands import decode_telecommand


class Station:
    """A transmitter that keeps what it radiated (1 s per frame, 1.3 s of light time)."""

    def __init__(self) -> None:
        self.frames: list[tuple[float, bytes]] = []

    def radiate(self, octets: bytes, now: float) -> float:
        self.frames.append((now, octets))
        return now + 1.0

    def light_time_s(self, t: float) -> float:
        return 1.3


def run(coro):
    return asyncio.run(coro)


@pytest.fixture
def people(ingest, accounts):
    for name, role in (("vera", "viewer"), ("otto", "operator"), ("olga", "operator"),
                       ("fiona", "flight_director"), ("fred", "flight_director")):
        accounts.add(ingest.archive, name, role)
    return ingest


async def client_for(ingest, station=None, t: float = 100.0) -> TestClient:
    client = TestClient(TestServer(make_app(ingest, lambda: t, station=station)))
    await client.start_server()
    return client


def test_the_panel_gets_the_dictionary_and_knows_whether_it_may_send(people):
    async def go():
        for station, uplink in ((Station(), True), (None, False)):
            client = await client_for(people, station)
            body = await (await client.get("/api/commands/dictionary")).json()
            await client.close()
            assert body["uplink"] is uplink
            by_name = {c["name"]: c for c in body["commands"]}
            assert by_name["imu_reset"]["arguments"][0]["states"] == ["A", "B"]
            assert by_name["imu_reset"]["significance"] == "critical"
            assert [v["stage"] for v in by_name["engine_arm"]["verifiers"]] == [
                "received", "executed", "effect"]
            assert {r["name"] for r in body["rules"]} >= {"no_reset_in_powered_descent"}
    run(go())


def test_who_may_send_and_what_is_refused(people, accounts):
    station = Station()

    async def go():
        client = await client_for(people, station)
        token = (await (await client.get("/api/session")).json())["csrf_token"]
        anyone = await client.post("/api/commands", json={"name": "engine_arm"},
                                   headers={"X-CSRF-Token": token})
        assert anyone.status == 401
        viewer = await accounts.sign_in(client, "vera")
        assert (await client.post("/api/commands", json={"name": "engine_arm"},
                                  headers=viewer)).status == 403
        otto = await accounts.sign_in(client, "otto")
        bad = await client.post("/api/commands", json={"name": "imu_reset",
                                                       "arguments": {"unit": "Z"}}, headers=otto)
        assert bad.status == 400 and "unit must be one of A, B" in (await bad.json())["error"]
        ok = await client.post("/api/commands", json={"name": "engine_arm"}, headers=otto)
        body = await ok.json()
        await client.close()
        return ok.status, body

    status, body = run(go())
    assert status == 201
    assert [s["stage"] for s in body["stages"]] == ["queued", "released", "sent", "radiated"]
    assert body["stages"][1]["by"] == "otto"
    ((_, octets),) = station.frames  # the bad one was never sent
    assert decode_telecommand(decode_tc_frame(octets, 0x1A5).data, people.dictionary).name == \
        "engine_arm"


def test_a_critical_command_takes_two_people_and_the_history_keeps_every_stage(people,
                                                                              accounts):
    station = Station()

    async def go():
        client = await client_for(people, station)
        otto = await accounts.sign_in(client, "otto")
        r = await (await client.post("/api/commands", json={
            "name": "lrf_policy", "arguments": {"policy": "terrain_aware"}},
            headers=otto)).json()
        cid = r["id"]
        for action in ("arm", "execute"):
            assert (await client.post(f"/api/commands/{cid}/{action}", json={},
                                      headers=otto)).status == 200
        refused = await client.post(f"/api/commands/{cid}/approve", json={}, headers=otto)
        assert refused.status == 403
        fiona = await accounts.sign_in(client, "fiona")
        approved = await (await client.post(f"/api/commands/{cid}/approve", json={},
                                            headers=fiona)).json()
        history = await (await client.get("/api/commands")).json()
        one = await (await client.get(f"/api/commands/{cid}")).json()
        missing = await client.get("/api/commands/999")
        exported = await (await client.get("/api/commands.csv")).text()
        await client.close()
        return approved, history, one, missing.status, exported

    approved, history, one, missing, exported = run(go())
    names = ["queued", "armed", "approval", "released", "sent", "radiated"]
    assert [s["stage"] for s in approved["stages"]] == names
    (kept,) = history["commands"]
    assert kept == one and [s["stage"] for s in kept["stages"]] == names
    assert [s["by"] for s in kept["stages"][:4]] == ["otto", "otto", "otto", "fiona"]
    assert "packet" in kept["stages"][3] and missing == 404
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert [r["stage"] for r in rows] == names and rows[3]["by"] == "fiona"
    audit, _ = people.archive.audit_page(1000)
    acts = [(a.user, a.action, a.outcome.split(":")[0]) for a in audit if a.action in (
        "queue", "arm", "execute", "approve")]
    assert acts == [("otto", "queue", "ok"), ("otto", "arm", "ok"), ("otto", "execute", "ok"),
                    ("otto", "approve", "refused (403)"), ("fiona", "approve", "ok")]
    db = sqlite3.connect(people.archive.path)  # the history is append-only
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("UPDATE command_stages SET by = 'nobody'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("DELETE FROM commands")
    db.close()


def test_a_blocked_command_waits_for_a_director_s_reason(people, accounts, packet, encoder):
    mode = {v: k for k, v in next(f for f in people.dictionary["gnc"].fields
                                  if f.name == "mode").enum.items()}
    people.packet(packet(people.dictionary, encoder, "gnc", 90.0, mode=mode["braking"]), 91.0)
    station = Station()

    async def go():
        client = await client_for(people, station)
        otto = await accounts.sign_in(client, "otto")
        cid = (await (await client.post("/api/commands", json={"name": "computer_reset"},
                                        headers=otto)).json())["id"]
        for action in ("arm", "execute"):
            await client.post(f"/api/commands/{cid}/{action}", json={}, headers=otto)
        fred = await accounts.sign_in(client, "fred")
        blocked = await (await client.post(f"/api/commands/{cid}/approve", json={},
                                           headers=fred)).json()
        no_reason = await client.post(f"/api/commands/{cid}/override", json={}, headers=fred)
        done = await (await client.post(f"/api/commands/{cid}/override", json={
            "reason": "the engine is off for the test"}, headers=fred)).json()
        await client.close()
        return blocked, no_reason.status, done

    blocked, no_reason, done = run(go())
    assert blocked["state"] == "blocked" and "Beresheet" in blocked["stages"][-1]["detail"]
    assert no_reason == 400 and done["state"] == "radiated" and len(station.frames) == 1
    (override,) = [a for a in people.archive.audit_page(1000)[0]
                   if a.action == "override" and a.outcome == "ok"]
    assert override.user == "fred" and "engine is off" in override.detail["reason"]


def test_a_server_without_an_uplink_sends_nothing(people, accounts):
    async def go():
        client = await client_for(people, None)
        otto = await accounts.sign_in(client, "otto")
        r = await client.post("/api/commands", json={"name": "engine_arm"}, headers=otto)
        body = await r.json()
        await client.close()
        return r.status, body

    status, body = run(go())
    assert status == 409 and "no uplink" in body["error"]



def test_operators_bring_a_locked_out_lander_back_with_cop1_directives(people, accounts):
    """A lander in lockout reports it in the CLCW of every telemetry frame's OCF; the FOP stops
    with an alert the API shows; a viewer may not direct the uplink; an operator's Unlock
    reaches the lander's FARM, Resume restarts the FOP, whose timer resends the command the
    lockout held back, and the CLCW acknowledges it. Every directive is in the audit log."""
    station, clock = Station(), [100.0]
    up = people.dictionary.uplink
    farm = Farm(up.virtual_channel, up.farm_window)

    def onboard(octets: bytes) -> bool:
        return farm.receive(decode_tc_frame(octets, 0x1A5)).accepted

    async def go():
        client = TestClient(TestServer(make_app(people, lambda: clock[0], station=station)))
        await client.start_server()
        link = client.server.app[COMMAND_LINK]
        otto = await accounts.sign_in(client, "otto")
        await client.post("/api/commands", json={"name": "engine_arm"}, headers=otto)
        # a stray frame far outside the window (a replay of another pass) locks the FARM out
        # before the command's frame arrives: that one is refused
        assert not onboard(encode_tc_frame(TcFrame(0x1A5, up.virtual_channel, 100, b"x")))
        assert not onboard(station.frames[-1][1]) and farm.lockout
        people.ocf(farm.clcw().encode())  # the next telemetry frame's OCF
        status = await (await client.get("/api/uplink")).json()
        assert status["clcw"]["lockout"] and "lockout" in status["alert"]
        assert status["outstanding"] == 1 and status["clcw"]["t"] == 100.0
        vera = await accounts.sign_in(client, "vera")
        assert (await client.post("/api/uplink/unlock", json={}, headers=vera)).status == 403
        otto = await accounts.sign_in(client, "otto")
        bad = await client.post("/api/uplink/set_vr", json={"value": 300}, headers=otto)
        assert bad.status == 400 and "0..255" in (await bad.json())["error"]
        assert (await client.post("/api/uplink/unlock", json={}, headers=otto)).status == 200
        assert onboard(station.frames[-1][1]) and not farm.lockout
        people.ocf(farm.clcw().encode())
        resumed = await (await client.post("/api/uplink/resume", json={}, headers=otto)).json()
        assert resumed["alert"] == "" and resumed["outstanding"] == 1
        clock[0] += 11.0  # past the FOP's T1: the command's frame goes again
        link.tick()
        assert onboard(station.frames[-1][1]) and farm.v_r == 1
        people.ocf(farm.clcw().encode())
        final = await (await client.get("/api/uplink")).json()
        await client.close()
        return final

    final = run(go())
    assert final["outstanding"] == 0 and final["acknowledged"] == 1 and final["alert"] == ""
    acts = [(a.user, a.action, a.outcome.split(":")[0])
            for a in people.archive.audit_page(1000)[0] if a.action.startswith("uplink")]
    assert acts == [("vera", "uplink unlock", "refused (403)"),
                    ("otto", "uplink set_vr", "refused (400)"), ("otto", "uplink unlock", "ok"),
                    ("otto", "uplink resume", "ok")]
