"""Writing results: files that are never left half-written, values any JSON parser reads; the
folder of the compiled cache and whether it holds a kernel."""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any


def cache_base() -> Path:
    """The folder the compiled cache (``touchdown._compile``: a subfolder per source digest)
    and derived data (the tile cache) live in: ``NUMBA_CACHE_DIR``, else ``.numba-cache``
    beside ``src``."""
    return Path(os.environ.get("NUMBA_CACHE_DIR") or
                Path(__file__).resolve().parents[2] / ".numba-cache")


def cached(kernel: Any) -> bool:
    """Whether the compiled cache holds ``kernel`` (a ``touchdown._compile.kernel``): its
    index file exists. False on a fresh machine and after an edit to the kernels' source (a
    new digest folder, ``_compile.source_digest``)."""
    try:
        return Path(kernel._cache._cache_file._index_path).exists()
    except AttributeError:  # NUMBA_DISABLE_JIT (a plain function), or Numba's layout changed
        return True


def write_atomic(path: Path, write: Callable[[Path], object]) -> Path:
    """Write through ``write(tmp)`` to a temporary name beside ``path``, then rename."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return path


def jsonable(value: Any) -> Any:
    """Plain JSON types; NaN and infinities become null so any parser reads the result."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalars
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
