"""What the browser UI asks of the ground server: the flight, the terrain map, Open MCT's files,
history's newest values, the realtime feed's first messages and clock; and `fly --live`'s
pacing and its errors."""

import asyncio
import time
from datetime import UTC, datetime

import pytest
from aiohttp.test_utils import TestClient, TestServer
from click.testing import CliRunner
from tests.ground.conftest import ReadingClient

from touchdown.cli import main
from touchdown.cli.common import load_scenario
from touchdown.errors import DictionaryError, OpenMCTMissingError
from touchdown.ground.live import LiveStream, PacedClock, stream
from touchdown.ground.server import make_app, onboard_now
from touchdown.ground.web import map_box, openmct_dist
from touchdown.telemetry.dictionary import parse
from touchdown.telemetry.flight_info import FlightInfo
from touchdown.telemetry.frames import ASM, FrameEncoder

PLAN = FlightInfo("m1", "test flight", datetime(2023, 4, 25, 15, 40, tzinfo=UTC), 47.5, 44.4)


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def run(coro):
    return asyncio.run(coro)


def test_the_flight_plan_round_trips_through_the_archive_and_the_scenario(archive):
    archive.set_flight(PLAN.to_dict())
    assert FlightInfo.from_dict(archive.flight()) == PLAN
    s = FlightInfo.from_scenario(load_scenario("hakuto-r-m1"))
    assert (s.scenario, s.target_lat_deg, s.target_lon_deg) == ("hakuto-r-m1", 47.5, 44.4)
    assert s.epoch_utc == datetime(2023, 4, 25, 15, 40, tzinfo=UTC)
    assert FlightInfo.from_dict({}) == FlightInfo()


def test_api_flight_follows_the_clock_while_live_and_shows_the_archive_after_los(
        ingest, dictionary, encoder, packet):
    clock = Clock(100.0)
    for k in range(3):
        ingest.packet(packet(dictionary, encoder, "nav", 90.0 + k), 95.0 + k)

    async def check():
        async with TestClient(TestServer(make_app(ingest, clock, flight=PLAN))) as client:
            f = await (await client.get("/api/flight")).json()
            assert f["scenario"] == "m1" and f["epoch_utc"] == "2023-04-25T15:40:00Z"
            assert f["target"] == {"lat_deg": 47.5, "lon_deg": 44.4}
            assert (f["mode"], f["t_first"], f["t_last"]) == ("realtime", 90.0, 92.0)
            clock.t = 97.0 + ingest.link.los_timeout_s + 1.0  # silence: LOS
            f = await (await client.get("/api/flight")).json()
            assert f["mode"] == "fixed"
        async with TestClient(TestServer(make_app(ingest, clock, live=False))) as client:
            f = await (await client.get("/api/flight")).json()
            assert f["mode"] == "fixed" and f["scenario"] is None  # nothing recorded

    run(check())


def test_history_gives_the_newest_values_and_link_the_light_time(
        ingest, dictionary, encoder, packet):
    for k in range(5):
        ingest.packet(packet(dictionary, encoder, "nav", float(k), altitude_m=100.0 + k), k + 1.3)

    async def check():
        async with TestClient(TestServer(make_app(ingest, Clock(5.5), flight=PLAN))) as client:
            r = await client.get("/api/history/nav.altitude_m?limit=2&newest=1")
            assert (await r.json())["values"] == [[3.0, 103.0], [4.0, 104.0]]
            r = await client.get("/api/history/nav.altitude_m?limit=2")
            assert (await r.json())["values"] == [[0.0, 100.0], [1.0, 101.0]]
            link = await (await client.get("/api/link")).json()
            assert 1.2 < link["light_time_s"] < 1.4  # the Moon is 1.3 light-seconds away
            assert -90.0 <= link["earth_elevation_deg"] <= 90.0
            assert link["t_onboard_now"] == pytest.approx(4.0 + (5.5 - 5.3))
        async with TestClient(TestServer(make_app(ingest, Clock(5.5)))) as client:
            link = await (await client.get("/api/link")).json()
            assert link["light_time_s"] is None  # no epoch known: no ephemeris time

    run(check())


def test_a_new_realtime_client_gets_the_clock_then_the_link_and_alarms(
        ingest, dictionary, encoder, packet):
    """Where things stand comes first, the clock before the link: a page that reconnects knows
    its clock is current once the link message is in (and then asks for its window again)."""
    ingest.packet(packet(dictionary, encoder, "lrf", 10.0, state=2), 11.0)  # faulty: critical
    clock = Clock(11.5)

    async def check():
        app = make_app(ingest, clock, flight=PLAN, clock_rate=10.0)
        async with TestClient(TestServer(app)) as client:
            ws = await client.ws_connect("/api/realtime")
            first = await ws.receive_json(timeout=5)
            assert first["type"] == "clock"
            assert first["rate"] == 10.0 and first["t_onboard_now"] == pytest.approx(10.5)
            link = await ws.receive_json(timeout=5)
            assert link["type"] == "link" and link["status"] == "OK"
            alarms = await ws.receive_json(timeout=5)
            assert alarms["type"] == "alarms"
            assert [a["parameter"] for a in alarms["active"]] == ["lrf.state"]
            clock.t = 12.0
            while (m := await ws.receive_json(timeout=5))["type"] != "clock":
                pass
            assert m["rate"] == 10.0 and m["t_onboard_now"] == pytest.approx(11.0)
            await ws.close()

    run(check())


def test_onboard_time_now_is_unknown_before_the_first_packet_and_after_los(
        ingest, dictionary, encoder, packet):
    assert onboard_now(ingest, 5.0) is None
    ingest.packet(packet(dictionary, encoder, "nav", 3.0), 4.0)
    assert onboard_now(ingest, 5.0) == pytest.approx(4.0)
    assert onboard_now(ingest, 4.0 + ingest.link.los_timeout_s + 1.0) is None


def test_the_page_says_how_to_install_open_mct_when_it_is_missing(ingest, tmp_path, monkeypatch):
    monkeypatch.setenv("TOUCHDOWN_OPENMCT", str(tmp_path))
    with pytest.raises(OpenMCTMissingError, match=r"Open MCT is not installed.*npm ci"):
        openmct_dist()

    async def check():
        async with TestClient(TestServer(make_app(ingest, Clock(0.0)))) as client:
            r = await client.get("/")
            assert r.status == 503 and "npm ci" in await r.text()
            assert (await client.get("/api/parameters")).status == 200  # the API still works

    run(check())


def test_the_page_and_open_mct_are_served_from_local_files(ingest):
    openmct_dist()  # installed by `make test`

    async def check():
        async with TestClient(TestServer(make_app(ingest, Clock(0.0)))) as client:
            page = await (await client.get("/")).text()
            assert '<script src="/openmct/openmct.js">' in page and "http" not in page
            for path in ("/openmct/openmct.js", "/openmct/espressoTheme.css",
                         "/plugin/touchdown.js", "/plugin/telemetry.js"):
                assert (await client.get(path)).status == 200, path

    run(check())


def test_the_terrain_map_is_a_square_around_the_target_with_its_box(ingest):
    async def check():
        async with TestClient(TestServer(make_app(ingest, Clock(0.0), flight=PLAN))) as client:
            m = await (await client.get("/api/terrain/map")).json()
            png = await (await client.get(m["image"])).read()
        return m, png

    m, png = run(check())
    assert png.startswith(b"\x89PNG")
    s, n, w, e = map_box(47.5, 44.4)
    assert (m["south_deg"], m["north_deg"], m["west_deg"], m["east_deg"]) == (s, n, w, e)
    assert n - s == pytest.approx(2 * 80.0 / 30.32, rel=1e-3)  # 80 km at 30.3 km per degree
    assert (e - w) * 0.6756 == pytest.approx(n - s, rel=1e-3)  # cos(47.5 deg)
    assert -9000 < m["height_min_m"] < m["height_max_m"] < 9000  # Atlas: floor and rim


def test_without_a_target_the_map_says_what_to_give(ingest):
    async def check():
        async with TestClient(TestServer(make_app(ingest, Clock(0.0)))) as client:
            r = await client.get("/api/terrain/map")
            return r.status, await r.json()

    status, body = run(check())
    assert status == 404 and "--scenario" in body["error"]


def test_a_split_field_must_name_an_enumerated_field_of_its_packet():
    text = """
[[packet]]
name = "lrf"
apid = 2
[[packet.fields]]
name = "range_m"
type = "f4"
unit = "m"
description = "range"
split_by = "{by}"
[[packet.fields]]
name = "accepted"
type = "u1"
unit = "-"
description = "used"
enum = {{ 0 = "rejected", 1 = "accepted" }}
[[packet.fields]]
name = "count"
type = "u1"
unit = "-"
description = "not enumerated"
"""
    assert parse(text.format(by="accepted"))["lrf"].fields[0].split_by == "accepted"
    for bad in ("count", "nothing"):
        with pytest.raises(DictionaryError, match="split_by"):
            parse(text.format(by=bad))


def nav_stream(dictionary, n: int) -> LiveStream:
    """n nav packets (8 values each), one frame each, received 0.5 s apart from t = 100 s."""
    from touchdown.telemetry.packets import PacketEncoder

    enc, frames = PacketEncoder(), FrameEncoder(dictionary.spacecraft_id, 0)
    received = []
    for k in range(n):
        frames.push(enc.encode(dictionary["nav"], 98.0 + k * 0.5, [0.0] * 8))
        received.append((100.0 + k * 0.5, ASM + frames.next_frame()))
    return LiveStream(received, 256, dictionary.spacecraft_id)


def test_the_live_stream_keeps_pace_and_ends_in_loss_of_signal(ingest, dictionary):
    live = nav_stream(dictionary, 20)
    clock = live.clock(speed=100.0)
    assert not clock.started and clock() == 100.0 - 10.0  # held 10 s before the first frame
    wall = time.monotonic()
    report = run(stream(live, ingest, clock))
    wall = time.monotonic() - wall
    assert report.packets == 20 and ingest.counters["packets"] == 20
    assert report.losses and report.losses[0].t_los == pytest.approx(109.5)
    # 10 s lead + 9.5 s of frames + the LOS timeout, at x100
    expected = (10.0 + 9.5 + ingest.link.los_timeout_s) / 100.0
    assert expected * 0.9 < wall < expected + 0.5


def test_frames_late_all_at_once_leave_a_reading_client_connected(
        ingest, dictionary, monkeypatch):
    """After a slow step (the flight computing on a busy machine) a live stream has many
    frames due at once. Recorded in one go, their values would overflow a websocket client's
    queue however fast it read, and the server would drop it as too slow; a turn for the loop
    between frames lets it keep up."""
    from touchdown.ground import server as server_module

    monkeypatch.setattr(server_module, "QUEUE_LEN", 40)  # 5 frames' values
    live = nav_stream(dictionary, 100)  # 800 values
    clock = PacedClock(200.0, 1.0)  # past every frame and the loss of signal: all are due

    async def check():
        app = make_app(ingest, clock)
        async with TestClient(TestServer(app)) as client:
            ws = await client.ws_connect("/api/realtime")
            reading = ReadingClient(ws)
            await stream(live, ingest, clock)
            link = await (await client.get("/api/link")).json()
            for _ in range(100):
                if reading.values == 800:
                    break
                await asyncio.sleep(0.02)
            await ws.close()
            reading.stop()
            return link["server"], reading.values

    server, values = run(check())
    assert server["clients_dropped"] == 0 and server["clients"] == 1
    assert values == 800


def test_paced_clock_rejects_a_speed_that_is_not_positive():
    with pytest.raises(ValueError, match="speed"):
        PacedClock(0.0, 0.0)


def test_fly_live_refuses_an_archive_that_exists_and_clashing_flags(tmp_path):
    old = tmp_path / "old.sqlite"
    old.write_bytes(b"")
    r = CliRunner().invoke(main, ["fly", "hakuto-r-m1", "--live", "--archive", str(old)])
    assert r.exit_code == 2 and "fresh archive" in r.output and old.read_bytes() == b""
    r = CliRunner().invoke(main, ["fly", "hakuto-r-m1", "--live", "--json"])
    assert r.exit_code == 2 and "--live runs its own ground server" in r.output
