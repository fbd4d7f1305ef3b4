"""Signing in to mission control in a real browser (Debian's Chromium, driven by Playwright),
against `touchdown ground` on an archive with two alarms and two users: nobody signed in and a
viewer are refused with the server's words; an operator acknowledges and the alarm, its
history and the audit log name them.

Screenshots go to out/screenshots/sign-in-*.png (look at them).
"""

import json
import urllib.request
from pathlib import Path

import pytest
from tests.ground.browser import SHOTS, ground, wait_for

from touchdown.ground.archive import Archive
from touchdown.ground.ingest import Ingest


@pytest.fixture
def station(tmp_path, dictionary, encoder, packet, accounts) -> Path:
    """An archive with the range finder declared faulty (a critical alarm) and the propellant
    at 0 kg (a warning), a viewer (vera) and an operator (otto)."""
    path = tmp_path / "station.sqlite"
    with Archive(path, create=True) as archive:
        ingest = Ingest(dictionary, archive)
        for k in range(20):
            ingest.packet(packet(dictionary, encoder, "nav", 100.0 + k), 101.0 + k)
        ingest.packet(packet(dictionary, encoder, "lrf", 110.0, state=2), 111.0)
        ingest.packet(packet(dictionary, encoder, "prop", 112.0, propellant_kg=0.0), 113.0)
        accounts.add(archive, "vera", "viewer")
        accounts.add(archive, "otto", "operator")
    return path


def sign_in(page, name: str, password: str) -> None:
    """Sign in through the indicator's form."""
    indicator = page.locator(".td-session")
    indicator.locator(".td-session-button", has_text="Sign in").click()
    form = page.locator("form.td-signin")
    form.locator("input[name='name']").fill(name)
    form.locator("input[name='password']").fill(password)
    form.locator("button[type='submit']").click()


def acknowledge(alarm, comment: str) -> str:
    """Open the alarm's acknowledge form, send it; the form's message (empty: done)."""
    alarm.locator(".td-act-acknowledge").click()
    form = alarm.locator("form.td-form-acknowledge")
    form.locator("input[name='comment']").fill(comment)
    form.locator(".td-form-submit").click()
    return form


def test_a_viewer_is_refused_and_an_operator_acknowledges(browser, station, accounts):
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    posts: list = []
    page.on("request", lambda r: posts.append(r) if r.method == "POST" else None)
    SHOTS.mkdir(parents=True, exist_ok=True)
    with ground(station) as url:
        page.goto(url)
        indicator = page.locator(".td-session")

        def signed_in() -> str:  # (the status bar shows it in capitals)
            return indicator.locator(".td-session-user").text_content()

        wait_for(lambda: signed_in() == "Not signed in", 30, "the indicator")
        alarms = page.locator(".c-fl-frame", has=page.locator(".c-object-label__name",
                                                              has_text="Alarms")).first
        lrf = alarms.locator(".td-alarm.is-active[data-parameter='lrf.state']")
        wait_for(lambda: lrf.count() and "CRITICAL" in lrf.inner_text(), 30, "the lrf alarm")

        # nobody signed in: the server's 401, in the form
        form = acknowledge(lrf, "seen")
        assert "not signed in" in form.locator(".td-form-as").inner_text()
        message = form.locator(".td-form-message")
        wait_for(lambda: message.inner_text(), 10, "the refusal")
        assert message.inner_text().startswith("sign in first: POST /api/login")
        form.locator(".td-form-cancel").click()

        # a wrong password: the one generic message
        sign_in(page, "vera", "not the password")
        signin = page.locator("form.td-signin")
        wait_for(lambda: "wrong name or password" in signin.inner_text(), 10, "the failure")
        page.screenshot(path=SHOTS / "sign-in-form.png")
        signin.locator("button", has_text="Cancel").click()

        # a viewer: refused with the server's reason, nothing changes
        sign_in(page, "vera", accounts.password)
        wait_for(lambda: signed_in() == "vera · viewer", 10, "vera signed in")
        assert page.locator("form.td-signin").is_hidden()
        form = acknowledge(lrf, "seen")
        assert form.locator(".td-form-as").inner_text() == "as vera"
        message = form.locator(".td-form-message")
        wait_for(lambda: message.inner_text(), 10, "the refusal")
        assert message.inner_text() == ("signed in as vera, a viewer: a viewer may not "
                                        "acknowledge alarms; sign in as an operator or a "
                                        "flight_director")
        assert lrf.locator(".td-line-acknowledged").inner_text() == "not yet"
        page.screenshot(path=SHOTS / "sign-in-viewer-refused.png")
        form.locator(".td-form-cancel").click()

        # sign out, then in as an operator: acknowledged in the operator's name
        indicator.locator(".td-session-button", has_text="Sign out").click()
        wait_for(lambda: signed_in() == "Not signed in", 10, "signed out")
        sign_in(page, "otto", accounts.password)
        wait_for(lambda: signed_in() == "otto · operator", 10, "otto signed in")
        acknowledge(lrf, "range finder fault, known")
        acknowledged = lrf.locator(".td-line-acknowledged")
        wait_for(lambda: "otto at T+" in acknowledged.inner_text(), 10, "the acknowledgement")
        assert "“range finder fault, known”" in acknowledged.inner_text()
        page.mouse.move(10, 500)
        page.screenshot(path=SHOTS / "sign-in-operator-acknowledged.png")
        alarms.locator(".td-history-toggle").click()
        history = alarms.locator(".td-alarm-history")
        wait_for(lambda: "acknowledged by otto" in history.inner_text(), 10, "the history")

        acks = [r for r in posts if r.url.endswith("/acknowledge")]
        assert [r.response().status for r in acks] == [401, 403, 200]
        assert all(r.headers.get("x-csrf-token") for r in posts)
        assert [r.post_data_json for r in acks] == [
            {"comment": "seen"}, {"comment": "seen"}, {"comment": "range finder fault, known"}]
        logins = [r for r in posts if r.url.endswith("/api/login")]
        assert [r.response().status for r in logins] == [401, 200, 200]
        with urllib.request.urlopen(url + "api/audit", timeout=10) as r:
            audit = json.load(r)["audit"]
    assert errors == []
    page.close()
    steps = [(a["user"], a["action"], a["outcome"].split(":")[0]) for a in audit
             if a["action"] not in ("user.add",)]
    assert steps == [
        ("vera", "sign_in", "refused (401)"), ("vera", "sign_in", "ok"),
        ("vera", "alarm.acknowledge", "refused (403)"), ("vera", "sign_out", "ok"),
        ("otto", "sign_in", "ok"), ("otto", "alarm.acknowledge", "ok")]
