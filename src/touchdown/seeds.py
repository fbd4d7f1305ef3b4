"""Seeds (shell): the generator words of a run and the children of a SeedSequence.

A run's random numbers come from ``world.noise`` (compiled) over four uint64 words that this
module draws from ``numpy.random.SeedSequence``; a campaign sample's sequence is a child of the
root seed, made here without advancing anything, so a sample's numbers never depend on order.
"""

from __future__ import annotations

import numpy as np


def seed_words(seed: int | np.random.SeedSequence) -> np.ndarray:
    """Four uint64 state words from an integer seed or a SeedSequence (never all zero)."""
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    words = ss.generate_state(4, dtype=np.uint64)
    if not words.any():
        words[0] = np.uint64(0x9E3779B97F4A7C15)
    return words


def children(seq: np.random.SeedSequence, n: int) -> list[np.random.SeedSequence]:
    """The first n children of seq, as ``seq.spawn(n)`` on a fresh sequence gives them.

    Unlike ``spawn`` this does not advance seq, so asking twice gives the same seeds.
    """
    return [np.random.SeedSequence(seq.entropy, spawn_key=(*seq.spawn_key, k),
                                   pool_size=seq.pool_size) for k in range(n)]
