"""The ground archive: WAL, round trips, time-range queries, batching and resume."""

import math
import time

import pytest

from touchdown.errors import ArchiveError
from touchdown.ground.archive import Archive


def test_archive_is_wal_with_normal_sync(tmp_path):
    with Archive(tmp_path / "a.sqlite", create=True) as a:
        assert a.journal_mode == "wal"
        assert a._db.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL


def test_packets_and_parameters_round_trip_with_time_range(tmp_path):
    with Archive(tmp_path / "a.sqlite", create=True) as a:
        for k in range(10):
            a.add_packet(0x101, k, 100.0 + k, 200.0 + k, bytes([k, 1, 2]),
                         {"nav.altitude_m": 1000.0 - k, "nav.lat_deg": math.nan})
        assert a.history("nav.altitude_m", 102.0, 104.0) == [(102.0, 998.0), (103.0, 997.0),
                                                             (104.0, 996.0)]
        assert len(a.history("nav.altitude_m")) == 10
        assert a.history("nav.altitude_m", 102.0, 104.0, limit=1) == [(102.0, 998.0)]
        assert math.isnan(a.history("nav.lat_deg", 100.0, 100.0)[0][1])  # NaN survives as NULL
        assert a.latest()["nav.altitude_m"] == (109.0, 991.0)
        assert a.packet_count() == 10 and a.packet_count(0x101) == 10 and a.packet_count(5) == 0
        raw = a.packets(101.0, 101.5)
        assert raw == [(0x101, 1, 101.0, 201.0, bytes([1, 1, 2]))]
        assert a.recent_sequence(0x101, 3) == [7, 8, 9]


def test_latest_keeps_the_newest_onboard_time_when_packets_arrive_out_of_order(tmp_path):
    with Archive(tmp_path / "a.sqlite", create=True) as a:
        a.add_packet(1, 1, 10.0, 1.0, b"x", {"p.x": 1.0})
        a.add_packet(1, 0, 9.0, 2.0, b"y", {"p.x": 0.0})
        assert a.latest() == {"p.x": (10.0, 1.0)}


def test_reopening_continues_the_archive(tmp_path):
    path = tmp_path / "a.sqlite"
    with Archive(path, create=True) as a:
        a.add_packet(1, 0, 1.0, 1.5, b"a", {"p.x": 3.0})
        a.count("packets")
        a.add_event(1.0, 1.5, 6, "lrf_acquired", 2.0)
        a.log_link(1.5, "gap", 1, 3, "three missing")
    with Archive(path) as a:
        assert a.counters() == {"packets": 1}
        assert a.latest() == {"p.x": (1.0, 3.0)}
        assert a.committed_packets == 1
        a.add_packet(1, 1, 2.0, 2.5, b"b", {"p.x": 4.0})
        a.count("packets")
    with Archive(path) as a:
        assert a.counters() == {"packets": 2}
        assert a.history("p.x") == [(1.0, 3.0), (2.0, 4.0)]
        assert [e.state for e in a.events()] == ["lrf_acquired"]
        assert a.link_log()[0].detail == "three missing"
        assert a.integrity_check() == "ok"


def test_batches_commit_after_n_packets_or_after_the_time_limit(tmp_path):
    now = [0.0]
    a = Archive(tmp_path / "a.sqlite", create=True, batch_packets=3, batch_s=0.2,
                clock=lambda: now[0])
    for k in range(2):
        a.add_packet(1, k, k, k, b"x", {})
        assert not a.maybe_commit()
    assert a.committed_packets == 0
    a.add_packet(1, 2, 2, 2, b"x", {})
    assert a.maybe_commit() and a.committed_packets == 3
    a.add_packet(1, 3, 3, 3, b"x", {})
    now[0] = 0.19
    assert not a.maybe_commit()
    now[0] = 0.21
    assert a.maybe_commit() and a.committed_packets == 4
    a.close()


def test_a_file_that_is_not_an_archive_names_the_fix(tmp_path):
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(ArchiveError, match="--archive"):
        Archive(bad)


def test_time_range_query_on_a_million_parameter_rows_is_fast(tmp_path):
    with Archive(tmp_path / "big.sqlite", create=True, batch_packets=10**9) as a:
        names = [f"p.x{i}" for i in range(10)]
        rows = [(n, float(t), float(t)) for t in range(100_000) for n in names]
        a._writemany("INSERT INTO parameters VALUES (?, ?, ?)", rows)
        a.flush()
        assert a.parameter_count() == 1_000_000
        t0 = time.perf_counter()
        for k in range(20):
            got = a.history("p.x3", 50_000.0 + k, 50_999.0 + k)
        dt = (time.perf_counter() - t0) / 20
        assert len(got) == 1000 and got[0] == (50_019.0, 50_019.0)
        plan = " ".join(r[-1] for r in a._db.execute(
            "EXPLAIN QUERY PLAN SELECT t_onboard, value FROM parameters WHERE name=? AND "
            "t_onboard BETWEEN ? AND ?", ("p.x3", 0.0, 1.0)))
        assert "parameters_by_name_time" in plan
        assert dt < 0.05, f"{dt * 1e3:.1f} ms per 1000-row query"


def test_raw_frames_are_kept_as_they_arrived_good_and_bad(tmp_path):
    with Archive(tmp_path / "f.sqlite", create=True) as a:
        a.add_frame(1.5, b"\x01" * 256, True)
        a.add_frame(2.5, b"\x02" * 256, False)
        a.add_frame(9.0, b"\x03" * 256, True)
        a.flush()
        assert a.frames(1.0, 3.0) == [(1.5, True, b"\x01" * 256), (2.5, False, b"\x02" * 256)]
        assert [t for t, _, _ in a.frames(ok=True)] == [1.5, 9.0]
    with Archive(tmp_path / "f.sqlite") as a:  # committed, so still there
        assert len(a.frames()) == 3
