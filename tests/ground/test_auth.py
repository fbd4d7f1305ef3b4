"""Operators sign in, their role decides what they may change, and the audit log keeps every
attempt: passwords only as argon2 hashes, sessions bounded and ending, failed sign-ins slowed
per address, refusals before any change, audit rows that SQLite will not change or delete."""

import asyncio
import hashlib
import sqlite3
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from touchdown.errors import ArchiveOpenError, InputError
from touchdown.ground import auth
from touchdown.ground.archive import _SCHEMA, SCHEMA_VERSION, Archive
from touchdown.ground.auth import AUTH, FREE_FAILURES, LOCKOUT_S, LoginLimiter, Sessions
from touchdown.ground.ingest import Ingest
from touchdown.ground.server import make_app
from touchdown.ground.users import add_user, hash_password, remove_user, verify_password
from touchdown.telemetry.dictionary import load_dictionary


def run(coro):
    return asyncio.run(coro)


class Clock:
    def __init__(self, t: float = 0.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def alarmed(ingest, dictionary, encoder, packet, accounts):
    """An ingest with one active, unacknowledged alarm (propellant at 0 kg: warning), and a
    viewer, an operator and a flight director who may sign in."""
    ingest.packet(packet(dictionary, encoder, "prop", 94.0, propellant_kg=0.0), 99.0)
    (alarm,) = ingest.alarms.active()
    for name, role in (("vera", "viewer"), ("otto", "operator"), ("fiona", "flight_director")):
        accounts.add(ingest.archive, name, role)
    return ingest, alarm.id


def audit_rows(archive: Archive, **match) -> list:
    rows, _ = archive.audit_page(10_000)
    return [r for r in rows if all(getattr(r, k) == v for k, v in match.items())]


# ---------------------------------------------------------------- users and passwords

def test_passwords_are_stored_only_as_salted_argon2_hashes(archive):
    secret = "tranquility base 1969"
    add_user(archive, "ann", "operator", secret, created_by="test", t_ground=12.5)
    add_user(archive, "bob", "viewer", secret, created_by="test", t_ground=13.0)
    ann, bob = archive.user("ann"), archive.user("bob")
    assert ann.password_hash.startswith("$argon2id$") and ann.role == "operator"
    assert ann.password_hash != bob.password_hash  # salted: one password, two hashes
    assert (ann.t_created, ann.created_by) == (12.5, "test")
    assert verify_password(ann.password_hash, secret)
    assert not verify_password(ann.password_hash, secret.upper())
    assert not verify_password("not a hash", secret)
    archive.close()
    data = Path(archive.path).read_bytes()
    for form in (secret.encode(), secret.encode("utf-16-le"),
                 hashlib.sha256(secret.encode()).hexdigest().encode()):
        assert form not in data  # the password is nowhere in the file, in clear or hashed plain


def test_bad_names_roles_passwords_and_duplicates_are_refused_naming_the_rule(archive):
    for name in ("", "two words", "-dash", "x" * 65, "ünï"):
        with pytest.raises(InputError, match="letters, digits"):
            add_user(archive, name, "operator", "long enough", created_by="t", t_ground=0.0)
    with pytest.raises(InputError, match="viewer, operator, flight_director"):
        add_user(archive, "ann", "admin", "long enough", created_by="t", t_ground=0.0)
    with pytest.raises(InputError, match="at least 8"):
        add_user(archive, "ann", "operator", "short", created_by="t", t_ground=0.0)
    with pytest.raises(InputError, match="at most 1024"):
        hash_password("x" * 1025)
    add_user(archive, "ann", "operator", "long enough", created_by="t", t_ground=0.0)
    with pytest.raises(InputError, match=r"exists.*users remove ann"):
        add_user(archive, "ann", "viewer", "long enough", created_by="t", t_ground=0.0)
    with pytest.raises(InputError, match=r"no user 'bob'.*users: ann"):
        remove_user(archive, "bob", removed_by="t", t_ground=1.0)
    remove_user(archive, "ann", removed_by="t", t_ground=2.0)
    assert archive.users() == []
    assert [(r.action, r.target, r.outcome) for r in audit_rows(archive)] == [
        ("user.add", "ann", "ok"), ("user.remove", "ann", "ok")]


# ---------------------------------------------------------------- the audit log

def test_audit_rows_cannot_be_changed_or_deleted(archive):
    archive.add_audit(1.0, "ann", "operator", "alarm.acknowledge", "alarm 1", {"x": 1}, "ok")
    archive.flush()
    path = archive.path
    archive.close()
    db = sqlite3.connect(path)  # any writer, not only touchdown's
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("UPDATE audit SET user = 'mallory'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("DELETE FROM audit")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("INSERT OR REPLACE INTO audit (id, t_ground, action, detail, outcome) "
                   "VALUES (1, 0, 'x', '{}', 'ok')")  # a replace deletes the old row first
    db.execute("INSERT INTO audit (t_ground, action, detail, outcome) VALUES (2, 'y', '{}', "
               "'ok')")  # appending is what it is for
    db.commit()
    assert db.execute("SELECT user, action FROM audit ORDER BY id").fetchall() == [
        ("ann", "alarm.acknowledge"), (None, "y")]
    db.close()


def _schema_2(path) -> None:
    """An archive as touchdown wrote them before users and the audit log (schema 2)."""
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.executescript(_SCHEMA)
    db.execute("INSERT INTO meta VALUES ('schema', '2')")
    db.execute("INSERT INTO packets (apid, seq, t_onboard, t_received, bytes) VALUES "
               "(1, 0, 1.0, 2.0, x'00')")
    db.commit()
    db.close()


def test_a_schema_2_archive_is_read_as_it_is_and_upgraded_by_its_first_write(tmp_path):
    path = tmp_path / "old.sqlite"
    _schema_2(path)
    before = path.read_bytes()
    for read_only in (True, False):  # reading, or a station reopening it, writes nothing
        with Archive(path, read_only=read_only) as a:
            assert a.schema_version == 2 and a.packet_count() == 1
            assert a.users() == [] and a.user("ann") is None and a.audit_page(10) == ([], None)
        assert path.read_bytes() == before
        assert not (tmp_path / "old.sqlite-wal").exists() or not (
            tmp_path / "old.sqlite-wal").stat().st_size
    with Archive(path) as a:
        add_user(a, "ann", "operator", "long enough", created_by="t", t_ground=0.0)
        assert a.schema_version == SCHEMA_VERSION
    with Archive(path, read_only=True) as a:
        assert a.schema_version == SCHEMA_VERSION and a.packet_count() == 1
        assert [u.name for u in a.users()] == ["ann"]
        assert [r.action for r in a.audit_page(10)[0]] == ["user.add"]
    db = sqlite3.connect(path)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("DELETE FROM audit")  # the upgrade brought the triggers too
    db.close()


def test_another_schema_is_refused_naming_what_this_touchdown_reads(tmp_path):
    for version, fix in (("1", "the touchdown that wrote it"), ("4", "a newer touchdown")):
        path = tmp_path / f"v{version}.sqlite"
        _schema_2(path)
        db = sqlite3.connect(path)
        db.execute("UPDATE meta SET value = ? WHERE key = 'schema'", (version,))
        db.commit()
        db.close()
        for read_only in (True, False):
            with pytest.raises(ArchiveOpenError,
                               match=f"schema {version}.*reads schemas 2, 3.*{fix}"):
                Archive(path, read_only=read_only)


# ---------------------------------------------------------------- sessions, limiter

def test_sessions_are_bounded_and_end_when_idle():
    clock = Clock()
    sessions = Sessions(max_sessions=3, idle_s=100.0, clock=clock)
    for k in range(3):
        sessions.add(f"s{k}", f"u{k}", "operator", 0.0)
        clock.t += 1
    assert sessions.get("s0").user == "u0"  # used: now the most recent
    sessions.add("s3", "u3", "viewer", 0.0)  # full: the least recently used (s1) goes
    assert len(sessions) == 3 and sessions.get("s1") is None
    assert [sessions.get(s).user for s in ("s0", "s2", "s3")] == ["u0", "u2", "u3"]
    clock.t += 100.5
    assert sessions.get("s0") is None  # idle too long
    assert sessions.get(None) is None and sessions.remove("nope") is None
    sessions.add("s4", "u4", "viewer", 0.0)  # the ended ones make room first
    assert len(sessions) == 1


def test_failed_sign_ins_make_an_address_wait_longer_and_longer():
    clock = Clock(1000.0)
    limiter = LoginLimiter(clock, max_addresses=2)

    def fail(address: str) -> None:
        limiter.begin(address)
        limiter.end(address, ok=False)

    for _ in range(FREE_FAILURES - 1):
        fail("10.0.0.1")
        assert limiter.retry_after("10.0.0.1") == 0
    fail("10.0.0.1")
    assert limiter.retry_after("10.0.0.1") == LOCKOUT_S
    assert limiter.retry_after("10.0.0.2") == 0  # per address
    assert limiter.first_refusal("10.0.0.1") and not limiter.first_refusal("10.0.0.1")
    clock.t += LOCKOUT_S
    fail("10.0.0.1")
    assert limiter.retry_after("10.0.0.1") == 2 * LOCKOUT_S  # doubles
    clock.t += 2 * LOCKOUT_S
    limiter.begin("10.0.0.1")
    limiter.end("10.0.0.1", ok=True)  # a success forgets them
    assert limiter.retry_after("10.0.0.1") == 0
    for _ in range(FREE_FAILURES - 1):  # checks under way count: no parallel guessing
        limiter.begin("10.0.0.3")
    assert limiter.retry_after("10.0.0.3") == 0
    limiter.begin("10.0.0.3")
    assert limiter.retry_after("10.0.0.3") > 0
    fail("10.0.0.4")  # two addresses remembered at most: the oldest goes
    assert len(limiter._by_address) == 2


# ---------------------------------------------------------------- over HTTP

def test_sign_in_session_and_sign_out(alarmed, accounts):
    ingest, _ = alarmed
    clock = Clock(500.0)

    async def check():
        async with TestClient(TestServer(make_app(ingest, clock))) as client:
            anonymous = await (await client.get("/api/session")).json()
            assert (anonymous["user"], anonymous["role"], anonymous["read_only"]) == (
                None, None, False)
            cookie_before = client.session.cookie_jar.filter_cookies(client.make_url("/"))
            headers = await accounts.sign_in(client, "otto")
            me = await (await client.get("/api/session")).json()
            assert (me["user"], me["role"]) == ("otto", "operator")
            assert me["csrf_token"] == headers["X-CSRF-Token"] != anonymous["csrf_token"]
            cookie_after = client.session.cookie_jar.filter_cookies(client.make_url("/"))
            (name,) = cookie_after.keys()
            assert name == f"td_session_{client.port}"  # this server's cookie, a new id
            assert cookie_before[name].value != cookie_after[name].value
            r = await client.post("/api/logout", json={}, headers=headers)
            assert r.status == 200
            out = await r.json()
            assert out["user"] is None and out["csrf_token"] != me["csrf_token"]
            assert (await (await client.get("/api/session")).json())["user"] is None
            r = await client.post("/api/login", json={"name": "otto"},
                                  headers={"X-CSRF-Token": out["csrf_token"]})
            assert r.status == 400 and "password" in (await r.json())["error"]

    run(check())
    rows = audit_rows(ingest.archive, user="otto")
    assert [(r.action, r.role, r.outcome, r.t_ground) for r in rows] == [
        ("sign_in", "operator", "ok", 500.0), ("sign_out", "operator", "ok", 500.0)]
    assert rows[0].detail["address"] == "127.0.0.1"


def test_acting_needs_a_session_and_a_role_that_may(alarmed, accounts):
    ingest, alarm_id = alarmed
    ack = f"/api/alarms/{alarm_id}/acknowledge"

    async def check():
        async with TestClient(TestServer(make_app(ingest, Clock(100.0)))) as client:
            token = (await (await client.get("/api/session")).json())["csrf_token"]
            r = await client.post(ack, json={}, headers={"X-CSRF-Token": token})
            body = await r.json()
            assert r.status == 401 and body["refused"] == "session"
            assert "POST /api/login" in body["error"]
            headers = await accounts.sign_in(client, "vera")
            r = await client.post(ack, json={"comment": "seen"}, headers=headers)
            body = await r.json()
            assert r.status == 403 and body["refused"] == "role"
            assert body["error"] == ("signed in as vera, a viewer: a viewer may not "
                                     "acknowledge alarms; sign in as an operator or a "
                                     "flight_director")
            assert ingest.archive.alarm(alarm_id).t_acknowledged is None
            r = await client.get(f"/api/alarms/{alarm_id}")  # reading needs nobody signed in
            assert r.status == 200

    run(check())
    (row,) = audit_rows(ingest.archive, action="alarm.acknowledge")
    assert (row.user, row.role, row.target) == ("vera", "viewer", f"alarm {alarm_id}")
    assert row.outcome.startswith("refused (403): signed in as vera, a viewer")
    assert not audit_rows(ingest.archive, user=None, action="alarm.acknowledge")  # 401: no row


def test_a_state_changing_handler_that_says_nothing_is_refused_to_everyone(alarmed,
                                                                          accounts):
    ingest, _ = alarmed
    app = make_app(ingest, Clock(1.0))
    called = []

    async def unmarked(request):  # no @requires: nobody may
        called.append(request)
        return web.json_response({})

    app.router.add_post("/api/unmarked", unmarked)

    async def check():
        async with TestClient(TestServer(app)) as client:
            headers = await accounts.sign_in(client, "fiona")
            r = await client.post("/api/unmarked", json={}, headers=headers)
            assert r.status == 403 and "may not do this" in (await r.json())["error"]

    run(check())
    assert called == []


def test_an_operators_acknowledgement_is_recorded_with_the_session_user(alarmed, accounts):
    ingest, alarm_id = alarmed

    async def check():
        server = TestServer(make_app(ingest, Clock(123.5)))
        async with TestClient(server) as client, TestClient(server) as fiona:
            headers = await accounts.sign_in(client, "otto")
            r = await client.post(f"/api/alarms/{alarm_id}/acknowledge",
                                  json={"by": "someone else"}, headers=headers)
            assert r.status == 400 and "signed in" in (await r.json())["error"]
            r = await client.post(f"/api/alarms/{alarm_id}/acknowledge",
                                  json={"comment": "propellant low, known"}, headers=headers)
            assert r.status == 200, await r.text()
            acked = await r.json()
            assert (acked["acknowledged_by"], acked["t_acknowledged"]) == ("otto", 123.5)
            history = (await (await client.get(f"/api/alarms/{alarm_id}")).json())["history"]
            assert [(e["kind"], e["by"], e["comment"]) for e in history][-1] == (
                "acknowledged", "otto", "propellant low, known")
            headers = await accounts.sign_in(fiona, "fiona")
            r = await fiona.post(f"/api/alarms/{alarm_id}/shelve", json={"duration_s": 60},
                                 headers=headers)
            assert r.status == 200 and (await r.json())["shelved_by"] == "fiona"
            r = await fiona.post("/api/alarms/999/clear", json={}, headers=headers)
            assert r.status == 404
            return (await (await client.get("/api/audit")).json())["audit"]

    api_rows = run(check())
    rows = [r for r in audit_rows(ingest.archive) if r.action.startswith("alarm.")]
    assert [(r.user, r.role, r.action, r.target, r.outcome[:13]) for r in rows] == [
        ("otto", "operator", "alarm.acknowledge", f"alarm {alarm_id}", "refused (400)"),
        ("otto", "operator", "alarm.acknowledge", f"alarm {alarm_id}", "ok"),
        ("fiona", "flight_director", "alarm.shelve", f"alarm {alarm_id}", "ok"),
        ("fiona", "flight_director", "alarm.clear", "alarm 999", "refused (404)")]
    assert rows[1].detail == {"comment": "propellant low, known",
                              "parameter": "prop.propellant_kg"}
    assert rows[1].t_ground == 123.5 and rows[2].detail["duration_s"] == 60
    assert [r["action"] for r in api_rows if r["action"].startswith("alarm.")] == [
        r.action for r in rows]
    with Archive(ingest.archive.path, read_only=True) as reader:  # committed at once
        assert len(reader.audit_page(100)[0]) == len(audit_rows(ingest.archive))


def test_a_stolen_cookie_without_the_csrf_token_is_refused(alarmed, accounts):
    ingest, alarm_id = alarmed
    ack = f"/api/alarms/{alarm_id}/acknowledge"

    async def check():
        async with TestClient(TestServer(make_app(ingest, Clock(100.0)))) as client:
            cookie = f"td_session_{client.port}"

            def session_id() -> str:
                return client.session.cookie_jar.filter_cookies(client.make_url("/"))[
                    cookie].value

            async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as thief:
                async def post(sid: str, **headers: str) -> aiohttp.ClientResponse:
                    return await thief.post(client.make_url(ack), json={}, headers={
                        "Cookie": f"{cookie}={sid}", **headers})

                fixed_token = (await (await client.get("/api/session")).json())["csrf_token"]
                anonymous = session_id()  # known to someone before the victim signs in
                await accounts.sign_in(client, "otto")
                stolen = session_id()
                r = await thief.get(client.make_url("/api/session"),
                                    headers={"Cookie": f"{cookie}={stolen}"})
                assert (await r.json())["user"] == "otto"  # the cookie is the victim's
                for headers in ({}, {"X-CSRF-Token": "0" * 64},
                                {"X-CSRF-Token": fixed_token}):
                    r = await post(stolen, **headers)
                    assert r.status == 403 and (await r.json())["refused"] == "csrf"
                r = await post(anonymous, **{"X-CSRF-Token": fixed_token})
                assert r.status == 401  # a session id fixed before signing in: worth nothing
            assert ingest.archive.alarm(alarm_id).t_acknowledged is None

    run(check())


def test_failed_sign_ins_are_401_alike_audited_and_rate_limited(alarmed, accounts):
    ingest, _ = alarmed
    app = make_app(ingest, Clock(42.0))
    wall = Clock(10_000.0)
    app[AUTH].limiter.clock = wall

    async def check():
        async with TestClient(TestServer(app)) as client:
            token = (await (await client.get("/api/session")).json())["csrf_token"]
            headers = {"X-CSRF-Token": token}
            answers = []
            for k in range(5):  # (docs/ground.md: five, then 30 s)
                name = "otto" if k % 2 else "nobody"  # a known name or not: the same answer
                r = await client.post("/api/login", json={"name": name, "password": "guess"},
                                      headers=headers)
                answers.append((r.status, await r.json()))
            assert {s for s, _ in answers} == {401}
            assert {b["error"] for _, b in answers} == {"sign-in failed: wrong name or password"}
            for _ in range(3):  # now even the right password waits
                r = await client.post("/api/login", json={"name": "otto",
                                                          "password": accounts.password},
                                      headers=headers)
                assert r.status == 429 and r.headers["Retry-After"] == "30"
                assert "wait 30 s" in (await r.json())["error"]
            wall.t += 30.0
            await accounts.sign_in(client, "otto")

    run(check())
    rows = audit_rows(ingest.archive, action="sign_in")
    assert [r.outcome[:13] for r in rows] == ["refused (401)"] * 5 + [
        "refused (429)", "ok"]  # one row for the three refused while waiting
    assert [r.user for r in rows[:2]] == [None, "otto"]  # an unknown name is not kept
    assert [r.detail.get("name_known") for r in rows[:2]] == [False, True]


def test_password_checks_leave_the_event_loop_free(alarmed, accounts, monkeypatch):
    ingest, _ = alarmed
    calls = []
    slow = auth.verify_password  # (auth's name for it: the one the server calls)

    def watched(*args):
        import threading
        calls.append(threading.current_thread() is threading.main_thread())
        return slow(*args)

    monkeypatch.setattr(auth, "verify_password", watched)

    async def check():
        async with TestClient(TestServer(make_app(ingest, Clock(1.0)))) as client:
            ticks = 0

            async def tick():
                nonlocal ticks
                while True:
                    await asyncio.sleep(0.005)
                    ticks += 1

            ticker = asyncio.create_task(tick())
            await accounts.sign_in(client, "otto")
            ticker.cancel()
            return ticks

    ticks = run(check())
    assert calls == [False]  # in a worker thread
    assert ticks >= 5  # the loop went on meanwhile (argon2 takes ~0.1 s)


def test_a_read_only_server_lets_nobody_sign_in_or_act(tmp_path, accounts):
    path = tmp_path / "a.sqlite"
    with Archive(path, create=True) as a:
        accounts.add(a, "otto", "operator")
    before = path.read_bytes()
    with Archive(path, read_only=True) as a:
        ingest = Ingest(load_dictionary(), a)

        async def check():
            async with TestClient(TestServer(make_app(ingest, Clock(1.0)))) as client:
                s = await (await client.get("/api/session")).json()
                assert s["read_only"] is True and s["user"] is None
                r = await client.post("/api/login", json={"name": "otto",
                                                           "password": accounts.password},
                                      headers={"X-CSRF-Token": s["csrf_token"]})
                assert r.status == 409 and "--read-only" in (await r.json())["error"]
                rows = (await (await client.get("/api/audit")).json())["audit"]
                assert [r["action"] for r in rows] == ["user.add"]

        run(check())
    assert path.read_bytes() == before
