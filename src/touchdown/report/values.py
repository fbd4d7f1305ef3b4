"""Values and times as the report writes them (shell): units, enumerations by name, rounding.

The one place the report turns numbers into text, for the page and the findings' sentences:

- ``quantity(value, unit)``: rounded to what the unit means (metres to 1 m, speeds to 0.1 m/s,
  kilograms to 0.1 kg, angles to 0.1 deg, positions to 0.001 deg), with the unit;
- ``field_value(dictionary, "lrf.state", 2)``: a telemetry parameter by the dictionary's unit,
  an enumeration by its state's name (``faulty``);
- ``event_value(name, value)``: an onboard event's value, with the unit its meaning gives
  (``core.layout.EVENTS``);
- ``evidence_label`` / ``evidence_value``: a finding's evidence key (``t_count_zero_s``,
  ``gap_first_m``) as words and its value with its unit (times on both scales);
- ``when(t, epoch)``: an archive time on both scales, mission-elapsed T+mm:ss.s
  (``timefmt.mission_clock``) and UTC (the epoch plus it; docs/ground.md, "One time base").
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from touchdown.core.layout import EVENTS
from touchdown.telemetry.dictionary import Dictionary
from touchdown.timefmt import mission_clock as clock

NO_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # an archive without one counts from 1970
DECIMALS = {"m": 0, "km": 1, "m/s": 1, "m/s^2": 2, "kg": 1, "deg": 1, "s": 1, "N": 0,
            "px": 0, "octet": 0}
BY_NAME = {"lat_deg": 3, "lon_deg": 3, "nis": 1}  # field names rounded otherwise
PERCENT = ("main_engine", "thruster_duty", "excess", "share")  # fractions shown in %
SHOWN = {"m/s^2": "m/s²"}
# evidence keys by suffix: their unit (longest first, so _mps2 is not read as _m)
SUFFIX_UNITS = (("_mps2", "m/s^2"), ("_mps", "m/s"), ("_kg", "kg"), ("_km", "km"),
                ("_deg", "deg"), ("_m", "m"), ("_s", "s"), ("_n", "N"))
LABELS = {"t_s": "time", "t_count_zero_s": "onboard count at zero",
          "t_low_warning_s": "low-propellant warning", "gap_first_m": "first gap",
          "gap_largest_m": "largest gap", "times_s": "times", "t_max_s": "held back most",
          "from_mps": "speed from", "to_mps": "speed to", "t_report_s": "last report used",
          "t_reading_s": "range reading used", "t_last_received_ground_s": "last packet received",
          "t_declared_ground_s": "loss of signal declared",
          "t_onboard_last_s": "newest onboard time", "t_largest_s": "largest, at",
          "t_end_s": "until"}
EVENT_UNIT = re.compile(r"\((m/s|m|kg|s)\b")  # "estimated altitude (m)", "(kg left)"


def utc(t: float | None, epoch: datetime | None) -> str:
    """Archive time t (s since the epoch) as UTC, to 0.1 s: 2023-04-25T16:44:53.5Z."""
    if t is None or not math.isfinite(t):
        return "-"
    at = (epoch or NO_EPOCH) + timedelta(seconds=round(t, 1))
    return f"{at:%Y-%m-%dT%H:%M:%S}.{at.microsecond // 100_000}Z"


def when(t: float | None, epoch: datetime | None) -> str:
    """Archive time t on both scales: T+64:53.5 (2023-04-25T16:44:53.5Z)."""
    if t is None or not math.isfinite(t):
        return "-"
    return f"{clock(t)} ({utc(t, epoch)})"


def duration(s: float) -> str:
    """A length of time: 7.5 s, or 7 min 27 s from a minute up."""
    if s < 60:
        return f"{s:.1f} s"
    m, sec = divmod(round(s), 60)
    return f"{m} min {sec:02d} s"


def number(value: float, decimals: int) -> str:
    """A number with thousands separators and ``decimals`` places (no "-0")."""
    text = f"{value:,.{decimals}f}"
    return text[1:] if re.fullmatch(r"-0\.?0*", text) else text


def quantity(value: Any, unit: str = "-", name: str = "") -> str:
    """A value as an engineer writes it: rounded to what its unit (or field ``name``) means,
    with the unit; whole numbers for counts; fractions of ``PERCENT`` in %."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return value
    if name in PERCENT:
        return f"{number(100.0 * value, 0)} %"
    if unit in ("-", ""):
        if float(value).is_integer():
            return number(value, 0)
        return number(value, BY_NAME.get(name, 2 if abs(value) < 10 else 1))
    if unit == "s" and abs(value) >= 60:
        return duration(abs(value)) if value >= 0 else f"-{duration(-value)}"
    decimals = BY_NAME.get(name, DECIMALS.get(unit, 1))
    return f"{number(value, decimals)} {SHOWN.get(unit, unit)}"


def field_value(dictionary: Dictionary, parameter: str, value: float) -> str:
    """A telemetry parameter's value (``packet.field``): its enumeration state's name, or the
    value with the dictionary's unit."""
    f = dictionary.parameters.get(parameter)
    if f is None:
        return quantity(value)
    if f.enum and value is not None and math.isfinite(value):
        return str(f.state(value))
    return quantity(value, f.unit, f.name)


def event_meaning(name: str) -> str:
    """What an onboard event's value is (``EVENTS``)."""
    return next((m for _, n, m in EVENTS if n == name), "")


def event_value(name: str, value: float) -> str:
    """An onboard event's value with the unit its meaning gives ("estimated altitude (m)")."""
    found = EVENT_UNIT.search(event_meaning(name))
    return quantity(value, found.group(1) if found else "-")


def is_time(key: str) -> bool:
    """Whether an evidence key is an archive time (s since the epoch): t_s, t_*_s, *_t_s."""
    return key in ("t_s", "times_s") or key.endswith("_t_s") or (
        key.startswith("t_") and key.endswith("_s"))


def key_unit(key: str) -> str:
    """The unit an evidence key's suffix gives ("-": none)."""
    return next((u for suffix, u in SUFFIX_UNITS if key.endswith(suffix)), "-")


def evidence_label(key: str) -> str:
    """An evidence key in words: ``t_first_rejection_s`` -> first rejection."""
    if key in LABELS:
        return LABELS[key]
    if is_time(key):
        words = key.removeprefix("t_").removesuffix("_t_s").removesuffix("_s")
    else:
        words = key.removesuffix(next((s for s, _ in SUFFIX_UNITS if key.endswith(s)), ""))
    return words.replace("_", " ")


def evidence_value(key: str, value: Any, epoch: datetime | None) -> str:
    """An evidence value as text: times on both scales, quantities with their unit."""
    if isinstance(value, list):
        return "; ".join(evidence_value(key, v, epoch) for v in value)
    if isinstance(value, dict):  # a chain's link
        return f"{when(value.get('t_s'), epoch)} {value.get('link')}: {value.get('evidence')}"
    if is_time(key) and isinstance(value, int | float) and not isinstance(value, bool):
        return when(float(value), epoch)
    return quantity(value, key_unit(key), key)


def percent(part: int, whole: int) -> str:
    """part of whole in %, to 0.1 % and rounded down (never 100.0 % unless all)."""
    if whole <= 0:
        return "-"
    return f"{math.floor(1000.0 * part / whole) / 10:.1f} %"
