"""The one decorator every compiled kernel uses (``njit(cache=True)``, no fastmath), and the
compiled cache's folder, one per version of the package's source.

Numba's cache checks a kernel's own source file only: a kernel whose callee, or whose layout
constant (``core.layout``), changed would load its stale machine code and compute with the old
one. So the cache lives in a subfolder of ``NUMBA_CACHE_DIR`` (by default ``.numba-cache`` beside
``src``) named by a digest of the kernels' source (``kernel_sources``): every module that
defines kernels, the bundles they take (``core.bundles``: a named tuple's field order is
compiled in, and Numba's signature does not name the fields) and every module of the package
those import, however deep. An edit there, or a ``git pull`` that brings one, compiles afresh;
an edit to the ground, the reports or the command line (no kernel imports them) does not; a
checkout returning to known source finds its cache again.

Loading a kernel from that cache skips Numba's one-time set-up of its compiler (``_Cache``):
start-up is what a warm ``touchdown fly`` waits for, and the set-up is half of it.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numba
from numba import njit
from numba.core.caching import FunctionCache
from numba.core.runtime import nrt

from touchdown.files import cache_base

PACKAGE = Path(__file__).resolve().parent


def source_files() -> list[Path]:
    """Every ``.py`` file of the package, sorted; folders that hold no package source
    (``node_modules``: Open MCT's packages ship Python build scripts; hidden folders) are not
    walked."""
    found = []
    for folder, subfolders, files in os.walk(PACKAGE):
        subfolders[:] = [d for d in subfolders if d != "node_modules" and not d.startswith(".")]
        found += [Path(folder) / f for f in files if f.endswith(".py")]
    return sorted(found)


KERNEL_ARGUMENTS = "core/bundles.py"  # the named tuples kernels take (``core.bundles``)
# ``from touchdown.a import b, c`` (names in parentheses may span lines) or ``import touchdown.a``,
# at any indent (imports inside functions count too)
_IMPORT = re.compile(rb"^[ \t]*(?:from[ \t]+(touchdown[\w.]*)[ \t]+import[ \t]+(\([^)]*\)|[^\n]*)"
                     rb"|import[ \t]+(touchdown[\w.]*))", re.M)


def _module_name(path: Path) -> str:
    """``touchdown.a.b`` for the package's ``a/b.py`` or ``a/b/__init__.py``."""
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(("touchdown", *parts))


def _imported(text: bytes, modules: dict[str, Path]) -> set[Path]:
    """The files of ``modules`` (by name) a module's source imports: each module it names with
    the packages on the way (their ``__init__.py`` runs first) and, for ``from touchdown.a
    import b``, the submodule ``touchdown.a.b`` where there is one."""
    found: set[Path] = set()
    for module, names, plain in _IMPORT.findall(text):
        name = (module or plain).decode()
        parts = name.split(".")
        wanted = [".".join(parts[:i]) for i in range(1, len(parts) + 1)]
        wanted += [f"{name}.{sub.decode()}" for sub in re.findall(rb"\w+", names)]
        found.update(modules[m] for m in wanted if m in modules)
    return found


def _kernel_texts() -> dict[Path, bytes]:
    """The bytes of each file of ``kernel_sources``, in its order (each file read once)."""
    text = {p: p.read_bytes() for p in source_files()}
    modules = {_module_name(p): p for p in text}
    roots = {p for p, t in text.items() if b"_compile" in t}
    roots |= {PACKAGE / "_compile.py", PACKAGE / KERNEL_ARGUMENTS} & text.keys()
    seen, todo = set(roots), list(roots)
    while todo:
        for p in _imported(text[todo.pop()], modules) - seen:
            seen.add(p)
            todo.append(p)
    return {p: text[p] for p in sorted(seen)}


def kernel_sources() -> list[Path]:
    """The source the compiled code depends on, sorted: this module, every module that uses
    it (``touchdown._compile``), the bundles the kernels take (``KERNEL_ARGUMENTS``), and every
    module of the package those import, transitively."""
    return list(_kernel_texts())


def source_digest() -> str:
    """A digest of the kernels' source (``kernel_sources``): each file's path and bytes."""
    h = hashlib.sha256()
    for p, text in _kernel_texts().items():
        h.update(p.relative_to(PACKAGE).as_posix().encode())
        h.update(text)
    return h.hexdigest()[:16]


numba.config.CACHE_DIR = str(cache_base() / source_digest())

F = TypeVar("F", bound=Callable[..., Any])


class _Cache(FunctionCache):
    """Numba's cache of a kernel, loaded without first setting up the compiler.

    Numba's ``Cache.load_overload`` begins with ``target_context.refresh()``, which imports and
    registers everything Numba can compile (its linear algebra imports SciPy): ~0.45 s, half of
    a warm ``touchdown fly``. Loading cached machine code needs none of it, only the runtime's
    symbols (``rtsys.initialize``, cheap and idempotent). A kernel that is not in the cache is
    compiled as usual, and compiling refreshes the context itself (``compiler.compile_extra``).
    The campaign's parallel loop keeps Numba's own cache (its threads' set-up is Numba's).
    """

    def load_overload(self, sig: Any, target_context: Any) -> Any:
        nrt.rtsys.initialize(target_context)
        with self._guard_against_spurious_io_errors():
            return self._load_overload(sig, target_context)


def kernel(func: F | None = None, *, parallel: bool = False, inline: bool = False) -> Any:
    """Compile ``func`` with the project's flags; ``parallel=True`` only for campaign loops.

    Kernels never allocate (they write into arrays the shell gives them), so they are compiled
    without Numba's reference-counting runtime (NRT, Numba's private ``_nrt=False`` option).
    With it, every slice of a work array handed from one kernel to another costs an atomic
    increment and decrement that Numba cannot prune across calls (Numba issue #2345): about
    40 % of a flight's time. Without it a kernel that allocates fails to compile, which is the
    rule anyway. The campaign loop (``parallel=True``) allocates each sample's scratch, so it
    keeps NRT; it also releases the GIL (``nogil``), so the campaign's Python prepares the next
    chunk meanwhile. The option changes memory bookkeeping only, never a number; if a Numba
    release drops it, ``njit`` refuses the option at import and this flag is the one line to
    remove.
    """

    def wrap(f: F) -> F:
        d = njit(cache=parallel, fastmath=False, parallel=parallel, nogil=parallel,
                 error_model="numpy",
                 _nrt=parallel, inline="always" if inline else "never")(f)
        if not parallel and hasattr(d, "_cache"):  # cached too; the campaign loop the usual way
            d._cache = _Cache(d.py_func)
        return d

    return wrap(func) if func is not None else wrap
