"""``touchdown library``: every shipped lander flown over its site, beside history."""

from __future__ import annotations

import json
from pathlib import Path

import click

from touchdown.cli.common import common_options, errors_to_exit
from touchdown.files import jsonable


@click.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Also write library.json and each lander's profile figure here.")
@click.option("--json", "as_json", is_flag=True, help="Print the table as JSON on stdout only.")
@common_options
def library(seed: int, out: Path | None, as_json: bool, quiet: bool, debug: bool) -> None:
    """Fly every shipped lander (scenarios with a [history] section) and tabulate history's
    outcome beside touchdown's: touchdown speeds, propellant left, distance from the target."""
    from tqdm import tqdm

    from touchdown.library import fly_library, format_table, profile_figure, shipped

    with errors_to_exit(debug):
        landers = shipped()
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
        rows, written = [], []
        with tqdm(total=len(landers), unit="lander", disable=quiet or as_json,
                  leave=False) as bar:
            for entry in fly_library(seed, landers, each=lambda s: bar.set_description(s.name)):
                rows.append(entry.row())
                if out is not None:
                    written.append(profile_figure(entry, out / f"{entry.scenario.name}.png"))
                bar.update()
        if out is not None:
            path = out / "library.json"
            path.write_text(json.dumps(jsonable(rows), indent=2) + "\n", "utf-8")
            written.insert(0, path)
        if as_json:
            click.echo(json.dumps(jsonable(rows), indent=2))
            return
        click.echo(format_table(rows))
        for p in written:
            click.echo(f"wrote {p}")
