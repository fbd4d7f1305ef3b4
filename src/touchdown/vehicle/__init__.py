"""Lander specifications: masses, engines, attitude control — typed and validated."""
