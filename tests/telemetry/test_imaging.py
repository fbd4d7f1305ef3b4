"""The camera's images onboard and over the link, on M1's flight (seed 0).

What validates what:

- **Priority**: the same flight flown with its images and with a camera that keeps none (its
  image_info packets still go, as telemetry) delivers every other packet at the same time:
  images only fill what would be idle fill.
- **Plan**: images at the periodic times (the first host sample at or after each) and at the
  named events (the lander's own event log), none after the impact.
- **Storage**: with room for a few images, the later ones are not kept, their image_info says
  so (octets 0) and none of their octets is sent.
- **Segmentation and reassembly with losses**: the packets that came down, put together
  (``telemetry.image_assembly``), give back every strip that came whole byte for byte as the
  lander compressed it; a strip with a lost piece is marked incomplete and drawn grey.
- **Run folder**: ``images/`` holds every image taken and says how much of each came down.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from tests.terrain import needs_terrain

from touchdown.scenario import Scenario, resolve
from touchdown.telemetry.downlink import destroyed_s, fly_downlink
from touchdown.telemetry.frames import FrameDecoder
from touchdown.telemetry.image_assembly import MISSING_DN, ImageAssembler
from touchdown.telemetry.imaging import compress
from touchdown.telemetry.packets import decode_packet
from touchdown.telemetry.run_folder import write_run_folder

NO_CAMERA = {"camera.period_s": 0.0, "camera.events": ()}


def m1(**changes) -> Scenario:
    return Scenario.from_toml(resolve("hakuto-r-m1")).replace(changes)


@pytest.fixture(scope="module")
def flown():
    return fly_downlink(m1(), 0)


def received(link):
    """(packets, arrival times) of what came down, in order."""
    decoder = FrameDecoder(link.config.frame_length, link.dictionary.spacecraft_id)
    packets, times = [], []
    for t, octets in link.link.frames:
        for raw in decoder.feed(octets):
            packets.append(decode_packet(raw, link.dictionary))
            times.append(t)
    return packets, times


@needs_terrain
def test_images_never_delay_the_telemetry(flown):
    """Beside the same flight whose camera keeps nothing (no storage: its image_info packets
    go, as telemetry, and no image octet), every other packet arrives the same, at the same
    time: the images' octets fill only what would be idle."""
    announced = fly_downlink(m1(**{"camera.storage_octets": 0}), 0)
    assert not any(i.kept for i in announced.imager.images)
    with_images, t_with = received(flown)
    without, t_without = received(announced)
    telemetry = [(p.apid, p.seq, p.t, t) for p, t in zip(with_images, t_with, strict=True)
                 if p.name != "image"]
    assert telemetry == [(p.apid, p.seq, p.t, t) for p, t in zip(without, t_without,
                                                                  strict=True)]
    assert sum(p.name == "image" for p in with_images) > 1000  # and the images came too
    assert not any(p.name == "image" for p in without)


@needs_terrain
def test_images_are_taken_as_planned(flown):
    s = flown.flight.scenario
    times = [i.t for i in flown.imager.images]
    impact = destroyed_s(flown.flight)
    periodic = np.arange(s["camera.start_s"], impact, s["camera.period_s"])
    events = [e["time_s"] for e in flown.flight.events if e["name"] in s["camera.events"]]
    assert events  # braking, approach, vertical and terminal descent began
    # each taken when the host next samples the flight (every 0.5 s; while the flight
    # software coasts, at its next cycle)
    late = max(0.5, s["flight_software.coast_cycle_s"]) + 1e-9
    for due in [*periodic, *events]:
        assert any(0.0 <= t - due <= late for t in times), due
    assert all(t < impact for t in times) and times == sorted(times)
    assert len(times) <= len(periodic) + len(events)


@needs_terrain
def test_full_storage_keeps_the_first_images_only():
    small = fly_downlink(m1(**{"camera.storage_octets": 40_000}), 0)
    images = small.imager.images
    kept = [i.kept for i in images]
    assert kept[0] and not kept[-1] and sum(kept) < len(kept)
    assert sum(i.octets for i in images if i.kept) <= 40_000
    infos = [decode_packet(p.data, small.dictionary) for p in small.imager.packets]
    assert [info.values["octets"] > 0 for info in infos] == kept
    assert all(i.octets_sent == 0 for i in images if not i.kept)


@needs_terrain
def test_the_ground_puts_back_what_came_and_marks_what_did_not(flown):
    assembler = ImageAssembler()
    packets, _ = received(flown)
    for p in packets:
        assembler.add(p)
    whole = partial = 0
    for image in flown.imager.images:
        got = assembler.images.get(image.image_id)
        if got is None:
            continue
        assert got.info["octets"] == image.octets
        for k, strip in got.strips.items():
            if strip.complete:
                assert bytes(strip.data) == image.strips[k]  # byte for byte
                whole += 1
            else:
                partial += 1
        pixels = got.pixels()
        rows = image.info["strip_rows"]
        for k in range(len(image.strips)):
            band = pixels[k * rows:(k + 1) * rows]
            if k in got.strips and got.strips[k].complete:
                onboard = compress(image.pixels[k * rows:(k + 1) * rows], rows, 75)[0]
                assert onboard == image.strips[k]
                assert np.abs(band.astype(int) - image.pixels[k * rows:(k + 1) * rows]
                              ).mean() < 6  # JPEG at quality 75
            else:
                assert (band == MISSING_DN).all()
    assert whole > 50 and partial >= 1  # the link lost some pieces: M1's 1e-3 frame loss


@needs_terrain
def test_the_run_folder_keeps_every_image_and_says_what_came_down(flown, tmp_path):
    write_run_folder(tmp_path, flown.flight, flown)
    index = json.loads((tmp_path / "images" / "images.json").read_text())["images"]
    assert len(index) == len(flown.imager.images)
    assert all((tmp_path / "images" / i["file"]).is_file() for i in index)
    states = [i["received"] for i in index]
    assert states[0] == "complete" and states[-1] == "no"  # the last ones stayed onboard
    assert all(i["octets_received"] <= i["octets_sent"] <= i["octets"] for i in index)


@needs_terrain
def test_the_docs_figure_and_budget_add_up(flown, tmp_path):
    from touchdown.plots.camera import budget, key_images, key_moments_figure
    from touchdown.plots.png import save_png

    b = budget(flown)
    assert b["complete"] + b["partial"] + b["never"] == b["images"] == len(flown.imager.images)
    assert 0 < b["telemetry_octets_per_s"] < b["data_octets_per_s"] < flown.config.rate_bps / 8
    assert b["seconds_per_image"] == pytest.approx(b["octets_mean"] / b["left_octets_per_s"])
    moments = key_images(flown)
    assert [m.split(" (")[0] for m, _ in moments][:2] == [
        "braking begins", "the range finder's first rejection"]
    rejected = next(e["time_s"] for e in flown.flight.events if e["name"] == "lrf_rejected")
    assert moments[1][1].t <= rejected  # what the camera saw coming
    png = save_png(key_moments_figure(flown), tmp_path / "camera.png")
    assert png.stat().st_size > 50_000
