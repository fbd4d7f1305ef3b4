"""The ground archive (shell): raw packets, parameters, alarms, events and the link log in SQLite.

One file, WAL journal (``journal_mode=WAL``, ``synchronous=NORMAL``). Writes are batched: the
archive keeps one transaction open and commits it every ``batch_packets`` packets or when
``batch_s`` seconds of wall time have passed since the transaction's first write, whichever comes
first (and on ``flush()`` / ``close()``).

Durability promise: everything up to the last commit survives the process being killed (SIGKILL,
a crash) — SQLite's WAL makes a commit atomic and the next open recovers the file cleanly. What was
written after the last commit is lost; ``committed_packets`` says how many raw packets are safe.
With ``synchronous=NORMAL`` a power cut or operating-system crash may lose the last few commits
(never corrupt the file); that is the price of not syncing the disk on every commit.

Times: ``t_onboard`` is the packet's CUC time (s since the mission epoch); ``t_received`` and all
alarm lifecycle times are ground time (s, on whatever clock the caller gives the ingest).
Parameter values are stored as engineering values (enumerations as their raw integers; the
dictionary names their states at read time). NaN is stored as NULL and read back as NaN.

Reopening an existing archive continues it: counters, latest values and active alarms come back.
"""

from __future__ import annotations

import json
import math
import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from touchdown.errors import TouchdownError

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS packets (
    id INTEGER PRIMARY KEY, apid INTEGER NOT NULL, seq INTEGER NOT NULL,
    t_onboard REAL NOT NULL, t_received REAL NOT NULL, bytes BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS packets_by_time ON packets (t_onboard);
CREATE INDEX IF NOT EXISTS packets_by_apid ON packets (apid, t_onboard);
CREATE TABLE IF NOT EXISTS frames (
    t_received REAL NOT NULL, ok INTEGER NOT NULL, bytes BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS frames_by_time ON frames (t_received);
CREATE TABLE IF NOT EXISTS parameters (name TEXT NOT NULL, t_onboard REAL NOT NULL, value REAL);
CREATE INDEX IF NOT EXISTS parameters_by_name_time ON parameters (name, t_onboard, value);
CREATE TABLE IF NOT EXISTS latest (
    name TEXT PRIMARY KEY, t_onboard REAL NOT NULL, t_received REAL NOT NULL, value REAL);
CREATE TABLE IF NOT EXISTS alarms (
    id INTEGER PRIMARY KEY, parameter TEXT NOT NULL,
    severity TEXT NOT NULL,            -- the worst severity reached
    current_severity TEXT,             -- NULL once the value is back to normal
    t_raised REAL NOT NULL,            -- ground time
    t_onboard REAL NOT NULL,           -- onboard time of the value that raised it
    value REAL,                        -- the value at the worst severity
    last_value REAL,
    t_updated REAL NOT NULL,           -- ground time of the last change
    t_returned REAL,                   -- ground time the value came back to normal
    t_acknowledged REAL, acknowledged_by TEXT,
    t_cleared REAL);
CREATE INDEX IF NOT EXISTS alarms_active ON alarms (t_cleared);
CREATE TABLE IF NOT EXISTS events (
    t_onboard REAL NOT NULL, t_received REAL NOT NULL, code INTEGER NOT NULL,
    state TEXT NOT NULL, value REAL);
CREATE INDEX IF NOT EXISTS events_by_time ON events (t_onboard);
CREATE TABLE IF NOT EXISTS link_log (
    t_received REAL NOT NULL, kind TEXT NOT NULL, apid INTEGER, count INTEGER NOT NULL,
    detail TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS link_log_by_time ON link_log (t_received);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


class ArchiveError(TouchdownError, OSError):
    """The archive file cannot be written."""


class ArchiveOpenError(ArchiveError):
    """The archive file cannot be opened (not SQLite, another schema, no permission)."""


@dataclass(frozen=True)
class AlarmRecord:
    """One alarm as archived. Lifecycle times are ground time (s); ``t_onboard`` is the raising
    value's onboard time (s). ``current_severity`` is None once the value is back to normal;
    ``t_cleared`` is None while the alarm is active."""

    id: int
    parameter: str
    severity: str
    current_severity: str | None
    t_raised: float
    t_onboard: float
    value: float
    last_value: float
    t_updated: float
    t_returned: float | None
    t_acknowledged: float | None
    acknowledged_by: str | None
    t_cleared: float | None

    @property
    def active(self) -> bool:
        return self.t_cleared is None

    @property
    def acknowledged(self) -> bool:
        return self.t_acknowledged is not None


@dataclass(frozen=True)
class EventRecord:
    """One onboard event: onboard and ground time (s), its code, the code's name and value."""

    t_onboard: float
    t_received: float
    code: int
    state: str
    value: float


@dataclass(frozen=True)
class LinkLogEntry:
    """One line of the link log: a sequence gap, duplicate, reordering, bad packet, LOS or AOS."""

    t_received: float
    kind: str
    apid: int | None
    count: int
    detail: str


def _f(x: float | None) -> float:
    return math.nan if x is None else x


def _db(x: float) -> float | None:
    return None if math.isnan(x) else x


class Archive:
    """A ground archive in one SQLite file (created if missing, continued if present).

    Parameters
    ----------
    path : the SQLite file (str or Path); ``":memory:"`` for a throwaway archive.
    batch_packets : commit after this many packets (-).
    batch_s : commit when the open transaction is older than this (s of wall time).
    clock : the wall clock for ``batch_s`` (s; injectable for tests).
    """

    def __init__(self, path: str | Path, *, batch_packets: int = 200, batch_s: float = 0.2,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if batch_packets < 1 or not batch_s > 0:
            raise ValueError(f"batch_packets must be >= 1 and batch_s > 0, got "
                             f"{batch_packets} and {batch_s}")
        self.path = str(path)
        self.batch_packets, self.batch_s, self._clock = batch_packets, batch_s, clock
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            mode = self._db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            row = self._db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
        except sqlite3.DatabaseError as exc:
            raise ArchiveOpenError(f"{self.path}: cannot open it as a ground archive ({exc}); give "
                               "--archive a new file or an archive this version wrote") from None
        if row is None:
            self._db.execute("INSERT INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
        elif row[0] != str(SCHEMA_VERSION):
            raise ArchiveOpenError(f"{self.path}: archive schema {row[0]}, this touchdown reads "
                               f"{SCHEMA_VERSION}; give --archive a new file")
        self.journal_mode = mode
        self._in_tx = False
        self._tx_start = 0.0
        self._pending_packets = 0
        self._latest: dict[str, tuple[float, float, float]] = {
            n: (t, tr, _f(v)) for n, t, tr, v in
            self._db.execute("SELECT name, t_onboard, t_received, value FROM latest")}
        self._latest_dirty: set[str] = set()
        self.counters: dict[str, int] = dict(
            self._db.execute("SELECT name, value FROM counters").fetchall())
        self.committed_packets = self._scalar("SELECT COUNT(*) FROM packets")
        self.commits = 0

    # ------------------------------------------------------------ transactions

    def _scalar(self, sql: str, args: Iterable[Any] = ()) -> Any:
        return self._db.execute(sql, tuple(args)).fetchone()[0]

    def _write(self, sql: str, args: Iterable[Any] = ()) -> None:
        if not self._in_tx:
            self._db.execute("BEGIN")
            self._in_tx, self._tx_start = True, self._clock()
        try:
            self._db.execute(sql, tuple(args))
        except sqlite3.DatabaseError as exc:  # disk full, read-only file, …
            raise ArchiveError(f"{self.path}: write failed ({exc}); check the disk and the "
                               "file's permissions") from None

    def _writemany(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        if not self._in_tx:
            self._db.execute("BEGIN")
            self._in_tx, self._tx_start = True, self._clock()
        try:
            self._db.executemany(sql, rows)
        except sqlite3.DatabaseError as exc:
            raise ArchiveError(f"{self.path}: write failed ({exc}); check the disk and the "
                               "file's permissions") from None

    def maybe_commit(self) -> bool:
        """Commit when the batch is full or old enough; True when it committed."""
        if self._in_tx and (self._pending_packets >= self.batch_packets
                            or self._clock() - self._tx_start >= self.batch_s):
            self.flush()
            return True
        return False

    def flush(self) -> None:
        """Commit everything written so far (latest values and counters included)."""
        self._writemany("INSERT OR REPLACE INTO latest VALUES (?, ?, ?, ?)",
                        [(n, *self._latest[n][:2], _db(self._latest[n][2]))
                         for n in self._latest_dirty])
        self._latest_dirty.clear()
        if self._in_tx:
            self._writemany("INSERT OR REPLACE INTO counters VALUES (?, ?)",
                            list(self.counters.items()))
            self._db.execute("COMMIT")
            self._in_tx = False
            self.committed_packets += self._pending_packets
            self._pending_packets = 0
            self.commits += 1

    def close(self) -> None:
        """Commit and close; the archive can be reopened and continued."""
        if self._db is not None:
            self.flush()
            self._db.close()
            self._db = None  # type: ignore[assignment]

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ writes

    def add_packet(self, apid: int, seq: int, t_onboard: float, t_received: float,
                   raw: bytes, values: dict[str, float]) -> None:
        """Archive one good packet: its bytes and its parameters (``packet.field`` names)."""
        self._write("INSERT INTO packets (apid, seq, t_onboard, t_received, bytes) "
                    "VALUES (?, ?, ?, ?, ?)", (apid, seq, t_onboard, t_received, raw))
        self._writemany("INSERT INTO parameters VALUES (?, ?, ?)",
                        [(n, t_onboard, _db(v)) for n, v in values.items()])
        for n, v in values.items():
            old = self._latest.get(n)
            if old is None or t_onboard >= old[0]:
                self._latest[n] = (t_onboard, t_received, v)
                self._latest_dirty.add(n)
        self._pending_packets += 1

    def add_frame(self, t_received: float, frame: bytes, ok: bool) -> None:
        """Archive one received TM frame as it arrived (ok: it passed the CRC and header
        checks)."""
        self._write("INSERT INTO frames VALUES (?, ?, ?)", (t_received, int(ok), frame))

    def add_event(self, t_onboard: float, t_received: float, code: int, state: str,
                  value: float) -> None:
        self._write("INSERT INTO events VALUES (?, ?, ?, ?, ?)",
                    (t_onboard, t_received, code, state, _db(value)))

    def log_link(self, t_received: float, kind: str, apid: int | None, count: int,
                 detail: str) -> None:
        """One line of the link log (kind: gap, duplicate, reordered, reset, bad, los, aos)."""
        self._write("INSERT INTO link_log VALUES (?, ?, ?, ?, ?)",
                    (t_received, kind, apid, count, detail))

    def count(self, name: str, n: int = 1) -> None:
        """Add n to a link counter (saved with each commit)."""
        self.counters[name] = self.counters.get(name, 0) + n

    def insert_alarm(self, a: AlarmRecord) -> int:
        """Store a new alarm; returns its id."""
        self._write("INSERT INTO alarms (parameter, severity, current_severity, t_raised, "
                    "t_onboard, value, last_value, t_updated, t_returned, t_acknowledged, "
                    "acknowledged_by, t_cleared) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                    (a.parameter, a.severity, a.current_severity, a.t_raised, a.t_onboard,
                     _db(a.value), _db(a.last_value), a.t_updated, a.t_returned,
                     a.t_acknowledged, a.acknowledged_by, a.t_cleared))
        return int(self._scalar("SELECT last_insert_rowid()"))

    def update_alarm(self, a: AlarmRecord) -> None:
        self._write("UPDATE alarms SET severity=?, current_severity=?, value=?, last_value=?, "
                    "t_updated=?, t_returned=?, t_acknowledged=?, acknowledged_by=?, "
                    "t_cleared=? WHERE id=?",
                    (a.severity, a.current_severity, _db(a.value), _db(a.last_value),
                     a.t_updated, a.t_returned, a.t_acknowledged, a.acknowledged_by,
                     a.t_cleared, a.id))

    def set_flight(self, info: dict[str, Any]) -> None:
        """Record what flight this archive holds (scenario, epoch, target: see
        ``touchdown.ground.flight``), committed at once."""
        self._write("INSERT OR REPLACE INTO meta VALUES ('flight', ?)", (json.dumps(info),))
        self.flush()

    # ------------------------------------------------------------ reads

    def flight(self) -> dict[str, Any]:
        """What ``set_flight`` recorded ({} when nothing was)."""
        row = self._db.execute("SELECT value FROM meta WHERE key='flight'").fetchone()
        return {} if row is None else json.loads(row[0])

    def history(self, name: str, start: float = -math.inf, end: float = math.inf,
                limit: int | None = None, newest: bool = False) -> list[tuple[float, float]]:
        """(t_onboard, value) of parameter ``name`` with start <= t <= end (s), oldest first;
        at most ``limit`` of them, the oldest or (``newest``) the newest."""
        sql = ("SELECT t_onboard, value FROM parameters WHERE name=? AND t_onboard BETWEEN ? "
               f"AND ? ORDER BY t_onboard {'DESC' if newest else ''}")
        args: tuple[Any, ...] = (name, max(start, -1e300), min(end, 1e300))
        if limit is not None:
            sql += " LIMIT ?"
            args += (limit,)
        rows = [(t, _f(v)) for t, v in self._db.execute(sql, args)]
        return rows[::-1] if newest else rows

    def latest(self) -> dict[str, tuple[float, float]]:
        """Each parameter's newest value (by onboard time): {name: (t_onboard, value)}."""
        return {n: (t, v) for n, (t, _, v) in self._latest.items()}

    def latest_received(self) -> dict[str, float]:
        """Each parameter's ground receive time of its newest value (s)."""
        return {n: tr for n, (_, tr, _) in self._latest.items()}

    def packet_count(self, apid: int | None = None) -> int:
        """Raw packets archived (committed or not), of one APID or all."""
        if apid is None:
            return int(self._scalar("SELECT COUNT(*) FROM packets"))
        return int(self._scalar("SELECT COUNT(*) FROM packets WHERE apid=?", (apid,)))

    def last_sequence(self, apid: int) -> int | None:
        """The sequence count of the newest archived packet of an APID (None: none yet)."""
        row = self._db.execute("SELECT seq FROM packets WHERE apid=? ORDER BY t_onboard DESC, "
                               "id DESC LIMIT 1", (apid,)).fetchone()
        return None if row is None else int(row[0])

    def parameter_count(self) -> int:
        return int(self._scalar("SELECT COUNT(*) FROM parameters"))

    def packets(self, start: float = -math.inf, end: float = math.inf,
                apid: int | None = None) -> list[tuple[int, int, float, float, bytes]]:
        """Raw packets (apid, seq, t_onboard, t_received, bytes) by onboard time, for replay."""
        sql = "SELECT apid, seq, t_onboard, t_received, bytes FROM packets WHERE t_onboard " \
              "BETWEEN ? AND ?"
        args: tuple[Any, ...] = (max(start, -1e300), min(end, 1e300))
        if apid is not None:
            sql += " AND apid=?"
            args += (apid,)
        return [tuple(r) for r in self._db.execute(sql + " ORDER BY t_onboard, id", args)]

    def arrivals(self) -> list[tuple[int, float, float]]:
        """(apid, t_onboard, t_received) of every archived packet, in order of arrival."""
        return [tuple(r) for r in self._db.execute(
            "SELECT apid, t_onboard, t_received FROM packets ORDER BY t_received, id")]

    def frames(self, start: float = -math.inf, end: float = math.inf,
               ok: bool | None = None) -> list[tuple[float, bool, bytes]]:
        """Raw frames (t_received, ok, bytes) with start <= t_received <= end (ground s);
        only good or only bad ones with ``ok``."""
        sql = "SELECT t_received, ok, bytes FROM frames WHERE t_received BETWEEN ? AND ?"
        args: tuple[Any, ...] = (max(start, -1e300), min(end, 1e300))
        if ok is not None:
            sql += " AND ok=?"
            args += (int(ok),)
        return [(t, bool(k), bytes(b)) for t, k, b in
                self._db.execute(sql + " ORDER BY t_received, rowid", args)]

    def alarms(self, active_only: bool = False) -> list[AlarmRecord]:
        """Alarms, oldest first; only those not yet cleared with ``active_only``."""
        sql = "SELECT * FROM alarms" + (" WHERE t_cleared IS NULL" if active_only else "")
        return [AlarmRecord(r[0], r[1], r[2], r[3], r[4], r[5], _f(r[6]), _f(r[7]), *r[8:])
                for r in self._db.execute(sql + " ORDER BY id")]

    def alarm(self, alarm_id: int) -> AlarmRecord | None:
        r = self._db.execute("SELECT * FROM alarms WHERE id=?", (alarm_id,)).fetchone()
        return None if r is None else AlarmRecord(r[0], r[1], r[2], r[3], r[4], r[5], _f(r[6]),
                                                  _f(r[7]), *r[8:])

    def events(self, start: float = -math.inf, end: float = math.inf) -> list[EventRecord]:
        """Onboard events with start <= t_onboard <= end (s), oldest first."""
        return [EventRecord(a, b, c, d, _f(e)) for a, b, c, d, e in self._db.execute(
            "SELECT * FROM events WHERE t_onboard BETWEEN ? AND ? ORDER BY t_onboard",
            (max(start, -1e300), min(end, 1e300)))]

    def link_log(self, start: float = -math.inf, end: float = math.inf) -> list[LinkLogEntry]:
        """Link-log lines with start <= t_received <= end (ground s), oldest first."""
        return [LinkLogEntry(*r) for r in self._db.execute(
            "SELECT * FROM link_log WHERE t_received BETWEEN ? AND ? ORDER BY rowid",
            (max(start, -1e300), min(end, 1e300)))]

    def time_span(self) -> tuple[float, float] | None:
        """Onboard times (s) of the oldest and newest packet archived (None: none yet)."""
        lo, hi = self._db.execute("SELECT MIN(t_onboard), MAX(t_onboard) FROM packets").fetchone()
        return None if lo is None else (lo, hi)

    def last_received(self) -> float | None:
        """Ground time of the newest packet archived (s), None for an empty archive."""
        return max(self.latest_received().values(), default=None)

    def integrity_check(self) -> str:
        """SQLite's own check: ``"ok"`` for a sound file."""
        return str(self._scalar("PRAGMA integrity_check"))
