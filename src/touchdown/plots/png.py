"""Writing figures: every PNG touchdown makes goes through ``save_png``."""

from __future__ import annotations

from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from touchdown.files import write_atomic

DPI = 110


def save_png(fig: Figure, path: Path) -> Path:
    """Render ``fig`` with Agg and write it to ``path`` atomically; return the path."""
    if fig.canvas is None or not isinstance(fig.canvas, FigureCanvasAgg):
        FigureCanvasAgg(fig)
    return write_atomic(path, lambda p: fig.savefig(p, format="png", dpi=DPI))
