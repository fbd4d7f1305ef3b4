"""The command panel in a real browser (Debian's Chromium, driven by Playwright) against
`touchdown fly hakuto-r-m1 --live --all-roles`: the flight's throwaway operator, flight
director and viewer sign in through the page. Nobody signed in and the viewer cannot send (the
panel says why, the server refuses with the same words); the operator sends engine_arm and
watches it reach its effect, cannot send a telemetry_rate out of its range, arms and executes
lrf_policy terrain_aware, which waits for a flight director; the flight director approves it
and it is executed onboard; computer_reset, armed and executed in the orbit, is approved once
braking has begun and the flight rule no_reset_in_powered_descent blocks it, its reason shown;
the flight director's override asks for a reason, and the command is cancelled. The history,
its CSV export and the audit log agree; the archive reopened (no uplink) shows the history and
sends nothing.

Screenshots go to out/screenshots/command-panel-*.png (look at them).
"""

import csv
import io
import json
import re
import urllib.request

from tests.ground.browser import SHOTS, ground, touchdown, wait_for

# M1's ground clock starts at T+0; the signal is acquired near T+38, braking starts at T+56:14
# and the lander (with lrf_policy terrain_aware) lands near T+72: at x30 about 75 s of silence,
# 36 s of orbit with the lander heard, 32 s of powered descent
SPEED = 30


def frame(page, title: str):
    """The Landing display's frame of the object titled ``title``."""
    return page.locator(".c-fl-frame", has=page.locator(".c-object-label__name",
                                                         has_text=title)).first


def signed_in(page) -> str:
    return page.locator(".td-session .td-session-user").text_content()


def sign_in(page, name: str, password: str) -> None:
    """Sign out whoever is signed in, then sign in through the indicator's form."""
    indicator = page.locator(".td-session")
    if indicator.locator(".td-session-button", has_text="Sign out").count():
        indicator.locator(".td-session-button").click()
        wait_for(lambda: signed_in(page) == "Not signed in", 10, "signed out")
    indicator.locator(".td-session-button", has_text="Sign in").click()
    form = page.locator("form.td-signin")
    form.locator("input[name='name']").fill(name)
    form.locator("input[name='password']").fill(password)
    form.locator("button[type='submit']").click()
    wait_for(lambda: signed_in(page).startswith(f"{name} · "), 10, f"{name} signed in")


def choose(panel, command: str, **arguments: str) -> None:
    """Pick a command in the panel's form and fill its arguments."""
    panel.locator("select[name='command']").select_option(command)
    for name, value in arguments.items():
        panel.locator(f".td-cmd-args select[name='{name}']").select_option(value)


def card(panel, command_id: int):
    return panel.locator(f".td-cmd[data-command-id='{command_id}']")


def state_of(panel, command_id: int) -> str | None:
    c = card(panel, command_id)
    return c.get_attribute("data-state") if c.count() else None


def wait_state(panel, command_id: int, state: str, timeout_s: float = 30) -> None:
    wait_for(lambda: state_of(panel, command_id) == state, timeout_s,
             f"command {command_id} {state} (it is {state_of(panel, command_id)})")


def stages_of(panel, command_id: int) -> list[tuple[str, str, str]]:
    """The command's stage rows as shown: (T+ time, stage, who and why)."""
    rows = card(panel, command_id).locator(".td-cmd-stages tr")
    return [tuple(rows.nth(i).locator("td").nth(k).inner_text() for k in range(3))
            for i in range(rows.count())]


def post_as_page(page, path: str, body: dict) -> str:
    """POST through the page's own API client (its session and CSRF token); 'ok' or the
    server's words."""
    return page.evaluate("""([path, body]) => touchdown.api.postJSON(path, body)
        .then(() => 'ok', (e) => e.serverMessage)""", [path, body])


def test_a_live_flight_commanded_from_the_panel_by_three_people(browser, tmp_path):
    archive = tmp_path / "live.sqlite"
    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    SHOTS.mkdir(parents=True, exist_ok=True)
    with touchdown("fly", "hakuto-r-m1", "--live", "--all-roles", "--speed", str(SPEED),
                   "--port", "0", "--archive", str(archive), "-q") as live:
        url, users = live.url, live.users
        operator, director, viewer = (users[r] for r in ("operator", "flight_director",
                                                         "viewer"))
        page.goto(url)  # the downlink starts when the page opens
        panel = frame(page, "Commands")
        send = panel.locator(".td-cmd-send")
        why = panel.locator(".td-cmd-why")
        wait_for(lambda: panel.locator("option[value='engine_arm']").count(), 30,
                 "the command dictionary in the panel")
        assert panel.locator(".td-cmd-banner").is_hidden()  # a live flight: an uplink

        # nobody signed in, then a viewer: the panel shows everything and sends nothing
        choose(panel, "engine_arm")
        assert send.is_disabled() and why.inner_text().startswith("not signed in: sign in")
        sign_in(page, *viewer)
        assert send.is_disabled()
        assert why.inner_text() == (f"signed in as {viewer[0]}, a viewer: a viewer may not send "
                                    "commands; sign in as an operator or a flight director")
        # the server agrees, in its words
        assert post_as_page(page, "/api/commands", {"name": "engine_arm", "arguments": {}}) == (
            f"signed in as {viewer[0]}, a viewer: a viewer may not send commands; sign in as an "
            "operator or a flight_director")
        page.screenshot(path=SHOTS / "command-panel-viewer.png")

        # the operator sends a normal command with one button: it goes up and is verified (once
        # the lander is heard: before, the panel warns that it may not hear the command)
        sign_in(page, *operator)
        status, warning = page.evaluate(  # read together: the warning follows the link
            "[touchdown.feed.link?.status, document.querySelector('.td-cmd-link').textContent]")
        if status != "OK":  # (it is acquired some 40 s after the page opens, at x30)
            assert warning.startswith("no signal from the lander yet: a command sent now may "
                                      "not arrive"), warning
        link_warning = panel.locator(".td-cmd-link")
        wait_for(lambda: link_warning.text_content() == "", 150, "the signal acquired")
        assert send.text_content() == "Send" and send.is_enabled()
        panel.locator(".td-cmd-info .td-badge-normal").wait_for()
        send.click()
        wait_for(lambda: "command 1 (engine_arm) released" in panel.locator(
            ".td-cmd-message").inner_text(), 10, "engine_arm released")
        wait_state(panel, 1, "effect")
        shown = stages_of(panel, 1)
        assert [s for _, s, _ in shown] == ["queued", "released", "sent", "radiated",
                                            "received", "executed", "effect"]
        assert all(re.fullmatch(r"T\+\d\d:\d\d\.\d", t) for t, _, _ in shown)
        assert shown[0][2] == f"by {operator[0]}"
        assert re.fullmatch(r"commanding\.engines == armed at onboard T\+\d\d:\d\d\.\d",
                            shown[-1][2]), shown[-1]
        # the command link's line: the lander's CLCW (every frame's OCF) counts the frame
        uplink = panel.locator(".td-cmd-uplink-text")
        wait_for(lambda: "lander V(R) 1 at T+" in uplink.inner_text(), 10, "V(R) 1 in the CLCW")
        assert uplink.inner_text().startswith("Uplink running · 0 unacknowledged, 0 waiting")
        assert panel.locator(".td-cmd-uplink button").count() == 0  # nothing to direct

        # a number out of its range blocks sending, with the dictionary's range and unit
        choose(panel, "telemetry_rate", packet="nav")
        period = panel.locator(".td-cmd-args input[name='period_s']")
        assert period.get_attribute("placeholder") == "[0.1, 60] s"
        period.fill("0.05")
        assert send.is_disabled() and why.inner_text() == "fix period_s (above)"
        assert panel.locator(".td-cmd-arg:has(input[name='period_s']) .td-cmd-arg-error"
                             ).inner_text() == "period_s must be within [0.1, 60] s, got 0.05"
        page.mouse.move(10, 500)
        page.screenshot(path=SHOTS / "command-panel-arguments.png")
        period.fill("2")
        assert send.is_enabled() and why.inner_text() == ""

        # a critical command: the form asks for its argument, then arms it; Execute; it waits
        choose(panel, "lrf_policy")
        assert panel.locator(".td-cmd-compose").get_attribute("class").endswith("is-critical")
        assert panel.locator(".td-cmd-info .td-badge-critical").text_content() == (
            "CRITICAL · two people")
        assert send.text_content() == "Arm" and send.is_disabled()
        assert why.inner_text() == "choose a policy"
        choose(panel, "lrf_policy", policy="terrain_aware")
        send.click()
        wait_state(panel, 2, "armed", 10)
        card(panel, 2).locator(".td-cmd-act-execute").click()
        wait_state(panel, 2, "approval", 10)
        assert card(panel, 2).locator(".td-cmd-act-approve").count() == 0  # not an operator's
        assert f"executed by {operator[0]}: waiting for a flight director" in card(
            panel, 2).locator(".td-cmd-note").inner_text()

        # computer_reset, armed and executed in the orbit: approved only once braking begins
        choose(panel, "computer_reset")
        assert "no_reset_in_powered_descent" in panel.locator(".td-cmd-rule").inner_text()
        send.click()
        wait_state(panel, 3, "armed", 10)
        card(panel, 3).locator(".td-cmd-act-execute").click()
        wait_state(panel, 3, "approval", 10)
        page.mouse.move(10, 500)
        page.screenshot(path=SHOTS / "command-panel-operator.png")

        # the flight director approves lrf_policy: released, received and executed onboard
        sign_in(page, *director)
        approve = card(panel, 2).locator(".td-cmd-act-approve")
        assert approve.is_enabled()
        approve.click()
        wait_state(panel, 2, "executed")
        shown = [(s, who) for _, s, who in stages_of(panel, 2)]
        assert shown[:4] == [("queued", f"by {operator[0]}"), ("armed", f"by {operator[0]}"),
                             ("approval", f"by {operator[0]}"),
                             ("released", f"by {director[0]}")]
        assert [s for s, _ in shown[4:]] == ["sent", "radiated", "received", "executed"]

        # in braking, the flight rule blocks the reset; its reason is shown
        mode = frame(page, "Guidance and range finder").locator("tr", has_text="gnc.mode")
        wait_for(lambda: "braking" in mode.inner_text(), 150, "braking")
        card(panel, 3).locator(".td-cmd-act-approve").click()
        wait_state(panel, 3, "blocked", 10)
        note = card(panel, 3).locator(".td-cmd-note").inner_text()
        assert note.startswith("no_reset_in_powered_descent: No computer or IMU reset in "
                               "powered descent"), note
        assert "Beresheet" in note
        assert stages_of(panel, 3)[-1][1:] == ("blocked", "no_reset_in_powered_descent")
        card(panel, 3).locator(".td-cmd-act-override").click()
        override = card(panel, 3).locator("form.td-cmd-override")
        override.locator(".td-form-submit").click()  # no reason: refused before it is sent
        assert "say why the rule is overridden" in override.locator(
            ".td-form-message").inner_text()
        page.mouse.move(10, 500)
        page.screenshot(path=SHOTS / "command-panel-blocked.png")
        override.locator(".td-form-cancel").click()
        card(panel, 3).locator(".td-cmd-act-cancel").click()
        wait_state(panel, 3, "cancelled", 10)
        assert stages_of(panel, 3)[-1][1:] == ("cancelled", f"by {director[0]}")

        # the history, newest first, and its CSV export
        ids = [int(x) for x in panel.locator(".td-cmd").evaluate_all(
            "cards => cards.map((c) => c.dataset.commandId)")]
        assert ids == [3, 2, 1]
        assert panel.locator(".td-cmd-csv").get_attribute("href") == "/api/commands.csv"
        with urllib.request.urlopen(url + "api/commands.csv", timeout=10) as r:
            rows = list(csv.DictReader(io.StringIO(r.read().decode())))
        assert {(row["id"], row["stage"]) for row in rows} >= {
            ("1", "effect"), ("2", "executed"), ("3", "blocked"), ("3", "cancelled")}
        with urllib.request.urlopen(url + "api/audit?limit=100", timeout=10) as r:
            audit = json.load(r)["audit"]
        page.mouse.move(10, 500)
        page.screenshot(path=SHOTS / "command-panel-history.png")

    # the archive reopened: no uplink, so the panel says where commands go and sends nothing;
    # the history is the flight's
    with ground(archive) as url:
        page.goto(url)
        panel = frame(page, "Commands")
        banner = panel.locator(".td-cmd-banner")
        wait_for(lambda: banner.is_visible(), 30, "the no-uplink banner")
        assert banner.inner_text().startswith("This server has no uplink (a recorded flight): "
                                              "commands go to a live flight")
        wait_for(lambda: panel.locator(".td-cmd").count() == 3, 10, "the archived history")
        assert [state_of(panel, i) for i in (1, 2, 3)] == ["effect", "executed", "cancelled"]
        choose(panel, "engine_arm")
        assert panel.locator(".td-cmd-send").is_disabled()
        assert panel.locator(".td-cmd-why").inner_text() == (
            "no uplink here: commands go to a live flight")
        assert panel.locator(".td-cmd-act").count() == 0  # history only
        page.mouse.move(10, 500)
        page.screenshot(path=SHOTS / "command-panel-no-uplink.png")
    assert errors == []
    page.close()
    acts = [(a["user"], a["action"], a["outcome"].split(":")[0]) for a in audit
            if a["action"] in ("queue", "arm", "execute", "approve", "override", "cancel")]
    assert acts == [
        (viewer[0], "queue", "refused (403)"),
        (operator[0], "queue", "ok"),
        (operator[0], "queue", "ok"), (operator[0], "arm", "ok"), (operator[0], "execute", "ok"),
        (operator[0], "queue", "ok"), (operator[0], "arm", "ok"), (operator[0], "execute", "ok"),
        (director[0], "approve", "ok"), (director[0], "approve", "ok"),
        (director[0], "cancel", "ok")]
