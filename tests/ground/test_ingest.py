"""Ingest: sequence gaps (across the 14-bit wrap), duplicates, reordering and bad packets."""

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from touchdown.ground.archive import Archive
from touchdown.ground.ingest import Ingest
from touchdown.telemetry.packets import PacketEncoder


def test_good_packets_are_archived_with_their_parameters_and_events(packet, ingest, dictionary,
                                                                    encoder):
    ingest.packet(packet(dictionary, encoder, "nav", 10.0, altitude_m=1234.5), 11.0)
    ingest.packet(packet(dictionary, encoder, "event", 10.5, code=8, value=3.0), 11.5)
    a = ingest.archive
    assert a.history("nav.altitude_m") == [(10.0, 1234.5)]
    assert [(e.t_onboard, e.t_received, e.state, e.value) for e in a.events()] == [
        (10.5, 11.5, "lrf_fault_declared", 3.0)]
    assert ingest.counters["packets"] == 2 and ingest.counters["bad"] == 0
    assert a.packets()[0][3] == 11.0  # ground receive time kept


def test_gaps_are_counted_across_the_14_bit_wrap(packet, ingest, dictionary, encoder):
    nav = dictionary["nav"]
    encoder.counts[nav.apid] = 16380
    sent = []
    for k in range(10):  # counts 16380 … 16383, 0 … 5
        sent.append(packet(dictionary, encoder, "nav", float(k)))
    keep = [0, 1, 7, 8, 9]  # counts 16380, 16381, then 3, 4, 5: 16382 … 2 missing (5)
    for k in keep:
        ingest.packet(sent[k], 100.0 + k)
    c = ingest.counters
    assert c["gaps"] == 1 and c["missing"] == 5 and c["packets"] == 5
    gap = next(e for e in ingest.archive.link_log() if e.kind == "gap")
    assert gap.count == 5 and "16382 to 2" in gap.detail


def test_duplicates_are_counted_and_not_archived_twice(packet, ingest, dictionary, encoder):
    a, b = (packet(dictionary, encoder, "lrf", t) for t in (1.0, 1.5))
    for raw in (a, b, b, a):
        ingest.packet(raw, 2.0)
    assert ingest.counters["duplicates"] == 2
    assert ingest.archive.packet_count() == 2
    assert len(ingest.archive.history("lrf.range_m")) == 2


def test_reordered_packets_are_archived_and_fill_their_gap(packet, ingest, dictionary, encoder):
    p = [packet(dictionary, encoder, "prop", 5.0 * k, propellant_kg=100.0 - k)
         for k in range(5)]
    for k in (0, 1, 3, 2, 4):
        ingest.packet(p[k], 30.0 + k)
    c = ingest.counters
    assert c["reordered"] == 1 and c["missing"] == 0 and c["gaps"] == 1
    assert [v for _, v in ingest.archive.history("prop.propellant_kg")] == [100, 99, 98, 97, 96]
    assert ingest.archive.latest()["prop.propellant_kg"] == (20.0, 96.0)


def test_bad_packets_are_counted_with_their_reason_and_good_ones_kept(packet, ingest, dictionary,
                                                                      encoder):
    rng = random.Random(3)
    good = [packet(dictionary, encoder, "nav", float(k)) for k in range(6)]
    unknown = bytearray(good[0])
    unknown[0:2] = bytes([0x08 | 0x03, 0x33])  # APID 0x333, not in the dictionary
    wrong_len = bytearray(good[1])
    wrong_len[5] -= 4  # the length field and the dictionary disagree
    bad = [
        bytes(rng.randrange(256) for _ in range(40)),  # random garbage
        good[2][:20],  # truncated
        bytes(unknown),
        bytes(wrong_len[:-4]),  # consistent length field, wrong size for its APID
        b"",
        good[3][:3],
    ]
    stream = [good[0], bad[0], good[1], bad[1], bad[2], good[2], bad[3], bad[4], good[3],
              bad[5], good[4], good[5]]
    for k, raw in enumerate(stream):
        assert ingest.packet(raw, float(k)) is None or raw in good
    c = ingest.counters
    assert c["bad"] == 6 and c["packets"] == 6 and c["missing"] == 0
    assert ingest.archive.packet_count() == 6
    reasons = [e.detail for e in ingest.archive.link_log() if e.kind == "bad"]
    assert len(reasons) == 6
    assert any("not in the telemetry dictionary" in r for r in reasons)
    assert any("shorter than its headers" in r for r in reasons)
    assert any("the dictionary says" in r for r in reasons)


def test_garbage_never_raises(ingest):
    rng = random.Random(11)
    for k in range(500):
        ingest.packet(bytes(rng.randrange(256) for _ in range(rng.randrange(60))), float(k))
    assert ingest.counters["bad"] + ingest.counters["packets"] == 500


def test_a_reopened_archive_continues_the_sequence_check(packet, tmp_path, dictionary):
    enc = PacketEncoder()
    path = tmp_path / "a.sqlite"
    with Archive(path, create=True) as a:
        ing = Ingest(dictionary, a)
        ing.packet(packet(dictionary, enc, "nav", 1.0), 1.0)
        first = packet(dictionary, enc, "nav", 2.0)
        ing.packet(first, 2.0)
    with Archive(path) as a:
        ing = Ingest(dictionary, a)
        ing.packet(first, 3.0)  # re-sent after the restart
        packet(dictionary, enc, "nav", 3.0)  # lost
        ing.packet(packet(dictionary, enc, "nav", 4.0), 4.0)
        assert ing.counters["duplicates"] == 1 and ing.counters["missing"] == 1
        assert ing.counters["packets"] == 3


@settings(max_examples=60, deadline=None)
@given(start=st.integers(16384 - 40, 16383), n=st.integers(2, 80), data=st.data())
def test_counts_add_up_for_any_loss_duplication_and_local_reordering(start, n, data):
    """Whatever is lost, repeated or swapped nearby: every distinct packet is archived once,
    duplicates are the extra copies, and missing = span of counts - distinct packets."""
    from touchdown.telemetry.dictionary import load_dictionary

    d = load_dictionary()
    enc = PacketEncoder()
    enc.counts[d["lrf"].apid] = start
    sent = [enc.encode(d["lrf"], float(k), [1.0, 1.0, 0.0, 1, 1, 0, k]) for k in range(n)]
    keep = [0] + [k for k in range(1, n) if data.draw(st.booleans())]
    stream = []
    for k in keep:
        stream += [k] * data.draw(st.integers(1, 3))
    for i in range(2, len(stream) - 1):  # swap some neighbours, never before the first
        if data.draw(st.booleans()):
            stream[i], stream[i + 1] = stream[i + 1], stream[i]
    with Archive(":memory:") as a:
        ing = Ingest(d, a)
        for k in stream:
            ing.packet(sent[k], float(k))
        c = ing.counters
        distinct = len(set(stream))
        assert a.packet_count() == distinct == c["packets"]
        assert c["duplicates"] == len(stream) - distinct
        assert c["missing"] == max(stream) + 1 - distinct
        assert sorted(v for _, v in a.history("lrf.accepted_n")) == sorted(set(stream))


def test_a_failing_subscriber_does_not_stop_the_ingest(packet, ingest, dictionary, encoder):
    got = []
    ingest.subscribe(lambda *a: 1 / 0)
    unsubscribe = ingest.subscribe(lambda name, *rest: got.append(name))
    ingest.packet(packet(dictionary, encoder, "prop", 1.0), 2.0)
    assert got == ["prop.propellant_kg"] and ingest.archive.packet_count() == 1
    assert ingest.archive.counters()["subscriber_errors"] == 1
    unsubscribe()
    ingest.packet(packet(dictionary, encoder, "prop", 2.0), 3.0)
    assert got == ["prop.propellant_kg"]
