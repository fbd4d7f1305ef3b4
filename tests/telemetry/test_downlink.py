"""The M1 flight's telemetry through the link to the ground: round trip, LOS, the story."""

import pytest
from click.testing import CliRunner

from touchdown.cli import main
from touchdown.errors import OutputError
from touchdown.ground.archive import Archive
from touchdown.ground.ingest import Ingest
from touchdown.ground.replay import replay_recording
from touchdown.scenario import Scenario, resolve
from touchdown.telemetry.dictionary import load_dictionary
from touchdown.telemetry.downlink import destroyed_s, fly_downlink
from touchdown.telemetry.packets import decode_packet
from touchdown.telemetry.recording import read_recording
from touchdown.telemetry.run_folder import (
    PICTURE,
    RECORDING,
    SUMMARY,
    TRACE,
    read_truth,
    write_run_folder,
)

DICT = load_dictionary()
PERFECT = {"link.frame_loss_probability": 0.0, "link.bit_error_rate": 0.0,
           "link.elevation_mask_deg": -90.0}


@pytest.fixture(scope="module")
def m1():
    return fly_downlink(Scenario.from_toml(resolve("hakuto-r-m1")), 0)


def test_every_packet_type_survives_a_perfect_link_unchanged(tmp_path):
    link = fly_downlink(Scenario.from_toml(resolve("hakuto-r-m1")).replace(PERFECT), 0)
    sent = [p.data for p in link.packets if p.t < destroyed_s(link.flight) - 5.0]
    path = link.record(tmp_path / "perfect.tdl")
    with Archive(tmp_path / "g.sqlite", create=True) as archive:
        ingest = Ingest(DICT, archive)
        report = replay_recording(read_recording(path), ingest)
        assert report.frames.frames_bad_crc == 0 and report.frames.frames_lost == 0
        assert ingest.counters["missing"] == 0 and ingest.counters["bad"] == 0
        got = {bytes(raw) for *_, raw in archive.packets()}
    # every type: the telemetry's as made, and the image octets the link's spare room carried
    # (made as the frames went, so not among the packets made onboard with the telemetry)
    made = {decode_packet(d, DICT).name for d in sent}
    assert made | {"image"} == {p.name for p in DICT.packets} and "image" not in made
    assert set(sent) <= got  # byte for byte
    assert any(decode_packet(raw, DICT).name == "image" for raw in got)


def test_the_link_falls_silent_at_the_impact_plus_light_time(m1):
    t_impact = destroyed_s(m1.flight)
    last = m1.link.frames[-1][0]
    assert t_impact < last < t_impact + 1.4 + m1.config.frame_period_s  # light time < 1.4 s
    assert m1.link.stats.frames_lost_visibility > 0  # behind the Moon before the descent
    assert m1.link.stats.frames_delivered == len(m1.link.frames)


def test_ground_sees_the_fault_the_alarms_and_loss_of_signal(m1, tmp_path):
    path = m1.record(tmp_path / "m1.tdl")
    result = CliRunner().invoke(main, ["ground", "ingest", str(path), "--archive",
                                       str(tmp_path / "g.sqlite"), "--new", "-q"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "lrf.state critical at faulty" in out
    assert "LOS         at T+72:2" in out
    assert "lrf_fault_declared" in out and "contact" not in out.split("events")[1].split(
        "alarms")[0]
    assert "it believed it was on the surface" in out


def test_cli_fly_downlink_writes_a_recording_and_refuses_a_bad_ground_address(tmp_path):
    runner = CliRunner()
    r = runner.invoke(main, ["fly", "hakuto-r-m1", "--downlink", str(tmp_path / "x.tdl"), "-q"])
    assert r.exit_code == 0, r.output
    assert "downlink    4000 bit/s" in r.output and (tmp_path / "x.tdl").stat().st_size > 1e6
    r = runner.invoke(main, ["fly", "hakuto-r-m1", "--ground", "udp://x:1"])
    assert r.exit_code == 2 and "tcp://HOST:PORT" in r.output
    r = runner.invoke(main, ["ground", "ingest", str(tmp_path / "none.tdl")])
    assert r.exit_code == 2 and "no such file" in r.output


def test_the_archive_keeps_every_received_frame_with_its_check(m1, tmp_path):
    path = m1.record(tmp_path / "m1.tdl")
    with Archive(tmp_path / "g.sqlite", create=True) as archive:
        report = replay_recording(read_recording(path), Ingest(DICT, archive))
        frames = archive.frames()
    assert len(frames) == report.frames.frames_ok + report.frames.frames_bad_crc
    assert sum(not ok for _, ok, _ in frames) == report.frames.frames_bad_crc > 0
    assert all(len(b) == m1.config.frame_length for _, _, b in frames)


def test_a_run_folder_holds_the_truth_its_picture_and_what_the_ground_received(m1, tmp_path):
    written = write_run_folder(tmp_path / "run", m1.flight, m1)
    images = [f"{i.image_id:03d}.png" for i in m1.imager.images] + ["images.json"]
    assert sorted(p.name for p in written) == sorted([TRACE, SUMMARY, PICTURE, RECORDING,
                                                      *images])
    assert read_recording(tmp_path / "run" / RECORDING).meta["packets_made"] == len(m1.packets)
    truth = read_truth(tmp_path / "run")
    assert truth is not None and len(truth.trace) == len(m1.flight.trace)
    assert truth.event_time("lrf_fault_declared") is not None
    assert read_truth(tmp_path) is None  # not a run folder
    (tmp_path / "file").write_text("")
    with pytest.raises(OutputError, match="could not write the outputs in"):
        write_run_folder(tmp_path / "file", m1.flight)
