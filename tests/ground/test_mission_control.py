"""Mission control in a real browser: `touchdown fly hakuto-r-m1 --live` at high speed, watched
through Open MCT in Debian's Chromium driven by Playwright.

The screenshots go to out/screenshots/ (look at them: the live Landing display just after loss of
signal, and the archived flight reopened).
"""

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from matplotlib import image

SHOTS = Path(__file__).parents[2] / "out" / "screenshots"
SPEED = 200  # the 53 min from acquisition of signal to impact stream in about 16 s
ESTIMATE_RGB = (0x4D, 0xD3, 0xFF)  # plugin/objects.js: the altitude estimate's line
REJECTED_RGB = (0xFF, 0x4D, 0x4D)  # and rejected range readings


@contextlib.contextmanager
def touchdown(*args: str):
    """Run `touchdown ARGS` until the block ends (then Ctrl-C); yields the URL it prints."""
    proc = subprocess.Popen([str(Path(sys.executable).parent / "touchdown"), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=os.environ)
    try:
        url = None
        deadline = time.monotonic() + 120
        while url is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            m = re.search(r"(http://\S+/)$", line.strip())
            url = m.group(1) if m else None
        assert url, f"touchdown {' '.join(args)} printed no URL (exit {proc.poll()})"
        yield url
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()


def pixels_near(png: bytes, rgb: tuple[int, int, int], tol: int = 40) -> int:
    """How many pixels of a screenshot are within tol of a colour."""
    import io

    img = (image.imread(io.BytesIO(png), format="png")[..., :3] * 255).astype(int)
    return int((np.abs(img - np.array(rgb)).max(axis=-1) <= tol).sum())


def frame(page, title: str):
    """The Landing display's frame of the object titled ``title``."""
    return page.locator(".c-fl-frame", has=page.locator(".c-object-label__name",
                                                         has_text=title)).first


def wait_for(predicate, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}")


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
                   "--archive", str(archive), "-q") as url:
        page.goto(url)  # the downlink starts when the page opens
        watch_the_landing(page)
    # the archived flight opened afterwards shows the descent (fixed time span)
    with touchdown("ground", "--archive", str(archive), "--port", "0", "--ingest-port",
                   "0") as url:
        page.goto(url)
        page.wait_for_selector("text=FIXED TIMESPAN", timeout=30_000)
        altitude = frame(page, "Altitude estimate and range finder")
        shot = wait_for(lambda: (lambda png: png if pixels_near(png, REJECTED_RGB) > 100
                                 else None)(altitude.screenshot()), 30,
                        "the archived descent plotted")
        assert pixels_near(shot, ESTIMATE_RGB) > 200
        alarms = frame(page, "Alarms")
        assert "ack test operator" in alarms.locator("tr[data-parameter='lrf.state']").inner_text()
        time.sleep(1.0)  # the map and the track
        page.screenshot(path=SHOTS / "landing-archive.png")
    assert errors == [] and outside == []
    page.close()


def watch_the_landing(page) -> None:
    """Live, at SPEED: values, plot points, the range-finder alarm, LOS; acknowledge."""
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

    # the range finder's readings are rejected: an alarm appears in the alarm list
    alarms = frame(page, "Alarms")
    lrf_alarm = alarms.locator("tr[data-parameter='lrf.state']")
    wait_for(lambda: lrf_alarm.count() and "CRITICAL" in lrf_alarm.inner_text(), 60,
             "the lrf.state alarm")
    assert "faulty" in lrf_alarm.inner_text()
    assert alarms.locator("tr[data-parameter='lrf.rejected_run']").count() == 1
    assert pixels_near(altitude.screenshot(), REJECTED_RGB) > 20, "no rejected readings drawn"

    # loss of signal shows in the link view and the status bar
    link = frame(page, "Link")
    wait_for(lambda: "LOS since T+72:2" in link.inner_text(), 60, "loss of signal")
    indicator = page.locator(".c-indicator", has_text=re.compile("LOS since", re.I)).first
    assert "light time 1.3" in indicator.inner_text().lower()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / "landing-live.png")

    # acknowledge the range-finder alarm
    page.on("dialog", lambda d: d.accept("test operator"))
    lrf_alarm.locator("button", has_text="Acknowledge").click()
    wait_for(lambda: "ack test operator" in lrf_alarm.inner_text(), 10,
             "the acknowledgement")

