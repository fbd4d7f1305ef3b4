"""The archive is evidence: reading never changes it, one writer, one time base, checked on
open, one LOS definition, and a restart archives nothing twice (issue 15, items 1, 2 and 6)."""

import asyncio
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from click.testing import CliRunner

from touchdown.cli import main
from touchdown.cli.serving import ground_clock
from touchdown.errors import (
    ArchiveDamagedError,
    ArchiveLockedError,
    ArchiveMissingError,
    ArchiveOpenError,
    ArchiveReadOnlyError,
)
from touchdown.ground.archive import Archive
from touchdown.ground.ingest import Ingest
from touchdown.ground.server import make_app
from touchdown.scenario import Scenario, resolve
from touchdown.telemetry.dictionary import load_dictionary
from touchdown.telemetry.downlink import fly_downlink
from touchdown.telemetry.flight_info import FlightInfo
from touchdown.telemetry.packets import PacketEncoder
from touchdown.timefmt import mission_clock

CLI = [sys.executable, "-c", "from touchdown.cli import main; main()"]
LOS_LINE = re.compile(r"LOS\s+at (T\+\d+:\d\d\.\d)")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def m1(tmp_path_factory) -> dict:
    """M1's downlink ingested by `touchdown ground ingest` into a finished archive."""
    root = tmp_path_factory.mktemp("evidence")
    rec = fly_downlink(Scenario.from_toml(resolve("hakuto-r-m1")), 0).record(root / "m1.tdl")
    archive = root / "m1.sqlite"
    r = CliRunner().invoke(main, ["ground", "ingest", str(rec), "--archive", str(archive),
                                  "--new", "-q"])
    assert r.exit_code == 0, r.output
    return {"root": root, "recording": rec, "archive": archive, "ingest_output": r.output}


def _station(archive: Path, *extra: str) -> tuple[subprocess.Popen, int]:
    """`touchdown ground` on an archive; its process and web port."""
    proc = subprocess.Popen([*CLI, "ground", "--archive", str(archive), "--port", "0",
                             "--ingest-port", "0", *extra], stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONWARNINGS": "error"})
    lines = ""
    deadline = time.monotonic() + 60
    while "ingest on" not in lines and "read-only" not in lines:
        line = proc.stderr.readline()
        assert line and time.monotonic() < deadline, lines
        lines += line
    tcp = re.search(r"tcp://[\d.]+:(\d+)", lines)
    proc.ingest_port = int(tcp.group(1)) if tcp else None
    return proc, int(re.search(r"http://[\d.]+:(\d+)/", lines).group(1))


def _get(port: int, path: str) -> bytes:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
        return r.read()


def test_reading_a_finished_archive_changes_no_byte_of_it(m1, tmp_path):
    archive: Path = m1["archive"]
    before = sha256(archive)
    for _ in range(2):  # the station reopens it (it could ingest more), twice
        proc, port = _station(archive)
        try:
            link = _get(port, "/api/link")
            assert b'"FAILED"' in link  # LOS is derived at once, not written
            _get(port, "/api/alarms")
            _get(port, "/api/estimate")
        finally:
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=30)
        assert proc.returncode == 0
        assert "ground: stopped (SIGTERM)" in err and "committed" in err
    r = CliRunner().invoke(main, ["ground", "--archive", str(archive), "--get", "/api/link"])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(main, ["report", str(archive), "--out", str(tmp_path / "rep"), "-q"])
    assert r.exit_code == 0, r.output
    assert sha256(archive) == before
    wal = archive.with_name(archive.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    findings = (tmp_path / "rep" / "findings.json").read_text()
    assert findings.count('"key": "los"') == 1  # the report lists the LOS once


def test_one_loss_of_signal_time_in_the_cli_the_api_and_the_report(m1, tmp_path):
    (cli_los,) = LOS_LINE.findall(m1["ingest_output"])
    r = CliRunner().invoke(main, ["ground", "--archive", str(m1["archive"]), "--get",
                                  "/api/link"])
    api = json.loads(r.output)["los"]
    assert mission_clock(api["t_los"]) == cli_los
    r = CliRunner().invoke(main, ["report", str(m1["archive"]), "--out", str(tmp_path / "r"),
                                  "-q"])
    doc = json.loads((tmp_path / "r" / "findings.json").read_text())
    (los,) = [f for f in doc["findings"] if f["key"] == "los"]
    assert cli_los in los["title"]


def test_an_operator_action_on_a_reopened_archive_is_on_the_archive_time_base(m1, tmp_path,
                                                                             accounts):
    copy = tmp_path / "copy.sqlite"
    copy.write_bytes(m1["archive"].read_bytes())
    with Archive(copy) as archive:
        ingest = Ingest(load_dictionary(), archive)
        flight = FlightInfo.from_dict(archive.flight())
        (alarm, *_) = ingest.alarms.active()
        accounts.add(archive, "investigator", "flight_director")

        async def acknowledge() -> tuple[dict, dict]:
            app = make_app(ingest, ground_clock(flight), flight=flight)
            async with TestClient(TestServer(app)) as client:
                headers = await accounts.sign_in(client, "investigator")
                r = await client.post(f"/api/alarms/{alarm.id}/acknowledge",
                                      json={"comment": "seen"}, headers=headers)
                assert r.status == 200, await r.text()
                audit = await (await client.get("/api/audit",
                                                params={"user": "investigator"})).json()
                return await r.json(), audit

        acked, audit = asyncio.run(acknowledge())
    epoch = flight.epoch_utc.timestamp()
    assert abs(epoch + acked["t_acknowledged"] - time.time()) < 60  # MET, not Unix time
    assert 0 < acked["t_trigger"] < 10_000  # the flight's own seconds since the epoch
    assert acked["acknowledged_by"] == "investigator" and acked["ack_comment"] == "seen"
    sign_in, ack = audit["audit"]  # the audit log is on the same time base
    assert (sign_in["action"], ack["action"]) == ("sign_in", "alarm.acknowledge")
    assert acked["t_acknowledged"] - 60 < sign_in["t_ground"] <= ack["t_ground"] == \
        acked["t_acknowledged"]


def test_a_second_writer_is_refused_and_a_reader_is_not(tmp_path):
    path = tmp_path / "a.sqlite"
    with Archive(path, create=True) as first:
        first.add_packet(1, 0, 1.0, 2.0, b"x", {"p.x": 1.0})
        first.flush()
        with pytest.raises(ArchiveLockedError, match=f"pid {os.getpid()}.*--read-only"):
            Archive(path)
        with Archive(path, read_only=True) as reader:  # readers never wait for the writer
            assert reader.packet_count() == 1
            with pytest.raises(ArchiveReadOnlyError):
                reader.add_packet(1, 1, 2.0, 3.0, b"y", {})
    proc, _ = _station(path)  # a live station holds it: a second one is refused
    try:
        r = CliRunner().invoke(main, ["ground", "--archive", str(path), "--port", "0",
                                      "--ingest-port", "0"])
        assert r.exit_code == 2 and "another ground server or ingest is writing" in r.output
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
    assert proc.returncode == 0


def test_missing_empty_and_damaged_archives_are_refused_with_the_fix(tmp_path):
    with pytest.raises(ArchiveMissingError, match="--new"):
        Archive(tmp_path / "typo.sqlite")
    assert not (tmp_path / "typo.sqlite").exists()
    r = CliRunner().invoke(main, ["ground", "--archive", str(tmp_path / "typo.sqlite"),
                                  "--get", "/api/link"])
    assert r.exit_code == 2 and "no such archive" in r.output and "--new" in r.output
    empty = tmp_path / "empty.sqlite"
    empty.touch()
    with pytest.raises(ArchiveOpenError, match="0 bytes"):
        Archive(empty)
    Archive(empty, create=True).close()  # --new may start an archive in an empty file
    with pytest.raises(ArchiveOpenError, match="exists"):
        Archive(empty, create=True)  # but never over one
    good = tmp_path / "good.sqlite"
    with Archive(good, create=True) as a:
        for k in range(3000):
            a.add_packet(1, k % 16384, float(k), float(k), bytes(200), {"p.x": float(k)})
    data = bytearray(good.read_bytes())
    page = 4096
    for k in range(page * 20, page * 40, 7):
        data[k] ^= 0x5A  # damage twenty pages in the middle
    damaged = tmp_path / "damaged.sqlite"
    damaged.write_bytes(bytes(data))
    for read_only in (False, True):
        with pytest.raises(ArchiveDamagedError, match=r"damaged.*recover"):
            Archive(damaged, read_only=read_only)
    r = CliRunner().invoke(main, ["report", str(damaged), "--out", str(tmp_path / "r")])
    assert r.exit_code == 2 and "damaged" in r.output


def test_a_resent_overlap_after_a_restart_archives_nothing_twice(tmp_path):
    d = load_dictionary()
    nav, enc = d["nav"], PacketEncoder()
    sent = [enc.encode(nav, 0.1 * k, [45.0, 44.0, 0.0, 1000.0, -5.0, 10.0, 1.0, 0.1])
            for k in range(2000)]
    path = tmp_path / "a.sqlite"
    with Archive(path, create=True) as a:
        ingest = Ingest(d, a)
        for k, raw in enumerate(sent[:1500]):
            ingest.packet(raw, 0.1 * k + 1.0)
    with Archive(path) as a:  # restarted: the sender goes back 602 packets
        ingest = Ingest(d, a)
        for k, raw in enumerate(sent[898:]):
            ingest.packet(raw, 200.0 + 0.1 * k)
        assert a.packet_count() == 2000
        c = ingest.counters
        assert (c["packets"], c["duplicates"], c["missing"], c["gaps"]) == (2000, 602, 0, 0)
        assert ingest.counters_by_apid()["nav"]["duplicates"] == 602


def test_a_full_disk_is_said_in_the_api_and_the_station_keeps_serving(ingest, dictionary,
                                                                     encoder, packet):
    """A write that fails (here SQLite's page limit, as a full disk) closes the ingest
    connection with the reason; /api/link says the archive is not writing instead of looking
    fine, and the server goes on answering."""
    from touchdown.ground.server import PacketStreamSplitter, start_ingest_server

    ingest.packet(packet(dictionary, encoder, "nav", 1.0), 2.0)
    ingest.archive.flush()
    pages = ingest.archive._db.execute("PRAGMA page_count").fetchone()[0]
    ingest.archive._db.execute(f"PRAGMA max_page_count={pages}")  # no room for more
    stream = b"".join(packet(dictionary, encoder, "nav", 2.0 + k, altitude_m=float(k))
                      for k in range(500))

    async def check() -> dict:
        server = await start_ingest_server(ingest, "127.0.0.1", 0, clock=lambda: 10.0,
                                           decoder=PacketStreamSplitter)
        port = server.sockets[0].getsockname()[1]
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(stream)
        await writer.drain()
        for _ in range(200):
            if ingest.archive.failure:
                break
            await asyncio.sleep(0.02)
        writer.close()
        server.close()
        await server.wait_closed()
        async with TestClient(TestServer(make_app(ingest, lambda: 11.0))) as client:
            return await (await client.get("/api/link")).json()

    link = asyncio.run(check())
    assert "full" in link["archive"]["failure"] and "check the disk" in link["archive"]["failure"]
    # Room again, the sender sends it all again: what the lost batch held is archived now, once.
    ingest.archive._db.execute("PRAGMA max_page_count=1000000")
    split = PacketStreamSplitter()
    for raw in split.feed(stream):
        ingest.packet(raw, 20.0)
    ingest.archive.flush()
    archived = ingest.archive.packet_count()
    assert archived == 501 and ingest.counters["packets"] == archived
    assert [v for _, v in ingest.archive.history("nav.altitude_m")][1:] == list(range(500))


def test_one_writer_however_the_archive_is_named(tmp_path):
    path = tmp_path / "a.sqlite"
    (tmp_path / "sub").mkdir()
    link = tmp_path / "link.sqlite"
    link.symlink_to(path)
    with Archive(path, create=True):
        for other in (link, tmp_path / "sub" / ".." / "a.sqlite"):
            with pytest.raises(ArchiveLockedError):
                Archive(other)


def test_a_reader_open_while_a_writer_goes_on_reads_what_is_committed(tmp_path):
    path = tmp_path / "a.sqlite"
    with Archive(path, create=True) as a:
        a.add_packet(1, 0, 1.0, 1.0, b"x", {"p.x": 1.0})
    reader = Archive(path, read_only=True)  # a --read-only page left open
    try:
        with Archive(path) as writer:  # the station continues the archive meanwhile
            for k in range(1, 20_000):
                writer.add_packet(1, k % 16384, float(k), float(k), bytes(64), {"p.x": k})
            writer.flush()
            writer._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        assert reader.packet_count() == 20_000 and reader.integrity_check() == "ok"
    finally:
        reader.close()


def test_a_probe_of_the_ingest_port_leaves_no_trace_in_the_archive(m1, tmp_path):
    import socket

    copy = tmp_path / "copy.sqlite"
    copy.write_bytes(m1["archive"].read_bytes())
    before = sha256(copy)
    proc, _ = _station(copy)
    try:
        for _ in range(3):  # a port scan: connect, send nothing, go
            socket.create_connection(("127.0.0.1", proc.ingest_port), timeout=5).close()
        time.sleep(0.5)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
    assert proc.returncode == 0 and sha256(copy) == before


def test_another_epoch_over_archived_telemetry_is_refused(tmp_path):
    path = tmp_path / "a.sqlite"
    with Archive(path, create=True) as a:
        a.add_packet(1, 0, 1.7e9, 1.7e9, b"x", {})  # no flight plan: s since 1970
        a.flush()
        with pytest.raises(ArchiveOpenError, match="no known epoch"):
            a.set_flight({"scenario": "hakuto-r-m1", "epoch_utc": "2023-04-25T15:00:00Z"})


def test_the_report_finds_the_losses_with_the_timeout_the_archive_was_ingested_with(m1,
                                                                                     tmp_path):
    archive = tmp_path / "short.sqlite"
    r = CliRunner().invoke(main, ["ground", "ingest", str(m1["recording"]), "--archive",
                                  str(archive), "--new", "--los-timeout", "1", "-q"])
    assert r.exit_code == 0, r.output
    cli = LOS_LINE.findall(r.output)
    assert len(cli) > 1  # with 1 s, short silences are losses too
    r = CliRunner().invoke(main, ["report", str(archive), "--out", str(tmp_path / "r"), "-q"])
    doc = json.loads((tmp_path / "r" / "findings.json").read_text())
    losses = sorted((f for f in doc["findings"] if f["key"] == "los"), key=lambda f: f["t"])
    titles = [f["title"] for f in losses]  # (the report lists them by causal role first)
    assert [t.split(" at ")[1] for t in titles] == cli
