"""Fuel-optimal powered descent by lossless convexification (shell code): ``problem`` reads
a problem file, ``solve`` solves it (see docs/guidance.md)."""
