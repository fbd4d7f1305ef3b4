"""The one decorator every compiled kernel uses (``njit(cache=True)``, no fastmath), and the
compiled cache's folder, one per version of the package's source.

Numba's cache checks a kernel's own source file only: a kernel whose callee, or whose layout
constant (``core.layout``), changed would load its stale machine code and compute with the old
one. So the cache lives in a subfolder of ``NUMBA_CACHE_DIR`` (by default ``.numba-cache`` beside
``src``) named by a digest of every source file of the package: any edit, or a ``git pull``,
compiles afresh, and a checkout returning to known source finds its cache again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numba
from numba import njit

from touchdown.files import cache_base

PACKAGE = Path(__file__).resolve().parent


def source_digest() -> str:
    """A digest of every ``.py`` file of the package, its path and its bytes."""
    h = hashlib.sha256()
    for p in sorted(PACKAGE.rglob("*.py")):
        h.update(p.relative_to(PACKAGE).as_posix().encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:16]


numba.config.CACHE_DIR = str(cache_base() / source_digest())

F = TypeVar("F", bound=Callable[..., Any])


def kernel(func: F | None = None, *, parallel: bool = False, inline: bool = False) -> Any:
    """Compile ``func`` with the project's flags; ``parallel=True`` only for campaign loops.

    Kernels never allocate (they write into arrays the shell gives them), so they are compiled
    without Numba's reference-counting runtime (NRT, Numba's private ``_nrt=False`` option).
    With it, every slice of a work array handed from one kernel to another costs an atomic
    increment and decrement that Numba cannot prune across calls (Numba issue #2345): about
    40 % of a flight's time. Without it a kernel that allocates fails to compile, which is the
    rule anyway. The campaign loop (``parallel=True``) allocates each sample's scratch, so it
    keeps NRT. The option changes memory bookkeeping only, never a number; if a Numba release
    drops it, ``njit`` refuses the option at import and this flag is the one line to remove.
    """

    def wrap(f: F) -> F:
        return njit(cache=True, fastmath=False, parallel=parallel, error_model="numpy",
                    _nrt=parallel, inline="always" if inline else "never")(f)

    return wrap(func) if func is not None else wrap
