"""The ``touchdown`` command line (shell): thin commands over the library.

``fly`` and ``compare`` fly single scenarios; ``campaign`` and ``survey`` fly many;
``ground`` runs the ground station; ``command`` commands a live flight through it; ``report``
investigates a flight from its telemetry;
``library`` flies every shipped lander beside history; ``guidance`` solves powered-descent
problems.

A command's module is imported only when that command runs (``touchdown --help`` imports
them all): ``touchdown fly`` does not wait for the ground station's web server to load.
"""

from __future__ import annotations

import importlib

import click

COMMANDS: dict[str, tuple[str, str]] = {  # name -> (module under touchdown.cli, attribute)
    "fly": ("flight", "fly"),
    "compare": ("flight", "compare"),
    "campaign": ("campaign", "campaign"),
    "survey": ("campaign", "survey"),
    "ground": ("ground", "ground"),
    "report": ("report", "report"),
    "library": ("library", "library"),
    "command": ("command", "command"),
    "guidance": ("guidance", "guidance"),
}


class _Commands(click.Group):
    """A group that imports a command's module when the command is looked up."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)  # as click lists them

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module, attribute = COMMANDS[cmd_name]
        command = getattr(importlib.import_module(f"touchdown.cli.{module}"), attribute)
        assert isinstance(command, click.Command), f"touchdown.cli.{module}.{attribute}"
        return command


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="touchdown")
def main() -> None:
    """Fly lunar landings over real LRO terrain.

    SCENARIO is a name under scenarios/ (e.g. hakuto-r-m1) or a path to a .toml file.
    Terrain tiles are read from $TOUCHDOWN_DATA.
    """
