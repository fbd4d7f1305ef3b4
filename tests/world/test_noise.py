"""Per-run random numbers: xoshiro256** words, uniform and normal draws, seeding.

What validates what:

- ``next_u64`` bit for bit against the published xoshiro256** outputs from the state {1, 2, 3, 4}
  (Blackman & Vigna reference C code, as tabled in rust-random/rngs
  ``rand_xoshiro/src/xoshiro256starstar.rs``), and against a slow pure-Python transcription of the
  reference algorithm (explicit 64-bit masking) on seeded states.
- ``uniform`` and ``normal`` bit for bit / to round-off against that transcription (top 53 bits
  times 2^-53; the first of Marsaglia's polar pair); ``normal_pair`` is both members of it.
- Statistics over 200,000 draws with a fixed seed, bounds at 5 standard errors: mean, standard
  deviation, the 1.96-sigma tail fraction, excess kurtosis, and a Kolmogorov-Smirnov test.
- Seeding: equal seeds give equal sequences, different seeds different ones, words are uint64[4].
"""

import math

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from scipy import stats

from touchdown.seeds import seed_words
from touchdown.world.noise import next_u64, normal, normal_pair, uniform

MASK = (1 << 64) - 1
N_DRAWS = 200_000
FIVE_SIGMA = 5.0
KS_P_MIN = 5.7e-7  # two-sided 5-sigma probability

# ---------------------------------------------------------------- slow, obvious reference


def ref_rotl(x, k):
    return ((x << k) | (x >> (64 - k))) & MASK


def ref_next(s):
    """xoshiro256** 1.0 (Blackman & Vigna), on a list of four Python ints, masked to 64 bits."""
    result = (ref_rotl((s[1] * 5) & MASK, 7) * 9) & MASK
    t = (s[1] << 17) & MASK
    s[2] ^= s[0]
    s[3] ^= s[1]
    s[1] ^= s[2]
    s[0] ^= s[3]
    s[2] ^= t
    s[3] = ref_rotl(s[3], 45)
    return result


def ref_uniform(s):
    return (ref_next(s) >> 11) * 2.0**-53


def ref_normal_pair(s):
    """Marsaglia's polar method, as in Marsaglia & Bray (1964)."""
    while True:
        u, v = 2.0 * ref_uniform(s) - 1.0, 2.0 * ref_uniform(s) - 1.0
        q = u * u + v * v
        if 0.0 < q < 1.0:
            f = math.sqrt(-2.0 * math.log(q) / q)
            return u * f, v * f


def ref_normal(s):
    return ref_normal_pair(s)[0]


def draws(fn, seed, n):
    s = seed_words(seed)
    return np.array([fn(s) for _ in range(n)])


# ---------------------------------------------------------------- known answers


def test_next_u64_matches_published_vector_from_state_1_2_3_4():
    expected = [11520, 0, 1509978240, 1215971899390074240, 1216172134540287360,
                607988272756665600, 16172922978634559625, 8476171486693032832,
                10595114339597558777, 2904607092377533576]
    s = np.array([1, 2, 3, 4], dtype=np.uint64)
    assert [int(next_u64(s)) for _ in expected] == expected
    ref = [1, 2, 3, 4]
    assert [ref_next(ref) for _ in expected] == expected  # the transcription is right too


@pytest.mark.parametrize("seed", [0, 7, 2**63 + 12345])
def test_generator_matches_pure_python_transcription(seed):
    """1,000 words bit for bit, then uniform bit for bit and normal to 1e-15 (libm round-off),
    and the state words agree at the end."""
    s = seed_words(seed)
    ref = [int(w) for w in s]
    for _ in range(1000):
        assert int(next_u64(s)) == ref_next(ref)
    for _ in range(200):
        assert uniform(s) == ref_uniform(ref)
    for _ in range(200):
        x, x_ref = normal(s), ref_normal(ref)
        assert abs(x - x_ref) <= 1e-15 * max(1.0, abs(x_ref))
    assert [int(w) for w in s] == ref


# ---------------------------------------------------------------- statistics (fixed seeds)


def test_uniform_is_in_unit_interval_with_uniform_moments():
    """200k draws: all in [0, 1); mean 1/2 and variance 1/12 within 5 standard errors
    (se = sqrt(1/12/n) = 6.5e-4 and sqrt(1/180/n) = 1.7e-4); Kolmogorov-Smirnov p-value
    above 5.7e-7."""
    u = draws(uniform, 11, N_DRAWS)
    assert u.min() >= 0.0 and u.max() < 1.0
    assert abs(u.mean() - 0.5) < FIVE_SIGMA * math.sqrt(1.0 / 12.0 / N_DRAWS)
    assert abs(u.var() - 1.0 / 12.0) < FIVE_SIGMA * math.sqrt(1.0 / 180.0 / N_DRAWS)
    assert stats.kstest(u, "uniform").pvalue > KS_P_MIN


def test_normal_has_zero_mean_unit_std_and_gaussian_tails():
    """200k draws: mean within 5 se (1/sqrt(n) = 2.2e-3), std within 5 se (1/sqrt(2n) =
    1.6e-3), fraction beyond |x| > 1.96 within 5 se of 0.05, excess kurtosis within 5 se
    (sqrt(24/n) = 0.011) of 0, and a Kolmogorov-Smirnov p-value above 5.7e-7."""
    x = draws(normal, 12, N_DRAWS)
    assert np.all(np.isfinite(x))
    assert abs(x.mean()) < FIVE_SIGMA / math.sqrt(N_DRAWS)
    assert abs(x.std() - 1.0) < FIVE_SIGMA / math.sqrt(2.0 * N_DRAWS)
    p = 0.0499958  # P(|x| > 1.96)
    tail = np.mean(np.abs(x) > 1.96)
    assert abs(tail - p) < FIVE_SIGMA * math.sqrt(p * (1.0 - p) / N_DRAWS)
    kurt = np.mean((x - x.mean()) ** 4) / x.var() ** 2 - 3.0
    assert abs(kurt) < FIVE_SIGMA * math.sqrt(24.0 / N_DRAWS)
    assert stats.kstest(x, "norm").pvalue > KS_P_MIN


def test_normal_pair_is_one_polar_transform_and_two_independent_normals():
    """The pair is both members of one polar transform (its first what ``normal`` draws from
    the same state), to round-off against the transcription; over 100k pairs each member
    passes the moment and Kolmogorov-Smirnov checks above and their correlation is within 5
    standard errors (1/sqrt(n)) of 0."""
    s, ref = seed_words(5), [int(w) for w in seed_words(5)]
    first = seed_words(5)
    for _ in range(100):
        a, b = normal_pair(s)
        a_ref, b_ref = ref_normal_pair(ref)
        assert abs(a - a_ref) <= 1e-15 * max(1.0, abs(a_ref))
        assert abs(b - b_ref) <= 1e-15 * max(1.0, abs(b_ref))
        assert normal(first) == a
        first[:] = s
    n = N_DRAWS // 2
    pairs = np.array(draws(normal_pair, 13, n))
    for x in pairs.T:
        assert abs(x.mean()) < FIVE_SIGMA / math.sqrt(n)
        assert abs(x.std() - 1.0) < FIVE_SIGMA / math.sqrt(2.0 * n)
        assert stats.kstest(x, "norm").pvalue > KS_P_MIN
    assert abs(np.corrcoef(pairs.T)[0, 1]) < FIVE_SIGMA / math.sqrt(n)


# ---------------------------------------------------------------- seeding


def test_seed_words_are_four_nonzero_uint64_and_accept_a_seed_sequence():
    w = seed_words(7)
    assert w.dtype == np.uint64 and w.shape == (4,)
    assert w.any()
    assert_array_equal(seed_words(np.random.SeedSequence(7)), w)
    child = np.random.SeedSequence(7).spawn(3)[2]
    assert_array_equal(seed_words(child), np.random.SeedSequence(7).spawn(3)[2]
                       .generate_state(4, dtype=np.uint64))


def test_same_seed_same_sequence_different_seed_different_sequence():
    a = draws(next_u64, 7, 1000)
    b = draws(next_u64, 7, 1000)
    c = draws(next_u64, 8, 1000)
    assert_array_equal(a, b)
    assert np.count_nonzero(a == c) == 0  # equal 64-bit words: probability ~1000 / 2^64
    assert_array_equal(draws(normal, 3, 500), draws(normal, 3, 500))
    assert not np.array_equal(draws(normal, 3, 500), draws(normal, 4, 500))
