"""The Open MCT plugin's pure JavaScript under Node's test runner, fed the server's own
/api/dictionary: severities, limits, points, objects, the mission-elapsed (T+) time system,
paging, the CSRF token on every POST, alarm rows and history lines, link counters and the LOS
text."""

import asyncio
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from touchdown.ground.server import make_app

TESTS = Path(__file__).parent / "mct" / "plugin.test.mjs"


def test_the_plugin_passes_its_node_tests(ingest):
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is missing: make test installs Open MCT with npm, which needs it")

    async def dictionary():
        async with TestClient(TestServer(make_app(ingest))) as client:
            return await (await client.get("/api/dictionary")).json()

    env = {**os.environ, "TOUCHDOWN_DICTIONARY": json.dumps(asyncio.run(dictionary()))}
    r = subprocess.run([node, "--test", str(TESTS)], capture_output=True, text=True, env=env,
                       timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "# fail 0" in r.stdout and "# pass 17" in r.stdout
