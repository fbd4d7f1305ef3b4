"""Every ``hakuto-r-m1`` and ``hakuto-r-m1-fixed`` flight and campaign row stays bit for bit.

What validates what: ``m1.json`` was written by ``record.py`` (at abe0ebb, before issue 16
reworked the kernels' seams, and again when building a run stopped calling the BLAS, see
``record.py``); each flight's summary must repeat every value it saved exactly
(floats compared by repr; keys added since, such as the touchdown mass and the milestones, are
new information) and its trace and event log must hash to the same SHA-256 of their float64
bytes; each campaign row must repeat every saved column exactly. A single changed bit anywhere
fails.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

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


PROBE = """
import json, sys
sys.path.insert(0, ".")
from tests.fixed_point.record import campaign_rows, flight_fingerprint
print(json.dumps([flight_fingerprint("hakuto-r-m1", 1), campaign_rows("hakuto-r-m1")[4]]))
"""


def test_numbers_do_not_depend_on_the_machines_blas():
    """The same numbers with OpenBLAS's baseline kernels (Prescott, SSE3) as with those it picks
    for this CPU: the flight's arithmetic must not go through the BLAS (``sim/run.py:norm3``).
    Before, M1's campaign sample 4 hit the ground at 108.04767960442908 m/s with SkylakeX's
    kernels, ...53990836 with Zen's and ...41748432 with Prescott's."""
    root = Path(__file__).resolve().parents[2]
    runs = []
    for coretype in (None, "Prescott"):
        env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"}
        if coretype:
            env["OPENBLAS_CORETYPE"] = coretype
        out = subprocess.run([sys.executable, "-c", PROBE], cwd=root, env=env,
                             capture_output=True, text=True, check=True)
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    assert runs[0] == runs[1]
