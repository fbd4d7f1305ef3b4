"""The one decorator every compiled kernel uses (``njit(cache=True)``, no fastmath)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from numba import njit

F = TypeVar("F", bound=Callable[..., Any])


def kernel(func: F | None = None, *, parallel: bool = False) -> Any:
    """Compile ``func`` with the project's flags; ``parallel=True`` only for campaign loops."""

    def wrap(f: F) -> F:
        return njit(cache=True, fastmath=False, parallel=parallel, error_model="numpy")(f)

    return wrap(func) if func is not None else wrap
