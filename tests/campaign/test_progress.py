"""The progress bar of campaigns and surveys: its rate and time left leave out the start."""

from __future__ import annotations

import io

import pytest

from touchdown.campaign.progress import Progress


class Clock:
    """A clock the test moves by hand (seconds)."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def feed(bar: Progress, clock: Clock, chunks: list[tuple[float, int]]) -> None:
    """Chunks of ``samples`` arriving at time ``t``: [(t, samples), ...]."""
    for t, samples in chunks:
        clock.t = t
        bar.add(samples)


def test_the_rate_leaves_out_the_first_chunk_and_its_compile() -> None:
    clock, out = Clock(), io.StringIO()
    bar = Progress(1000, "m1", file=out, clock=clock)
    feed(bar, clock, [(40.0, 4)])  # 4 samples and a 40 s compile
    assert bar.rate is None and bar.left_s is None and bar.start_s == 40.0
    assert "measuring the rate" in out.getvalue()
    feed(bar, clock, [(42.0, 100), (44.0, 100)])
    assert bar.rate == pytest.approx(50.0)  # 200 samples in the 4 s after the start
    assert bar.left_s == pytest.approx((1000 - 204) / 50.0)
    text = out.getvalue().split("\r")[-1]
    assert "204/1000" in text and "50.0 samples/s, 00:15 left" in text
    feed(bar, clock, [(60.0, 796)])
    bar.close()
    assert out.getvalue().split("\r")[-1].rstrip().endswith(", 49.8 samples/s]")  # 996 in 20 s


def test_on_a_cluster_each_worker_threads_first_chunk_is_the_start() -> None:
    clock = Clock()
    bar = Progress(640, "m1", enabled=False, clock=clock)
    bar.set_warmup(3)
    feed(bar, clock, [(30.0, 64), (31.0, 64), (32.0, 64)])  # each loads the kernels
    assert bar.rate is None and bar.start_s == 32.0
    feed(bar, clock, [(34.0, 64), (36.0, 64)])
    assert bar.rate == pytest.approx(32.0)
    bar.close()


def test_a_resumed_campaign_counts_only_what_it_flies() -> None:
    clock, out = Clock(), io.StringIO()
    bar = Progress(1000, "m1", done=600, file=out, clock=clock)
    feed(bar, clock, [(5.0, 4), (9.0, 200)])
    assert bar.rate == pytest.approx(50.0)
    assert bar.left_s == pytest.approx(196 / 50.0)
    bar.close()
    assert "804/1000" in out.getvalue()


def test_quiet_draws_nothing_but_still_counts() -> None:
    clock, out = Clock(), io.StringIO()
    bar = Progress(10, "m1", enabled=False, file=out, clock=clock)
    feed(bar, clock, [(1.0, 2), (2.0, 8)])
    bar.close()
    assert out.getvalue() == "" and bar.rate == pytest.approx(8.0) and bar.done == 10
