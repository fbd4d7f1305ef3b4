"""Every ``hakuto-r-m1`` and ``hakuto-r-m1-fixed`` flight and campaign row stays bit for bit.

What validates what: ``m1.json`` was written by ``record.py`` at abe0ebb, before issue 16
reworked the kernels' seams; each flight's summary must repeat every value it saved exactly
(floats compared by repr; keys added since, such as the touchdown mass and the milestones, are
new information) and its trace and event log must hash to the same SHA-256 of their float64
bytes; each campaign row must repeat every saved column exactly. A single changed bit anywhere
fails.
"""

import json

import pytest
from tests.fixed_point.record import (
    FLIGHT_SEEDS,
    SAVED,
    SCENARIOS,
    campaign_rows,
    flight_fingerprint,
)

REFERENCE = json.loads(SAVED.read_text())


def assert_repeats(now, saved, where="summary"):
    """Every value the reference saved is there again, exactly (new keys may be added)."""
    if isinstance(saved, dict):
        assert isinstance(now, dict), where
        for key, value in saved.items():
            assert key in now, f"{where}.{key} is gone"
            assert_repeats(now[key], value, f"{where}.{key}")
    else:
        assert now == saved, f"{where}: {now!r} != {saved!r}"


@pytest.mark.parametrize("seed", FLIGHT_SEEDS)
@pytest.mark.parametrize("name", SCENARIOS)
def test_flight_is_bit_for_bit_the_reference(name, seed):
    saved = REFERENCE[name]["flights"][str(seed)]
    now = flight_fingerprint(name, seed)
    assert_repeats(now["summary"], saved["summary"])
    assert now["trace_columns"] == saved["trace_columns"]
    assert now["trace_rows"] == saved["trace_rows"]
    assert now["events_n"] == saved["events_n"]
    assert now["events_sha256"] == saved["events_sha256"], "the event log changed"
    assert now["trace_sha256"] == saved["trace_sha256"], "the per-cycle trace changed"


@pytest.mark.parametrize("name", SCENARIOS)
def test_campaign_rows_are_bit_for_bit_the_reference(name):
    saved = REFERENCE[name]["campaign"]
    now = campaign_rows(name)
    assert len(now) == len(saved)
    for i, (row, ref) in enumerate(zip(now, saved, strict=True)):
        missing = sorted(set(ref) - set(row))
        assert not missing, f"sample {i}: columns gone: {missing}"
        changed = {k: (ref[k], row[k]) for k in ref if row[k] != ref[k]}
        assert not changed, f"sample {i}: {changed}"
