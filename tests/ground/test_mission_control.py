"""Mission control in a real browser: `touchdown fly hakuto-r-m1 --live` at high speed, watched
through Open MCT in Debian's Chromium driven by Playwright, signed in as the throwaway operator
the flight prints.

The screenshots go to out/screenshots/ (look at them): the live Landing display just after loss of
signal and held at it (landing-los.png, the banner), the camera's images that came down, the
alarm history after the operator's actions, the archived flight reopened, in UTC and in
mission-elapsed time (T+), its timeline, and the Landing display at three screen sizes.
"""

import re
import time

import numpy as np
import pytest
from matplotlib import image
from tests.ground.browser import SHOTS, touchdown, wait_for

SPEED = 200  # the 53 min from acquisition of signal to impact stream in about 16 s
ESTIMATE_RGB = (0x4D, 0xD3, 0xFF)  # plugin/objects.js: the altitude estimate's line
REJECTED_RGB = (0xFF, 0x4D, 0x4D)  # and rejected range readings
IMPACT_RGB = (0xFF, 0x9F, 0x1A)  # plugin/map.js: the impact point estimate


def pixels_near(png: bytes, rgb: tuple[int, int, int], tol: int = 40) -> int:
    """How many pixels of a screenshot are within tol of a colour."""
    import io

    img = (image.imread(io.BytesIO(png), format="png")[..., :3] * 255).astype(int)
    return int((np.abs(img - np.array(rgb)).max(axis=-1) <= tol).sum())


def frame(page, title: str):
    """The Landing display's frame of the object titled ``title``."""
    return page.locator(".c-fl-frame", has=page.locator(".c-object-label__name",
                                                         has_text=title)).first


def test_a_live_landing_shows_values_plots_the_rejection_alarm_and_loss_of_signal(
        browser, tmp_path):
    archive = tmp_path / "live.sqlite"
    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    outside: list[str] = []  # everything must come from the ground server: no internet
    page.on("request", lambda r: None if r.url.startswith(("http://127.0.0.1:", "ws://127.0.0.1:",
                                                           "data:", "blob:"))
            else outside.append(r.url))
    with touchdown("fly", "hakuto-r-m1", "--live", "--speed", str(SPEED), "--port", "0",
                   "--archive", str(archive), "-q") as live:
        page.goto(live.url)  # the downlink starts when the page opens
        watch_the_landing(page)
        banner = hold_at_loss_of_signal(page)
        act_on_alarms(page, live.user, live.password)
    # the archived flight opened afterwards shows the descent (fixed time span)
    with touchdown("ground", "--archive", str(archive), "--port", "0", "--ingest-port",
                   "0") as again:
        page.goto(again.url)
        page.wait_for_selector("text=FIXED TIMESPAN", timeout=30_000)
        altitude = frame(page, "Altitude estimate and range finder")
        wait_for_plot(altitude, "the archived descent plotted")
        alarms = frame(page, "Alarms")
        lrf = alarms.locator(".td-alarm[data-parameter='lrf.state']").first
        wait_for(lambda: f"{live.user} at T+" in lrf.locator(".td-line-acknowledged").inner_text(),
                 10, "the acknowledgement, archived")
        assert COMMENT in lrf.inner_text()
        wait_for_track(page)
        # the same banner as live, and the impact point on the map
        assert page.locator(".td-los").inner_text() == banner
        fold = page.locator(".td-los-fold")  # folds to its first line, and back
        fold.click()
        assert not page.locator(".td-los-line").first.is_visible()
        assert page.locator(".td-los").inner_text().startswith("LOSS OF SIGNAL")
        fold.click()
        assert page.locator(".td-los-line").first.is_visible()
        wait_for(lambda: pixels_near(frame(page, "Ground track").screenshot(), IMPACT_RGB) > 30,
                 10, "the impact point on the map")
        ask_again_after_reconnecting(page)
        page.screenshot(path=SHOTS / "landing-archive.png")
        switch_to_mission_elapsed_time(page)
        wait_for_track(page)
        page.screenshot(path=SHOTS / "landing-archive-met.png")
        read_the_timeline(page, live.user)
        check_layout_at_screen_sizes(page)
    assert errors == [] and outside == []
    page.close()


COMMENT = "range finder ignored onboard; known"


def ask_again_after_reconnecting(page) -> None:
    """A feed that was closed (the server dropped the page as too slow to read, or restarted)
    missed what was sent meanwhile: once it is open again, the views ask for their window."""
    asked: list[str] = []

    def on_request(request) -> None:
        if "/api/history/" in request.url:
            asked.append(request.url)

    page.on("request", on_request)
    page.evaluate("() => window.touchdown.feed.ws.close()")
    wait_for(lambda: page.evaluate("() => window.touchdown.feed.connected") and asked, 10,
             "the views asking for their window again after the feed reconnected")
    page.remove_listener("request", on_request)
    events = frame(page, "Events").locator("tbody tr")
    wait_for(lambda: events.count() >= 5, 10, "the events shown again")


def wait_for_plot(plot, what: str) -> bytes:
    """Wait until a plot frame shows the rejected range readings and the altitude estimate."""
    shot = wait_for(lambda: (lambda png: png if pixels_near(png, REJECTED_RGB) > 100
                             else None)(plot.screenshot()), 30, what)
    assert pixels_near(shot, ESTIMATE_RGB) > 200
    return shot


def wait_for_track(page) -> None:
    """Wait until the ground track shows the map with the rejected range readings on it."""
    track = frame(page, "Ground track")
    wait_for(lambda: pixels_near(track.screenshot(), REJECTED_RGB) > 50, 30,
             "the ground track drawn")
    time.sleep(0.5)


def watch_the_landing(page) -> None:
    """Live, at SPEED: values, plot points, the range-finder and propellant alarms (trigger and
    most severe apart), LOS at the last packet's receive time."""
    # the Landing display opens by itself, its parts made from the dictionary
    page.wait_for_selector("text=Altitude estimate and range finder", timeout=30_000)
    altitude = frame(page, "Altitude estimate and range finder")

    # values arrive: the guidance mode in the status table, points in the altitude plot
    status = frame(page, "Guidance and range finder")
    mode_row = status.locator("tr", has_text="gnc.mode")
    wait_for(lambda: mode_row.count() and re.search(
        r"braking|approach|descent", mode_row.first.inner_text()), 60, "gnc.mode values")
    wait_for(lambda: pixels_near(altitude.screenshot(), ESTIMATE_RGB) > 200, 30,
             "the altitude estimate plotted")

    # the range finder's readings are rejected: an alarm appears in the alarm list, its trigger
    # and most severe value by name, at T+ times
    alarms = frame(page, "Alarms")
    lrf_alarm = alarms.locator(".td-alarm.is-active[data-parameter='lrf.state']")
    wait_for(lambda: lrf_alarm.count() and "CRITICAL" in lrf_alarm.inner_text(), 60,
             "the lrf.state alarm")
    assert re.fullmatch(r"CRITICAL faulty at T\+64:\d\d\.\d",
                        lrf_alarm.locator(".td-line-trigger").inner_text())
    assert lrf_alarm.locator(".td-line-most_severe").inner_text().startswith("CRITICAL faulty")
    assert alarms.locator(".td-alarm[data-parameter='lrf.rejected_run']").count() == 1
    assert pixels_near(altitude.screenshot(), REJECTED_RGB) > 20, "no rejected readings drawn"

    # loss of signal shows in the link view and the status bar: the last packet's receive time
    link = frame(page, "Link")
    wait_for(lambda: "LOS at T+72:2" in link.inner_text(), 60, "loss of signal")
    indicator = page.locator(".c-indicator", has_text=re.compile("LOS at T", re.I)).first
    assert "light time 1.3" in indicator.inner_text().lower()
    for counter in ("CRC failed", "lost in", "octets discarded hunting for sync", "duplicates"):
        assert counter in link.inner_text(), counter
    assert link.locator(".td-apids tbody tr").count() >= 5  # per APID: nav, lrf, gnc, prop...

    # the propellant alarm keeps what triggered it (a WATCH near 40 kg) apart from the worst
    propellant = alarms.locator(".td-alarm[data-parameter='prop.propellant_kg']").first
    wait_for(lambda: propellant.count() and "CRITICAL" in propellant.locator(
        ".td-line-most_severe").inner_text(), 10, "the propellant alarm's most severe value")
    trigger = propellant.locator(".td-line-trigger").inner_text()
    assert re.fullmatch(r"WATCH \d+\.\d kg at T\+6\d:\d\d\.\d", trigger), trigger
    assert float(trigger.split()[1]) > 30
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / "landing-live.png")

    # the camera's images came down during the flight and show: the newest in the frame, every
    # one in the filmstrip, the complete ones marked so, a picture drawn (its pixels decoded)
    camera = frame(page, "Camera")
    thumbs = camera.locator(".td-img-thumb")
    wait_for(lambda: thumbs.count() >= 5, 30, "the camera's images in the filmstrip")
    assert camera.locator(".td-img-thumb[data-state='complete']").count() >= 3
    main = camera.locator("img.td-img-main")
    wait_for(lambda: main.evaluate("i => i.complete && i.naturalWidth") == 512, 10,
             "the newest image drawn")
    assert re.match(r"#\d+ · T\+\d\d:\d\d\.\d · ", camera.locator(".td-img-caption").inner_text())
    thumbs.first.click()  # an older one, picked
    wait_for(lambda: main.get_attribute("data-image-id") == "1", 10, "image 1 shown")
    assert "picked" in camera.locator(".td-img-caption").inner_text()
    thumbs.first.click()  # back to following the newest
    wait_for(lambda: "picked" not in camera.locator(".td-img-caption").inner_text(), 10,
             "the newest image followed again")
    camera.screenshot(path=SHOTS / "camera-live.png")


def hold_at_loss_of_signal(page) -> str:
    """At LOS the screen holds: the banner shows the last known state, the outcome and the
    impact point; the clock stops at the newest onboard time received, so the events stay in
    the window while the flight's time would run on (3 s here are 10 minutes at SPEED).
    Returns the banner's text."""
    banner = page.locator(".td-los")
    wait_for(lambda: banner.is_visible() and "Impact point estimate: 47." in banner.inner_text(),
             20, "the loss-of-signal banner")
    text = banner.inner_text()
    assert re.search(r"^LOSS OF SIGNAL · last packet received T\+72:2\d\.\d, newest onboard "
                     r"time T\+72:2\d\.\d \(2023-04-25 16:5\d:\d\d\.\d UTC\)", text), text
    for said in ("Last known state (T+72:", "altitude estimate -3,", "propellant -",
                 "mode terminal descent", "Outcome estimate, falling with no thrust: impact at",
                 "95 % ellipse"):
        assert said in text, said
    end = lambda: page.evaluate("() => window.openmct.time.getBounds().end")  # noqa: E731
    events = frame(page, "Events").locator("tbody tr")
    # (the banner took room from the page: the table draws its rows again at its new size)
    shown = wait_for(lambda: (lambda n: n if n >= 5 else 0)(events.count()), 10,
                     "the events at loss of signal")
    before = end()
    time.sleep(3.0)
    page.screenshot(path=SHOTS / "landing-los.png")
    assert end() == before, "the clock ran on after loss of signal"
    assert events.count() == shown, "the events emptied after loss of signal"

    return text


def act_on_alarms(page, user: str, password: str) -> None:
    """Sign in as the flight's operator, then acknowledge with a comment, shelve for a day and
    unshelve, through the page: every POST carries the session's CSRF token as JSON, and the
    server names the operator; then the alarm history lists them in order."""
    posts: list = []
    page.on("request", lambda r: posts.append(r) if r.method == "POST" else None)
    logins: list = []
    page.on("response", lambda r: logins.append(r) if r.url.endswith("/api/login") else None)
    indicator = page.locator(".td-session")
    indicator.locator(".td-session-button").click()
    signin = page.locator("form.td-signin")
    signin.locator("input[name='name']").fill(user)
    signin.locator("input[name='password']").fill(password)
    signin.locator("button[type='submit']").click()
    wait_for(lambda: indicator.locator(".td-session-user").text_content() == f"{user} · operator",
             10, "signed in")
    alarms = frame(page, "Alarms")
    lrf_alarm = alarms.locator(".td-alarm.is-active[data-parameter='lrf.state']")
    lrf_alarm.locator(".td-act-acknowledge").click()
    form = lrf_alarm.locator("form.td-form-acknowledge")
    assert form.locator(".td-form-as").inner_text() == f"as {user}"
    form.locator("input[name='comment']").fill(COMMENT)
    form.locator(".td-form-submit").click()
    acknowledged = lrf_alarm.locator(".td-line-acknowledged")
    wait_for(lambda: f"{user} at T+" in acknowledged.inner_text(), 10, "the acknowledgement")
    assert f"“{COMMENT}”" in acknowledged.inner_text()
    assert form.count() == 0 and lrf_alarm.locator(".td-act-acknowledge").count() == 0
    (ack,) = [r for r in posts if r.url.endswith("/acknowledge")]
    assert ack.headers["content-type"] == "application/json"
    assert logins and ack.headers["x-csrf-token"] == logins[0].json()["csrf_token"]
    assert ack.post_data_json == {"comment": COMMENT}  # who acts is the session's user
    assert ack.response().status == 200

    # shelve another alarm for a day, then unshelve it
    run = alarms.locator(".td-alarm.is-active[data-parameter='lrf.rejected_run']")
    run.locator(".td-act-shelve").click()
    form = run.locator("form.td-form-shelve")
    assert form.locator(".td-form-as").inner_text() == f"as {user}"
    form.locator("select[name='duration']").select_option("86400")
    form.locator("input[name='comment']").fill("counted already")
    form.locator(".td-form-submit").click()
    wait_for(lambda: "SHELVED" in run.inner_text(), 10, "the shelve")
    assert re.search(rf"until T\+1\d\d\d:\d\d\.\d by {user}: “counted already”",
                     run.locator(".td-line-shelved").inner_text())
    run.locator(".td-act-unshelve").click()
    run.locator("form.td-form-unshelve .td-form-submit").click()
    wait_for(lambda: "SHELVED" not in run.inner_text(), 10, "the unshelve")
    assert [r.post_data_json.get("duration_s") for r in posts if r.url.endswith("/shelve")] \
        == [86400]
    assert all(r.headers.get("x-csrf-token") for r in posts)

    # the alarm history: a chronological list with the operators' actions
    alarms.locator(".td-history-toggle").click()
    history = alarms.locator(".td-alarm-history")
    wait_for(lambda: f"acknowledged by {user}" in history.inner_text(), 10,
             "the alarm history")
    text = history.inner_text()
    assert text.index("triggered CRITICAL faulty") < text.index(f"acknowledged by {user}")
    assert f"shelved by {user}: “counted already”" in text
    assert f"unshelved by {user}" in text
    times = [parse_met(t) for t in history.locator("td.td-time").all_inner_texts()]
    assert times and all(t is not None for t in times)
    alarms.screenshot(path=SHOTS / "alarm-history.png")
    alarms.locator(".td-history-toggle").click()  # back to the alarms


def parse_met(text: str) -> float | None:
    """T+mm:ss.s (the CLI's and the report's notation, touchdown.timefmt) -> s."""
    m = re.fullmatch(r"T([+-])(\d\d+):(\d\d\.\d)", text.strip())
    if not m:
        return None
    s = int(m[2]) * 60 + float(m[3])
    return -s if m[1] == "-" else s


def read_the_timeline(page, operator: str) -> None:
    """The Timeline (beside the Landing display) lists the range finder's rejection with its
    innovation, the loss of signal and the operator's acknowledgement after it, in that order;
    from warning up, only alarms and the loss are left."""
    page.goto(page.url.split("#")[0] + "#/browse/touchdown:root/touchdown:timeline"
              "?hideInspector=true")
    rows = page.locator(".td-timeline tbody tr")
    wait_for(lambda: rows.count() > 20, 20, "the timeline's rows")
    text = page.locator(".td-timeline tbody").inner_text()
    assert re.search(r"lrf_rejected: 1,2\d\d \(innovation", text), text[:2000]
    assert f"{operator} (operator)" in text and f"acknowledged by {operator}" in text
    order = [text.index(s) for s in ("lrf_rejected", "loss of signal", f"{operator} (operator)")]
    assert order == sorted(order)
    page.screenshot(path=SHOTS / "timeline-archive.png")
    everything = rows.count()
    page.locator(".td-timeline-filters select").select_option("warning")
    wait_for(lambda: 0 < rows.count() < everything, 10, "the timeline filtered")
    kinds = set(page.locator(".td-timeline tbody td:nth-child(3)").all_inner_texts())
    assert kinds <= {"alarm", "link"}, kinds


def check_layout_at_screen_sizes(page) -> None:
    """The Landing display at three screen sizes, a small laptop's to a large monitor's: every
    alarm row, scrolled into view, shows its severity word, parameter, lines (times) and action
    buttons whole and clickable: each visible, inside the list's and the frame's visible boxes,
    no wider inside than its box, each button what a click at its centre reaches. Text may wrap;
    a narrow pane puts the buttons under the text. Screenshots landing-WxH[-inspector].png."""
    cut = """(frame) => {
      const problems = [];
      const pane = frame.querySelector('.td-alarms-view');
      const within = (b, v) => b.left >= v.left - 0.5 && b.right <= v.right + 0.5 &&
        b.top >= v.top - 0.5 && b.bottom <= v.bottom + 0.5;
      const frameBox = frame.getBoundingClientRect();
      if (!within(frameBox, { left: 0, top: 0, right: innerWidth, bottom: innerHeight })) {
        problems.push('the Alarms frame is off the screen');
      }
      for (const row of frame.querySelectorAll('.td-alarm-list .td-alarm')) {
        row.scrollIntoView({ block: 'nearest' });
        const p = pane.getBoundingClientRect();
        const [left, top] = [p.left + pane.clientLeft, p.top + pane.clientTop];
        const view = { left, top, right: left + pane.clientWidth,
          bottom: top + pane.clientHeight };  // without the scroll bar
        const name = row.dataset.parameter;
        for (const [el, what] of [
          [row, 'row'],
          [row.querySelector('.td-alarm-head .td-sev'), 'severity'],
          [row.querySelector('.td-alarm-head .td-param'), 'parameter'],
          ...[...row.querySelectorAll('.td-alarm-lines dd')].map((d) => [d, d.className]),
          ...[...row.querySelectorAll('.td-actions button')].map((b) => [b, b.textContent])
        ]) {
          const b = el?.getBoundingClientRect();
          if (!el) {
            problems.push(`${name}: no ${what}`);
          } else if (!el.checkVisibility() || b.width < 1 || b.height < 1) {
            problems.push(`${name} ${what}: not visible`);
          } else if (!within(b, view) || !within(b, frameBox)) {
            problems.push(`${name} ${what}: outside the frame's visible box`);
          } else if (el.scrollWidth > el.clientWidth) {
            problems.push(`${name} ${what}: cut, ${el.scrollWidth} px in ${el.clientWidth}`);
          } else if (el.tagName === 'BUTTON' && document.elementFromPoint(
            (b.left + b.right) / 2, (b.top + b.bottom) / 2)?.closest('button') !== el) {
            problems.push(`${name} ${what}: covered, a click misses it`);
          }
        }
      }
      pane.scrollTop = 0;
      return problems;
    }"""
    # back from the Timeline to the Landing display (plugin/touchdown.js: LANDING_PATH)
    page.goto(page.url.split("#")[0] + "#/browse/touchdown:root/touchdown:landing"
              "?hideInspector=true")
    alarms = frame(page, "Alarms")
    wait_for(lambda: alarms.locator(".td-alarm").count() >= 5, 20, "the alarm list")
    # not signed in on the reopened archive, the list still offers the actions (the server
    # refuses one tried without a session): they are what must not be cut
    assert alarms.locator(".td-act-acknowledge").count() >= 1
    assert alarms.locator(".td-act-shelve").count() >= 1
    # as the display opens (no Inspector), then at the 1600 × 1000 with the Inspector
    # shown, as when the display is opened from the tree: every column narrower
    for width, height, inspector in ((1280, 800, False), (1600, 1000, False),
                                     (2560, 1440, False), (1600, 1000, True)):
        page.set_viewport_size({"width": width, "height": height})
        if inspector:
            page.locator(".l-shell__pane-inspector .l-pane__expand-button").click()
        wait_for_track(page)  # laid out and the views redrawn at the new size
        shown = "-inspector" if inspector else ""
        page.screenshot(path=SHOTS / f"landing-{width}x{height}{shown}.png")
        problems = alarms.evaluate(cut)
        assert problems == [], f"at {width}×{height}{shown}: {problems}"


def switch_to_mission_elapsed_time(page) -> None:
    """The time conductor's time system menu offers T+ beside UTC; in T+ the span stays, the
    plots' time axis reads T+ and the descent is drawn as before."""
    conductor = page.locator(".l-shell__time-conductor")
    conductor.locator(".c-compact-tc__setting-value").first.click()
    page.locator(".c-time-system-button").click()
    page.locator(".c-menu li", has_text="MET (T+)").click()
    page.keyboard.press("Escape")
    page.mouse.move(800, 20)  # off the plots: no hover toolbar in the screenshot
    wait_for(lambda: "MET (T+)" in conductor.inner_text(), 10, "the T+ time system")
    bounds = [parse_met(t) for t in conductor.locator(
        ".c-compact-tc__setting-wrapper .c-compact-tc__setting-value").all_inner_texts()]
    assert bounds[0] is not None and bounds[1] is not None, bounds
    assert bounds[1] - bounds[0] == pytest.approx(21 * 60)  # the archive's last 20 minutes
    # and one more
    altitude = frame(page, "Altitude estimate and range finder")
    wait_for(lambda: altitude.locator(".gl-plot-x-tick-label", has_text="T+").count(), 10,
             "a T+ label on the altitude plot's time axis")
    wait_for_plot(altitude, "the descent plotted in T+")
    events = frame(page, "Events")
    wait_for(lambda: re.search(r"T\+64:\d\d\.\d", events.inner_text()), 10,
             "the events in T+ (the view reloads after the switch)")
