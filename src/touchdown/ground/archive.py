"""The ground archive (shell): raw frames and packets, parameters, alarms, events and the link log
in one SQLite file. The archive is evidence; its guarantees (docs/ground.md, "Guarantees"):

- **One writer.** A writable archive holds an exclusive lock (``fcntl.flock`` on ``PATH.lock``)
  for as long as it is open; a second writer is refused with ``ArchiveLockedError`` naming the
  process that holds it. Readers need no lock and never wait for the writer.
- **Reading never changes it.** ``Archive(path, read_only=True)`` opens the file through SQLite's
  read-only URI (``mode=ro``; ``immutable=1`` on read-only media, where nothing can write), so
  no byte of it can change and a writer may go on beside it. A writable archive writes nothing
  until it is given something to archive: opening, reading and closing a cleanly closed archive
  leave the file as it was. (One left by a crash has committed pages still in its WAL: the
  first writer folds them in; read it with ``read_only`` to keep it exactly as it was left.)
- **Checked on open.** ``PRAGMA quick_check`` runs on every open; a damaged file is refused with
  ``ArchiveDamagedError``. A missing file is created only with ``create=True`` (``--new``); a
  zero-length file, another SQLite database or another schema is refused.
- **Durable at each commit.** WAL journal (``journal_mode=WAL``, ``synchronous=NORMAL``). Writes
  are batched in one open transaction, committed every ``batch_packets`` packets or when the
  transaction is ``batch_s`` seconds of wall time old (and on ``flush()`` / ``close()``).
  Everything up to the last commit survives the process being killed; a power cut may lose the
  last few commits, never corrupt the file.
- **One time base.** Every time in it is seconds since the mission epoch (the flight plan's
  ``epoch_utc``, recorded with ``set_flight``), the scale of the packets' onboard time:
  ``t_onboard`` is the packet's own time, ``t_received`` and every alarm and operator time are
  the ground's clock on the same scale.
- **Append-only audit.** ``audit`` holds one row per sign-in (failed ones too), sign-out, user
  added or removed and operator action; SQLite triggers refuse to UPDATE, DELETE or REPLACE
  its rows (whoever writes the file; dropping the table or its triggers is not prevented).
  ``users`` keeps each operator's name, role and argon2 hash, never a password
  (``touchdown.ground.users``; signing in: ``touchdown.ground.auth``).

- **Append-only command history.** ``commands`` (what was asked for) and ``command_stages``
  (each stage it reached: ground time, who, why; at release the packet sent), refused UPDATE
  and DELETE by triggers as the audit log is (``touchdown.ground.commanding``).

Schema 3 is schema 2 with ``users``, ``audit``, ``commands`` and ``command_stages``. A
schema-2 archive is read as it is (no users, an empty audit log, no commands); the first write
to it adds the tables in a transaction of its own (``schema_version`` says which it is).

Parameter values are stored as engineering values (enumerations as their raw integers; the
dictionary names their states at read time). NaN is stored as NULL and read back as NaN.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import math
import os
import sqlite3
import struct
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any
from urllib.parse import quote

from touchdown.errors import (
    ArchiveDamagedError,
    ArchiveError,
    ArchiveLockedError,
    ArchiveMissingError,
    ArchiveOpenError,
    ArchiveReadOnlyError,
)

SCHEMA_VERSION = 3
READABLE_SCHEMAS = (2, 3)  # schema 2 (no users, no audit) is upgraded by its first write
LINK = ""  # the counters' scope for the link as a whole (an APID's scope is its number)

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE packets (
    id INTEGER PRIMARY KEY, apid INTEGER NOT NULL, seq INTEGER NOT NULL,
    t_onboard REAL NOT NULL, t_received REAL NOT NULL, bytes BLOB NOT NULL);
CREATE INDEX packets_by_time ON packets (t_onboard);
CREATE INDEX packets_by_apid ON packets (apid, id);
CREATE TABLE frames (t_received REAL NOT NULL, ok INTEGER NOT NULL, bytes BLOB NOT NULL);
CREATE INDEX frames_by_time ON frames (t_received);
CREATE TABLE junk (t_received REAL NOT NULL, octets INTEGER NOT NULL, sample BLOB NOT NULL);
CREATE TABLE parameters (name TEXT NOT NULL, t_onboard REAL NOT NULL, value REAL);
CREATE INDEX parameters_by_name_time ON parameters (name, t_onboard, value);
CREATE TABLE latest (
    name TEXT PRIMARY KEY, t_onboard REAL NOT NULL, t_received REAL NOT NULL, value REAL);
CREATE TABLE alarms (
    id INTEGER PRIMARY KEY, parameter TEXT NOT NULL,
    trigger_severity TEXT NOT NULL, trigger_value REAL,
    t_trigger REAL NOT NULL, t_trigger_onboard REAL NOT NULL,
    severity TEXT NOT NULL, most_severe_value REAL,
    t_most_severe REAL NOT NULL, t_most_severe_onboard REAL NOT NULL,
    current_severity TEXT, current_value REAL,
    t_current REAL NOT NULL, t_current_onboard REAL NOT NULL,
    t_returned REAL,
    t_acknowledged REAL, acknowledged_by TEXT, ack_comment TEXT,
    t_shelved REAL, shelved_by TEXT, shelve_comment TEXT, shelved_until REAL,
    t_cleared REAL, cleared_by TEXT);
CREATE INDEX alarms_active ON alarms (t_cleared);
CREATE TABLE alarm_history (
    id INTEGER PRIMARY KEY, alarm_id INTEGER NOT NULL, parameter TEXT NOT NULL,
    kind TEXT NOT NULL, severity TEXT, value REAL, t_received REAL NOT NULL, t_onboard REAL,
    by TEXT, comment TEXT);
CREATE INDEX alarm_history_by_alarm ON alarm_history (alarm_id, id);
CREATE TABLE events (
    t_onboard REAL NOT NULL, t_received REAL NOT NULL, code INTEGER NOT NULL,
    state TEXT NOT NULL, value REAL);
CREATE INDEX events_by_time ON events (t_onboard);
CREATE TABLE link_log (
    t_received REAL NOT NULL, kind TEXT NOT NULL, apid INTEGER, count INTEGER NOT NULL,
    detail TEXT NOT NULL);
CREATE INDEX link_log_by_time ON link_log (t_received);
CREATE TABLE counters (
    scope TEXT NOT NULL, name TEXT NOT NULL, value INTEGER NOT NULL, PRIMARY KEY (scope, name));
"""

_SCHEMA_3 = """
CREATE TABLE users (
    name TEXT PRIMARY KEY, role TEXT NOT NULL, password_hash TEXT NOT NULL,
    t_created REAL NOT NULL, created_by TEXT NOT NULL);
CREATE TABLE audit (
    id INTEGER PRIMARY KEY, t_ground REAL NOT NULL, user TEXT, role TEXT, action TEXT NOT NULL,
    target TEXT, detail TEXT NOT NULL, outcome TEXT NOT NULL);
CREATE INDEX audit_by_user ON audit (user, id);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: its rows cannot be changed'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: its rows cannot be deleted'); END;
CREATE TRIGGER audit_no_replace BEFORE INSERT ON audit
WHEN EXISTS (SELECT 1 FROM audit WHERE id = NEW.id)
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: its rows cannot be replaced'); END;
CREATE TABLE commands (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL, arguments TEXT NOT NULL,
    significance TEXT NOT NULL);
CREATE TABLE command_stages (
    id INTEGER PRIMARY KEY, command_id INTEGER NOT NULL, stage TEXT NOT NULL,
    t_ground REAL NOT NULL, by TEXT, detail TEXT NOT NULL, packet BLOB);
CREATE INDEX command_stages_by_command ON command_stages (command_id, id);
CREATE TRIGGER commands_no_change BEFORE UPDATE ON commands
BEGIN SELECT RAISE(ABORT, 'the command history is append-only'); END;
CREATE TRIGGER commands_no_delete BEFORE DELETE ON commands
BEGIN SELECT RAISE(ABORT, 'the command history is append-only'); END;
CREATE TRIGGER command_stages_no_change BEFORE UPDATE ON command_stages
BEGIN SELECT RAISE(ABORT, 'the command history is append-only'); END;
CREATE TRIGGER command_stages_no_delete BEFORE DELETE ON command_stages
BEGIN SELECT RAISE(ABORT, 'the command history is append-only'); END;
"""


@dataclass(frozen=True)
class AlarmRecord:
    """One alarm, as Yamcs keeps them. Times are s since the mission epoch: ``t_*`` ground
    (received) time, ``t_*_onboard`` the onboard time of the value concerned.

    trigger: the value and severity that raised it; most severe (``severity``): the worst
    reached; current: the newest value (``current_severity`` None once back to normal at
    ``t_returned``); acknowledged, shelved (until ``shelved_until``) and cleared: by whom,
    when, with a comment."""

    id: int
    parameter: str
    trigger_severity: str
    trigger_value: float
    t_trigger: float
    t_trigger_onboard: float
    severity: str
    most_severe_value: float
    t_most_severe: float
    t_most_severe_onboard: float
    current_severity: str | None
    current_value: float
    t_current: float
    t_current_onboard: float
    t_returned: float | None = None
    t_acknowledged: float | None = None
    acknowledged_by: str | None = None
    ack_comment: str | None = None
    t_shelved: float | None = None
    shelved_by: str | None = None
    shelve_comment: str | None = None
    shelved_until: float | None = None
    t_cleared: float | None = None
    cleared_by: str | None = None

    @property
    def active(self) -> bool:
        return self.t_cleared is None

    @property
    def acknowledged(self) -> bool:
        return self.t_acknowledged is not None

    def shelved_at(self, t_ground: float) -> bool:
        """Whether it is shelved at ground time t_ground (s): a shelve expires by itself."""
        return self.shelved_until is not None and t_ground < self.shelved_until


_ALARM_COLUMNS = [f.name for f in fields(AlarmRecord)]
_ALARM_FLOATS = {"trigger_value", "most_severe_value", "current_value"}


def _alarm_row(a: AlarmRecord) -> tuple[Any, ...]:
    return tuple(_db(getattr(a, c)) if c in _ALARM_FLOATS else getattr(a, c)
                 for c in _ALARM_COLUMNS)


def _alarm(r: Iterable[Any]) -> AlarmRecord:
    return AlarmRecord(*(_f(v) if c in _ALARM_FLOATS else v for c, v in zip(_ALARM_COLUMNS, r,
                                                                                strict=True)))


@dataclass(frozen=True)
class AlarmHistoryEntry:
    """One step of an alarm's life: triggered, escalated, deescalated, returned, acknowledged,
    shelved, unshelved or cleared; ground time, the value's onboard time, by whom, why."""

    alarm_id: int
    parameter: str
    kind: str
    severity: str | None
    value: float
    t_received: float
    t_onboard: float | None
    by: str | None
    comment: str | None


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
    """One line of the link log: a sequence gap, duplicate, reordering, bad packet, a refused or
    closed connection."""

    t_received: float
    kind: str
    apid: int | None
    count: int
    detail: str


@dataclass(frozen=True)
class UserRecord:
    """An operator who may sign in: name, role, the argon2 hash of the password (never the
    password), when (ground s) and by whom the account was made."""

    name: str
    role: str
    password_hash: str
    t_created: float
    created_by: str


@dataclass(frozen=True)
class AuditEntry:
    """One row of the append-only audit log: ground time (s since the mission epoch), who (a
    signed-in user; the account that ran ``touchdown ground users``; None: a name that is no
    user's), their role, the action, what it was done to, details, and ``"ok"`` or why it was
    refused."""

    id: int
    t_ground: float
    user: str | None
    role: str | None
    action: str
    target: str | None
    detail: dict[str, Any]
    outcome: str


def _f(x: float | None) -> float:
    return math.nan if x is None else x


def _db(x: float) -> float | None:
    return None if x is None or math.isnan(x) else x


def encode_cursor(*key: float) -> str:
    """An opaque paging cursor for a row's sort key (numbers)."""
    return base64.urlsafe_b64encode(struct.pack(f">{len(key)}d", *key)).decode().rstrip("=")


def decode_cursor(cursor: str, n: int) -> tuple[float, ...]:
    """The sort key of ``encode_cursor``; ValueError when it is not one of n numbers."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        return struct.unpack(f">{n}d", raw)
    except (ValueError, struct.error, TypeError):
        raise ValueError(f"after={cursor!r} is not a cursor this server gave; pass the "
                         "'next' of the previous page unchanged") from None


def _is_locked(lock: Path) -> bool:
    """Whether a writer holds the lock file now (without taking it)."""
    try:
        fd = os.open(lock, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)
    return False


class Archive:
    """A ground archive in one SQLite file.

    Parameters
    ----------
    path : the SQLite file (str or Path); ``":memory:"`` for a throwaway archive.
    create : make a new archive when the file is missing (or zero-length); without it a missing
        file is ``ArchiveMissingError``.
    read_only : open for reading only (no lock; no byte of the file can change).
    batch_packets : commit after this many packets (-). At a lander's rates (tens of packets
        a second) ``batch_s`` decides; the packet count caps a burst (a recording replayed at
        full speed). Each commit rewrites the index pages it touched into the write-ahead log,
        so a burst ingests faster in larger batches (``benchmarks/README.md``, the ground).
    batch_s : commit when the open transaction is older than this (s of wall time).
    clock : the wall clock for ``batch_s`` (s; injectable for tests).
    """

    def __init__(self, path: str | Path, *, create: bool = False, read_only: bool = False,
                 batch_packets: int = 2000, batch_s: float = 0.2,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if batch_packets < 1 or not batch_s > 0:
            raise ValueError(f"batch_packets must be >= 1 and batch_s > 0, got "
                             f"{batch_packets} and {batch_s}")
        self.path = str(path)
        self.read_only = read_only
        self.batch_packets, self.batch_s, self._clock = batch_packets, batch_s, clock
        self._lock_fd: int | None = None
        self._db: sqlite3.Connection | None = None
        self.before_commit: list[Callable[[], None]] = []  # called inside every commit
        self.failure: str | None = None  # why the last write failed (None: none failed)
        self.after_rollback: list[Callable[[], None]] = []  # reload what a lost batch held
        memory = self.path == ":memory:"
        file = Path(self.path)
        fresh = memory or not file.exists() or (file.is_file() and file.stat().st_size == 0)
        if not memory:
            self._check_path(file, fresh, create)
        try:
            if read_only:
                self._db = self._connect_read_only(file)
            else:
                if not memory:
                    self._lock(file)
                self._db = sqlite3.connect(self.path, isolation_level=None,
                                           check_same_thread=False)
                if fresh:
                    self._db.execute("PRAGMA journal_mode=WAL")
                    self._db.executescript(_SCHEMA + _SCHEMA_3)
                    self._db.execute("INSERT INTO meta VALUES ('schema', ?)",
                                     (str(SCHEMA_VERSION),))
                self._db.execute("PRAGMA synchronous=NORMAL")
                # Checkpoint the WAL every 64 pages and keep no more than 256 KiB of it after a
                # checkpoint: a long stream does not leave a WAL file larger than the archive.
                self._db.execute("PRAGMA wal_autocheckpoint=64")
                self._db.execute("PRAGMA journal_size_limit=262144")
            self._check_schema()
            if not fresh:
                self._quick_check()
            self.journal_mode = self._scalar("PRAGMA journal_mode")
        except sqlite3.DatabaseError as exc:
            self._release()
            if getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_CORRUPT:
                raise ArchiveDamagedError(self._damaged(str(exc))) from None  # (its schema)
            raise ArchiveOpenError(f"{self.path}: cannot open it as a ground archive ({exc}); "
                                   "give --archive a ground archive, or a new file with --new"
                                   ) from None
        except BaseException:
            self._release()
            raise
        self._in_tx = False
        self._tx_start = 0.0
        self._pending_packets = 0
        self._load()
        self.commits = 0

    def _load(self) -> None:
        """What is kept in memory between commits, as the file holds it."""
        self._latest: dict[str, tuple[float, float, float]] = {
            n: (t, tr, _f(v)) for n, t, tr, v in
            self._db.execute("SELECT name, t_onboard, t_received, value FROM latest")}
        self._latest_dirty: set[str] = set()
        self._counters: dict[tuple[str, str], int] = {
            (s, n): v for s, n, v in self._db.execute("SELECT scope, name, value FROM counters")}
        self._counters_dirty: set[tuple[str, str]] = set()
        self.committed_packets = self._scalar("SELECT COUNT(*) FROM packets")

    # ------------------------------------------------------------ opening

    def _check_path(self, file: Path, fresh: bool, create: bool) -> None:
        if file.is_dir():
            raise ArchiveOpenError(f"{file}: is a folder; give --archive a file")
        if not file.exists():
            if self.read_only or not create:
                raise ArchiveMissingError(
                    f"{file}: no such archive; check the path, or give --new to start a new "
                    "archive there")
            if not file.parent.is_dir():
                raise ArchiveMissingError(f"{file}: the folder {file.parent} does not exist; "
                                          "make it first or give another path")
        elif fresh and not create:
            raise ArchiveOpenError(f"{file}: is empty (0 bytes), not an archive; give --new to "
                                   "start a new archive in it, or the archive you meant")
        elif not fresh and create:
            raise ArchiveOpenError(f"{file}: exists; --new starts a new archive, so give a new "
                                   "file name, or leave out --new to continue this one")

    def _lock(self, file: Path) -> None:
        file = file.resolve()  # one lock however the file is named (a symlink, a ../ path)
        lock = file.with_name(file.name + ".lock")
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise ArchiveOpenError(f"{lock}: cannot make the archive's lock file "
                                   f"({exc.strerror}); check the folder's permissions") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise ArchiveLockedError(
                f"{file}: another ground server or ingest is writing this archive ({holder}, "
                f"holding {lock.name}); stop it first, give another --archive, or open this one "
                "read-only (--read-only, `touchdown report`)") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}\n".encode(), 0)
        self._lock_fd = fd

    def _connect_read_only(self, file: Path) -> sqlite3.Connection:
        if self.path == ":memory:":
            return sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        uri = f"file:{quote(str(file.resolve()))}"
        db = sqlite3.connect(f"{uri}?mode=ro", uri=True, isolation_level=None,
                             check_same_thread=False)
        try:
            db.execute("SELECT 1 FROM sqlite_master LIMIT 1")
            return db
        except sqlite3.OperationalError:  # read-only media: SQLite cannot make its -shm there
            db.close()
        wal = file.with_name(file.name + "-wal")
        if _is_locked(file.resolve().with_name(file.resolve().name + ".lock")) or (
                wal.exists() and wal.stat().st_size):
            raise ArchiveOpenError(f"{self.path}: cannot be read where it is (read-only media "
                                   "with a journal or a writer); copy it somewhere writable")
        # Nothing can write where nothing can be made: the file is read as it stands.
        return sqlite3.connect(f"{uri}?immutable=1", uri=True, isolation_level=None,
                               check_same_thread=False)

    def _check_schema(self) -> None:
        """``schema_version`` from the file; ArchiveOpenError for one this touchdown cannot
        read. An older readable one is upgraded by the first write (``_upgrade``), not here:
        opening writes nothing."""
        try:
            row = self._db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
        except sqlite3.OperationalError:
            row = None
        if row is None:
            raise ArchiveOpenError(f"{self.path}: an SQLite file but not a ground archive; give "
                                   "--archive a ground archive, or a new file with --new")
        if row[0] not in [str(v) for v in READABLE_SCHEMAS]:
            newer = row[0].isdigit() and int(row[0]) > SCHEMA_VERSION
            raise ArchiveOpenError(
                f"{self.path}: archive schema {row[0]}, this touchdown reads schemas "
                f"{', '.join(map(str, READABLE_SCHEMAS))}; "
                + ("open it with a newer touchdown (the one that wrote it)" if newer else
                   "open it with the touchdown that wrote it")
                + ", or give --archive a new file with --new")
        self.schema_version = int(row[0])

    def _upgrade(self) -> None:
        """Schema 2 -> 3 (the ``users`` and ``audit`` tables), in a transaction of its own,
        before the first write of a schema-2 archive."""
        try:
            self._db.executescript(f"BEGIN; {_SCHEMA_3} UPDATE meta SET value = "
                                   f"'{SCHEMA_VERSION}' WHERE key = 'schema'; COMMIT;")
        except sqlite3.DatabaseError as exc:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise self._failed(f"upgrade to schema {SCHEMA_VERSION}", exc) from None
        self.schema_version = SCHEMA_VERSION

    def _quick_check(self) -> None:
        problems = [r[0] for r in self._db.execute("PRAGMA quick_check(3)")]
        if problems != ["ok"]:
            first = " ".join(problems[0].replace("*** in database main ***", "").split())
            raise ArchiveDamagedError(self._damaged(f"SQLite quick_check: {first[:160]}"))

    def _damaged(self, why: str) -> str:
        return (f"{self.path}: the file is damaged ({why}); restore it from a copy, or salvage "
                "it with `sqlite3 FILE .recover | sqlite3 NEW` and open NEW")

    def _release(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # releases the flock
            self._lock_fd = None

    # ------------------------------------------------------------ transactions

    def _scalar(self, sql: str, args: Iterable[Any] = ()) -> Any:
        return self._db.execute(sql, tuple(args)).fetchone()[0]

    def _begin(self) -> None:
        if self.read_only:
            raise ArchiveReadOnlyError(f"{self.path}: opened read-only; only the ground server "
                                       "or ingest that owns the archive writes it")
        if not self._in_tx:
            if self.schema_version < SCHEMA_VERSION:
                self._upgrade()
            self._db.execute("BEGIN")
            self._in_tx, self._tx_start = True, self._clock()

    def _write(self, sql: str, args: Iterable[Any] = ()) -> sqlite3.Cursor:
        self._begin()
        try:
            return self._db.execute(sql, tuple(args))
        except sqlite3.DatabaseError as exc:  # disk full, read-only file, …
            raise self._failed("write", exc) from None

    def _writemany(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        self._begin()
        try:
            self._db.executemany(sql, rows)
        except sqlite3.DatabaseError as exc:
            raise self._failed("write", exc) from None

    def _failed(self, what: str, exc: Exception) -> ArchiveError:
        """Remember why a write failed; when SQLite rolled the batch back (a full disk does),
        say that it is lost, forget what it held (``after_rollback``: the sequence windows,
        the alarms) so that a sender re-sending it archives it then, and start afresh."""
        lost = ""
        if self._in_tx and not self._db.in_transaction:
            lost = f"; the {self._pending_packets} packets of the open batch are lost"
            self._in_tx, self._pending_packets = False, 0
            self._load()  # counters and latest values as the file holds them
            for hook in self.after_rollback:
                hook()
        self.failure = (f"{self.path}: {what} failed ({exc}){lost}; check the disk and the "
                        "file's permissions")
        return ArchiveError(self.failure)

    def maybe_commit(self) -> bool:
        """Commit when the batch is full or old enough; True when it committed."""
        if self._in_tx and (self._pending_packets >= self.batch_packets
                            or self._clock() - self._tx_start >= self.batch_s):
            self.flush()
            return True
        return False

    def flush(self) -> None:
        """Commit everything written so far (latest values and counters included)."""
        if not self._in_tx or self._db is None:
            return
        for hook in self.before_commit:
            hook()
        self._writemany("INSERT OR REPLACE INTO latest VALUES (?, ?, ?, ?)",
                        [(n, *self._latest[n][:2], _db(self._latest[n][2]))
                         for n in self._latest_dirty])
        self._latest_dirty.clear()
        self._writemany("INSERT OR REPLACE INTO counters VALUES (?, ?, ?)",
                        [(*k, self._counters[k]) for k in self._counters_dirty])
        self._counters_dirty.clear()
        try:
            self._db.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            raise self._failed("commit", exc) from None
        self._in_tx = False
        self.committed_packets += self._pending_packets
        self._pending_packets = 0
        self.commits += 1

    @property
    def pending(self) -> bool:
        """Whether anything is written and not yet committed."""
        return self._in_tx

    def close(self) -> None:
        """Commit and close (and release the lock); the archive can be reopened."""
        if self._db is not None:
            with contextlib.suppress(ArchiveError):
                self.flush()
        self._release()

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

    def add_junk(self, t_received: float, octets: int, sample: bytes) -> None:
        """Record ``octets`` received octets that did not frame, keeping ``sample`` of them
        (the caller bounds it)."""
        self._write("INSERT INTO junk VALUES (?, ?, ?)", (t_received, octets, sample))

    def add_event(self, t_onboard: float, t_received: float, code: int, state: str,
                  value: float) -> None:
        self._write("INSERT INTO events VALUES (?, ?, ?, ?, ?)",
                    (t_onboard, t_received, code, state, _db(value)))

    def log_link(self, t_received: float, kind: str, apid: int | None, count: int,
                 detail: str) -> None:
        """One line of the link log (kind: gap, duplicate, reordered, reset, bad, connect,
        disconnect, refused, …)."""
        self._write("INSERT INTO link_log VALUES (?, ?, ?, ?, ?)",
                    (t_received, kind, apid, count, detail))

    def count(self, name: str, n: int = 1, apid: int | None = None) -> None:
        """Add n to a counter of the link or (``apid``) of one APID; saved with each commit."""
        key = (LINK if apid is None else str(apid), name)
        self._counters[key] = self._counters.get(key, 0) + n
        self._counters_dirty.add(key)

    def set_counters(self, scope: str, values: dict[str, int]) -> None:
        """Set a scope's counters (a frame decoder's running totals); saved with each commit."""
        for name, v in values.items():
            key = (scope, name)
            if self._counters.get(key) != v:
                self._counters[key] = v
                self._counters_dirty.add(key)

    def counters(self, scope: str = LINK) -> dict[str, int]:
        """The counters of one scope: ``LINK``, an APID (``"1"``) or ``"frames"``."""
        return {n: v for (s, n), v in self._counters.items() if s == scope}

    def counter_scopes(self) -> list[str]:
        return sorted({s for s, _ in self._counters})

    def insert_alarm(self, a: AlarmRecord) -> int:
        """Store a new alarm (its id is ignored); returns its id."""
        cols = _ALARM_COLUMNS[1:]
        cur = self._write(f"INSERT INTO alarms ({', '.join(cols)}) VALUES "
                          f"({', '.join('?' * len(cols))})", _alarm_row(a)[1:])
        return int(cur.lastrowid)

    def update_alarm(self, a: AlarmRecord) -> None:
        cols = _ALARM_COLUMNS[1:]
        self._write(f"UPDATE alarms SET {', '.join(c + '=?' for c in cols)} WHERE id=?",
                    (*_alarm_row(a)[1:], a.id))

    def add_alarm_history(self, e: AlarmHistoryEntry) -> None:
        self._write("INSERT INTO alarm_history (alarm_id, parameter, kind, severity, value, "
                    "t_received, t_onboard, by, comment) VALUES (?,?,?,?,?,?,?,?,?)",
                    (e.alarm_id, e.parameter, e.kind, e.severity, _db(e.value), e.t_received,
                     e.t_onboard, e.by, e.comment))

    def add_user(self, user: UserRecord) -> None:
        """Store a new user (joins the open batch: ``flush`` to commit it); ValueError when
        the name is taken."""
        if self.user(user.name) is not None:
            raise ValueError(f"user {user.name!r} exists")
        self._write("INSERT INTO users VALUES (?, ?, ?, ?, ?)",
                    (user.name, user.role, user.password_hash, user.t_created, user.created_by))

    def remove_user(self, name: str) -> bool:
        """Remove a user (joins the open batch); False when there is none of that name."""
        if self.user(name) is None:
            return False
        self._write("DELETE FROM users WHERE name=?", (name,))
        return True

    def add_command(self, command_id: int, name: str, arguments: dict[str, Any],
                    significance: str) -> None:
        """A command the ground queued (its stages follow, ``add_command_stage``)."""
        self._write("INSERT INTO commands VALUES (?, ?, ?, ?)",
                    (command_id, name, json.dumps(arguments, sort_keys=True, default=str),
                     significance))

    def add_command_stage(self, command_id: int, stage: str, t_ground: float, by: str,
                          detail: str, packet: bytes | None = None) -> None:
        """A stage a command reached (its packet at release: what was sent)."""
        self._write("INSERT INTO command_stages (command_id, stage, t_ground, by, detail, "
                    "packet) VALUES (?, ?, ?, ?, ?, ?)",
                    (command_id, stage, t_ground, by or None, detail, packet))

    def last_command_id(self) -> int:
        """The newest command's id (0: none yet)."""
        if self.schema_version < 3:
            return 0
        return int(self._scalar("SELECT COALESCE(MAX(id), 0) FROM commands"))

    def command_page(self, limit: int, after: str | None = None, *, name: str | None = None,
                     ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of the command history (oldest first), each command with its stages
        (ground s, who, detail; the released packet in hex), and the next page's cursor."""
        if self.schema_version < 3:
            return [], None
        after_id = -1.0 if after is None else decode_cursor(after, 1)[0]
        sql, args = "SELECT id, name, arguments, significance FROM commands WHERE id > ?", [
            after_id]
        if name is not None:
            sql, args = sql + " AND name=?", [*args, name]
        rows = self._db.execute(sql + " ORDER BY id LIMIT ?", (*args, limit + 1)).fetchall()
        out = []
        for cid, cname, arguments, significance in rows[:limit]:
            stages = [{"stage": st, "t": t, "by": by, "detail": detail,
                       **({"packet": packet.hex()} if packet is not None else {})}
                      for st, t, by, detail, packet in self._db.execute(
                          "SELECT stage, t_ground, by, detail, packet FROM command_stages "
                          "WHERE command_id=? ORDER BY id", (cid,))]
            out.append({"id": cid, "name": cname, "arguments": json.loads(arguments),
                        "significance": significance,
                        "state": stages[-1]["stage"] if stages else None, "stages": stages})
        nxt = encode_cursor(rows[limit - 1][0]) if len(rows) > limit else None
        return out, nxt

    def add_audit(self, t_ground: float, user: str | None, role: str | None, action: str,
                  target: str | None, detail: dict[str, Any], outcome: str) -> int:
        """Append a row to the audit log (joins the open batch: ``flush`` to commit it);
        returns its id."""
        cur = self._write("INSERT INTO audit (t_ground, user, role, action, target, detail, "
                          "outcome) VALUES (?, ?, ?, ?, ?, ?, ?)",
                          (t_ground, user, role, action, target,
                           json.dumps(detail, sort_keys=True, default=str), outcome))
        return int(cur.lastrowid)

    def check_flight(self, info: dict[str, Any]) -> None:
        """ArchiveOpenError when flight plan ``info`` would put another time base under the
        telemetry archived (another epoch, or one where none was known)."""
        old = self.flight()
        if self.committed_packets and old.get("epoch_utc") != info.get("epoch_utc"):
            was = old.get("epoch_utc") or "no known epoch (s since 1970)"
            raise ArchiveOpenError(
                f"{self.path}: holds telemetry timed from {was}, not from {info.get('epoch_utc')}"
                f" ({info.get('scenario')}); give the archive's own scenario, or none, or a new "
                "archive with --new")

    def set_flight(self, info: dict[str, Any]) -> None:
        """Record what flight this archive holds (scenario, epoch, target: see
        ``telemetry.flight_info``), committed at once; nothing is written when it already says
        so. The epoch is the archive's time base (``check_flight``)."""
        if self.flight() == info:
            return
        self.check_flight(info)
        self.set_meta("flight", info)

    def set_meta(self, key: str, value: Any, *, commit: bool = True) -> None:
        """Record a fact about the archive (JSON), committed at once unless ``commit`` is
        False (then with the batch it joins)."""
        self._write("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, json.dumps(value)))
        if commit:
            self.flush()

    def meta(self, key: str) -> Any:
        """A fact ``set_meta`` recorded (None when none was)."""
        row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    # ------------------------------------------------------------ reads

    def flight(self) -> dict[str, Any]:
        """What ``set_flight`` recorded ({} when nothing was)."""
        return self.meta("flight") or {}

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

    def history_page(self, name: str, start: float, end: float, limit: int,
                     after: str | None = None) -> tuple[list[tuple[float, float]], str | None]:
        """One page of ``history`` (oldest first) and the cursor of the next (None: no more)."""
        lo_t, lo_id = (max(start, -1e300), -1.0) if after is None else decode_cursor(after, 2)
        rows = self._db.execute(
            "SELECT t_onboard, value, rowid FROM parameters WHERE name=? AND t_onboard <= ? AND "
            "(t_onboard > ? OR (t_onboard = ? AND rowid > ?)) AND t_onboard >= ? "
            "ORDER BY t_onboard, rowid LIMIT ?",
            (name, min(end, 1e300), lo_t, lo_t, lo_id, max(start, -1e300), limit + 1)).fetchall()
        more = len(rows) > limit
        rows = rows[:limit]
        nxt = encode_cursor(rows[-1][0], rows[-1][2]) if more else None
        return [(t, _f(v)) for t, v, _ in rows], nxt

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

    def recent_sequence(self, apid: int, n: int) -> list[int]:
        """The sequence counts of an APID's newest ``n`` archived packets, in arrival order."""
        rows = self._db.execute("SELECT seq FROM packets WHERE apid=? ORDER BY id DESC LIMIT ?",
                                (apid, n)).fetchall()
        return [int(r[0]) for r in reversed(rows)]

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

    def junk(self) -> list[tuple[float, int, bytes]]:
        """(t_received, octets discarded, the sample kept) of every junk record, oldest first."""
        return [(t, n, bytes(b)) for t, n, b in
                self._db.execute("SELECT t_received, octets, sample FROM junk ORDER BY rowid")]

    def alarms(self, active_only: bool = False) -> list[AlarmRecord]:
        """Alarms, oldest first; only those not yet cleared with ``active_only``."""
        return self.alarms_page(active_only, 10**12)[0]

    def alarms_page(self, active_only: bool, limit: int, after: str | None = None,
                    ) -> tuple[list[AlarmRecord], str | None]:
        """One page of alarms by id and the cursor of the next (None: no more)."""
        after_id = -1.0 if after is None else decode_cursor(after, 1)[0]
        rows = self._db.execute(
            f"SELECT {', '.join(_ALARM_COLUMNS)} FROM alarms WHERE id > ?"
            + (" AND t_cleared IS NULL" if active_only else "") + " ORDER BY id LIMIT ?",
            (after_id, limit + 1)).fetchall()
        out = [_alarm(r) for r in rows[:limit]]
        return out, encode_cursor(out[-1].id) if len(rows) > limit else None

    def alarm(self, alarm_id: int) -> AlarmRecord | None:
        r = self._db.execute(f"SELECT {', '.join(_ALARM_COLUMNS)} FROM alarms WHERE id=?",
                             (alarm_id,)).fetchone()
        return None if r is None else _alarm(r)

    def alarm_history_page(self, limit: int, after: str | None = None, *,
                           alarm_id: int | None = None, parameter: str | None = None,
                           ) -> tuple[list[AlarmHistoryEntry], str | None]:
        """One page of the alarm history (oldest first), of one alarm or parameter or all."""
        after_id = -1.0 if after is None else decode_cursor(after, 1)[0]
        sql, args = "SELECT * FROM alarm_history WHERE id > ?", [after_id]
        if alarm_id is not None:
            sql, args = sql + " AND alarm_id=?", [*args, alarm_id]
        if parameter is not None:
            sql, args = sql + " AND parameter=?", [*args, parameter]
        rows = self._db.execute(sql + " ORDER BY id LIMIT ?", (*args, limit + 1)).fetchall()
        out = [AlarmHistoryEntry(*r[1:5], _f(r[5]), *r[6:]) for r in rows[:limit]]
        return out, encode_cursor(rows[limit - 1][0]) if len(rows) > limit else None

    def user(self, name: str) -> UserRecord | None:
        """The user of that name (None: none; a schema-2 archive has no users)."""
        if self.schema_version < 3:
            return None
        r = self._db.execute("SELECT name, role, password_hash, t_created, created_by FROM "
                             "users WHERE name=?", (name,)).fetchone()
        return None if r is None else UserRecord(*r)

    def users(self) -> list[UserRecord]:
        """Every user, by name."""
        if self.schema_version < 3:
            return []
        return [UserRecord(*r) for r in self._db.execute(
            "SELECT name, role, password_hash, t_created, created_by FROM users ORDER BY name")]

    def audit_page(self, limit: int, after: str | None = None, *, user: str | None = None,
                   ) -> tuple[list[AuditEntry], str | None]:
        """One page of the audit log (oldest first), of one user or all, and the cursor of
        the next (None: no more)."""
        if self.schema_version < 3:
            return [], None
        after_id = -1.0 if after is None else decode_cursor(after, 1)[0]
        sql, args = ("SELECT id, t_ground, user, role, action, target, detail, outcome FROM "
                     "audit WHERE id > ?"), [after_id]
        if user is not None:
            sql, args = sql + " AND user=?", [*args, user]
        rows = self._db.execute(sql + " ORDER BY id LIMIT ?", (*args, limit + 1)).fetchall()
        out = [AuditEntry(*r[:6], json.loads(r[6]), r[7]) for r in rows[:limit]]
        return out, encode_cursor(out[-1].id) if len(rows) > limit else None

    def events(self, start: float = -math.inf, end: float = math.inf) -> list[EventRecord]:
        """Onboard events with start <= t_onboard <= end (s), oldest first."""
        return self.events_page(start, end, 10**12)[0]

    def events_page(self, start: float, end: float, limit: int, after: str | None = None,
                    ) -> tuple[list[EventRecord], str | None]:
        """One page of ``events`` (oldest first) and the cursor of the next (None: no more)."""
        lo_t, lo_id = (max(start, -1e300), -1.0) if after is None else decode_cursor(after, 2)
        rows = self._db.execute(
            "SELECT t_onboard, t_received, code, state, value, rowid FROM events WHERE "
            "t_onboard <= ? AND t_onboard >= ? AND (t_onboard > ? OR (t_onboard = ? AND "
            "rowid > ?)) ORDER BY t_onboard, rowid LIMIT ?",
            (min(end, 1e300), max(start, -1e300), lo_t, lo_t, lo_id, limit + 1)).fetchall()
        out = [EventRecord(a, b, c, d, _f(e)) for a, b, c, d, e, _ in rows[:limit]]
        more = len(rows) > limit
        return out, encode_cursor(rows[limit - 1][0], rows[limit - 1][5]) if more else None

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
        """SQLite's own full check: ``"ok"`` for a sound file."""
        return str(self._scalar("PRAGMA integrity_check"))
