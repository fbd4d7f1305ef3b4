"""What the ground received of one flight, as tables (shell).

``read_archive(path)`` reads a ground archive into a ``Received``: one DataFrame per periodic
packet type (onboard time ``t`` and its fields, enumerations as raw codes), the onboard events,
the alarms the ground raised, every packet's arrival and the losses of signal. Nothing here
comes from the simulation: an investigation built on it sees what mission control saw (the
simulation's own record of a flown run, for overlays only, is ``telemetry.run_folder.Truth``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from touchdown.errors import ArchiveOpenError, ReportInputError
from touchdown.ground.archive import AlarmRecord, Archive
from touchdown.ground.images import GroundImages
from touchdown.ground.ingest import apid_counters, link_counters
from touchdown.ground.status import LossOfSignal, los_timeout, losses
from touchdown.moon.constants import GM, R_REF
from touchdown.telemetry.dictionary import Dictionary, load_dictionary
from touchdown.telemetry.flight_info import FlightInfo
from touchdown.telemetry.packets import SEQ_MODULO

SQLITE_MAGIC = b"SQLite format 3\x00"


@dataclass
class Received:
    """Everything the ground received of one flight; times are onboard (s since the epoch)
    unless named ``t_received`` (ground time)."""

    source: str
    info: FlightInfo
    dictionary: Dictionary
    packets: dict[str, pd.DataFrame]  # packet name -> t and one column per field
    events: pd.DataFrame  # t, t_received, name, value
    alarms: list[AlarmRecord]
    arrivals: pd.DataFrame  # packet, apid, seq, t, t_received: one row per packet received
    losses: list[LossOfSignal]
    counters: dict[str, int]  # the link's (``ground.ingest.link_counters``)
    apid_counters: dict[str, dict[str, int]]  # by packet name (``ground.ingest.apid_counters``)
    images: GroundImages  # the camera's images as far as they came

    def __getitem__(self, packet: str) -> pd.DataFrame:
        return self.packets[packet]

    def event_times(self, name: str) -> list[float]:
        """Onboard times (s) of the events called ``name``, oldest first."""
        return self.events.loc[self.events["name"] == name, "t"].tolist()

    def first_event(self, name: str) -> pd.Series | None:
        rows = self.events[self.events["name"] == name]
        return None if rows.empty else rows.iloc[0]

    @property
    def t_first(self) -> float:
        return float(self.arrivals["t"].min()) if len(self.arrivals) else math.nan

    @property
    def t_last(self) -> float:
        """Newest onboard time received (s)."""
        return float(self.arrivals["t"].max()) if len(self.arrivals) else math.nan

    def state(self, field: str, code: float) -> str:
        """The name of an enumerated field's raw value (``lrf.state``, 2 -> ``faulty``)."""
        return str(self.dictionary.parameters[field].state(code))

    def cite(self, packet: str, t_from: float, t_to: float | None = None) -> dict | None:
        """The received packets of one type from onboard time t_from to t_to (s), or with no
        t_to the one in force at t_from (the newest at or before it), as evidence: APID, how
        many, how many the sequence counts between them say are missing, the first and last
        (onboard order) with their counts, onboard and receive times; None when there are
        none."""
        rows = self.arrivals[self.arrivals["packet"] == packet]
        if t_to is None:
            rows = rows[rows["t"] <= t_from + 1e-6]
            rows = rows[rows["t"] == rows["t"].max()]
        else:
            rows = rows[(rows["t"] >= t_from - 1e-6) & (rows["t"] <= t_to + 1e-6)]
        if rows.empty:
            return None
        rows = rows.sort_values(["t", "t_received"], kind="stable")
        first, last = rows.iloc[0], rows.iloc[-1]
        counted = (int(last["seq"]) - int(first["seq"])) % SEQ_MODULO + 1
        return {"packet": packet, "apid": int(first["apid"]), "packets": len(rows),
                "missing": max(counted - len(rows), 0),
                "seq_first": int(first["seq"]), "seq_last": int(last["seq"]),
                "t_first_s": float(first["t"]), "t_last_s": float(last["t"]),
                "t_received_first_s": float(first["t_received"]),
                "t_received_last_s": float(last["t_received"])}


def is_archive(path: Path) -> bool:
    """Whether path is an SQLite file (a ground archive, or at least SQLite)."""
    try:
        with path.open("rb") as f:
            return f.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC
    except OSError:
        return False


def read_archive(path: str | Path) -> Received:
    """Read a ground archive; ReportInputError when it is missing or holds no packets."""
    path = Path(path)
    if not path.is_file():
        raise ReportInputError(f"{path}: no such archive; give a ground archive (.sqlite), a "
                               "run folder from `touchdown fly --out` or a downlink recording")
    if not is_archive(path):
        raise ReportInputError(f"{path}: not a ground archive (not SQLite)")
    dictionary = load_dictionary()
    try:
        archive = Archive(path, read_only=True)  # reading never changes the evidence
    except ArchiveOpenError as exc:
        raise ReportInputError(str(exc)) from None
    try:
        received = _read(archive, dictionary, str(path))
    finally:
        archive.close()
    if received.arrivals.empty:
        raise ReportInputError(f"{path}: the archive holds no packets; ingest a flight into it "
                               "first (`touchdown ground ingest RECORDING --archive FILE`)")
    return received


def _read(archive: Archive, dictionary: Dictionary, source: str) -> Received:
    packets = {}
    for p in dictionary.packets:
        if p.period_s <= 0:
            continue
        table: pd.DataFrame | None = None
        for f in p.fields:
            rows = archive.history(f.qualified)
            col = pd.DataFrame(rows, columns=["t", f.name]).drop_duplicates("t")
            table = col if table is None else table.merge(col, on="t", how="outer")
        packets[p.name] = (table if table is not None else pd.DataFrame({"t": []})
                           ).sort_values("t", ignore_index=True)
    events = pd.DataFrame([(e.t_onboard, e.t_received, e.state, e.value)
                           for e in archive.events()],
                          columns=["t", "t_received", "name", "value"])
    names = {p.apid: p.name for p in dictionary.packets}
    arrivals = pd.DataFrame([(names.get(a, f"apid {a:#x}"), a, seq, t, tr)
                             for a, seq, t, tr, _ in archive.packets()],
                            columns=["packet", "apid", "seq", "t", "t_received"]
                            ).sort_values("t_received", kind="stable", ignore_index=True)
    return Received(source, FlightInfo.from_dict(archive.flight()), dictionary, packets, events,
                    archive.alarms(), arrivals, _losses(dictionary, archive, arrivals),
                    link_counters(archive, dictionary), apid_counters(archive, dictionary),
                    GroundImages(archive, dictionary))


def _losses(dictionary: Dictionary, archive: Archive,
            arrivals: pd.DataFrame) -> list[LossOfSignal]:
    """Every loss of signal in the archive, the one after its last packet included (the ground
    station's own definition, ``ground.status.losses``, with the timeout it was ingested
    with)."""
    return losses(list(zip(arrivals["t_received"], arrivals["t"], strict=True)),
                  los_timeout(dictionary, archive), math.inf)


def value_at(table: pd.DataFrame, column: str, t: np.ndarray) -> np.ndarray:
    """The column's latest value at or before each time (NaN before the first)."""
    rows = table[["t", column]].dropna()
    if rows.empty:
        return np.full(len(t), np.nan)
    i = np.searchsorted(rows["t"].to_numpy(), t, side="right") - 1
    out = rows[column].to_numpy()[np.clip(i, 0, None)].astype(float)
    out[i < 0] = np.nan
    return out


def speed_rates(nav: pd.DataFrame, window: int) -> tuple[np.ndarray, ...]:
    """From ``nav`` reports with speeds and height: their times, the vertical and horizontal
    speeds' rates (m/s^2; centred means over ``window`` reports) and the vertical acceleration
    gravity and the turning frame alone give, -GM / r^2 + vh^2 / r. The thrust acceleration is
    then hypot(vertical rate - that, horizontal rate)."""
    t = nav["t"].to_numpy()
    vv, vh = nav["vertical_speed_mps"].to_numpy(), nav["horizontal_speed_mps"].to_numpy()
    r = R_REF + nav["height_m"].to_numpy()

    def rate(x: np.ndarray) -> np.ndarray:
        return pd.Series(np.gradient(x, t)).rolling(window, center=True, min_periods=3).mean() \
            .to_numpy()

    return t, rate(vv), rate(vh), -GM / r**2 + vh**2 / r
