"""Findings about the flight computer and its redundancy: an IMU lost, program alarms (an
executive overflow), a command from the ground, a restart, the engine off, relight attempts,
and the chain they make with the fall (Beresheet's loss), from telemetry alone (shell).

The events tell what the flight software did (``imu_switched``, ``command_received``,
``computer_restart``, ``relight_attempt``, ``engine_relit``); the ``gnc`` packet tells whether
the main engine was commanded; the ``nav`` packet what the lander's estimate was then.
"""

from __future__ import annotations

import math

import pandas as pd

from touchdown.report.finding import Finding, Source
from touchdown.report.received import Received
from touchdown.timefmt import mission_clock as clock

SAME_CYCLE_S = 0.5  # s: a command this close before a restart set it off
ENGINE_OFF_MIN_S = 3.0  # s of main-engine reports all off: the engine stopped, not cycling
ENGINE_OFF_WITHIN_S = 5.0  # s after a restart: an unprotected one stops the engine at once


def _nav_at(rx: Received, t: float) -> pd.Series | None:
    """The newest navigation packet at or before t (s)."""
    nav = rx["nav"]
    before = nav[nav["t"] <= t + 1e-6]
    return None if before.empty else before.iloc[-1]


def _state(row: pd.Series | None) -> str:
    if row is None:
        return "no navigation telemetry then"
    return (f"{row['altitude_m']:,.0f} m up, {row['vertical_speed_mps']:+.0f} m/s vertical, "
            f"{row['horizontal_speed_mps']:,.0f} m/s horizontal (estimate)")


def _engine_off_after(rx: Received, t: float) -> float | None:
    """When the main engine stopped at a restart at t (s): the first ``gnc`` report within
    ENGINE_OFF_WITHIN_S after t that starts ENGINE_OFF_MIN_S or more of reports all off, when
    it was firing before t (an engine fired in whole cycles is off in some reports while it
    runs)."""
    gnc = rx["gnc"]
    before = gnc[(gnc["t"] < t) & (gnc["t"] >= t - ENGINE_OFF_MIN_S)]
    if before.empty or before["main_engine"].max() <= 0.0:
        return None
    after = gnc[gnc["t"] >= t]
    on = after["t"][after["main_engine"] > 0.0].to_numpy()
    soon = after[after["t"] <= t + ENGINE_OFF_WITHIN_S]
    for t_off in soon["t"][soon["main_engine"] <= 0.0]:
        later = on[on > t_off]
        if (later[0] if len(later) else rx.t_last) - t_off >= ENGINE_OFF_MIN_S:
            return float(t_off)
    return None


def restart_findings(rx: Received) -> list[Finding]:
    """IMU switches and losses, commands received, and each restart with what followed."""
    out: list[Finding] = []
    for t in rx.event_times("imu_switched"):
        out.append(Finding(
            "imu_switched", "warning", f"IMU unit lost at {clock(t)}",
            f"Redundancy management switched navigation to the other IMU unit at {clock(t)} "
            f"({_state(_nav_at(rx, t))}): the unit in use had stopped reporting.", t,
            {"t_s": t}, ("modes",), (Source("event", t), Source("nav", t))))
    for t in rx.event_times("imu_lost"):
        out.append(Finding(
            "imu_lost", "critical", f"No IMU left at {clock(t)}",
            f"Neither IMU unit reported from {clock(t)}: navigation coasted on its model.", t,
            {"t_s": t}, ("modes",), (Source("event", t),)))
    commands = rx.events[rx.events["name"] == "command_received"]
    attempts_all = rx.event_times("relight_attempt")
    relits = rx.event_times("engine_relit")
    restarts = rx.event_times("computer_restart")
    alarms = rx.event_times("program_alarm")
    if alarms:
        out.append(Finding(
            "program_alarms", "warning",
            f"{len(alarms)} program alarm{'s' * (len(alarms) > 1)} (executive overflow), "
            f"{clock(alarms[0])} to {clock(alarms[-1])}",
            f"The executive overflowed {len(alarms)} times ({', '.join(map(clock, alarms))}): "
            "more work was queued than it could hold, and each time the software restarted.",
            alarms[0], {"times_s": alarms}, ("modes",),
            tuple(Source("event", t) for t in alarms)))
    for k, t in enumerate(restarts):
        nxt = restarts[k + 1] if k + 1 < len(restarts) else math.inf
        cause = commands[(commands["t"] <= t + 1e-6) & (commands["t"] >= t - SAME_CYCLE_S)]
        off = _engine_off_after(rx, t)
        attempts = [a for a in attempts_all if t <= a < nxt]
        relit = next((r for r in relits if t <= r < nxt), None)
        overflow = [a for a in alarms if t - SAME_CYCLE_S <= a <= t + 1e-6]
        why = ("set off by the command received then" if not cause.empty
               else "set off by an executive overflow (program alarm 1202)" if overflow
               else "with no command received then (a watchdog)")
        if off is None:
            text = (f"The flight computer restarted at {clock(t)}, {why}; the main engine "
                    "stayed as commanded through it (restart protection).")
            severity = "warning"
        else:
            lost = (relit if relit is not None else rx.t_last) - t
            text = (f"The flight computer restarted at {clock(t)}, {why}, and the main engine "
                    f"was off from {clock(off)} ({_state(_nav_at(rx, t))}). The restart "
                    f"logic tried to relight it {len(attempts)} times"
                    + (f" from {clock(attempts[0])}" if attempts else "")
                    + (f"; it burned again at {clock(relit)} ({_state(_nav_at(rx, relit))}), "
                       f"{lost:.0f} s after the restart." if relit is not None
                       else "; it never burned again in telemetry."))
            severity = "critical"
        out.append(Finding(
            "computer_restart", severity, f"Flight computer restart at {clock(t)}", text, t,
            {"t_s": t, "commanded": not cause.empty, "engine_off_t_s": off,
             "relight_attempts": len(attempts),
             "first_attempt_t_s": attempts[0] if attempts else None, "relit_t_s": relit},
            ("modes", "velocity"),
            (Source("event", t), *(Source("event", a) for a in attempts),
             *((Source("gnc", off),) if off is not None else ()),
             *((Source("event", relit),) if relit is not None else ()))))
    return out


def restart_chain(found: list[Finding], rx: Received) -> Finding | None:
    """IMU lost, command, restart, engine off, relight attempts, relit, last telemetry, fall:
    the Beresheet chain, when the telemetry shows a restart that stopped the engine."""
    def first(key: str) -> Finding | None:
        return next((f for f in found if f.key == key), None)

    restart = next((f for f in found if f.key == "computer_restart"
                    and f.evidence["engine_off_t_s"] is not None), None)
    if restart is None:
        return None
    ev = restart.evidence
    links: list[tuple[str, float | None, str]] = []
    imu = first("imu_switched")
    if imu is not None and imu.t_s is not None and imu.t_s <= restart.t_s:
        links.append(("IMU unit lost", imu.t_s, "navigation switched to the other unit"))
    commands = rx.events[rx.events["name"] == "command_received"]
    if ev["commanded"]:
        t_cmd = float(commands[commands["t"] <= restart.t_s + 1e-6]["t"].iloc[-1])
        links.append(("ground command", t_cmd, "received and executed"))
    links.append(("computer restart", restart.t_s, "unprotected"))
    links.append(("engine off", ev["engine_off_t_s"], _state(_nav_at(rx, ev["engine_off_t_s"]))))
    if ev["relight_attempts"]:
        links.append(("relight attempts", ev["first_attempt_t_s"],
                      f"{ev['relight_attempts']} attempts"))
    if ev["relit_t_s"] is not None:
        links.append(("engine relit", ev["relit_t_s"], _state(_nav_at(rx, ev["relit_t_s"]))))
    last = _nav_at(rx, rx.t_last)
    if last is not None:
        links.append(("last telemetry", float(last["t"]), _state(last)))
    outcome = first("outcome")
    fell = outcome is not None and outcome.evidence.get("outcome") == "impact"
    if fell:
        links.append(("impact", outcome.t_s, f"about {outcome.evidence['speed_mps']:.0f} m/s"))
    lines = "; ".join(f"{clock(t)} {name}: {what}" for name, t, what in links)
    linked_imu = imu if links[0][0] == "IMU unit lost" else None
    members = [f for f in (linked_imu, restart, outcome if fell else None) if f is not None]
    return Finding(
        "restart_chain", "critical" if fell else "warning",
        "The chain of events: a restart stopped the engine" + (", then the fall" if fell
                                                               else ""),
        f"From telemetry alone: {lines}.", links[0][1],
        {"links": [{"link": n, "t_s": t, "t": clock(t), "evidence": w} for n, t, w in links],
         "complete": fell and ev["commanded"]},
        ("altitude", "velocity", "modes"), chain=members)
