"""Limit checking and alarms (shell), as Yamcs keeps them.

Limits and enumeration alarms come from the telemetry dictionary (``Field.severity``), with
Yamcs' severities, mildest first: watch, warning, distress, critical, severe. The ground's own
parameters (``GROUND_PARAMETERS``: ``link.garbage``, the share of received octets that did not
frame) alarm the same way.

An alarm keeps, each with its value and its ground and onboard times:

- the **trigger**: the value that raised it, at the severity it had then;
- the **most severe** value reached (``severity``);
- the **current** value (``current_severity`` None once it is back to normal, at
  ``t_returned``).

Operators **acknowledge** (who, when, a comment), **shelve** (hidden from the active list until
an expiry; the shelve lapses by itself) and **clear** it. Latching, Yamcs' default: an alarm
clears by itself only when its value is back to normal *and* it has been acknowledged, so a
short excursion is never missed; an operator may clear it at any time. A value out of limits
again before the alarm is cleared updates the same alarm; after, a new alarm is raised.

Every change is a line of the alarm history (``Archive.alarm_history_page``). All times are s
since the mission epoch (ground time from the caller's clock, onboard time from the packet).
"""

from __future__ import annotations

import math
from dataclasses import replace

from touchdown.errors import AlarmError
from touchdown.ground.archive import AlarmHistoryEntry, AlarmRecord, Archive
from touchdown.telemetry.dictionary import SEVERITIES, Dictionary, Field

RANK = {s: i for i, s in enumerate(SEVERITIES)}
SHELVE_MAX_S = 86_400.0  # s: the longest an alarm may be shelved (a day)
GARBAGE = Field("link", "garbage", "f64", "-",
                "share of the octets received over the last window that did not frame (junk "
                "or damaged frames)", limits={"watch": (0.0, 0.1), "warning": (0.0, 0.5)})
GROUND_PARAMETERS = {GARBAGE.qualified: GARBAGE}


class AlarmMonitor:
    """Checks each new value against its limits and keeps the alarms.

    Parameters
    ----------
    dictionary : the telemetry dictionary (limits, enumeration alarms).
    archive : where alarms and their history are stored; active alarms found there are
        continued.
    """

    def __init__(self, dictionary: Dictionary, archive: Archive) -> None:
        self.fields = {**dictionary.parameters, **GROUND_PARAMETERS}
        self.archive = archive
        self._load()
        if not archive.read_only:
            archive.before_commit.append(self._save_current)
            archive.after_rollback.append(self._load)

    def _load(self) -> None:
        """The active alarms as the archive holds them."""
        self._active: dict[str, AlarmRecord] = {a.parameter: a for a in
                                                self.archive.alarms(active_only=True)}
        self._dirty: set[str] = set()  # alarms whose current value changed quietly

    def _save_current(self) -> None:
        for name in self._dirty:
            if name in self._active:
                self.archive.update_alarm(self._active[name])
        self._dirty.clear()

    def _log(self, a: AlarmRecord, kind: str, t_ground: float, *, severity: str | None = None,
             value: float = math.nan, t_onboard: float | None = None, by: str | None = None,
             comment: str | None = None) -> None:
        self.archive.add_alarm_history(AlarmHistoryEntry(
            a.id, a.parameter, kind, severity, value, t_ground, t_onboard, by, comment))

    def check(self, name: str, t_onboard: float, value: float,
              t_ground: float) -> str | None:
        """The severity of ``value`` of parameter ``name`` (None: nominal); raises, escalates
        or returns-to-normal its alarm. t_onboard, t_ground in s."""
        fld = self.fields.get(name)
        alarm = self._active.get(name)
        if fld is None or (alarm is None and not fld.limits and not fld.alarms):
            return None  # (most values: no limits to check, no alarm to follow)
        sev = fld.severity(value)
        if sev is None and alarm is None:
            return None
        now = {"current_value": value, "t_current": t_ground, "t_current_onboard": t_onboard}
        if alarm is None:
            new = AlarmRecord(0, name, sev, value, t_ground, t_onboard, sev, value, t_ground,
                              t_onboard, sev, value, t_ground, t_onboard)
            alarm = replace(new, id=self.archive.insert_alarm(new))
            self._log(alarm, "triggered", t_ground, severity=sev, value=value,
                      t_onboard=t_onboard)
        elif sev is not None:
            before = alarm.current_severity
            alarm = replace(alarm, current_severity=sev, t_returned=None, **now)
            if RANK[sev] > RANK[alarm.severity]:
                alarm = replace(alarm, severity=sev, most_severe_value=value,
                                t_most_severe=t_ground, t_most_severe_onboard=t_onboard)
            if sev != before:
                kind = ("retriggered" if before is None else
                        "escalated" if RANK[sev] > RANK[before] else "deescalated")
                self.archive.update_alarm(alarm)
                self._log(alarm, kind, t_ground, severity=sev, value=value, t_onboard=t_onboard)
            else:
                self._dirty.add(name)
        elif alarm.current_severity is not None:  # back to normal
            alarm = replace(alarm, current_severity=None, t_returned=t_ground, **now)
            self._log(alarm, "returned", t_ground, value=value, t_onboard=t_onboard)
            if alarm.acknowledged:
                alarm = replace(alarm, t_cleared=t_ground)
                self._log(alarm, "cleared", t_ground, comment="back to normal, acknowledged")
            self.archive.update_alarm(alarm)
        else:  # back to normal already, not yet acknowledged: follow the value quietly
            alarm = replace(alarm, **now)
            self._dirty.add(name)
        if alarm.active:
            self._active[name] = alarm
        else:
            del self._active[name]
        return sev

    def _active_by_id(self, alarm_id: int) -> AlarmRecord | None:
        return next((a for a in self._active.values() if a.id == alarm_id), None)

    def _find(self, alarm_id: int) -> AlarmRecord:
        alarm = self._active_by_id(alarm_id)
        if alarm is None:
            known = self.archive.alarm(alarm_id)
            if known is None:
                raise AlarmError(f"alarm {alarm_id} does not exist; GET /api/alarms?active=1 "
                                 "lists the active ones", 404)
            raise AlarmError(f"alarm {alarm_id} is already cleared; GET /api/alarms?active=1 "
                             "lists the active ones", 409)
        return alarm

    def _store(self, alarm: AlarmRecord) -> AlarmRecord:
        self.archive.update_alarm(alarm)
        if alarm.active:
            self._active[alarm.parameter] = alarm
        else:
            self._active.pop(alarm.parameter, None)
        return alarm

    def acknowledge(self, alarm_id: int, by: str, t_ground: float,
                    comment: str | None = None) -> AlarmRecord:
        """Acknowledge an active alarm (by whom, at ground time t_ground, s, why); it clears
        now if its value is already back to normal. AlarmError when there is no such active
        alarm."""
        alarm = self._find(alarm_id)
        if alarm.acknowledged:
            return alarm
        alarm = replace(alarm, t_acknowledged=t_ground, acknowledged_by=by or "?",
                        ack_comment=comment or None)
        self._log(alarm, "acknowledged", t_ground, by=alarm.acknowledged_by, comment=comment)
        if alarm.current_severity is None:
            alarm = replace(alarm, t_cleared=t_ground)
            self._log(alarm, "cleared", t_ground, comment="back to normal, acknowledged")
        return self._store(alarm)

    def shelve(self, alarm_id: int, by: str, t_ground: float, duration_s: float,
               comment: str | None = None) -> AlarmRecord:
        """Shelve an active alarm for duration_s (s, at most ``SHELVE_MAX_S``): it leaves the
        active list until then, and comes back by itself."""
        if not 0.0 < duration_s <= SHELVE_MAX_S:
            raise AlarmError(f"duration_s={duration_s!r}: shelve for more than 0 s and at most "
                             f"{SHELVE_MAX_S:g} s", 400)
        alarm = replace(self._find(alarm_id), t_shelved=t_ground, shelved_by=by or "?",
                        shelve_comment=comment or None, shelved_until=t_ground + duration_s)
        self._log(alarm, "shelved", t_ground, by=alarm.shelved_by, comment=comment,
                  value=duration_s)
        return self._store(alarm)

    def unshelve(self, alarm_id: int, by: str, t_ground: float) -> AlarmRecord:
        """End a shelve early."""
        alarm = self._find(alarm_id)
        if not alarm.shelved_at(t_ground):
            raise AlarmError(f"alarm {alarm_id} is not shelved", 409)
        alarm = replace(alarm, shelved_until=t_ground)
        self._log(alarm, "unshelved", t_ground, by=by or "?")
        return self._store(alarm)

    def clear(self, alarm_id: int, by: str, t_ground: float,
              comment: str | None = None) -> AlarmRecord:
        """Clear an active alarm by hand (a value out of limits after this raises a new one)."""
        alarm = replace(self._find(alarm_id), t_cleared=t_ground, cleared_by=by or "?")
        self._log(alarm, "cleared", t_ground, by=alarm.cleared_by, comment=comment)
        return self._store(alarm)

    def active(self) -> list[AlarmRecord]:
        """Alarms not yet cleared (shelved ones too), oldest first."""
        return sorted(self._active.values(), key=lambda a: a.id)

    def get(self, alarm_id: int) -> AlarmRecord | None:
        """An alarm as it stands now (active ones with their newest value)."""
        alarm = self._active_by_id(alarm_id)
        return alarm if alarm is not None else self.archive.alarm(alarm_id)

    def severity_of(self, name: str) -> str | None:
        """The current severity of a parameter's active alarm (None: nominal or none)."""
        a = self._active.get(name)
        return None if a is None else a.current_severity


def worst(severities: list[str | None]) -> str | None:
    """The gravest of some severities (None when all are None)."""
    ranked = [s for s in severities if s is not None]
    return max(ranked, key=RANK.__getitem__) if ranked else None
