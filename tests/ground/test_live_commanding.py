"""Commanding a live flight end to end, headless: the ground's queue, COP-1 and the station's
transmitter up, the lander's receiver and flight software, its telemetry down the link, the
verifiers and the CLCW (every telemetry frame's OCF) back. M1's range-finder policy set from
the ground before the rim lands it, as the scenario timeline does; over an uplink that loses
half its frames the FOP resends until the lander has it."""

from __future__ import annotations

import heapq

import pytest
from tests.terrain import needs_terrain

from touchdown.ground.command_link import CommandLink
from touchdown.ground.commanding import Commanding
from touchdown.scenario import Scenario, resolve
from touchdown.telemetry.cop import Fop
from touchdown.telemetry.dictionary import load_dictionary
from touchdown.telemetry.frames import FrameDecoder
from touchdown.telemetry.live_lander import LiveLander
from touchdown.telemetry.packets import decode_packet

D = load_dictionary()


def fly_m1_commanded(uplink_loss: float, send_at: float = 3790.0):
    s = Scenario.from_toml(resolve("hakuto-r-m1")).replace(
        {"link.uplink_frame_loss_probability": uplink_loss})
    lander = LiveLander(s, 0)
    now = [0.0]
    latest: dict[str, float] = {}
    audit = []
    link: CommandLink | None = None
    commanding = Commanding(D, lambda: now[0], latest.get, lambda r: link.release(r),
                            lambda *row: audit.append(row),
                            light_time_s=lambda t: lander.uplink.light_time_s(t))
    fop = Fop(D.spacecraft_id, D.uplink.virtual_channel, 4, t1_s=8.0, limit=20)
    link = CommandLink(commanding, fop, lambda octets, t: lander.radiate(octets, t)[0],
                       lander.uplink.light_time_s)
    decoder = FrameDecoder(lander.link.frame_length, D.spacecraft_id, on_ocf=link.on_ocf)
    arriving: list[tuple[float, int, bytes]] = []
    record, order = None, 0
    lander.step(3700.0)  # fast-forward through the orbit (nothing commanded yet)
    t = 3700.0
    while not lander.done or arriving:
        t += 0.5
        now[0] = t
        for frame in lander.step(t):
            heapq.heappush(arriving, (frame[0], order, frame[1]))
            order += 1
        while arriving and arriving[0][0] <= t:
            for raw in decoder.feed(heapq.heappop(arriving)[2]):
                packet = decode_packet(raw, D)
                latest.update({f"{packet.name}.{k}": v for k, v in packet.values.items()})
                link.on_packet(packet, t)
        if record is None and t >= send_at:
            record = commanding.submit("lrf_policy", {"policy": "terrain_aware"}, "ann",
                                       "operator")
            commanding.arm(record.id, "ann", "operator")
            commanding.execute(record.id, "ann", "operator")
            commanding.approve(record.id, "fran", "flight_director")
        link.tick()
        assert t < 5000.0
    return lander, record


@needs_terrain
@pytest.mark.parametrize("loss", [0.0, 0.5])
def test_m1_s_policy_commanded_live_lands_it(loss):
    lander, record = fly_m1_commanded(loss)
    names = [s.name for s in record.stages]
    assert names[:6] == ["queued", "armed", "approval", "released", "sent", "radiated"]
    assert names[-2:] == ["received", "executed"]
    received = record.reached("received").t - record.reached("radiated").t
    assert 2.4 < received < (8.0 if loss == 0.0 else 120.0)  # a round trip and the telemetry
    flight = lander.stepper.flight()
    assert flight.outcome == "landed"
    assert [e["name"] for e in flight.events].count("lrf_fault_declared") == 0
    if loss:
        assert lander.uplink.lost > 0 and lander.uplink.radiated > 1  # resent until it got in
    else:
        assert lander.uplink.radiated == 1


@needs_terrain
def test_uncommanded_a_live_flight_sends_what_the_recorded_one_does():
    """Flown live in uneven steps, M1 delivers the frames its recorded flight delivers, at the
    same times: one flight, one link."""
    from touchdown.telemetry.downlink import fly_downlink

    s = Scenario.from_toml(resolve("hakuto-r-m1"))
    recorded = fly_downlink(s, 0).link.frames
    lander, live, t = LiveLander(s, 0), [], 0.0
    for step in (900.0, 2.3, 0.7, 41.0, 3.1) * 1000:
        if lander.done:
            break
        t += step
        live += lander.step(t)
    assert live == recorded
