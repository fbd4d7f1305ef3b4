"""M1's numbers are the project's fixed point: fingerprints of every ``hakuto-r-m1`` and
``hakuto-r-m1-fixed`` flight and campaign row, saved before a change and compared after it.

``python tests/fixed_point/record.py`` writes ``m1.json`` from the code as it stands; run it
only on a commit whose numbers are the reference, never to make a failing comparison pass. It
was written at abe0ebb (before the seams of issue 16 were reworked) and written again once, when
``sim/run.py:build`` stopped calling the BLAS (issue 21): NumPy's ``@`` and ``linalg.norm``
round as the CPU's OpenBLAS kernels do, so the saved last bits held only where OpenBLAS ran its
SkylakeX kernels. The seed-0 flights stayed bit for bit; seeds 1-3 and some campaign rows moved
in their last bits (M1 seed 1's impact speed by 1e-7 m/s); the 1,000-sample campaigns of both
scenarios kept their landed counts (0 and 999) and their means within 1e-4 of a standard
deviation.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from touchdown.campaign.dispersions import campaign_file_for, load_campaign
from touchdown.campaign.runner import fly_samples
from touchdown.moon.dem_tiles import load_onboard_map, load_truth_terrain
from touchdown.scenario import Scenario, resolve
from touchdown.sim.run import fly

SCENARIOS = ("hakuto-r-m1", "hakuto-r-m1-fixed")
FLIGHT_SEEDS = (0, 1, 2, 3)
CAMPAIGN_SEED, CAMPAIGN_SAMPLES = 0, 24
SAVED = Path(__file__).with_name("m1.json")


def digest(values: np.ndarray) -> str:
    """SHA-256 of the float64 bytes (NaN payloads included): equal only if bit for bit."""
    return hashlib.sha256(np.ascontiguousarray(values, dtype=np.float64).tobytes()).hexdigest()


def flight_fingerprint(name: str, seed: int) -> dict[str, Any]:
    """The flight's summary (floats exact, as repr) and digests of its trace and event log."""
    f = fly(Scenario.from_toml(resolve(name)), seed, load_truth_terrain(), load_onboard_map())
    trace = f.trace.copy()
    trace["lrf_accepted"] = trace["lrf_accepted"].astype(float)
    trace["mode"] = trace["mode"].cat.codes.astype(float)
    n = int(f.arrays.n_events[0])
    summary = {k: v for k, v in f.to_dict().items() if k != "events"}
    return {"summary": json.loads(json.dumps(summary, default=repr)),
            "trace_rows": len(trace), "trace_columns": list(trace.columns),
            "trace_sha256": digest(trace.to_numpy()),
            "events_sha256": digest(f.arrays.events[:n]), "events_n": n}


def campaign_rows(name: str) -> list[dict[str, Any]]:
    """The first ``CAMPAIGN_SAMPLES`` rows of the scenario's campaign, every value as repr."""
    path = resolve(name)
    nominal = Scenario.from_toml(path)
    campaign = load_campaign(campaign_file_for(path), nominal)
    rows: pd.DataFrame = fly_samples(nominal, campaign, CAMPAIGN_SEED, range(CAMPAIGN_SAMPLES))
    return [{k: repr(v) for k, v in row.items()} for row in rows.to_dict("records")]


def fingerprints() -> dict[str, Any]:
    return {name: {"flights": {str(s): flight_fingerprint(name, s) for s in FLIGHT_SEEDS},
                   "campaign": campaign_rows(name)} for name in SCENARIOS}


if __name__ == "__main__":
    SAVED.write_text(json.dumps(fingerprints(), indent=1) + "\n")
    print(f"wrote {SAVED}")
