"""``touchdown report``: the post-flight investigation report, or two flights side by side."""

from __future__ import annotations

from pathlib import Path

import click

from touchdown.cli.common import errors_to_exit, status_line


def _default_out(source: Path) -> Path:
    return Path("out") / "reports" / (source.stem if source.suffix else source.name)


@click.command()
@click.argument("source", metavar="ARCHIVE_OR_RUN", required=False,
                type=click.Path(path_type=Path))
@click.option("--flight", "flight_id", type=click.IntRange(min=0), metavar="ID",
              help="With a campaign results folder: fly sample ID again and report on it.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Report folder [default: out/reports/NAME].")
@click.option("--compare", nargs=2, type=click.Path(path_type=Path), metavar="A B",
              help="Report on A and B and put them side by side (compare.html).")
@click.option("--quiet", "-q", is_flag=True, help="No status line on stderr.")
@click.option("--debug", is_flag=True, help="Show the full traceback on errors.")
def report(source: Path | None, flight_id: int | None, out: Path | None,
           compare: tuple[Path, Path] | None, quiet: bool, debug: bool) -> None:
    """Investigate a flight from what the ground received: findings with their evidence,
    figures, and one self-contained HTML page.

    ARCHIVE_OR_RUN is a ground archive (.sqlite), a run folder (`touchdown fly SCENARIO --out
    DIR`, which also keeps the simulation truth, drawn apart and marked), a downlink recording,
    or a campaign results folder with --flight.
    """
    from touchdown.report.build import build_report, compare_reports
    from touchdown.report.findings import ALARMING, outcome_headline

    if (source is None) == (not compare):
        raise click.UsageError("give one ARCHIVE_OR_RUN, or --compare A B")
    if compare and flight_id is not None:
        raise click.UsageError("--flight goes with one campaign folder, not with --compare")
    with errors_to_exit(debug):
        if compare:
            a, b = compare
            folder = out or Path("out") / "reports" / f"compare-{_default_out(a).name}-" \
                                                      f"{_default_out(b).name}"
            with status_line(f"investigating {a} and {b}", quiet):
                page, ra, rb = compare_reports(a, b, folder)
            for r in (ra, rb):
                click.echo(f"{r.document['flight'].get('scenario') or r.folder.name}: "
                           f"{outcome_headline(r.document['outcome'])}")
            click.echo(f"wrote {page}")
            return
        assert source is not None
        folder = out or _default_out(source)
        with status_line(f"investigating {source}", quiet):
            r = build_report(source, folder, flight_id)
    doc = r.document
    click.echo(f"{doc['flight'].get('scenario') or source}: {outcome_headline(doc['outcome'])}")
    for f in doc["findings"]:
        if f["severity"] in ALARMING:
            click.echo(f"  {f['t']:>10}  {f['severity']:<8}  {f['title']}")
    click.echo(f"wrote {r.findings} and {len(r.figures)} figures (PNG) in {r.folder}")
    click.echo(f"wrote {r.html}")
