"""``touchdown guidance solve``: a fuel-optimal powered descent by lossless convexification."""

from __future__ import annotations

import json
from pathlib import Path

import click

from touchdown.cli.common import errors_to_exit, status_line


@click.group()
def guidance() -> None:
    """Powered-descent guidance problems, solved on the ground."""


@guidance.command()
@click.argument("problem_file", metavar="PROBLEM.toml", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True,
              help="Print the result as JSON on stdout (status, time of flight, propellant, "
                   "landing error, solve time).")
@click.option("--trajectory", is_flag=True, help="With --json: the trajectory at the nodes too.")
@click.option("--plot", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="Draw the trajectory, thrust and mass into a PNG.")
@click.option("--quiet", "-q", is_flag=True, help="No status line on stderr.")
@click.option("--debug", is_flag=True, help="Show the full traceback on errors.")
def solve(problem_file: Path, as_json: bool, trajectory: bool, plot: Path | None, quiet: bool,
          debug: bool) -> None:
    """Solve PROBLEM.toml (examples/guidance/): the least landing error, then the least
    propellant landing there (Blackmore 2010), by lossless convexification (cvxpy, Clarabel);
    the time of flight as given, or searched. Exits 0 with status "infeasible" when no
    trajectory meets the constraints."""
    from touchdown.lcvx.problem import load_problem
    from touchdown.lcvx.solve import solve as solve_problem

    if trajectory and not as_json:
        raise click.UsageError("--trajectory goes with --json")
    with errors_to_exit(debug):
        problem = load_problem(problem_file)
        with status_line(f"solving {problem_file}", quiet or as_json):
            result = solve_problem(problem)
        if plot is not None:
            from touchdown.plots.guidance import solution_figure

            if result.solved:
                solution_figure(problem, result, plot)
        if as_json:
            click.echo(json.dumps(result.to_dict(trajectory), indent=2))
            return
        click.echo(f"{problem.name}: {result.status} ({result.objective}, {result.solves} "
                   f"solves in {result.solve_time_s:.2f} s)")
        if result.solved:
            click.echo(f"  time of flight {result.time_of_flight_s:.2f} s, propellant "
                       f"{result.propellant_kg:.2f} kg, landing error "
                       f"{result.landing_error_m:.3f} m, relaxation gap "
                       f"{max(result.relaxation_gap(), 0.0):.1e}")
            if plot is not None:
                click.echo(f"  figure: {plot}")
        elif plot is not None:
            click.echo("  no figure: nothing was solved")
