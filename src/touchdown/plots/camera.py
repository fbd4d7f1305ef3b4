"""What the camera sees at a flight's key moments, and its images' link budget (shell).

    python -m touchdown.plots.camera [SCENARIO] [--out FILE.png] [--seed N]

Flies the scenario with its downlink (the camera's images rendered from the truth terrain),
draws the images taken nearest the key moments (braking, the range finder's first rejection,
the approach, the vertical and terminal descents) with what the lander was doing and how much
of each image came down, and prints the images' link budget: the link's rate, what the
telemetry used of it, what was left for images, their sizes, and what came down.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from touchdown.plots.png import save_png
from touchdown.scenario import Scenario, resolve
from touchdown.telemetry.downlink import DownlinkedFlight, destroyed_s, fly_downlink
from touchdown.telemetry.run_folder import received_images

MOMENTS = (("braking_start", "braking begins"),
           ("lrf_rejected", "the range finder's first rejection"),
           ("approach_start", "approach"), ("vertical_descent_start", "vertical descent"),
           ("terminal_descent_start", "terminal descent"))


def _tplus(t: float) -> str:
    return f"T+{int(t // 60):02d}:{t % 60:04.1f}"


def key_images(link: DownlinkedFlight) -> list[tuple[str, Any]]:
    """(moment, image) for each key moment the flight met: the image taken nearest after it
    (or, for the range finder's rejection, nearest before it: what the camera saw coming)."""
    assert link.imager is not None
    images, out = link.imager.images, []
    for name, label in MOMENTS:
        t = next((e["time_s"] for e in link.flight.events if e["name"] == name), None)
        if t is None or not images:
            continue
        before = name == "lrf_rejected"
        pool = [i for i in images if (i.t <= t if before else i.t >= t)] or images
        out.append((f"{label} ({_tplus(t)})", min(pool, key=lambda i: abs(i.t - t))))
    return out


def budget(link: DownlinkedFlight) -> dict[str, float]:
    """The images' link budget over the powered flight (from the first image to the end of
    the signal): octets a second the link carries, the telemetry's share, what the images
    used, their sizes, and how many came down whole."""
    assert link.imager is not None
    images = link.imager.images
    t0 = images[0].t
    t1 = destroyed_s(link.flight) or link.flight.trace["t_s"].iloc[-1]
    rate = link.config.rate_bps / 8 * (link.config.frame_length - 12) / (
        link.config.frame_length + 4)  # data octets a second (ASM, header, OCF, FECF out)
    telemetry = sum(len(p.data) for p in link.packets if t0 <= p.t < t1) / (t1 - t0)
    got = received_images(link)
    return {"rate_bps": link.config.rate_bps, "data_octets_per_s": rate,
            "telemetry_octets_per_s": telemetry, "left_octets_per_s": rate - telemetry,
            "images": len(images), "octets_mean": float(np.mean([i.octets for i in images])),
            "seconds_per_image": float(np.mean([i.octets for i in images])) / (rate - telemetry),
            "octets_sent": sum(i.octets_sent for i in images),
            "complete": sum(bool(g["complete"]) for g in got.values()),
            "partial": sum(not g["complete"] and g["octets_received"] > 0 for g in got.values()),
            "never": len(images) - sum(g["octets_received"] > 0 for g in got.values()),
            "span_s": t1 - t0}


def key_moments_figure(link: DownlinkedFlight) -> Figure:
    """The images at the key moments, each with the lander's state and what came down."""
    shown = key_images(link)
    got = received_images(link)
    trace = link.flight.trace
    fig = Figure(figsize=(3.2 * len(shown), 4.1), layout="constrained")
    FigureCanvasAgg(fig)
    for ax, (moment, image) in zip(fig.subplots(1, len(shown), squeeze=False)[0], shown,
                                   strict=True):
        row = trace.iloc[int((trace["t_s"] - image.t).abs().argmin())]
        g = got.get(image.image_id, {})
        came = ("came down whole" if g.get("complete") else
                f"{100 * g.get('octets_received', 0) // max(image.octets, 1)} % came down"
                if g.get("octets_received") else "never came down")
        ax.imshow(image.pixels, cmap="gray", vmin=0, vmax=255)
        ax.set_axis_off()
        ax.set_title(f"{moment}\n#{image.image_id} {_tplus(image.t)} · "
                     f"{row['altitude_m'] / 1e3:.1f} km up\n"
                     f"thrust {row['tilt_deg']:.0f}° from vertical · {came}", fontsize=8.5)
    fig.suptitle(f"{link.flight.scenario.name}: what the camera saw (simulation truth)",
                 fontsize=11, fontweight="bold")
    return fig


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("scenario", nargs="?", default="hakuto-r-m1")
    ap.add_argument("--out", type=Path, default=Path("docs/figures/camera-m1.png"))
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    link = fly_downlink(Scenario.from_toml(resolve(args.scenario)), args.seed)
    if link.imager is None:
        raise SystemExit(f"{args.scenario} has no imaging plan ([camera] period_s or events)")
    print(f"wrote {save_png(key_moments_figure(link), args.out)}")
    b = budget(link)
    print(f"link {b['rate_bps']:.0f} bit/s: {b['data_octets_per_s']:.0f} octets/s of data; "
          f"telemetry {b['telemetry_octets_per_s']:.0f}, left for images "
          f"{b['left_octets_per_s']:.0f} octets/s")
    print(f"{b['images']} images over {b['span_s'] / 60:.1f} min, {b['octets_mean']:,.0f} "
          f"octets each on average: {b['seconds_per_image']:.0f} s of spare link each; "
          f"{b['complete']} came down whole, {b['partial']} in part, {b['never']} never")


if __name__ == "__main__":
    main()
