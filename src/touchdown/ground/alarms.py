"""Limit checking and alarms (shell): severities, escalation, acknowledgement, clearing.

Limits and enumeration alarms come from the telemetry dictionary (``Field.severity``), with
Yamcs' severities, mildest first: watch, warning, distress, critical, severe.

Lifecycle (Yamcs' default, latching until acknowledged; no auto-acknowledge):

- **raised** when a parameter's value goes out of limits (or into an alarmed state);
- **escalated** when a later value is out at a graver severity (``severity`` keeps the worst
  reached, ``current_severity`` follows the latest value);
- **acknowledged** by an operator (who, when);
- **cleared** only when the value is back to normal *and* the alarm has been acknowledged,
  whichever comes second. An unacknowledged alarm whose value returned to normal stays active
  (``current_severity`` None) so that nobody misses a short excursion. A value that goes out of
  limits again before the alarm is cleared updates the same alarm; after it is cleared, a new
  alarm is raised.

All lifecycle times are ground time (s) given by the caller; each alarm also keeps the onboard
time of the value that raised it. The alarm history lives in the archive.
"""

from __future__ import annotations

from dataclasses import replace

from touchdown.errors import TouchdownError
from touchdown.ground.archive import AlarmRecord, Archive
from touchdown.telemetry.dictionary import SEVERITIES, Dictionary

RANK = {s: i for i, s in enumerate(SEVERITIES)}


class AlarmError(TouchdownError, KeyError):
    """An alarm operation names an alarm that does not exist or is already cleared."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class AlarmMonitor:
    """Checks each new value against the dictionary's limits and keeps the alarms.

    Parameters
    ----------
    dictionary : the telemetry dictionary (limits, enumeration alarms).
    archive : where alarms are stored; active alarms found there are continued.
    """

    def __init__(self, dictionary: Dictionary, archive: Archive) -> None:
        self.fields = dictionary.parameters
        self.archive = archive
        self._active: dict[str, AlarmRecord] = {a.parameter: a
                                                for a in archive.alarms(active_only=True)}

    def check(self, name: str, t_onboard: float, value: float,
              t_ground: float) -> str | None:
        """The severity of ``value`` of parameter ``name`` (None: nominal); raises, escalates
        or returns-to-normal its alarm. t_onboard, t_ground in s."""
        fld = self.fields.get(name)
        alarm = self._active.get(name)
        if fld is None or (alarm is None and not fld.limits and not fld.alarms):
            return None  # (most values: no limits to check, no alarm to follow)
        sev = fld.severity(value)
        if sev is not None:
            if alarm is None:
                new = AlarmRecord(0, name, sev, sev, t_ground, t_onboard, value, value, t_ground,
                                  None, None, None, None)
                alarm = replace(new, id=self.archive.insert_alarm(new))
            else:
                worse = RANK[sev] > RANK[alarm.severity]
                changed = worse or sev != alarm.current_severity
                alarm = replace(alarm, current_severity=sev, last_value=value,
                                severity=sev if worse else alarm.severity,
                                value=value if worse else alarm.value,
                                t_updated=t_ground, t_returned=None)
                if changed:  # the same alarm going on is archived at its next change
                    self.archive.update_alarm(alarm)
            self._active[name] = alarm
        elif alarm is not None and alarm.current_severity is not None:
            alarm = replace(alarm, current_severity=None, last_value=value, t_updated=t_ground,
                            t_returned=t_ground)
            if alarm.acknowledged:
                alarm = replace(alarm, t_cleared=t_ground)
                del self._active[name]
            else:
                self._active[name] = alarm
            self.archive.update_alarm(alarm)
        return sev

    def acknowledge(self, alarm_id: int, by: str, t_ground: float) -> AlarmRecord:
        """Acknowledge an active alarm (by whom, at ground time t_ground, s); it clears now if
        its value is already back to normal. AlarmError when there is no such active alarm."""
        alarm = next((a for a in self._active.values() if a.id == alarm_id), None)
        if alarm is None:
            known = self.archive.alarm(alarm_id)
            why = "does not exist" if known is None else "is already cleared"
            raise AlarmError(f"alarm {alarm_id} {why}; GET /api/alarms?active=1 lists the "
                             "active ones")
        if alarm.acknowledged:
            return alarm
        alarm = replace(alarm, t_acknowledged=t_ground, acknowledged_by=by or "?",
                        t_updated=t_ground)
        if alarm.current_severity is None:
            alarm = replace(alarm, t_cleared=t_ground)
            del self._active[alarm.parameter]
        else:
            self._active[alarm.parameter] = alarm
        self.archive.update_alarm(alarm)
        return alarm

    def active(self) -> list[AlarmRecord]:
        """Alarms not yet cleared, oldest first."""
        return sorted(self._active.values(), key=lambda a: a.id)

    def severity_of(self, name: str) -> str | None:
        """The current severity of a parameter's active alarm (None: nominal or none)."""
        a = self._active.get(name)
        return None if a is None else a.current_severity


def worst(severities: list[str | None]) -> str | None:
    """The gravest of some severities (None when all are None)."""
    ranked = [s for s in severities if s is not None]
    return max(ranked, key=RANK.__getitem__) if ranked else None

