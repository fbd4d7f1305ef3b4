"""Per-run random numbers (compiled): xoshiro256** over four uint64 words held by the caller.

Each run (or campaign sample) owns its words, drawn by ``touchdown.seeds``; no
global generator is used, so a run is reproducible alone and identical in any process.
Normal draws use Marsaglia's polar method, which needs no sine or cosine.
References: Blackman & Vigna, "Scrambled linear pseudorandom number generators" (2021);
Marsaglia & Bray, "A convenient method for generating normal variables", SIAM Review 6 (1964).
"""

import math

import numpy as np

from touchdown._compile import kernel

_U64_53 = np.uint64(11)
_INV_2_53 = 1.0 / 9007199254740992.0  # 2^-53


@kernel
def _rotl(x, k):
    return (x << np.uint64(k)) | (x >> np.uint64(64 - k))


@kernel
def next_u64(s):
    """Advance the state words s (uint64[4]) and return the next 64-bit output."""
    result = _rotl(s[1] * np.uint64(5), 7) * np.uint64(9)
    t = s[1] << np.uint64(17)
    s[2] ^= s[0]
    s[3] ^= s[1]
    s[1] ^= s[2]
    s[0] ^= s[3]
    s[2] ^= t
    s[3] = _rotl(s[3], 45)
    return result


@kernel
def uniform(s):
    """A float in [0, 1) with 53 random bits."""
    return float(next_u64(s) >> _U64_53) * _INV_2_53


@kernel
def normal_pair(s):
    """Two independent standard normal draws (Marsaglia's polar method): a point (u, v)
    uniform in the unit disc (drawn in the square, the rest rejected; 4 / pi pairs of
    uniforms on average), scaled by sqrt(-2 ln q / q) with q = u^2 + v^2."""
    while True:
        u = 2.0 * uniform(s) - 1.0
        v = 2.0 * uniform(s) - 1.0
        q = u * u + v * v
        if q < 1.0 and q > 0.0:
            f = math.sqrt(-2.0 * math.log(q) / q)
            return u * f, v * f


@kernel
def normal(s):
    """A standard normal draw: the first of a ``normal_pair``."""
    return normal_pair(s)[0]
