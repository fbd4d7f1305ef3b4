"""The ``touchdown`` command line (shell): thin commands over the library.

``fly`` and ``compare`` fly single scenarios; ``campaign`` and ``survey`` fly many;
``ground`` runs the ground station; ``command`` commands a live flight through it; ``report``
investigates a flight from its telemetry;
``library`` flies every shipped lander beside history.
"""

import click

from touchdown.cli.campaign import campaign, survey
from touchdown.cli.command import command
from touchdown.cli.flight import compare, fly
from touchdown.cli.ground import ground
from touchdown.cli.library import library
from touchdown.cli.report import report


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="touchdown")
def main() -> None:
    """Fly lunar landings over real LRO terrain.

    SCENARIO is a name under scenarios/ (e.g. hakuto-r-m1) or a path to a .toml file.
    Terrain tiles are read from $TOUCHDOWN_DATA.
    """


main.add_command(fly)
main.add_command(compare)
main.add_command(campaign)
main.add_command(survey)
main.add_command(ground)
main.add_command(report)
main.add_command(library)
main.add_command(command)
