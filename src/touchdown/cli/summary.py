"""What the command line prints about a flight (shell): the summary ``fly`` and ``campaign
rerun`` show, the downlink's two lines, and ``compare``'s side-by-side table. Text only: the
numbers come from ``Flight.to_dict()`` and the trace."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from touchdown.core.layout import T_ALT, T_POS_ERR, T_T
from touchdown.timefmt import mission_clock as _clock

if TYPE_CHECKING:
    from touchdown.sim.run import Flight
    from touchdown.telemetry.downlink import DownlinkedFlight
    from touchdown.telemetry.link import LinkStats

# Events that repeat (one per rejected reading, say) are shown once, with a count.
REPEATING_EVENTS = ("lrf_rejected", "lrf_reacquired", "lrf_widened")


def _latlon(lat: float, lon: float) -> str:
    lon = (lon + 180.0) % 360.0 - 180.0
    return f"{abs(lat):.4f} {'N' if lat >= 0 else 'S'}, {abs(lon):.4f} {'E' if lon >= 0 else 'W'}"


def _outcome(info: dict[str, Any]) -> str:
    text = info["outcome"].upper()
    if info["outcome"] == "crashed" and info["impact_speed_mps"] is not None:
        text += f" at {info['impact_speed_mps']:.1f} m/s"
    return text


def _first(info: dict[str, Any], name: str) -> dict[str, Any] | None:
    return next((e for e in info["events"] if e["name"] == name), None)


def _true_altitude_at(flight: Flight, t: float) -> float:
    """True altitude (m) in the trace row nearest time t (s)."""
    times = flight.rows[:, T_T]
    if times.size == 0:
        return math.nan
    i = min(int(times.searchsorted(t)), times.size - 1)
    return float(flight.rows[i, T_ALT])


def _facts(flight: Flight) -> list[tuple[str, str]]:
    """(label, value) rows shared by ``fly`` and ``compare``."""
    info = flight.to_dict()
    td = info["touchdown"]
    point = "touchdown/impact point"

    def when(name: str) -> str:
        e = _first(info, name)
        return _clock(e["time_s"]) if e else "never"

    def count(name: str) -> str:
        return str(sum(e["name"] == name for e in info["events"]))

    zero = _first(info, "altitude_estimate_zero")
    zero_text = "never"
    if zero:
        zero_text = (f"{_clock(zero['time_s'])}, true altitude then "
                     f"{_true_altitude_at(flight, zero['time_s']):,.0f} m")
    pos_err = flight.rows[:, T_POS_ERR]
    return [
        ("policy", f"{info['policy']} (seed {info['seed']})"),
        ("outcome", _outcome(info)),
        (point, _latlon(td["lat_deg"], td["lon_deg"]) if td else "none"),
        ("contact time", _clock(td["time_s"]) if td else "none"),
        ("vertical speed", f"{td['vertical_speed_mps']:.2f} m/s" if td else "-"),
        ("horizontal speed", f"{td['horizontal_speed_mps']:.2f} m/s" if td else "-"),
        ("tilt", f"{td['tilt_deg']:.1f} deg" if td else "-"),
        ("propellant left", f"{info['propellant_remaining_kg']:.1f} kg "
                            f"(onboard estimate {info['propellant_estimate_kg']:.1f} kg)"),
        ("braking start", when("braking_start")),
        ("LRF acquired", when("lrf_acquired")),
        ("LRF rejections", count("lrf_rejected")),
        ("LRF re-acquired", count("lrf_reacquired")),
        ("LRF widened", count("lrf_widened")),
        ("LRF fault declared", when("lrf_fault_declared")),
        ("propellant exhausted", when("propellant_exhausted")),
        ("altitude estimate 0", zero_text),
        ("nav error at end", f"{pos_err[-1]:,.0f} m" if pos_err.size else "-"),
        ("flight time", _clock(info["flight_time_s"])),
    ]


def _event_rows(flight: Flight) -> list[tuple[str, str, str]]:
    """(time, name, detail) with each repeating event kept once, counted."""
    rows: list[tuple[str, str, str]] = []
    events = flight.events
    for e in events:
        name, detail = e["name"], e["detail"]
        if name in REPEATING_EVENTS:
            same = [x for x in events if x["name"] == name]
            if same[0] is not e:
                continue
            if len(same) > 1:
                name = f"{name} x{len(same)}"
                detail = f"first: {detail}; last at {_clock(same[-1]['time_s'])}"
        elif name == "altitude_estimate_zero":
            detail = f"true altitude then {_true_altitude_at(flight, e['time_s']):,.0f} m"
        rows.append((_clock(e["time_s"]), name, detail))
    return rows


def downlink_line(link: DownlinkedFlight) -> str:
    """What the radio link did with the lander's telemetry, in two lines."""
    last = link.link.frames[-1][0] if link.link.frames else None
    return link_line(link.link.stats, link.config.rate_bps, len(link.packets), last)


def link_line(st: LinkStats, rate_bps: float, packets_made: int, last: float | None) -> str:
    """The link's counts (``downlink_line``; a live flight's from its transmitter)."""
    lost = st.frames_lost_visibility + st.frames_lost_random + st.frames_lost_destruction
    return (f"\ndownlink    {rate_bps:g} bit/s: {st.frames_delivered:,} of "
            f"{st.frames_sent:,} frames reached the ground ({lost:,} lost: "
            f"{st.frames_lost_visibility:,} with the Earth below the horizon, "
            f"{st.frames_lost_random:,} at random, {st.frames_lost_destruction} at the impact), "
            f"{st.frames_bit_errors:,} with bit errors;\n            {packets_made:,} "
            f"packets made, {st.packets_dropped:,} dropped by the queue; last frame received at "
            f"{_clock(last)}")


def flight_summary(flight: Flight) -> str:
    """What ``fly`` prints: the landing in four lines, then the events."""
    info = flight.to_dict()
    td = info["touchdown"]
    if td:
        where = "impact" if info["outcome"] == "crashed" else "touchdown"
        point = (f"{where:<10}  {_latlon(td['lat_deg'], td['lon_deg'])} "
                 f"at {_clock(td['time_s'])}")
        speeds = (f"vertical {td['vertical_speed_mps']:.2f} m/s, "
                  f"horizontal {td['horizontal_speed_mps']:.2f} m/s, "
                  f"tilt {td['tilt_deg']:.1f} deg")
    else:
        point = f"{'contact':<10}  none (flight time {_clock(info['flight_time_s'])})"
        speeds = "-"
    lines = [
        f"{info['scenario']}  (policy {info['policy']}, seed {info['seed']})",
        "",
        f"  {'outcome':<10}  {_outcome(info)}",
        f"  {point}",
        f"  {'speeds':<10}  {speeds}",
        f"  {'propellant':<10}  {info['propellant_remaining_kg']:.1f} kg left "
        f"(onboard estimate {info['propellant_estimate_kg']:.1f} kg)",
    ]
    rows = _event_rows(flight)
    if rows:
        name_w = max(len(n) for _, n, _ in rows)
        lines += ["", "events (time since the scenario epoch)"]
        lines += [f"  {t:>10}  {n:<{name_w}}  {d}" for t, n, d in rows]
    return "\n".join(lines)


def side_by_side(a: Flight, b: Flight) -> str:
    """``compare``'s table: the same facts about two flights, one column each."""
    fa, fb = _facts(a), _facts(b)
    width = max(len(k) for k, _ in fa)
    col = max(len(a.scenario.name), *(len(v) for _, v in fa)) + 3
    lines = [f"{'':<{width}}  {a.scenario.name:<{col}}{b.scenario.name}",
             f"{'':<{width}}  {'-' * len(a.scenario.name):<{col}}{'-' * len(b.scenario.name)}"]
    lines += [f"{k:<{width}}  {va:<{col}}{vb}" for (k, va), (_, vb) in zip(fa, fb, strict=True)]
    return "\n".join(lines)
