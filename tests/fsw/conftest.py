"""Fixtures for the flight-software kernel tests: the kernels' scratch array."""

import numpy as np
import pytest

WORK_WORDS = 1024  # scratch words: more than any flight-software kernel asks for


@pytest.fixture
def work():
    """A factory of fresh zeroed scratch arrays: pass ``work()`` to every kernel call, so no
    kernel can lean on what an earlier call left in its scratch."""

    def fresh():
        return np.zeros(WORK_WORDS)

    return fresh
