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
