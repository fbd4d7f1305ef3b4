"""Downlink recordings: round trip, a cut file keeps its whole records, clear errors."""

import pytest

from touchdown.errors import RecordingError
from touchdown.telemetry.recording import MAGIC, RECORD, read_recording, write_recording

RECORDS = [(1.25 + k, bytes([k % 256]) * (10 + k)) for k in range(50)]


def test_round_trip_keeps_times_octets_and_metadata(tmp_path):
    path = write_recording(tmp_path / "m1.tdl", {"scenario": "x", "nan": float("nan")}, RECORDS)
    rec = read_recording(path)
    assert rec.meta == {"scenario": "x", "nan": None}
    assert list(rec.records()) == RECORDS and not rec.truncated


def test_a_cut_recording_yields_every_whole_record_before_the_cut(tmp_path):
    path = write_recording(tmp_path / "m1.tdl", {}, RECORDS)
    data = path.read_bytes()
    cut = len(data) - 7  # inside the last record's octets
    path.write_bytes(data[:cut])
    rec = read_recording(path)
    assert list(rec.records()) == RECORDS[:-1] and rec.truncated
    last = len(data) - RECORD.size - len(RECORDS[-1][1])  # where the last record starts
    path.write_bytes(data[:last + 5])  # inside its header
    rec = read_recording(path)
    assert list(rec.records()) == RECORDS[:-1] and rec.truncated


def test_not_a_recording_says_how_to_make_one(tmp_path):
    bad = tmp_path / "x.bin"
    bad.write_bytes(b"hello\n")
    with pytest.raises(RecordingError, match="--downlink FILE"):
        read_recording(bad)
    with pytest.raises(RecordingError, match="no such file"):
        read_recording(tmp_path / "missing.tdl")
    bad.write_bytes(MAGIC + b"{not json\n" + RECORD.pack(0.0, 0))
    with pytest.raises(RecordingError, match="not JSON"):
        read_recording(bad)
