"""The one decorator every compiled kernel uses (``njit(cache=True)``, no fastmath)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from numba import njit

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
