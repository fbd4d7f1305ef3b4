"""``touchdown campaign`` (run, rerun) and ``touchdown survey``: many landings at once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from touchdown.cli.common import (
    EXIT_FAILED,
    DefaultGroup,
    errors_to_exit,
    load_scenario,
    status_line,
)
from touchdown.cli.summary import flight_summary
from touchdown.files import jsonable

if TYPE_CHECKING:
    from touchdown.campaign.dispersions import Campaign
    from touchdown.scenario import Scenario

EXIT_INTERRUPTED = 130  # as a shell reports a command stopped by Ctrl-C


def _campaign_for(nominal: Scenario, dispersions: Path | None) -> Campaign:
    """The campaign file given, else NAME.campaign.toml beside the scenario, else none."""
    from touchdown.campaign.dispersions import Campaign, campaign_file_for, load_campaign

    path = dispersions or campaign_file_for(nominal.path)
    if dispersions is None and not path.exists():
        return Campaign(())
    return load_campaign(path, nominal)


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f} %"


def _summary_text(s: dict[str, Any], folder: Path) -> str:
    lo, hi = s["success_rate_ci95"]
    lines = [
        f"{s['scenario']}  (policy {s['policy']}, seed {s['seed']}, {s['runs']:,} runs)",
        "",
        f"  landed        {s['landed']:,}   crashed {s['crashed']:,}   timeout {s['timeout']:,}",
        f"  success rate  {_pct(s['success_rate'])}  (95 % Wilson interval "
        f"{_pct(lo)} to {_pct(hi)})",
    ]
    p = s["propellant_remaining_kg"]
    if p:
        lines.append(f"  propellant    left at contact: p1 {p['p1']:.1f}, p50 {p['p50']:.1f}, "
                     f"p99 {p['p99']:.1f} kg")
    for key, label in (("landing_ellipse_3sigma_m", "landing"), ("impact_ellipse_3sigma_m",
                                                                    "impacts")):
        e = s[key]
        if e:
            lines.append(
                f"  {label:<12}  3-sigma ellipse {2 * e['semi_major_m']:,.0f} x "
                f"{2 * e['semi_minor_m']:,.0f} m, major axis {e['orientation_deg_from_north']:.0f}"
                f" deg from north, centre {e['centre_east_m']:+,.0f} m E "
                f"{e['centre_north_m']:+,.0f} m N of the target ({e['points']:,} points)")
    if s["failure_modes"]:
        lines.append("  failures      " + ", ".join(f"{k} {v:,}"
                                                  for k, v in s["failure_modes"].items()))
    if s.get("computer_events"):
        lines.append("  computer      " + "; ".join(
            f"{k} in {v['samples']:,} ({v['crashed']:,} crashed)"
            for k, v in s["computer_events"].items()))
    if s.get("samples_per_s"):
        lines.append(f"  speed         {s['flown_now']:,} samples in {s['wall_s']:.1f} s "
                     f"({s['samples_per_s']:.1f} samples/s, {s['runner']})")
    if s.get("steady_samples_per_s"):
        lines.append(f"                {s['steady_samples_per_s']:.1f} samples/s after the first "
                     f"chunk ({s['start_s']:.1f} s, kernels compiled or loaded)")
    lines.append(f"  results       {folder}")
    return "\n".join(lines)


@click.group(cls=DefaultGroup, default="run")
def campaign() -> None:
    """Monte Carlo campaigns: `campaign SCENARIO --runs N` flies one, `campaign rerun` one sample.

    Dispersions come from NAME.campaign.toml beside the scenario (or --dispersions FILE).
    """


@campaign.command("run")
@click.argument("scenario")
@click.option("--runs", type=click.IntRange(min=1), required=True, help="Samples to fly.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Root seed: sample i draws from (seed, i) alone.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Results folder [default: out/campaign-NAME].")
@click.option("--workers", type=click.IntRange(min=1),
              help="Local threads [default: all cores].")
@click.option("--scheduler", metavar="ADDRESS",
              help="Run on the Dask cluster at tcp://HOST:PORT instead of locally.")
@click.option("--dispersions", type=click.Path(dir_okay=False, path_type=Path),
              help="Campaign file [default: NAME.campaign.toml beside the scenario].")
@click.option("--resume", is_flag=True,
              help="Continue the campaign stored in --out (or start it there).")
@click.option("--no-figures", is_flag=True, help="Write the table and summary only.")
@click.option("--json", "as_json", is_flag=True, help="Print summary.json on stdout only.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.option("--debug", is_flag=True, help="Show the full traceback on errors.")
def run(scenario: str, runs: int, seed: int, out: Path | None, workers: int | None,
        scheduler: str | None, dispersions: Path | None, resume: bool, no_figures: bool,
        as_json: bool, quiet: bool, debug: bool) -> None:
    """Fly SCENARIO RUNS times with everything dispersed; write table, summary and figures.

    The progress bar's rate and time left leave out the first chunk (the kernels compile or
    load with it).
    """
    from touchdown.campaign.execute import run_campaign
    from touchdown.errors import CampaignInterruptedError

    if workers is not None and scheduler:
        raise click.UsageError("--workers sets local threads; with --scheduler the cluster's "
                               "workers fly the samples: give one or the other")
    with errors_to_exit(debug):
        nominal = load_scenario(scenario)
        plan = _campaign_for(nominal, dispersions)
        folder = out or Path("out") / f"campaign-{nominal.name}"
        try:
            result = run_campaign(nominal, plan, runs, folder, seed, workers, scheduler, resume,
                                  progress=not quiet, figures=not no_figures)
        except CampaignInterruptedError as exc:
            click.echo(str(exc), err=True)
            raise click.exceptions.Exit(EXIT_INTERRUPTED) from None
    if as_json:
        click.echo(json.dumps(jsonable(result.summary), indent=2))
        return
    click.echo(_summary_text(result.summary, folder))
    for p in result.written:
        click.echo(f"wrote {p}")


@campaign.command()
@click.argument("results", type=click.Path(file_okay=False, path_type=Path))
@click.argument("sample_id", type=click.IntRange(min=0))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Telemetry folder [default: RESULTS/sample-ID].")
@click.option("--json", "as_json", is_flag=True, help="Print the flight as JSON on stdout.")
@click.option("--quiet", "-q", is_flag=True, help="No status line on stderr.")
@click.option("--debug", is_flag=True, help="Show the full traceback on errors.")
def rerun(results: Path, sample_id: int, out: Path | None, as_json: bool, quiet: bool,
          debug: bool) -> None:
    """Fly sample SAMPLE_ID of the campaign in RESULTS alone, with full telemetry.

    Exits 1 if any number differs from the campaign's row.
    """
    from touchdown.campaign.execute import rerun_sample
    from touchdown.sim.step import advance
    from touchdown.telemetry.run_folder import write_run_folder

    with errors_to_exit(debug):
        with status_line(f"flying sample {sample_id}", quiet, compiles=advance):
            link, row, differ = rerun_sample(results, sample_id)
        flight = link.flight
        written = write_run_folder(out or results / f"sample-{sample_id}", flight, link)
    if as_json:
        click.echo(json.dumps(jsonable({**flight.to_dict(), "sample": sample_id,
                                        "matches_campaign_row": not differ,
                                        "differing_columns": differ}), indent=2))
    else:
        click.echo(flight_summary(flight))
        click.echo()
        if differ:
            click.echo(f"DIFFERS from the campaign's row in: {', '.join(differ)}")
        else:
            click.echo(f"same numbers as row {sample_id} of {results / 'samples.parquet'} "
                       f"(all {len(row)} columns)")
        for p in written:
            click.echo(f"wrote {p}")
    if differ:
        raise click.exceptions.Exit(EXIT_FAILED)


@click.command()
@click.argument("scenarios", nargs=-1, required=True, metavar="SCENARIO...")
@click.option("--region", type=float, nargs=4, required=True,
              metavar="LAT0 LAT1 LON0 LON1", help="South, north, west, east edges (deg).")
@click.option("--grid", type=click.IntRange(min=1, max=100), default=8, show_default=True,
              help="Sites per side: GRID x GRID sites.")
@click.option("--runs-per-site", type=click.IntRange(min=1), default=8, show_default=True,
              help="Dispersed landings flown to each site.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Root seed (the same for every scenario).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Results folder [default: out/survey-NAME].")
@click.option("--workers", type=click.IntRange(min=1),
              help="Local threads [default: all cores].")
@click.option("--json", "as_json", is_flag=True, help="Print survey.json on stdout only.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.option("--debug", is_flag=True, help="Show the full traceback on errors.")
def survey(scenarios: tuple[str, ...], region: tuple[float, float, float, float], grid: int,
           runs_per_site: int, seed: int, out: Path | None, workers: int | None,
           as_json: bool, quiet: bool, debug: bool) -> None:
    """Map the landing success of SCENARIO (side by side if several) over a region's sites.

    Every site of the grid is flown RUNS_PER_SITE times with the scenario's dispersions,
    approached on the scenario's azimuth over the real terrain. The progress bar's rate and
    time left leave out the first chunk (the kernels compile or load with it).
    """
    from touchdown.campaign.survey import run_survey

    with errors_to_exit(debug):
        loaded = [load_scenario(s) for s in scenarios]
        pairs = [(s, _campaign_for(s, None)) for s in loaded]
        folder = out or Path("out") / f"survey-{loaded[0].name}"
        try:
            result = run_survey(pairs, region, grid, runs_per_site, folder, seed, workers,
                                progress=not quiet)
        except KeyboardInterrupt:
            click.echo("interrupted: the survey wrote nothing", err=True)
            raise click.exceptions.Exit(EXIT_INTERRUPTED) from None
    summary = json.loads((folder / "survey.json").read_text(encoding="utf-8"))
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    for name, s in summary["scenarios"].items():
        click.echo(f"{name} ({s['policy']}): {100 * s['success_rate']:.1f} % landed; "
                   f"{s['sites_all_landed']} of {grid * grid} sites always, "
                   f"{s['sites_none_landed']} never")
    speed = f"{summary['samples']:,} samples flown in {summary['wall_s']:.1f} s"
    if summary["steady_samples_per_s"]:
        speed += (f"; {summary['steady_samples_per_s']:.1f} samples/s ({summary['s_per_site']:.2f}"
                  f" s a site) after the first chunk ({summary['start_s']:.1f} s, kernels "
                  "compiled or loaded)")
    click.echo(speed)
    for p in result.written:
        click.echo(f"wrote {p}")
