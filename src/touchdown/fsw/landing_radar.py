"""Apollo's landing-radar altitude update (compiled), after Luminary 099 (physics-and-standards.md,
"Altimeter updates and gating").

Inputs / Outputs
==========  ==============================================  ========  ================
name        layout                                          unit      rate
==========  ==============================================  ========  ================
slant       the altitude beam's slant range                 m         each reading
beam, up    the beam's and the local vertical's directions  -         each reading
            (unit, one frame)
h_est       the flight software's altitude estimate         m         each cycle
gated       1 after high gate (the reasonableness test     -         each cycle
            applies), 0 before
==========  ==============================================  ========  ================

- ``radar_altitude``: the measured altitude, the slant range times the beam's projection on the
  local vertical (no terrain model, as Apollo 11 flew; Apollo 15-17 added one).
- ``altitude_update``: no update above 50,000 ft; after high gate a reading whose difference
  from the estimate exceeds 50 ft + H/8 is rejected (the reasonableness test); otherwise the
  estimate moves by the weight 0.35 (1 - H / 50,000 ft) times the difference. Returns the
  correction (m) to add to the estimate, NaN when there is none (rejected or too high), so the
  caller can log a rejection.
"""

import math

from touchdown._compile import kernel

FT = 0.3048  # m
UPDATE_CEILING = 50_000.0 * FT  # m: no altitude update above
GATE_FLOOR = 50.0 * FT  # m: the reasonableness test's allowance at zero altitude
GATE_PER_ALTITUDE = 1.0 / 8.0  # the allowance's growth with altitude
WEIGHT_MAX = 0.35  # the update's weight at zero altitude


@kernel
def radar_altitude(slant, beam, up):
    """Measured altitude (m): slant range times the beam's projection on the local vertical."""
    return -slant * (beam[0] * up[0] + beam[1] * up[1] + beam[2] * up[2])


@kernel
def altitude_update(h_est, h_meas, gated):
    """The correction (m) to add to the altitude estimate; NaN when none (see the module)."""
    if h_est > UPDATE_CEILING or math.isnan(h_meas):
        return math.nan
    dh = h_meas - h_est
    if gated and abs(dh) > GATE_FLOOR + GATE_PER_ALTITUDE * max(h_est, 0.0):
        return math.nan
    return WEIGHT_MAX * (1.0 - max(h_est, 0.0) / UPDATE_CEILING) * dh
