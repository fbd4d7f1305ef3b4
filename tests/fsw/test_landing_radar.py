"""Apollo's landing-radar altitude update (``fsw.landing_radar``) against the rules in feet.

What validates what: the reference here works in feet, as Luminary did (physics-and-standards.md:
no update above 50,000 ft; after high gate reject |dH| > 50 ft + H/8; weight 0.35 (1 - H/50,000
ft)), and converts only at the end; the kernel, in metres, agrees to 1e-9 m over a sweep of
altitudes and differences, including both sides of the gate and of the ceiling; before high gate
nothing is rejected; the measured altitude is the slant range projected on the vertical (a beam
30 degrees off it reads cos 30 of the range).
"""

import math

import numpy as np
import pytest

from touchdown.fsw.landing_radar import altitude_update, radar_altitude


def luminary(h_est_ft, h_meas_ft, gated):
    """The rules in feet: the correction (ft), or None."""
    if h_est_ft > 50_000:
        return None
    dh = h_meas_ft - h_est_ft
    if gated and abs(dh) > 50 + h_est_ft / 8:
        return None
    return 0.35 * (1 - h_est_ft / 50_000) * dh


@pytest.mark.parametrize("gated", [True, False])
def test_the_update_follows_luminarys_rules(gated):
    for h_ft in (0.0, 10.0, 400.0, 7_000.0, 30_000.0, 49_999.0, 50_001.0, 60_000.0):
        for dh_ft in (-9_000.0, -1_000.0, -60.0, -5.0, 0.0, 3.0, 49.0, 51.0, 600.0, 4_000.0):
            want = luminary(h_ft, h_ft + dh_ft, gated)
            got = altitude_update(h_ft * 0.3048, (h_ft + dh_ft) * 0.3048, gated)
            if want is None:
                assert math.isnan(got), (h_ft, dh_ft)
            else:
                assert got == pytest.approx(want * 0.3048, abs=1e-9), (h_ft, dh_ft)


def test_the_gate_edges():
    h = 8_000.0 * 0.3048  # 8,000 ft: allowance 50 + 1,000 = 1,050 ft
    assert not math.isnan(altitude_update(h, h + 1_049.0 * 0.3048, True))
    assert math.isnan(altitude_update(h, h + 1_051.0 * 0.3048, True))
    assert not math.isnan(altitude_update(h, h + 1_051.0 * 0.3048, False))
    assert math.isnan(altitude_update(h, math.nan, False))


def test_measured_altitude_is_the_range_projected_on_the_vertical():
    up = np.array([0.0, 0.0, 1.0])
    t = math.radians(30.0)
    beam = np.array([math.sin(t), 0.0, -math.cos(t)])
    assert radar_altitude(2_000.0, beam, up) == pytest.approx(2_000.0 * math.cos(t))
