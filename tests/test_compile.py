"""The kernel decorator (``touchdown._compile``): one set of flags for every compiled kernel,
and a compiled cache folder per version of the source."""

import numpy as np
import pytest
from numba import config, prange
from numba.core.errors import TypingError

from touchdown._compile import kernel
from touchdown.moon.terrain import ray_cast
from touchdown.sim.step import advance

pytestmark = pytest.mark.skipif(config.DISABLE_JIT, reason="compile flags need the JIT")


def test_kernels_run_without_reference_counting_and_campaign_loops_with_it():
    """Step kernels are compiled with Numba's NRT off (no atomic reference counts on the
    work-array views they pass each other); a parallel kernel keeps NRT, since it allocates
    per-sample scratch, and may still call them."""
    for k in (advance, ray_cast):
        assert k.targetoptions["_nrt"] is False
        assert k.targetoptions["fastmath"] is False

    @kernel
    def double_into(x, out):
        view = out[1:]
        for i in range(x.shape[0]):
            view[i] = 2.0 * x[i]

    @kernel(parallel=True)
    def many(xs):
        out = np.zeros((xs.shape[0], xs.shape[1] + 1))
        for i in prange(xs.shape[0]):
            scratch = np.zeros(xs.shape[1] + 1)
            double_into(xs[i], scratch)
            out[i] = scratch
        return out

    assert many.targetoptions["_nrt"] is True
    xs = np.arange(12.0).reshape(4, 3)
    assert np.array_equal(many(xs)[:, 1:], 2.0 * xs)


def test_a_kernel_that_allocates_fails_to_compile():
    @kernel
    def allocates(n):
        return np.zeros(n).sum()

    with pytest.raises(TypingError, match="zeros"):  # "Only accept returning of array passed"
        allocates(3)


def _package(root, files):
    """A stand-in package: {relative path: source}."""
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def test_the_compiled_cache_lives_in_a_folder_per_version_of_the_kernels_source(tmp_path,
                                                                               monkeypatch):
    """Numba checks a kernel's own file only; a folder per digest of the kernels' source makes
    a changed callee or layout compile afresh instead of loading stale code."""
    from pathlib import Path

    import numba

    from touchdown import _compile

    assert Path(numba.config.CACHE_DIR).name == _compile.source_digest()
    _package(tmp_path, {
        "core/__init__.py": "",
        "core/layout.py": "F_X = 0\n",
        "kernel.py": "from touchdown._compile import kernel\n"
                     "from touchdown.core.layout import (\n    F_X,\n)\n",
    })
    monkeypatch.setattr(_compile, "PACKAGE", tmp_path)
    before = _compile.source_digest()
    (tmp_path / "core" / "layout.py").write_text("F_X = 1\n")  # a layout constant moves
    assert _compile.source_digest() != before
    (tmp_path / "core" / "layout.py").write_text("F_X = 0\n")
    assert _compile.source_digest() == before  # back to known source: the same folder


def test_the_digest_follows_imports_and_skips_what_no_kernel_imports(tmp_path, monkeypatch):
    """Imports are followed however deep, in any form (a submodule named in ``from ... import``,
    an import inside a function, a package's ``__init__``); the bundles the kernels take count
    too; a module no kernel imports (the ground, the command line) changes nothing."""
    from touchdown import _compile

    _package(tmp_path, {
        "__init__.py": "",
        "_compile.py": "FLAGS = 1\n",
        "core/__init__.py": "",
        "core/bundles.py": "class World: ...\n",
        "moon/__init__.py": "X = 1\n",
        "moon/frames.py": "def f():\n    import touchdown.moon.deep\n",
        "moon/deep.py": "Y = 2\n",
        "sim/step.py": "from touchdown._compile import kernel\nfrom touchdown.moon import frames\n",
        "ground/server.py": "from touchdown.sim.step import advance\n",
        "cli/main.py": "import touchdown.ground.server\n",
    })
    monkeypatch.setattr(_compile, "PACKAGE", tmp_path)
    names = {p.relative_to(tmp_path).as_posix() for p in _compile.kernel_sources()}
    assert names == {"__init__.py", "_compile.py", "core/bundles.py", "moon/__init__.py",
                     "moon/frames.py", "moon/deep.py", "sim/step.py"}
    for name in sorted(names):
        before = _compile.source_digest()
        (tmp_path / name).write_text((tmp_path / name).read_text() + "# edited\n")
        assert _compile.source_digest() != before, name
    before = _compile.source_digest()
    for name in ("ground/server.py", "cli/main.py"):
        (tmp_path / name).write_text((tmp_path / name).read_text() + "# edited\n")
    assert _compile.source_digest() == before


def test_every_kernel_of_the_package_is_in_the_digest():
    """Every compiled kernel's own module is in ``kernel_sources``: a kernel added where the
    digest does not look would load stale machine code after an edit to what it calls."""
    import importlib
    import pkgutil
    from pathlib import Path

    from numba.core.registry import CPUDispatcher

    import touchdown
    from touchdown import _compile

    digested, found = set(_compile.kernel_sources()), 0
    for info in pkgutil.walk_packages(touchdown.__path__, "touchdown."):
        if info.name == "touchdown.__main__" or info.name.startswith("touchdown.ground.mct"):
            continue
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if isinstance(value, CPUDispatcher):
                assert Path(value.py_func.__code__.co_filename).resolve() in digested, (
                    f"{value.py_func.__qualname__} of {info.name}")
                found += 1
    assert found > 100  # the walk saw the package's kernels


def test_source_digest_reads_package_source_not_node_modules(tmp_path, monkeypatch):
    """Open MCT's npm packages (``ground/mct/node_modules``) ship Python build scripts; an
    ``npm ci`` must not make every kernel compile afresh."""
    from touchdown import _compile

    _package(tmp_path, {"kernel.py": "from touchdown._compile import kernel\n"})
    monkeypatch.setattr(_compile, "PACKAGE", tmp_path)
    before = _compile.source_digest()
    _package(tmp_path, {"ground/mct/node_modules/gyp/build.py":
                        "from touchdown._compile import kernel\n"})
    assert _compile.source_digest() == before
    assert _compile.source_files() == [tmp_path / "kernel.py"]


def test_cached_tells_a_first_run_from_a_warm_one(tmp_path, monkeypatch):
    """A kernel is cached once its first call compiled it into the cache folder."""
    import numba

    from touchdown.files import cached

    monkeypatch.setattr(numba.config, "CACHE_DIR", str(tmp_path))

    @kernel
    def add_one(x, out):
        out[0] = x + 1.0

    assert not cached(add_one)
    out = np.zeros(1)
    add_one(1.0, out)
    assert out[0] == 2.0 and cached(add_one)


LOAD = """
import sys
import numpy as np
from touchdown._compile import kernel

@kernel
def scale(x, out):
    for i in range(x.shape[0]):
        out[i] = 3.0 * x[i] + 0.1

out = np.zeros(4)
scale(np.arange(4.0), out)
print(sum(scale.stats.cache_hits.values()), "scipy.linalg" in sys.modules, out.tolist())
"""


def test_a_cached_kernel_loads_without_setting_up_the_compiler(tmp_path):
    """The second process loads the kernel from the cache (a hit) without Numba's compiler
    set-up (its linear algebra imports scipy.linalg), and computes the same numbers."""
    import os
    import subprocess
    import sys

    script = tmp_path / "scale.py"
    script.write_text(LOAD)
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"))
    runs = [subprocess.run([sys.executable, str(script)], env=env, capture_output=True,
                           text=True, timeout=120) for _ in range(2)]
    for r in runs:
        assert r.returncode == 0, r.stderr
    first, second = (r.stdout.split(maxsplit=2) for r in runs)
    assert first[:2] == ["0", "True"]  # compiled: the compiler was set up
    assert second[:2] == ["1", "False"]  # loaded from the cache
    assert first[2] == second[2] == str([3.0 * i + 0.1 for i in range(4)]) + "\n"
