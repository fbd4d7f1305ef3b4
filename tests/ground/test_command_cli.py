"""`touchdown command` against a live flight (`touchdown fly hakuto-r-m1 --live --all-roles`): a
normal command followed to its effect, a critical one queued, armed and executed and then
waiting for a flight director (the operator may not approve it), approved by the flight
director and executed onboard, the command link's state (the lander's CLCW from the telemetry
frames' OCF) and a COP-1 directive, the history and its CSV export, and the errors an operator
meets (a bad argument, a wrong password, a directive without a user, no server)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.ground.browser import touchdown
from tests.terrain import needs_terrain

TOUCHDOWN = str(Path(sys.executable).parent / "touchdown")


def command(*args: str, password: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([TOUCHDOWN, "command", *args, "--password-stdin"], input=password + "\n",
                          capture_output=True, text=True, timeout=120)


def wait_for_telemetry(url: str) -> None:
    """Until the link is up (the Earth above the lander's horizon, packets arriving)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with urllib.request.urlopen(url + "api/link", timeout=5) as r:
            if json.loads(r.read())["status"] == "OK":
                return
        time.sleep(0.2)
    raise AssertionError("no telemetry within 60 s")


@needs_terrain
def test_an_operator_commands_a_live_flight_from_the_command_line(tmp_path):
    with touchdown("fly", "hakuto-r-m1", "--live", "--all-roles", "--speed", "20", "--no-wait",
                   "--port", "0", "--archive", str(tmp_path / "m1.sqlite"), "-q") as live:
        wait_for_telemetry(live.url)
        me = ("--server", live.url, "--user", live.user)
        arm = command("engine_arm", *me, password=live.password)
        assert arm.returncode == 0, arm.stderr
        stages = [line.split()[1] for line in arm.stdout.splitlines()[1:]]
        assert stages == ["queued", "released", "sent", "radiated", "received", "executed",
                          "effect"], arm.stdout
        reset = command("imu_reset", "unit=A", *me, password=live.password)
        assert reset.returncode == 0 and "waiting: arm it" in reset.stdout, reset.stdout
        cid = reset.stdout.split()[1]
        for action, wait in (("arm", "execute it"), ("execute", "a flight director approves")):
            r = command(action, cid, *me, password=live.password)
            assert r.returncode == 0 and f"waiting: {wait}" in r.stdout, r.stdout + r.stderr
        own = command("approve", cid, *me, password=live.password)
        assert own.returncode == 1 and "may not approve critical commands" in own.stderr
        director, secret = live.users["flight_director"]
        approved = command("approve", cid, "--server", live.url, "--user", director,
                           password=secret)
        assert approved.returncode == 0, approved.stdout + approved.stderr
        assert re.search(rf"released\s+by {director}", approved.stdout), approved.stdout
        assert "executed" in approved.stdout
        # the lander's CLCW, from the telemetry frames' OCF: both commands' frames accepted
        link = command("uplink", "--server", live.url)
        assert link.returncode == 0 and "uplink: running" in link.stdout, link.stdout
        assert "V(R) 2, no flags" in link.stdout and "0 outstanding" in link.stdout, link.stdout
        nobody = command("uplink", "resume", "--server", live.url)
        assert nobody.returncode == 2 and "give --user" in nobody.stderr
        resumed = command("uplink", "resume", *me, password=live.password)
        assert resumed.returncode == 0 and "uplink: running" in resumed.stdout
        bad = command("imu_reset", "unit=C", *me, password=live.password)
        assert bad.returncode == 1 and "unit must be one of A, B" in bad.stderr
        wrong = command("engine_arm", *me, password="not the password")
        assert wrong.returncode == 1 and "401" in wrong.stderr
        history = command("history", "--server", live.url, "--csv", str(tmp_path / "c.csv"))
        assert history.returncode == 0
        assert "command 1 (engine_arm {}): effect" in history.stdout
        assert f"command {cid} (imu_reset {{'unit': 'A'}}): executed" in history.stdout
        stages = (tmp_path / "c.csv").read_text().count("\n") - 1  # less the header
        assert stages == 7 + len(approved.stdout.splitlines()) - 1  # every stage of both
    gone = command("engine_arm", "--server", live.url, "--user", live.user,
                   password=live.password)
    assert gone.returncode == 1 and "cannot reach the ground server" in gone.stderr
