"""Counters that add up: known damage on the link, every counter checked, in the ingest and in
/api/link, per link and per APID (issue 15, item 4)."""

import asyncio

from aiohttp.test_utils import TestClient, TestServer

from touchdown.ground.ingest import Ingest
from touchdown.ground.replay import Replayer
from touchdown.ground.server import make_app
from touchdown.telemetry.frames import ASM, FrameEncoder
from touchdown.telemetry.packets import PacketEncoder

NAV = [45.0, 44.0, 0.0, 1000.0, -5.0, 10.0, 1.0, 0.1]


def damaged_stream(dictionary) -> tuple[bytes, int]:
    """Thirty nav packets, one per TM frame, with known damage; the stream and the octets of
    the packets the ground should archive."""
    enc = PacketEncoder()
    packets = [enc.encode(dictionary["nav"], float(k), NAV) for k in range(30)]
    order = [*range(17), 15, 18, 17, *range(19, 30)]  # 15 again (a duplicate), 18 before 17
    framer = FrameEncoder(dictionary.spacecraft_id)
    frames = []
    for k in order:
        framer.push(packets[k])
        frames.append(ASM + framer.next_frame())  # the packet, then idle fill
    corrupted = bytearray(frames[7])
    corrupted[100] ^= 0xFF  # packet 7's frame fails its CRC
    frames[7] = bytes(corrupted)
    del frames[12]  # packet 12's frame never arrives
    frames.insert(3, bytes(1000))  # 1,000 octets of noise before packet 3's frame
    kept = sum(len(packets[k]) for k in range(30) if k not in (7, 12))
    return b"".join(frames), kept


def test_known_damage_is_counted_exactly_in_the_ingest_and_the_api(ingest: Ingest, dictionary):
    stream, octets = damaged_stream(dictionary)
    replayer = Replayer(ingest, 256, dictionary.spacecraft_id)
    replayer.record(100.0, stream[:5000])  # in two pieces: a frame straddles them
    replayer.record(101.0, stream[5000:])
    replayer.record(102.0, ASM + bytes(50))  # the start of a frame that never ends
    replayer.finish()
    expected = {
        "frames_ok": 29,  # 31 sent, one failed its CRC, one lost
        "frames_bad_crc": 1, "frames_bad_header": 0,
        "frames_lost": 2, "frame_gaps": 2,  # the VC count skips the rejected and the lost one
        # the noise, the damaged frame and its ASM, the frame cut short at the end
        "sync_octets_discarded": 1000 + 4 + 256 + 4 + 50,
        "idle_frames": 0, "packets_incomplete": 0, "bad": 0,
        "packets": 28,  # 30 counts, 7 and 12 missing; 15's second copy not archived again
        "bytes": octets,
        "gaps": 3, "missing": 2,  # 7, 12 and 17 skipped; 17 arrived late
        "duplicates": 1, "reordered": 1, "resets": 0,
    }
    got = ingest.counters
    assert {k: got[k] for k in expected} == expected
    assert ingest.archive.packet_count() == 28
    nav = ingest.counters_by_apid()["nav"]
    assert nav == {"apid": dictionary["nav"].apid, "packets": 28, "bytes": octets, "gaps": 3,
                   "missing": 2, "duplicates": 1, "reordered": 1, "resets": 0}
    assert [e.kind for e in ingest.archive.link_log()] == ["gap", "gap", "duplicate", "gap",
                                                           "reordered"]

    async def api() -> dict:
        async with TestClient(TestServer(make_app(ingest, lambda: 103.0))) as client:
            return await (await client.get("/api/link")).json()

    link = asyncio.run(api())
    assert {k: link["counters"][k] for k in expected} == expected
    assert link["counters_by_apid"]["nav"] == nav
    ingest.archive.flush()
    again = Ingest(dictionary, ingest.archive)  # the counters are archived and come back
    assert {k: again.counters[k] for k in expected} == expected
