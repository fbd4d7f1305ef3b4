"""The camera's images on the ground: M1's recorded downlink (seed 0) ingested, the images put
together from the archive's packets, served as PNG as far as they came (strips missing grey),
the same after the archive is reopened read-only, bad requests named."""

from __future__ import annotations

import asyncio
import io
import json

import numpy as np
import pytest
from aiohttp.test_utils import TestClient, TestServer
from PIL import Image
from tests.terrain import needs_terrain

from touchdown.ground.archive import Archive
from touchdown.ground.ingest import Ingest
from touchdown.ground.replay import replay_recording
from touchdown.ground.server import make_app
from touchdown.scenario import Scenario, resolve
from touchdown.telemetry.dictionary import load_dictionary
from touchdown.telemetry.downlink import fly_downlink
from touchdown.telemetry.image_assembly import MISSING_DN
from touchdown.telemetry.recording import read_recording
from touchdown.telemetry.run_folder import received_images


@pytest.fixture(scope="module")
def m1(tmp_path_factory):
    link = fly_downlink(Scenario.from_toml(resolve("hakuto-r-m1")), 0)
    folder = tmp_path_factory.mktemp("images")
    archive_path = folder / "m1.sqlite"
    with Archive(archive_path, create=True) as archive:
        replay_recording(read_recording(link.record(folder / "m1.tdl")), Ingest(
            load_dictionary(), archive))
    return link, archive_path


async def ask(archive: Archive, *paths: str) -> list[tuple[int, bytes, str]]:
    async with TestClient(TestServer(make_app(Ingest(load_dictionary(), archive)))) as c:
        out = []
        for path in paths:
            r = await c.get(path)
            out.append((r.status, await r.read(), r.content_type))
        return out


@needs_terrain
def test_the_ground_serves_the_images_as_far_as_they_came(m1):
    link, path = m1
    expected = received_images(link)  # what the frames that arrived hold, put together alone
    with Archive(path, read_only=True) as archive:
        (status, body, _), = asyncio.run(ask(archive, "/api/images"))
        listing = json.loads(body)["images"]
        assert status == 200
        assert {i["image_id"]: (i["complete"], i["octets_received"]) for i in listing} == {
            k: (e["complete"], e["octets_received"]) for k, e in expected.items()}
        partial = next(i for i in listing if not i["complete"] and i["octets_received"])
        whole = next(i for i in listing if i["complete"])
        assert whole["t_received"] > whole["t"] and whole["lat_deg"] == pytest.approx(
            link.imager.images[whole["image_id"] - 1].info["lat_deg"], abs=1e-9)
        got = asyncio.run(ask(archive, whole["url"], partial["url"],
                              whole["url"] + "?width=64", "/api/images/999.png",
                              whole["url"] + "?width=huge"))
    (s1, png_whole, ct), (s2, png_partial, _), (s3, thumb, _), (s4, *_), (s5, bad, _) = got
    assert (s1, s2, s3, s4, s5, ct) == (200, 200, 200, 404, 400, "image/png")
    onboard = link.imager.images[whole["image_id"] - 1].pixels
    shown = np.asarray(Image.open(io.BytesIO(png_whole)))
    assert shown.shape == onboard.shape and np.abs(shown.astype(int) - onboard).mean() < 6
    grey = np.asarray(Image.open(io.BytesIO(png_partial)))
    rows = link.imager.images[partial["image_id"] - 1].info["strip_rows"]
    bands = [grey[k:k + rows] for k in range(0, grey.shape[0], rows)]
    assert any((b == MISSING_DN).all() for b in bands)  # a strip that did not come whole
    assert not all((b == MISSING_DN).all() for b in bands)  # and strips that did
    assert Image.open(io.BytesIO(thumb)).size == (64, 64)
    assert b"whole number of pixels" in bad
