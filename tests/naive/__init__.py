"""Slow, obvious reference implementations in plain Python/numpy that the tests compare the
compiled kernels against (as stumpy keeps ``tests/naive.py``). Nothing here is fast or clever:
each function is the textbook formula, written out so it can be read against its source."""
