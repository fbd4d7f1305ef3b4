"""Test helper: skip what needs the terrain tiles (``../shared/data``) where they are missing."""

import pytest

from touchdown.moon.dem_tiles import data_dir


def _have_terrain() -> bool:
    try:
        data_dir()
    except Exception:  # pragma: no cover - depends on the machine
        return False
    return True


needs_terrain = pytest.mark.skipif(not _have_terrain(), reason="terrain data not available")
