"""The investigation report: findings from telemetry on flights whose truth is known, its files,
and its page in headless Chromium."""

from __future__ import annotations

import html
import io
import json
import re
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from matplotlib import image

from touchdown.cli import main
from touchdown.ground.archive import Archive
from touchdown.ground.ingest import apid_counters, link_counters
from touchdown.report.build import Report, build_report, compare_reports
from touchdown.report.figures import FIGURES
from touchdown.report.finding import ROLES
from touchdown.report.findings import ALARMING
from touchdown.scenario import Scenario, resolve
from touchdown.telemetry.dictionary import SEVERITIES, load_dictionary
from touchdown.telemetry.downlink import fly_downlink
from touchdown.telemetry.run_folder import write_run_folder

SHOTS = Path(__file__).parents[2] / "out" / "screenshots"


def fly_and_report(root: Path, name: str, scenario: str, changes: dict | None = None
                   ) -> Report:
    """Fly a scenario (with some fields changed) into a run folder, then report on it."""
    s = Scenario.from_toml(resolve(scenario))
    if changes:
        s = s.replace(changes)
    link = fly_downlink(s, 0)
    write_run_folder(root / name, link.flight, link)
    return build_report(root / name, root / f"report-{name}")


def keys(r: Report) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for f in r.document["findings"]:
        out.setdefault(f["key"], []).append(f)
    return out


def truth_event(r: Report, name: str) -> float:
    run = Path(r.document["source"])
    events = json.loads((run / "flight.json").read_text())["events"]
    return next(e["time_s"] for e in events if e["name"] == name)


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("reports")


@pytest.fixture(scope="module")
def m1(root) -> Report:
    return fly_and_report(root, "m1", "hakuto-r-m1")


@pytest.fixture(scope="module")
def nominal(root) -> Report:
    return fly_and_report(root, "fixed", "hakuto-r-m1-fixed")


# ---------------------------------------------------------------- HAKUTO-R M1, as flown

def test_m1_chain_is_stated_from_telemetry_in_order(m1: Report) -> None:
    chain = keys(m1)["chain"][0]
    links = chain["evidence"]["links"]
    assert [x["link"] for x in links] == [
        "rim crossing", "range jump", "sensor judged faulty",
        "estimate at zero above the surface", "propellant exhausted", "fall"]
    assert chain["evidence"]["complete"]
    times = [x["t_s"] for x in links]
    assert times == sorted(times)


def test_m1_findings_match_the_simulation_truth(m1: Report) -> None:
    k = keys(m1)
    step = k["terrain_step"][0]["evidence"]
    assert step["explains_jump"] and step["terrain_change_m"] > 2000  # Atlas's 3 km rim
    zero = k["estimate_zero_above_surface"][0]["evidence"]
    assert abs(zero["t_s"] - truth_event(m1, "altitude_estimate_zero")) < 0.2
    assert zero["range_vertical_m"] > 2500  # the truth: 3,4xx m up
    exhausted = k["propellant_exhausted"][0]["evidence"]["t_s"]
    assert 0.0 <= exhausted - truth_event(m1, "propellant_exhausted") < 5.0
    impact, contact = m1.document["outcome"], truth_event(m1, "contact")
    assert impact["outcome"] == "impact"
    assert abs(impact["t_s"] - contact) < 2.0
    truth_speed = m1.document["truth"]["impact_speed_mps"]
    assert abs(impact["speed_mps"] - truth_speed) < 0.1 * truth_speed
    los = k["los"][-1]
    assert los["severity"] == "critical" and los["evidence"]["earth_elevation_deg"] > 10


def test_the_archive_alone_gives_the_same_findings(m1: Report, root: Path) -> None:
    """Truth only overlays: a report from the ground archive, with no run folder beside it,
    finds the same things."""
    alone = root / "archive-only.sqlite"
    shutil.copy(m1.folder / "ground.sqlite", alone)
    r = build_report(alone, root / "report-archive-only")
    assert r.document["truth"] is None
    assert r.document["impact"]["simulation_truth"] is None
    same = {k: v for k, v in m1.document["impact"].items() if k != "simulation_truth"}
    assert {k: v for k, v in r.document["impact"].items() if k != "simulation_truth"} == same
    assert r.document["findings"] == m1.document["findings"]
    assert r.document["outcome"] == m1.document["outcome"]


def great_circle_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2, dl = np.radians(lat1), np.radians(lat2), np.radians(lon1 - lon2)
    c = np.sin(p1) * np.sin(p2) + np.cos(p1) * np.cos(p2) * np.cos(dl)
    return float(1_737_400.0 * np.arccos(min(1.0, c)))


def test_m1_impact_point_comes_from_the_last_nav_state_and_is_set_against_the_truth(
        m1: Report) -> None:
    """M1's last nav state lies kilometres below the map: the estimate is that position, with
    the filter's own spread; the simulated contact is 1.9 km away, which the navigation's
    horizontal error explains."""
    i = m1.document["impact"]
    nav = m1.document["received"]["t_last_s"]
    assert nav - 1.0 <= i["t_state"] <= nav
    assert i["height_above_map_m"] < -3000.0 and i["fall_s"] == 0.0
    assert (i["lat_deg"], i["lon_deg"]) == (i["last_lat_deg"], i["last_lon_deg"])
    assert i["semi_major_m"] == pytest.approx(2.4477 * i["position_sigma_m"] / np.sqrt(3),
                                              rel=1e-3)
    t = i["simulation_truth"]
    td = m1.document["truth"]["touchdown"]
    miss = great_circle_m(i["lat_deg"], i["lon_deg"], td["lat_deg"], td["lon_deg"])
    assert t["miss_m"] == pytest.approx(miss, rel=1e-3) and 1000.0 < miss < 3000.0
    assert t["inside_ellipse"] == (miss < i["semi_major_m"])  # a circle here: no direction
    assert t["horizontal_error_m"] == pytest.approx(miss, abs=50.0)  # the error carried over
    assert t["height_error_m"] < -3000.0  # the height estimate kilometres too low
    text = visible_text(m1)
    assert "Impact point" in text and "47.500° N, 44.400° E" in text
    assert "1.9 km from the estimate, inside its 95 % ellipse" in text
    assert "the navigation was 1.9 km off horizontally and its height 4.1 km low" in text


def test_a_landed_flights_impact_point_holds_the_contact(nominal: Report) -> None:
    i = nominal.document["impact"]
    t = i["simulation_truth"]
    assert t["inside_ellipse"] and t["miss_m"] < i["semi_major_m"]
    assert abs(i["t_state"] - t["t_contact"]) < 2.0  # the last nav state: metres up
    assert 0.0 < i["height_above_map_m"] < 100.0 and 0.0 < i["fall_s"] < 10.0
    assert t["miss_m"] < 100.0  # a navigation that was right gives the right place
    assert f"puts the impact {abs(t['time_error_s']):.1f} s late" in t["explanation"][1]


# ---------------------------------------------------------------- for an investigator

def visible_text(r: Report) -> str:
    """The page's text as a reader sees it (no markup, no embedded images)."""
    page = re.sub(r'src="data:[^"]*"', "", r.html.read_text())
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def test_completeness_agrees_with_the_archives_counters(m1: Report) -> None:
    """Per type, what the report counts from the packets (received, and missing from the
    sequence counts) is what the ground station counted as it ingested them; what was sent,
    by the counts, is the span over the period for each periodic type."""
    c = m1.document["completeness"]
    with Archive(m1.folder / "ground.sqlite", read_only=True) as archive:
        per = apid_counters(archive, load_dictionary())
        link = link_counters(archive, load_dictionary())
    rows = {p["packet"]: p for p in c["packets"]}
    for name, counted in per.items():
        row = rows[name]
        assert (row["apid"], row["received"], row["missing"], row["gaps"]) == (
            counted["apid"], counted["packets"], counted["missing"], counted["gaps"]), name
        if row["period_s"] > 0:
            assert row["sent"] == row["sent_by_period"] == row["received"] + row["missing"]
    assert c["received"] == link["packets"] == m1.document["received"]["packets"]
    assert c["missing"] == link["missing"] > 0
    assert all(c["frames"][k] == link[k] for k in ("frames_ok", "frames_bad_crc", "frames_lost"))
    never = " ".join(c["never"])
    assert "8 of the 22 camera images" in never and "Anything after onboard time T+72:20.4" in never
    text = visible_text(m1)
    assert "Data completeness" in text and f"{link['frames_bad_crc']} of them received" in text


def test_every_finding_cites_packets_the_archive_holds(m1: Report) -> None:
    """Each finding names the packets behind it (type, APID, sequence counts, onboard and
    received times), and the first and last of each are packets in the archive."""
    with Archive(m1.folder / "ground.sqlite", read_only=True) as archive:
        held = {(a, seq, t, tr) for a, seq, t, tr, _ in archive.packets()}
    names = {p.name: p.apid for p in load_dictionary().packets}
    for f in m1.document["findings"]:
        assert f["packets"], f["id"]
        for p in f["packets"]:
            assert names[p["packet"]] == p["apid"]
            assert (p["apid"], p["seq_first"], p["t_first_s"], p["t_received_first_s"]) in held
            assert (p["apid"], p["seq_last"], p["t_last_s"], p["t_received_last_s"]) in held
            assert p["t_first_s"] <= p["t_last_s"] and p["packets"] >= 1
    rejected = keys(m1)["lrf_rejected"][0]["packets"]
    lrf = next(p for p in rejected if p["packet"] == "lrf")
    assert lrf["packets"] + lrf["missing"] == (lrf["seq_last"] - lrf["seq_first"]) + 1


def test_the_root_cause_outranks_its_consequences(m1: Report) -> None:
    """M1's terrain step is the root cause: graded at least as severe as the loss of signal
    it led to, and listed before it; the links follow the findings' logic."""
    findings = [f for f in m1.document["findings"] if f["role"] != "summary"]
    by_id = {f["id"]: f for f in findings}
    order = [f["id"] for f in findings]
    step, los = keys(m1)["terrain_step"][0], keys(m1)["los"][-1]
    assert step["role"] == "root cause" and los["role"] == "consequence"
    assert SEVERITIES.index(step["severity"]) >= SEVERITIES.index(los["severity"])
    assert order.index(step["id"]) < order.index(los["id"]) and order[0] == step["id"]
    assert los["follows_from"] == ["outcome"]
    assert by_id["lrf_rejected"]["follows_from"] == ["terrain_step"]
    for f in findings:  # a finding is never graded below what it led to
        assert f["role"] in ROLES
        for e in f["leads_to"]:
            assert SEVERITIES.index(f["severity"]) >= SEVERITIES.index(by_id[e]["severity"])
    rule = m1.document["causal_rule"]
    assert "root cause is never below its consequences" in rule and rule in visible_text(m1)


def test_fig2_says_the_estimate_not_the_sensor_was_wrong(m1: Report) -> None:
    note = m1.document["figure_notes"]["terrain"]
    assert note.startswith("The range finder read the ground correctly")
    assert "It was the navigation estimate that was wrong" in note
    assert note in visible_text(m1)


def test_report_text_has_units_and_names_not_raw_values(m1: Report) -> None:
    """No float written to more than three decimals, no enumeration by its code, no
    evidence key as a label ("t count zero s")."""
    text = visible_text(m1)
    assert not re.findall(r"\d\.\d{4,}", text)
    assert "critical at faulty" in text and "terminal_descent" in text
    labels = re.findall(r"<tr><th>([^<]+)</th><td>", m1.html.read_text())
    assert labels and not [x for x in labels
                           if re.search(r"(^t |\b(s|m|mps|mps2|kg|deg)$)", x)]
    assert "onboard count at zero" in text and "t count zero" not in text
    assert "1,004 m" in text  # nav.position_sigma_m's alarm, in metres


def test_times_show_on_both_scales(m1: Report) -> None:
    epoch = datetime.fromisoformat(m1.document["flight"]["epoch_utc"].replace("Z", "+00:00"))
    text = visible_text(m1)
    for f in m1.document["findings"]:
        if f["t_s"] is None:
            continue
        stamp = datetime.fromisoformat(f["t_utc"].replace("Z", "+00:00"))
        assert abs(stamp - (epoch + timedelta(seconds=f["t_s"]))) <= timedelta(seconds=0.05)
        assert f"{f['t']} ({f['t_utc']})" in text
    assert "2023-04-25T16:44:53.5Z" in text  # the rejection, T+64:53.5


# ---------------------------------------------------------------- a nominal landing

def test_nominal_landing_raises_no_false_alarm(nominal: Report) -> None:
    alarming = [f["title"] for f in nominal.document["findings"] if f["severity"] in ALARMING]
    assert alarming == []
    assert nominal.document["outcome"]["outcome"] == "landed"
    td = nominal.document["truth"]["touchdown"]
    assert abs(nominal.document["outcome"]["t_s"] - td["time_s"]) < 1.0
    assert "chain" not in keys(nominal)
    assert nominal.document["figure_notes"] == {}  # nothing rejected, nothing to explain
    assert "root cause" not in {f["role"] for f in nominal.document["findings"]}


# ---------------------------------------------------------------- the files

def test_report_files_are_complete_and_self_contained(m1: Report) -> None:
    page = m1.html.read_text()
    assert "http://" not in page and "https://" not in page
    assert page.count('src="data:image/png;base64,') == len(m1.figures) == len(FIGURES)
    assert "simulation truth" in page
    doc = json.loads(m1.findings.read_text())
    for f in doc["findings"]:
        assert f["figures"] and set(f["figures"]) <= set(doc["figures"])
        assert f["severity"] in SEVERITIES  # the telemetry dictionary's one scale
    for key, png in m1.figures.items():
        img = image.imread(png)
        assert img.shape[0] > 300 and img[..., :3].std() > 0.05, f"{key} looks blank"


def test_report_page_renders_in_chromium(m1: Report, browser) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    outside: list[str] = []
    page.on("request", lambda req: outside.append(req.url)
            if not req.url.startswith(("file:", "data:")) else None)
    page.goto(m1.html.as_uri())
    page.wait_for_load_state("load")
    loaded = page.evaluate("[...document.images].map(i => i.complete && i.naturalWidth)")
    assert len(loaded) == len(FIGURES) and all(w > 500 for w in loaded)
    SHOTS.mkdir(parents=True, exist_ok=True)
    png = page.screenshot(path=str(SHOTS / "report-m1.png"), full_page=True)
    page.close()
    img = image.imread(io.BytesIO(png), format="png")[..., :3]
    ink = (img.min(axis=-1) < 0.85).mean()  # not white or near it
    assert img.shape[0] > 3000, "the page should run through findings and figures"
    assert ink > 0.05, f"only {ink:.1%} of the page is drawn"
    assert len(np.unique((img[::7, ::7] * 15).astype(int).reshape(-1, 3), axis=0)) > 50
    assert outside == []


def test_compare_puts_two_flights_side_by_side(m1: Report, nominal: Report, root: Path) -> None:
    page, ra, rb = compare_reports(Path(m1.document["source"]),
                                   Path(nominal.document["source"]), root / "compare")
    text = page.read_text()
    both = set(ra.figures) & set(rb.figures)  # the figures both flights have, in pairs
    assert "images" in both and page.name == "compare.html"
    assert text.count("data:image/png;base64,") == 2 * len(both)
    assert ra.document["outcome"]["outcome"] == "impact"
    assert rb.document["outcome"]["outcome"] == "landed"
    assert "hakuto-r-m1-fixed" in text and "landed" in text and "impact" in text


# ---------------------------------------------------------------- the command

def test_cli_report_and_its_errors(m1: Report, root: Path) -> None:
    run = CliRunner()
    r = run.invoke(main, ["report", str(root / "m1"), "--out", str(root / "cli"), "-q"])
    assert r.exit_code == 0, r.output
    assert f"wrote {root / 'cli' / 'report.html'}" in r.output
    assert "impact inferred at T+72:2" in r.output
    r = run.invoke(main, ["report", str(root / "nowhere")])
    assert r.exit_code == 2 and "no such file or folder" in r.output
    r = run.invoke(main, ["report", str(root / "m1"), "--flight", "3"])
    assert r.exit_code == 2 and "not one; leave --flight out" in r.output
    r = run.invoke(main, ["report"])
    assert r.exit_code == 2 and "give one ARCHIVE_OR_RUN, or --compare A B" in r.output
    empty = root / "empty-run"
    empty.mkdir()
    r = run.invoke(main, ["report", str(empty)])
    assert r.exit_code == 2 and "has no received.downlink" in r.output


# ---------------------------------------------------------------- injected faults
# The fixed scenario (terrain-aware, lands at 1.1 m/s) with one fault each, from mid-descent:
# the values are the fault, not tuned: each is a plain round number in a sensible phase.

def test_range_finder_bias_is_found_and_blamed_on_the_sensor(root: Path) -> None:
    r = fly_and_report(root, "bias", "hakuto-r-m1-fixed",
                       {"faults.lrf_bias_m": 300.0, "faults.lrf_bias_from_s": 4150.0})
    k = keys(r)
    rejected = k["lrf_rejected"][0]["evidence"]
    assert 4150.0 <= rejected["t_first_rejection_s"] < 4151.0
    assert 250.0 < rejected["gap_first_m"] < 350.0  # the 300 m bias, through the filter
    suspect = k["sensor_suspect"][0]["evidence"]  # no terrain step explains it
    assert not suspect["explains_jump"] and abs(suspect["terrain_change_m"]) < 100.0
    assert "terrain_step" not in k
    assert r.document["figure_notes"] == {}  # the sensor, not the estimate, was wrong
    assert k["sensor_suspect"][0]["role"] == "root cause"
    assert k["lrf_rejected"][0]["follows_from"] == ["sensor_suspect"]
    outcome, truth = r.document["outcome"], r.document["truth"]
    assert outcome["outcome"] == "impact" and truth["outcome"] == "crashed"
    assert abs(outcome["t_s"] - truth["touchdown"]["time_s"]) < 3.0
    assert abs(outcome["speed_mps"] - truth["impact_speed_mps"]) < 3.0


def test_range_finder_dropout_is_found_with_its_length(root: Path) -> None:
    r = fly_and_report(root, "outage", "hakuto-r-m1-fixed",
                       {"faults.lrf_outage_from_s": 4100.0, "faults.lrf_outage_s": 60.0})
    silent = keys(r)["lrf_silent"]
    assert len(silent) == 1
    ev = silent[0]["evidence"]
    assert 4099.0 <= ev["t_from_s"] <= 4100.0 and 4160.0 <= ev["t_to_s"] <= 4161.0
    assert r.document["outcome"]["outcome"] == "landed"  # it survives on the IMU
    assert [f for f in r.document["findings"] if f["severity"] == "critical"] == []


def test_propellant_leak_is_found_as_unaccounted_propellant(root: Path) -> None:
    r = fly_and_report(root, "leak", "hakuto-r-m1-fixed",
                       {"faults.propellant_leak_kg_s": 0.1,
                        "faults.propellant_leak_from_s": 3800.0})
    k = keys(r)
    exhausted = k["propellant_exhausted"][0]["evidence"]
    assert 0.0 <= exhausted["t_s"] - r.document["truth"]["t_propellant_exhausted_s"] < 5.0
    unaccounted = k["propellant_unaccounted"][0]["evidence"]["onboard_estimate_kg"]
    assert 20.0 < unaccounted < 50.0  # the count missed what leaked
    outcome, truth = r.document["outcome"], r.document["truth"]
    assert outcome["outcome"] == "impact"
    assert abs(outcome["speed_mps"] - truth["impact_speed_mps"]) < 0.1 * truth["impact_speed_mps"]
    assert "lrf_rejected" not in k  # a healthy range finder is not blamed
    assert [k[x][0]["role"] for x in ("propellant_unaccounted", "propellant_exhausted",
                                      "outcome")] == ["root cause", "contributing",
                                                      "consequence"]


# ---------------------------------------------------------------- Beresheet: the restart chain

def test_beresheet_restart_chain_is_found_from_telemetry(root: Path) -> None:
    """The IMU switch, the ground's command, the unprotected restart, the engine off, the
    relight attempts (as many as the flight made), the relight, the last telemetry and the
    impact, in that order; the engine's dark spell is an engine that did not light, not
    exhaustion; with restart protection the restart is found and the engine kept running."""
    r = fly_and_report(root, "beresheet", "beresheet")
    k = keys(r)
    (chain,) = k["restart_chain"]
    assert chain["severity"] == "critical" and chain["evidence"]["complete"]
    links = chain["evidence"]["links"]
    assert [x["link"] for x in links] == ["IMU unit lost", "ground command", "computer restart",
                                          "engine off", "relight attempts", "engine relit",
                                          "last telemetry", "impact"]
    times = [x["t_s"] for x in links]
    assert times == sorted(times)
    assert links[2]["t_s"] == pytest.approx(truth_event(r, "computer_restart"), abs=0.01)
    run = Path(r.document["source"])
    events = json.loads((run / "flight.json").read_text())["events"]
    (restart,) = k["computer_restart"]
    assert restart["evidence"]["relight_attempts"] == sum(
        e["name"] == "relight_attempt" for e in events)
    assert "thrust_not_delivered" in k and "propellant_exhausted" not in k
    protected = keys(fly_and_report(root, "beresheet-protected", "beresheet-protected"))
    (kept,) = protected["computer_restart"]
    assert kept["severity"] == "warning" and kept["evidence"]["engine_off_t_s"] is None
    assert "restart_chain" not in protected


# ---------------------------------------------------------------- Chandrayaan-2: thrust excess

def test_vikram_2_chain_is_found_from_telemetry(root: Path) -> None:
    """Vikram-2 as flown (+10 % thrust from the fine braking): the report measures the excess
    in the fine braking (within a few % of the truth) and finds the attitude-rate limit holding
    guidance back, but no hard landing (seed 0 lands); with 20 % more thrust it hard-lands and
    the chain is complete: excess, rate limit, speed gained near the ground, impact."""
    flown = keys(fly_and_report(root, "vikram-2", "chandrayaan-2"))
    (excess,) = flown["thrust_excess"]
    assert excess["evidence"]["phase"] == "approach"
    assert excess["evidence"]["excess"] == pytest.approx(0.10, abs=0.04)
    assert "turn_rate_limited" in flown and "speed_gained_near_ground" not in flown
    (chain,) = flown["engine_chain"]
    assert chain["severity"] == "warning" and not chain["evidence"]["complete"]
    hard = keys(fly_and_report(root, "vikram-2-20", "chandrayaan-2",
                               {"faults.main_thrust_factor": 1.2}))
    (chain,) = hard["engine_chain"]
    assert chain["severity"] == "critical" and chain["evidence"]["complete"]
    assert [x["link"] for x in chain["evidence"]["links"]] == [
        "thrust above the model", "attitude rate limited", "speed gained near the ground",
        "hard landing"]
    assert hard["thrust_excess"][0]["evidence"]["excess"] == pytest.approx(0.2, abs=0.06)
    assert "restart_chain" not in hard and "chain" not in hard


def test_the_camera_figures_show_what_came_down_and_apart_what_did_not(m1: Report,
                                                                       nominal: Report) -> None:
    """Fig. 9 draws the images from the ground's archive; Fig. 10, from the run folder (the
    simulator), what the ground had less than 90 % of, marked simulation truth; a lander whose
    camera sent everything (M1 fixed lands and its link runs on) has no Fig. 10."""
    assert {"images", "images_unsent"} <= set(m1.figures)
    assert "images" in nominal.figures and "images_unsent" not in nominal.figures
    for key in ("images", "images_unsent"):
        img = image.imread(m1.figures[key])[..., :3]
        assert img.std() > 0.05, key
    truth = image.imread(m1.figures["images_unsent"])[..., :3]
    red = (truth[..., 0] > 0.55) & (truth[..., 1] < 0.3) & (truth[..., 2] < 0.3)
    assert red.sum() > 500  # the SIMULATION TRUTH banner
