"""Drawings the shell's rooms share (shell): PNG writing (``png``), terrain hillshades
(``terrain``) and the one-page picture of a flight (``flight``). Below the ground, the report,
the campaign and the run folder, above ``moon``; matplotlib, never the simulation's code."""
