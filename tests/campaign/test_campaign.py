"""Whole campaigns: tables and summaries, determinism, rerun, resume, a known success rate."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from touchdown.campaign import execute
from touchdown.campaign.dispersions import Campaign, campaign_file_for, load_campaign
from touchdown.campaign.execute import CampaignResult, rerun_sample, run_campaign
from touchdown.errors import CampaignInterruptedError, ResultsError
from touchdown.moon.dem_tiles import data_dir
from touchdown.scenario import Scenario, resolve

try:
    data_dir()
except Exception as exc:  # pragma: no cover - depends on the machine
    pytest.skip(f"terrain data not available: {exc}", allow_module_level=True)

RUNS = 6


@pytest.fixture(scope="module")
def nominal() -> Scenario:
    return Scenario.from_toml(resolve("hakuto-r-m1-fixed"))


@pytest.fixture(scope="module")
def dispersions(nominal: Scenario) -> Campaign:
    return load_campaign(campaign_file_for(nominal.path), nominal)


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory, nominal: Scenario,
              dispersions: Campaign) -> CampaignResult:
    out = tmp_path_factory.mktemp("reference")
    return run_campaign(nominal, dispersions, RUNS, out, seed=11, progress=False)


def test_results_folder_holds_table_summary_and_figures(reference: CampaignResult,
                                                        dispersions: Campaign) -> None:
    folder = reference.written[0].parent
    table = pd.read_parquet(folder / "samples.parquet")
    assert table["sample"].tolist() == list(range(RUNS))
    for column in [*dispersions.columns(), "outcome", "failure_mode", "od_along_m",
                   "contact_lat_deg", "vertical_speed_mps", "propellant_remaining_kg",
                   "lrf_first_rejection_s", "lrf_first_rejection_altitude_m", "flight_time_s"]:
        assert column in table, column
    summary = json.loads((folder / "summary.json").read_text())
    for key in ("runs", "landed", "crashed", "success_rate", "success_rate_ci95",
                "propellant_remaining_kg", "landing_ellipse_3sigma_m", "failure_modes"):
        assert key in summary, key
    assert summary["runs"] == RUNS
    assert summary["landed"] == int((table["outcome"] == "landed").sum())
    for name in ("dispersion.png", "propellant.png", "outcome_by_parameter.png"):
        assert (folder / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # dispersed inputs really vary from sample to sample
    assert table["lander.main_engine.thrust_n"].nunique() == RUNS


def test_same_seed_same_table_whatever_the_threads(tmp_path: Path, nominal: Scenario,
                                                   dispersions: Campaign,
                                                   reference: CampaignResult) -> None:
    # --resume into an empty folder starts the campaign there
    again = run_campaign(nominal, dispersions, RUNS, tmp_path, seed=11, workers=1,
                         resume=True, progress=False)
    pd.testing.assert_frame_equal(again.samples, reference.samples)
    other = run_campaign(nominal, dispersions, 2, tmp_path / "other", seed=12, progress=False)
    assert not np.array_equal(other.samples["od_along_m"], reference.samples["od_along_m"][:2])


def test_rerun_flies_a_sample_alone_to_the_same_numbers(reference: CampaignResult) -> None:
    folder = reference.written[0].parent
    link, row, differ = rerun_sample(folder, 4)
    flight = link.flight
    assert differ == []
    assert link.link.frames  # with what its downlink delivered
    assert flight.outcome == row["outcome"]
    assert len(flight.trace) > 5_000  # full telemetry: a row per cycle, 10 Hz once powered
    with pytest.raises(ResultsError, match="sample 99 is not in"):
        rerun_sample(folder, 99)


def test_ctrl_c_keeps_finished_chunks_and_resume_completes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, nominal: Scenario,
        dispersions: Campaign, reference: CampaignResult) -> None:
    real_run_local = execute.run_local

    def interrupted(fly_chunk, todo, on_chunk, workers=None):  # type: ignore[no-untyped-def]
        def stop_after_first(rows: pd.DataFrame) -> None:
            on_chunk(rows)
            raise KeyboardInterrupt

        real_run_local(fly_chunk, todo, stop_after_first, workers)

    monkeypatch.setattr(execute, "run_local", interrupted)
    with pytest.raises(CampaignInterruptedError) as stop:
        run_campaign(nominal, dispersions, RUNS, tmp_path, seed=11, progress=False)
    assert 0 < stop.value.done < RUNS
    assert "--resume" in str(stop.value)
    monkeypatch.setattr(execute, "run_local", real_run_local)
    with pytest.raises(ResultsError, match="pass --resume"):
        run_campaign(nominal, dispersions, RUNS, tmp_path, seed=11, progress=False)
    with pytest.raises(ResultsError, match="different campaign"):
        run_campaign(nominal, dispersions, RUNS, tmp_path, seed=5, resume=True, progress=False)
    done = run_campaign(nominal, dispersions, RUNS, tmp_path, seed=11, resume=True,
                        progress=False)
    assert done.summary["flown_now"] == RUNS - stop.value.done
    pd.testing.assert_frame_equal(done.samples, reference.samples)


def test_a_dispersed_limit_gives_its_known_success_rate(tmp_path: Path,
                                                        nominal: Scenario) -> None:
    """The touchdown-speed limit drawn uniformly on [0, 6] m/s does not change the flight, so
    sample i lands with probability exactly 1 - v_i / 6 (v_i its touchdown speed)."""
    path = tmp_path / "limit.campaign.toml"
    path.write_text('[[dispersion]]\npath = "touchdown.max_vertical_speed_mps"\n'
                    'distribution = "uniform"\nlow = 0.0\nhigh = 6.0\n', encoding="utf-8")
    runs = 40
    result = run_campaign(nominal, load_campaign(path, nominal), runs, tmp_path / "out",
                          seed=3, progress=False)
    t = result.samples
    limit = t["touchdown.max_vertical_speed_mps"]
    assert ((t["outcome"] == "landed") == (limit >= t["vertical_speed_mps"])).all()
    p = 1.0 - t["vertical_speed_mps"].clip(0, 6) / 6.0
    expected, sd = p.sum(), np.sqrt((p * (1 - p)).sum())
    assert abs(result.summary["landed"] - expected) < 3.5 * sd
    crashed = t["outcome"] != "landed"
    assert (t.loc[crashed, "failure_mode"] == "vertical_speed").all()


def test_a_campaign_of_a_scenario_that_extends_another_keeps_what_it_flew(tmp_path: Path):
    """The results folder keeps the scenario with the file it extends merged in, so a sample
    flies again (``rerun``) after the files change or move; the manifest reads back to the
    same scenario."""
    from touchdown.campaign.store import ResultsDir, manifest

    variant = Scenario.from_toml(resolve("beresheet-protected"))
    camp = load_campaign(campaign_file_for(variant.path), variant)
    m = manifest(variant, camp, 0, 2)
    assert m["scenario_doc"]["lander"]["dry_mass_kg"] == variant["lander.dry_mass_kg"]
    (tmp_path / "campaign.json").write_text(json.dumps(m))
    again, _, seed = ResultsDir(tmp_path).campaign()
    assert again.values == variant.values and seed == 0
