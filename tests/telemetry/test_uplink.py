"""The uplink and the lander's command receiver: frames radiated at the uplink rate and
arriving one light time later, what the receiver hands the flight software (commands and
refusals), and refusals counted onboard in a flight."""

import numpy as np
import pytest
from tests.terrain import needs_terrain

from touchdown.core import layout as st
from touchdown.errors import LinkError
from touchdown.scenario import Scenario, resolve
from touchdown.sim.run import fly
from touchdown.telemetry.cop import Farm, Fop
from touchdown.telemetry.dictionary import load_dictionary
from touchdown.telemetry.frames import crc16
from touchdown.telemetry.tc_frames import Clcw, TcFrame, encode_tc_frame
from touchdown.telemetry.telecommands import TelecommandEncoder
from touchdown.telemetry.uplink import (
    Receiver,
    Uplink,
    UplinkConfig,
    deliver,
    receive_timeline,
)

D = load_dictionary()
SCID, VC = D.spacecraft_id, D.uplink.virtual_channel


def receiver() -> Receiver:
    return Receiver(D, Farm(VC, D.uplink.farm_window))


def frame(packet: bytes, seq: int = 0) -> bytes:
    return encode_tc_frame(TcFrame(SCID, VC, seq, packet))


def test_frames_go_one_after_another_and_arrive_a_light_time_later():
    up = Uplink(UplinkConfig(rate_bps=1000.0), light_time_s=lambda t: 1.3)
    assert up.radiate(bytes(100), 10.0) == pytest.approx((10.8, 12.1))  # 800 bits, 1 kbit/s
    assert up.radiate(bytes(100), 10.0) == pytest.approx((11.6, 12.9))  # after the first
    lossy = Uplink(UplinkConfig(1000.0, frame_loss_probability=1.0), lambda t: 1.3)
    assert lossy.radiate(b"x", 0.0)[1] is None and lossy.lost == 1
    hidden = Uplink(UplinkConfig(1000.0), lambda t: 1.3, visible=lambda t: t < 5.0)
    assert hidden.radiate(b"x", 0.0)[1] is not None and hidden.radiate(b"x", 4.0)[1] is None
    with pytest.raises(LinkError, match="probability"):
        UplinkConfig(frame_loss_probability=2.0)


def test_the_receiver_hands_on_commands_and_refusals_with_their_reasons():
    enc = TelecommandEncoder(D)
    rx = receiver()
    good = enc.encode("imu_reset", {"unit": "B"})
    assert rx.rows(frame(good, 0), 5.0) == [(5.0, 1.0, 1.0, 0.0)]
    assert rx.rows(frame(good, 0), 6.0) == []  # the same frame again: the FARM's discard
    assert "already accepted" in rx.discarded[0]
    damaged = bytearray(frame(enc.encode("computer_reset"), 1))
    damaged[-1] ^= 0xFF
    assert rx.rows(bytes(damaged), 7.0) == [(7.0, -float(st.TC_FRAME), -1.0, 0.0)]
    forged = bytearray(good)
    forged[7] = 9  # unit 9, a well-formed packet
    forged[-2:] = crc16(bytes(forged[:-2])).to_bytes(2, "big")
    unknown = bytearray(good)
    unknown[6] = 200
    unknown[-2:] = crc16(bytes(unknown[:-2])).to_bytes(2, "big")
    rows = rx.rows(frame(bytes(forged) + bytes(unknown), 1), 8.0)
    assert rows == [(8.0, -float(st.TC_RANGE), 1.0, 0.0),
                    (8.0, -float(st.TC_UNKNOWN), -1.0, 0.0)]


def test_delivery_drops_what_was_executed_and_keeps_arrival_order():
    fsw, fp = np.zeros(st.N_FSW), np.zeros(st.N_FSW_PARAMS)
    deliver(fsw, fp, [(5.0, 2.0, 0.0, 0.0), (3.0, 3.0, 0.0, 0.0)])
    table = fp[st.FP_COMMANDS:st.FP_COMMANDS + 2 * st.N_UPLINK].reshape(2, st.N_UPLINK)
    assert fp[st.FP_N_COMMANDS] == 2 and table[:, st.UC_ARRIVAL].tolist() == [3.0, 5.0]
    fsw[st.F_CMD_NEXT] = 1  # the flight software executed the first
    deliver(fsw, fp, [(4.0, 4.0, 0.0, 0.0)])
    assert fp[st.FP_N_COMMANDS] == 2 and fsw[st.F_CMD_NEXT] == 0
    assert table[:, st.UC_ARRIVAL].tolist() == [4.0, 5.0]
    with pytest.raises(LinkError, match="holds 16 commands"):
        deliver(fsw, fp, [(9.0, 2.0, 0.0, 0.0)] * 15)


def test_a_scenario_timeline_takes_the_real_path():
    from datetime import UTC, datetime

    epoch = datetime(2019, 4, 11, 17, 0, tzinfo=UTC)
    rx = receive_timeline([(100.0, "imu_reset", (0.0,)), (50.0, "lrf_policy", (1.0,))], epoch,
                          rate_bps=4000.0)
    (t1, code1, arg1, _), (t2, code2, arg2, _) = rx.given
    frame_s = len(frame(TelecommandEncoder(D).encode("lrf_policy", {"policy": 1}))) * 8 / 4000
    assert (code1, arg1, code2, arg2) == (7.0, 1.0, 1.0, 0.0)  # in send order
    assert 1.2 < t1 - 50.0 - frame_s < 1.4 and 1.2 < t2 - 100.0 - frame_s < 1.4
    # the CLCW the telemetry frames carry: V(R) counts the frames accepted by each time
    vr = [Clcw.decode(rx.clcw_at(t)).report_value for t in (0.0, t1 - 1e-6, t1, t2 - 1e-6, t2)]
    assert vr == [0, 0, 1, 1, 2]


@needs_terrain
def test_refusals_are_counted_onboard_and_the_rest_executed():
    """A damaged frame and a forged packet delivered between chunks reach the flight software
    as refusals (command_rejected, counted, the last reason kept); a good command beside them
    is executed."""
    enc = TelecommandEncoder(D)
    rx = receiver()
    good = frame(enc.encode("engine_disarm"), 0)
    forged = bytearray(enc.encode("imu_reset", {"unit": "A"}))
    forged[7] = 5
    forged[-2:] = crc16(bytes(forged[:-2])).to_bytes(2, "big")
    rows = rx.rows(good, 4000.0) + rx.rows(b"junk", 4001.0) + rx.rows(frame(bytes(forged), 1),
                                                                         4002.0)
    sent = []

    def observe(a):
        if not sent and a.clock[st.C_TICK] * st.TICK_S >= 3990.0:
            deliver(a.fsw, a.fsw_params, rows)
            sent.append(True)

    f = fly(Scenario.from_toml(resolve("chandrayaan-3")), 0, observe=observe, every_s=5.0)
    assert [e["value"] for e in f.events if e["name"] == "command_executed"] == [3.0]
    assert [e["value"] for e in f.events if e["name"] == "command_rejected"] == [-1.0, 1.0]
    accepted, rejected, last, why = f.arrays.fsw[st.F_TC:st.F_TC + 4]
    assert (accepted, rejected, last, why) == (1.0, 2.0, 1.0, float(st.TC_RANGE))
    assert f.outcome == "crashed"  # disarmed in the descent coast, it never lit


def test_the_fop_and_the_receiver_agree_over_a_lossy_uplink():
    rng = np.random.default_rng(3)
    enc, rx = TelecommandEncoder(D), receiver()
    fop = Fop(SCID, VC, window=5, t1_s=3.0, limit=50)
    got, t = [], 0.0
    queue = [enc.encode("imu_reset", {"unit": "A"}) for _ in range(20)]
    while len(got) < 20 and t < 500.0:
        out = (fop.submit(queue.pop(), t) if queue else []) + fop.tick(t)
        for octets in out:
            if rng.random() > 0.3:
                got += rx.rows(octets, t)
        out = fop.on_clcw(rx.farm.clcw(), t)
        for octets in out:
            if rng.random() > 0.3:
                got += rx.rows(octets, t)
        t += 1.0
    assert len(got) == 20 and all(code == 1.0 for _, code, *_ in got)
