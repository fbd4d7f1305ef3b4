"""The working tree and a baseline revision side by side: benchmarks that compare the two run
the baseline's ``src`` (``git archive``, read-only on the repository) with its own compiled
cache, in a process of its own, alternating with this tree's."""

from __future__ import annotations

import os
import subprocess
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASELINE = "2d84487"  # main at the start of issue 21 (speed for every lander)


def export_source(rev: str, into: Path, paths: tuple[str, ...] = ("src",)) -> Path:
    """The ``src`` folder of revision ``rev`` of this repository (with ``paths``, each a
    folder of the repository), exported under ``into``."""
    archive = into / "src.tar"
    with archive.open("wb") as out:
        subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", rev, *paths],
                       stdout=out, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    archive.unlink()
    return into / "src"


def baseline_folder(rev: str) -> Path:
    """A folder holding revision ``rev``'s ``src`` and ``scenarios`` and its compiled cache
    (``.numba-cache``), kept between runs in the temporary folder: Numba's cache is keyed by
    the source files' paths and times, so a fresh export would compile afresh every run."""
    sha = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--verify", f"{rev}^{{commit}}"],
                         capture_output=True, text=True, check=True).stdout.strip()
    folder = Path(tempfile.gettempdir()) / "touchdown-bench-baseline" / sha[:12]
    if not (folder / "src").is_dir():
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=folder.parent))
        export_source(sha, tmp, ("src", "scenarios"))
        tmp.rename(folder)  # whole or not at all
    return folder


def tree_env(src: Path, cache: Path | None) -> dict[str, str]:
    """The environment that runs the package in ``src`` with compiled cache ``cache`` (None:
    as set, else the tree's default)."""
    env = dict(os.environ, PYTHONPATH=str(src))
    if cache is not None:
        env["NUMBA_CACHE_DIR"] = str(cache)
    return env


def trees(baseline: str | None) -> dict[str, dict[str, str]]:
    """The environments to compare: ``new`` (this tree) and, unless ``baseline`` is None,
    ``baseline`` (that revision's export and cache)."""
    out = {"new": tree_env(ROOT / "src", None)}
    if baseline is not None:
        folder = baseline_folder(baseline)
        out["baseline"] = tree_env(folder / "src", folder / ".numba-cache")
    return out
