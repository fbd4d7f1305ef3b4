"""The operator's timeline (``ground.timeline``, ``/api/timeline``): onboard events with their
values, the link (acquisition, gaps, loss of signal), alarm transitions and operator actions,
in one order, filtered by kind and severity, exported as CSV; reading it changes nothing, and
the reopened archive gives the same log."""

import asyncio
import csv
import hashlib
import io
import math
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from touchdown.ground.archive import Archive, encode_cursor
from touchdown.ground.server import make_app
from touchdown.ground.timeline import timeline


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def flown(ingest, dictionary, encoder, packet) -> None:
    """Navigation packets with one lost in the link, a range-finder rejection of 1,276 m, an
    empty tank (an alarm), an operator's acknowledgement and a refused action, a silence past
    the loss-of-signal timeout (19 s) and the signal back."""
    for k in range(5):
        raw = packet(dictionary, encoder, "nav", 90.0 + k, altitude_m=1000.0 - k)
        if k != 2:  # lost on the way down: a gap of one
            ingest.packet(raw, 95.0 + k)
    ingest.packet(packet(dictionary, encoder, "event", 94.5, code=7, value=1276.33), 99.5)
    ingest.packet(packet(dictionary, encoder, "prop", 94.0, propellant_kg=0.0), 99.6)
    ingest.archive.add_audit(101.0, "capcom", "operator", "acknowledge", "alarm 1", {}, "ok")
    ingest.archive.add_audit(102.0, "guest", "viewer", "command", "abort", {},
                             "refused: the viewer role may not command")
    ingest.packet(packet(dictionary, encoder, "nav", 140.0), 145.0)  # after 45 s of silence
    ingest.archive.flush()


def test_one_log_in_order_with_values_filters_and_csv(ingest, dictionary, encoder, packet):
    flown(ingest, dictionary, encoder, packet)
    path = Path(ingest.archive.path)
    before = hashlib.sha256(path.read_bytes()).hexdigest()

    async def check():
        async with TestClient(TestServer(make_app(ingest, Clock(150.0)))) as client:
            entries = (await (await client.get("/api/timeline")).json())["entries"]
            times = [e["t_received"] for e in entries]
            assert times == sorted(times)
            assert {e["kind"] for e in entries} == {"event", "link", "alarm", "operator"}
            (event,) = [e for e in entries if e["kind"] == "event"]
            assert event["t_onboard"] == 94.5 and event["t_received"] == 99.5
            assert event["text"] == ("lrf_rejected: 1,276 (innovation: measured - predicted "
                                     "range (m))")
            (gap,) = [e for e in entries if e["subject"] == "gap"]
            assert "APID 0x101" in gap["text"] and "1 missing" in gap["text"]
            assert gap["severity"] == "watch"
            (los,) = [e for e in entries if e["subject"] == "los"]
            assert los["t_received"] == 99.6 and los["severity"] == "distress"
            aos = [e["t_received"] for e in entries if e["subject"] == "aos"]
            assert aos == [95.0, 145.0]  # the first packet, and the first after the loss
            (alarm,) = [e for e in entries if e["kind"] == "alarm"]
            assert alarm["subject"] == "prop.propellant_kg" and alarm["severity"] == "warning"
            assert alarm["text"] == "prop.propellant_kg triggered (warning, 0 kg)"
            ops = [e for e in entries if e["kind"] == "operator"]
            assert [o["severity"] for o in ops] == ["info", "watch"]
            assert ops[0]["text"] == "capcom (operator) acknowledge alarm 1: ok"

            pages, after = [], None
            while True:  # pages of 3, each cursor the next page's start
                got = await (await client.get("/api/timeline", params={
                    "limit": "3", **({"after": after} if after else {})})).json()
                pages += got["entries"]
                after = got["next"]
                if after is None:
                    break
            assert pages == entries
            r = await client.get("/api/timeline", params={"after": "nonsense"})
            assert r.status == 400 and "cursor" in (await r.json())["error"]

            r = await client.get("/api/timeline", params={"kind": "event,alarm"})
            assert {e["kind"] for e in (await r.json())["entries"]} == {"event", "alarm"}
            r = await client.get("/api/timeline", params={"severity": "warning"})
            assert [e["subject"] for e in (await r.json())["entries"]] == [
                "prop.propellant_kg", "los"]

            r = await client.get("/api/timeline", params={"format": "csv"})
            assert r.status == 200 and r.content_type == "text/csv"
            rows = list(csv.DictReader(io.StringIO(await r.text())))
            assert len(rows) == len(entries)
            (row,) = [x for x in rows if x["kind"] == "event"]
            assert (row["received"], row["onboard"]) == ("T+01:39.5", "T+01:34.5")
            assert all(x["onboard"] == "-" and x["t_onboard"] == ""
                       for x in rows if x["kind"] == "operator")

            for bad, word in (({"kind": "event,rumour"}, "kinds"),
                              ({"severity": "dire"}, "severity"),
                              ({"format": "xml"}, "json or csv")):
                r = await client.get("/api/timeline", params=bad)
                assert r.status == 400 and word in (await r.json())["error"]

    asyncio.run(check())
    ingest.archive.flush()
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before  # the evidence unchanged


def test_a_reopened_archive_gives_the_same_timeline(ingest, dictionary, encoder, packet):
    """Losses of signal come from the archive's arrivals, not from who polled the link when:
    live (at T+150, the silence after the last packet still short of the timeout) and reopened
    (finished: that silence a loss too) agree but for that last loss."""
    flown(ingest, dictionary, encoder, packet)
    timeout = ingest.link.los_timeout_s
    live = timeline(ingest.archive, dictionary, timeout, 150.0)
    ingest.archive.close()
    with Archive(ingest.archive.path) as again:
        reopened = timeline(again, dictionary, timeout, math.inf)
    assert reopened[:-1] == live
    assert reopened[-1].subject == "los" and reopened[-1].t_received == 145.0


def test_pages_do_not_shift_when_later_entries_arrive() -> None:
    """A cursor is a ground time and a count at it: entries added at later times leave the
    pages before them as they were, and an entry at a tie is not given twice."""
    from touchdown.ground.timeline import Entry, page

    def entry(t: float, n: int) -> Entry:
        return Entry(t, None, "link", "info", "aos", str(n))

    log = [entry(1.0, 0), entry(2.0, 1), entry(2.0, 2), entry(2.0, 3), entry(5.0, 4)]
    first, after = page(log, 2)
    assert [e.text for e in first] == ["0", "1"] and after is not None
    grown = [*log, entry(6.0, 5)]
    second, after = page(grown, 2, after)
    assert [e.text for e in second] == ["2", "3"]
    third, after = page(grown, 2, after)
    assert [e.text for e in third] == ["4", "5"] and after is None
    for forged in ((2.0, -1.0), (2.0, math.inf), (2.0, 0.5), (math.nan, 1.0)):
        with pytest.raises(ValueError, match="not a cursor this server gave"):
            page(grown, 2, encode_cursor(*forged))
