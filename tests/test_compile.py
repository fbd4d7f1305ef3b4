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


def test_the_compiled_cache_lives_in_a_folder_per_version_of_the_source(tmp_path, monkeypatch):
    """Numba checks a kernel's own file only; a folder per digest of every source file makes a
    changed callee or layout compile afresh instead of loading stale code."""
    from pathlib import Path

    import numba

    from touchdown import _compile

    assert Path(numba.config.CACHE_DIR).name == _compile.source_digest()
    pkg = tmp_path / "pkg"
    (pkg / "core").mkdir(parents=True)
    (pkg / "core" / "layout.py").write_text("F_X = 0\n")
    (pkg / "kernel.py").write_text("def f(): pass\n")
    monkeypatch.setattr(_compile, "PACKAGE", pkg)
    before = _compile.source_digest()
    (pkg / "core" / "layout.py").write_text("F_X = 1\n")  # a layout constant moves
    assert _compile.source_digest() != before
    (pkg / "core" / "layout.py").write_text("F_X = 0\n")
    assert _compile.source_digest() == before  # back to known source: the same folder
