"""Values and times as the report writes them: units, rounding, enumerations by name, evidence
keys in words and times on both scales."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from touchdown.report.values import (
    event_value,
    evidence_label,
    evidence_value,
    field_value,
    quantity,
    utc,
    when,
)
from touchdown.telemetry.dictionary import load_dictionary
from touchdown.timefmt import mission_clock

EPOCH = datetime(2023, 4, 25, 15, 40, tzinfo=UTC)  # HAKUTO-R M1's scenario epoch


@pytest.mark.parametrize(("value", "unit", "name", "text"), [
    (1004.3317260742188, "m", "", "1,004 m"),  # metres to 1 m
    (-0.89, "m/s", "", "-0.9 m/s"),  # speeds to 0.1 m/s
    (0.3472, "kg", "", "0.3 kg"),  # kilograms to 0.1 kg
    (-1.6321, "m/s^2", "", "-1.63 m/s²"),
    (50.5912, "deg", "beam_from_vertical_deg", "50.6 deg"),
    (45.59123, "deg", "lat_deg", "45.591 deg"),  # a position to 0.001 deg (30 m)
    (12.3456, "-", "nis", "12.3"),  # NIS to 0.1
    (4.0, "-", "rejected_run", "4"),  # a count is whole
    (1.0, "-", "thruster_duty", "100 %"),
    (447.0, "s", "duration_s", "7 min 27 s"),
    (1.33, "s", "light_time_s", "1.3 s"),
    (-0.004, "m", "", "0 m"),  # no "-0"
    (math.nan, "m", "", "-"),
    (None, "m", "", "-"),
])
def test_quantities_are_rounded_to_what_their_unit_means(value, unit, name, text) -> None:
    assert quantity(value, unit, name) == text


def test_enumerations_read_by_name_and_fields_by_the_dictionarys_unit() -> None:
    d = load_dictionary()
    assert field_value(d, "lrf.state", 2.0) == "faulty"
    assert field_value(d, "gnc.mode", 6.0) == "terminal_descent"
    assert field_value(d, "nav.position_sigma_m", 1004.3317260742188) == "1,004 m"
    assert field_value(d, "prop.propellant_kg", -1.2) == "-1.2 kg"
    assert field_value(d, "lrf.rejected_run", 9.0) == "9"


def test_event_values_carry_the_unit_their_meaning_gives() -> None:
    assert event_value("braking_start", 29003.648) == "29,004 m"  # estimated altitude (m)
    assert event_value("propellant_low", 4.99717) == "5.0 kg"
    assert event_value("doi_end", 17.1725) == "17.2 m/s"
    assert event_value("computer_restart", 2.0) == "2"  # restarts so far: a count


def test_evidence_keys_read_as_words_with_their_values_units() -> None:
    assert evidence_label("t_count_zero_s") == "onboard count at zero"
    assert evidence_label("t_first_rejection_s") == "first rejection"
    assert evidence_label("engine_off_t_s") == "engine off"
    assert evidence_label("vertical_acceleration_mps2") == "vertical acceleration"
    assert evidence_label("range_vertical_m") == "range vertical"
    assert evidence_value("vertical_acceleration_mps2", -1.6321, EPOCH) == "-1.63 m/s²"
    assert evidence_value("gap_first_m", 1275.91, EPOCH) == "1,276 m"
    assert evidence_value("explains_jump", True, EPOCH) == "yes"
    assert evidence_value("t_s", 3893.5, EPOCH) == "T+64:53.5 (2023-04-25T16:44:53.5Z)"


@pytest.mark.parametrize("t", [0.0, 3893.5, 4196.800003051758, 4341.36, 59.96])
def test_times_on_both_scales_agree(t: float) -> None:
    """UTC is the epoch plus the mission-elapsed time, to the same 0.1 s as T+."""
    m, s = mission_clock(t).removeprefix("T+").split(":")
    stamp = datetime.fromisoformat(utc(t, EPOCH).replace("Z", "+00:00"))
    assert (stamp - EPOCH).total_seconds() == pytest.approx(60 * int(m) + float(s), abs=1e-6)
    assert when(t, EPOCH) == f"{mission_clock(t)} ({utc(t, EPOCH)})"


def test_an_archive_without_an_epoch_counts_from_1970() -> None:
    assert utc(86400.25, None) == "1970-01-02T00:00:00.2Z"
    assert when(None, EPOCH) == "-"
