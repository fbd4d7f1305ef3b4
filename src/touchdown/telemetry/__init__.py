"""Telemetry: the dictionary (single source), CCSDS packets and frames, and the radio link."""
