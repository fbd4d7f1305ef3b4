"""`touchdown campaign`, `campaign rerun` and `survey` from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner, Result

from touchdown.cli import main
from touchdown.moon.dem_tiles import data_dir

try:
    data_dir()
except Exception as exc:  # pragma: no cover - depends on the machine
    pytest.skip(f"terrain data not available: {exc}", allow_module_level=True)


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def test_campaign_json_then_rerun_and_refusal_to_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "c"
    result = run("campaign", "hakuto-r-m1-fixed", "--runs", "3", "--seed", "5", "--out",
                 str(out), "--json", "-q", "--no-figures")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["runs"] == 3 and summary["policy"] == "terrain_aware"
    assert summary["start_s"] > 0 and "steady_samples_per_s" in summary
    assert not list(out.glob("*.png"))  # --no-figures: the table and summary only
    assert json.loads((out / "summary.json").read_text())["landed"] == summary["landed"]

    again = run("campaign", "rerun", str(out), "2", "-q")
    assert again.exit_code == 0, again.output
    assert "same numbers as row 2" in again.stdout
    assert (out / "sample-2" / "trajectory.parquet").exists()

    before = (out / "samples.parquet").read_bytes()
    refused = run("campaign", "hakuto-r-m1-fixed", "--runs", "3", "--out", str(out), "-q")
    assert refused.exit_code == 2
    assert "already holds a campaign; pass --resume" in refused.output
    assert (out / "samples.parquet").read_bytes() == before  # nothing lost


@pytest.mark.parametrize(("args", "needle"), [
    (("campaign", "hakuto-r-m1", "--runs", "0"), "--runs"),
    (("campaign", "hakuto-r-m1", "--runs", "2", "--workers", "1", "--scheduler",
      "tcp://127.0.0.1:1"), "give one or the other"),
    (("campaign", "rerun", "no-such-folder", "0"), "holds no campaign"),
    (("campaign", "hakuto-r-m1", "--runs", "2", "--dispersions", "missing.campaign.toml"),
     "does not exist"),
    (("survey", "hakuto-r-m1", "--region", "48", "47", "44", "45"), "LAT0 < LAT1"),
])
def test_bad_command_lines_exit_2_naming_the_problem(tmp_path: Path, args: tuple[str, ...],
                                                     needle: str) -> None:
    result = run(*args, *(("--out", str(tmp_path / "x")) if "rerun" not in args else ()))
    assert result.exit_code == 2, result.output
    assert needle in result.output


def test_survey_shows_where_the_as_flown_software_fails(tmp_path: Path) -> None:
    """Around the M1 site the as-flown policy never lands and the terrain-aware one does."""
    out = tmp_path / "s"
    result = run("survey", "hakuto-r-m1", "hakuto-r-m1-fixed", "--region", "47.45", "47.55",
                 "44.35", "44.45", "--grid", "1", "--runs-per-site", "2", "--out", str(out),
                 "--json", "-q")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)["scenarios"]
    assert summary["hakuto-r-m1"]["success_rate"] == 0.0
    assert summary["hakuto-r-m1-fixed"]["success_rate"] == 1.0
    sites = pd.read_parquet(out / "sites.parquet")
    assert len(sites) == 2 and set(sites["runs"]) == {2}
    speed = json.loads((out / "survey.json").read_text())
    assert speed["samples"] == 4 and speed["wall_s"] >= speed["start_s"] > 0
    assert sites.loc[sites["scenario"] == "hakuto-r-m1", "main_failure"].item() == (
        "range_finder_fault_declared")
    assert (out / "survey.png").read_bytes()[:4] == b"\x89PNG"
