"""Errors that name the problem and the fix; the CLI turns them into one line."""

from __future__ import annotations

from pathlib import Path


class TouchdownError(Exception):
    """Base class: every touchdown error carries a message a person can act on."""


class ScenarioError(TouchdownError, ValueError):
    """A scenario file is unreadable or a field is missing, of the wrong type or out of range."""

    def __init__(self, path: str | Path, field: str, problem: str, hint: str = "") -> None:
        self.path, self.field, self.problem, self.hint = str(path), field, problem, hint
        msg = f"{path}: {field} {problem}" if field else f"{path}: {problem}"
        super().__init__(f"{msg}; {hint}" if hint else msg)


class DataFileError(TouchdownError, FileNotFoundError):
    """A terrain tile or other data file is missing or unreadable."""

    def __init__(self, path: str | Path, problem: str, hint: str) -> None:
        self.path = str(path)
        super().__init__(f"{path}: {problem}; {hint}")


class DataRangeError(TouchdownError, ValueError):
    """A query falls outside the data a product covers; carries the range it covers."""

    def __init__(self, message: str, covered: tuple[float, float, float, float]) -> None:
        self.covered = covered
        super().__init__(message)


class ResultsError(TouchdownError, ValueError):
    """A results folder is missing, unreadable or holds a different campaign."""


class InputError(TouchdownError, ValueError):
    """An input file or folder is missing or is not what the command takes."""


class ListenError(InputError):
    """A port to serve on cannot be taken (busy, not allowed, or an unknown host)."""


class OutputError(Exception):
    """An output file could not be written (the flight itself went fine)."""


class CampaignInterruptedError(Exception):
    """Ctrl-C during a campaign: what finished is stored; carries the counts."""

    def __init__(self, done: int, runs: int, folder: Path) -> None:
        self.done, self.runs, self.folder = done, runs, folder
        super().__init__(f"interrupted: {done:,} of {runs:,} samples are stored in {folder}; "
                         "run the same command with --resume to fly the rest")


class EphemerisError(TouchdownError, ValueError):
    """The ephemeris cannot answer: file missing or time outside it."""


# ---------------------------------------------------------------- telemetry

class DictionaryError(TouchdownError, ValueError):
    """The telemetry dictionary is malformed."""


class PacketError(TouchdownError, ValueError):
    """A packet cannot be encoded or decoded: the reason names what is wrong with it."""


class CommandError(TouchdownError, ValueError):
    """A telecommand the dictionary does not allow, or a packet that is not one: the message
    names the command and what is wrong (the ground never sends it; the lander refuses it).
    ``reason`` is the onboard refusal's kind (``core.layout.TC_REJECTIONS``: packet, unknown,
    range) and ``opcode`` the command's code when it was read (-1 when not)."""

    def __init__(self, message: str, reason: str = "packet", opcode: int = -1) -> None:
        self.reason, self.opcode = reason, opcode
        super().__init__(message)


class CommandingError(CommandError):
    """An action the ground's command queue refuses: who may not, or what may not be done in
    the command's stage. ``status`` is the HTTP status the API answers with (403 not allowed,
    409 not in this stage, 404 no such command, 400 a missing reason)."""

    def __init__(self, message: str, status: int = 409) -> None:
        self.status = status
        super().__init__(message)


class FrameError(TouchdownError, ValueError):
    """A frame or frame setting is invalid; the message names what is wrong and what to do."""


class LinkError(TouchdownError, ValueError):
    """A link setting or input is invalid; the message names it and the fix."""


class RecordingError(TouchdownError, ValueError):
    """A file is not a downlink recording, or its metadata is unreadable."""


# ---------------------------------------------------------------- ground

class GroundLinkError(TouchdownError):
    """A ground server's ingest port cannot be reached, or it closed the link."""


class GroundApiError(GroundLinkError):
    """The ground server's API answered with an error: its status and its message."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        super().__init__(message)


class OpenMCTMissingError(TouchdownError):
    """Open MCT's files are not installed."""


class AlarmError(TouchdownError, KeyError):
    """An alarm operation names an alarm that does not exist, is already cleared, or asks
    for something out of range."""

    def __init__(self, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.status = status  # the HTTP status that says it: 404 unknown, 409 state, 400 input

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class ArchiveError(TouchdownError, OSError):
    """The archive file cannot be written."""


class ArchiveOpenError(ArchiveError):
    """The archive file cannot be opened (missing, not an archive, damaged, locked)."""


class ArchiveMissingError(ArchiveOpenError):
    """No archive at that path, and none was asked to be created."""


class ArchiveLockedError(ArchiveOpenError):
    """Another process is writing the archive."""


class ArchiveDamagedError(ArchiveOpenError):
    """SQLite's quick_check finds the file damaged."""


class ArchiveReadOnlyError(ArchiveError):
    """A write to an archive opened read-only."""


# ---------------------------------------------------------------- report

class ReportInputError(InputError):
    """The report's input is missing or is not an archive, a run folder or a recording."""
