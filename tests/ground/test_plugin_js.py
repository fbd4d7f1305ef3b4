"""The Open MCT plugin's pure JavaScript under Node's test runner, fed the server's own
/api/dictionary, /api/commands/dictionary and roles: severities, limits, points, objects, the
mission-elapsed (T+) time system, paging, the CSRF token on every POST, alarm rows and history
lines, link counters and the LOS text, the command panel's argument checks, who may do what,
each command's stage, note and actions, and the command link's line and COP-1 directives (from
a live server's /api/uplink with the lander in lockout)."""

import asyncio
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from tests.ground.test_command_api import Station

from touchdown.ground.server import make_app
from touchdown.ground.users import ROLES
from touchdown.telemetry.tc_frames import Clcw

TESTS = Path(__file__).parent / "mct" / "plugin.test.mjs"


def test_the_plugin_passes_its_node_tests(ingest):
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is missing: make test installs Open MCT with npm, which needs it")

    async def dictionaries():
        async with TestClient(TestServer(make_app(ingest))) as client:
            return [await (await client.get(path)).json()
                    for path in ("/api/dictionary", "/api/commands/dictionary")]

    async def stopped_uplink():
        """A live server's command link whose lander reported lockout in a frame's OCF."""
        app = make_app(ingest, lambda: 4200.0, station=Station())
        async with TestClient(TestServer(app)) as client:
            ingest.ocf(Clcw(ingest.dictionary.uplink.virtual_channel, 5, lockout=True).encode())
            return await (await client.get("/api/uplink")).json()

    telemetry, commands = asyncio.run(dictionaries())
    env = {**os.environ, "TOUCHDOWN_DICTIONARY": json.dumps(telemetry),
           "TOUCHDOWN_COMMANDS": json.dumps(commands),
           "TOUCHDOWN_UPLINK": json.dumps(asyncio.run(stopped_uplink())),
           "TOUCHDOWN_ROLES": json.dumps({r: sorted(p) for r, p in ROLES.items()})}
    r = subprocess.run([node, "--test", str(TESTS)], capture_output=True, text=True, env=env,
                       timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    written = len(re.findall(r"^test\(", TESTS.read_text(encoding="utf-8"), re.M))
    assert "# fail 0" in r.stdout and f"# pass {written}\n" in r.stdout  # every one ran
