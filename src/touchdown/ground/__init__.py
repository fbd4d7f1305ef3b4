"""The ground segment: ingest, archive, limits and alarms, loss of signal and the web API.

It knows only what the link delivered: it never imports ``touchdown.world``, ``touchdown.fsw``,
``touchdown.sim`` or ``touchdown.report`` (``tests/test_layers.py``).
"""
