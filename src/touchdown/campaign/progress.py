"""Campaign and survey progress: samples per second and time left, from flying time alone."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

from tqdm import tqdm

# tqdm's own rate and time left are left out: they count the kernels' compile in the rate.
BAR_FORMAT = "{desc} {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} [{elapsed}{postfix}]"


class Progress:
    """Finished samples counted as chunks arrive, with a rate and a time left that leave out
    the start.

    The first chunk back carries the kernels' compile or cache load (a second to a minute) on
    top of its few samples, so the rate is the samples finished after the start over the time
    since it ended: what the rest of the run flies at, storing included. The start is the
    first ``warmup`` chunks: 1 locally (one chunk flies on all cores at a time); on a Dask
    cluster one per worker thread, each of which loads the kernels with its first chunk
    (``run_dask``'s ``on_start`` sets it).
    """

    def __init__(self, total: int, desc: str, done: int = 0, enabled: bool = True,
                 file: TextIO | None = None,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self.total, self.done, self.warmup = total, done, 1
        self.start_s: float | None = None  # wall seconds until the start's chunks were back
        self._clock = clock
        self._began = clock()
        self._chunks = 0
        self._since = self._last = 0.0  # when the start ended, when the last chunk arrived
        self._base = done               # samples done when the start ended
        self._bar = tqdm(total=total, initial=done, desc=desc, unit="sample",
                         bar_format=BAR_FORMAT, disable=not enabled,
                         file=file or sys.stderr, dynamic_ncols=True,
                         mininterval=0.0, miniters=1,  # a chunk is drawn when it arrives
                         postfix="first chunk: compiling or loading the kernels")

    def set_warmup(self, chunks: int) -> None:
        """Leave the first ``chunks`` chunks out of the rate (those flying at once at first)."""
        self.warmup = max(1, chunks)

    def add(self, samples: int) -> None:
        """Count a finished chunk of ``samples``; redraw the bar."""
        self._last = self._clock()
        self.done += samples
        self._chunks += 1
        if self._chunks <= self.warmup:
            self._since, self._base = self._last, self.done
            self.start_s = self._last - self._began
        self._bar.set_postfix_str(self._text(), refresh=False)
        self._bar.update(samples)

    @property
    def rate(self) -> float | None:
        """Samples per second since the start ended (None before two chunks' worth)."""
        flown, dt = self.done - self._base, self._last - self._since
        return flown / dt if flown > 0 and dt > 0 else None

    @property
    def left_s(self) -> float | None:
        """Seconds left at the rate so far (None while the rate is unknown)."""
        rate = self.rate
        return (self.total - self.done) / rate if rate else None

    def _text(self) -> str:
        rate, left = self.rate, self.left_s
        if rate is None:
            return "measuring the rate" if self.done < self.total else ""
        if self.done >= self.total:
            return f"{rate:,.1f} samples/s"
        return f"{rate:,.1f} samples/s, {tqdm.format_interval(left or 0.0)} left"

    def close(self) -> None:
        self._bar.close()
