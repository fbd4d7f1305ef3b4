"""Shared pieces of the ``touchdown`` command line: errors to exit codes, the status line,
common options, scenario loading and safe output writing.

Results go to stdout, the status line and errors to stderr. Library errors become one line,
``error: <message>``, exiting 2 for scenario, data and usage problems and 1 for a failed run;
``--debug`` adds the traceback. A crash or timeout of the simulated lander is a result, not a
failed run: the command still exits 0.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, NoReturn

import click

from touchdown.errors import (
    DataFileError,
    DataRangeError,
    InputError,
    OutputError,
    RecordingError,
    ResultsError,
    ScenarioError,
    TouchdownError,
)
from touchdown.files import cached

if TYPE_CHECKING:
    from touchdown.scenario import Scenario

EXIT_FAILED = 1  # the run itself failed
EXIT_CONFIG = 2  # scenario, data or usage problem (click uses 2 for usage errors too)


def _fail(message: str, code: int, debug: bool) -> NoReturn:
    if debug:
        click.echo(traceback.format_exc().rstrip(), err=True)
    click.echo(f"error: {message}", err=True)
    raise click.exceptions.Exit(code)


@contextlib.contextmanager
def errors_to_exit(debug: bool) -> Iterator[None]:
    """Turn library errors into one line on stderr and an exit code (once, at the edge)."""
    try:
        yield
    except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
        raise
    except (ScenarioError, DataFileError, DataRangeError, ResultsError, RecordingError,
            InputError) as exc:
        _fail(str(exc), EXIT_CONFIG, debug)
    except TouchdownError as exc:
        _fail(str(exc), EXIT_FAILED, debug)
    except OutputError as exc:
        _fail(str(exc), EXIT_FAILED, debug)
    except OSError as exc:  # e.g. a scenario file that cannot be read
        _fail(str(exc), EXIT_CONFIG, debug)
    except Exception as exc:
        hint = "" if debug else "; rerun with --debug for the traceback"
        _fail(f"internal error, {type(exc).__name__}: {exc}{hint}", EXIT_FAILED, debug)


# s: a first flight's compilation (sim.step.advance and its callees) on the 2-core development
# machine, measured by benchmarks/bench_startup.py --compile (benchmarks/README.md)
COMPILE_S = 50


def first_run_line(kernel: Any) -> str | None:
    """What a flight's status line says first while ``kernel`` (the flight's loop,
    ``sim.step.advance``) compiles: None when the compiled cache holds it already, as on every
    run but the first on a machine and the first after the source changed."""
    if cached(kernel):
        return None
    return f"compiling the flight software, first run only, ~{COMPILE_S} s"


@contextlib.contextmanager
def status_line(text: str, quiet: bool, compiles: Any = None) -> Iterator[None]:
    """A one-line status on stderr while work runs: only on a TTY, never with --quiet.

    ``compiles``: the kernel the work runs (a flight: ``sim.step.advance``); on a first run
    (``first_run_line``) the line says that the flight software is compiling, with the seconds
    since it began, until the kernel is in the compiled cache.
    """
    stream = sys.stderr
    if quiet or not stream.isatty():
        yield
        return
    dots = "…" if "utf" in (getattr(stream, "encoding", "") or "").lower() else "..."
    compiling = first_run_line(compiles) if compiles is not None else None
    stop = threading.Event()
    t0 = time.monotonic()

    def draw() -> None:
        nonlocal compiling
        while True:
            if compiling is not None and cached(compiles):
                compiling = None  # compiled: the loop's index is in the cache
            stream.write(f"\r\033[K{compiling or text} {dots} {time.monotonic() - t0:.0f} s")
            stream.flush()
            if stop.wait(0.5):  # redraw at most twice a second
                return

    drawer = threading.Thread(target=draw, daemon=True)
    drawer.start()
    try:
        yield
    finally:
        stop.set()
        drawer.join()
        stream.write("\r\033[K")
        stream.flush()


def common_options(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option("--debug", is_flag=True, help="Show the full traceback on errors.")(f)
    f = click.option("--quiet", "-q", is_flag=True,
                     help="No status line on stderr.")(f)
    return click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
                        help="Random seed: the same seed flies the same numbers.")(f)


def load_scenario(name_or_path: str) -> Scenario:
    from touchdown.scenario import Scenario, resolve

    return Scenario.from_toml(resolve(name_or_path))


class DefaultGroup(click.Group):
    """A group whose first argument, when it names no subcommand, goes to a default one."""

    def __init__(self, *args: Any, default: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.default = default

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = [self.default, *args]
        return super().parse_args(ctx, args)
