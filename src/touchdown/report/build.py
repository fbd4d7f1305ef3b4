"""Build an investigation report (shell): from an archive, a run folder or a campaign sample.

    touchdown report out/hakuto-r-m1              a run folder (``touchdown fly --out``)
    touchdown report ground.sqlite                a ground archive
    touchdown report flight.downlink              a downlink recording
    touchdown report out/campaign --flight 17     sample 17 of a campaign, flown again

A run folder or a recording is first ingested into ``OUT/ground.sqlite`` exactly as the ground
station would have ingested it live; a ground archive is read as it is, never written. The
report folder gets ``report.html`` (self-contained), the figures as PNG and ``findings.json``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from touchdown.errors import ReportInputError
from touchdown.files import jsonable, write_atomic
from touchdown.report.received import Received, is_archive, read_archive
from touchdown.report.values import event_meaning, event_value, field_value
from touchdown.telemetry import run_folder
from touchdown.telemetry.run_folder import Truth

REPORT_HTML = "report.html"
FINDINGS_JSON = "findings.json"
COMPARE_HTML = "compare.html"


@dataclass
class Report:
    """A written report: its folder, page, findings document and figures."""

    folder: Path
    html: Path
    findings: Path
    figures: dict[str, Path]
    document: dict[str, Any]


def _named(rx: Received, name: str, value: float) -> float | str:
    """An alarm's value as an operator reads it: an enumeration's state by name."""
    f = rx.dictionary.parameters.get(name)
    if f is None or not f.enum or math.isnan(value):
        return value
    return f.state(value) or value


def _ingest(recording: Path, archive_path: Path) -> None:
    """Replay a downlink recording into a fresh archive, as the ground station would."""
    from touchdown.ground.archive import Archive
    from touchdown.ground.ingest import Ingest
    from touchdown.ground.replay import replay_recording
    from touchdown.telemetry.dictionary import load_dictionary
    from touchdown.telemetry.recording import read_recording

    rec = read_recording(recording)
    archive_path.parent.mkdir(parents=True, exist_ok=True)
    for stale in archive_path.parent.glob(archive_path.name + "*"):
        stale.unlink()  # the report's own working copy, made again from the recording
    archive = Archive(archive_path, create=True)
    try:
        replay_recording(rec, Ingest(load_dictionary(), archive))
    finally:
        archive.close()


def _campaign_sample(folder: Path, sample: int, out: Path) -> Path:
    """Fly sample ``sample`` of the campaign in ``folder`` again; its run folder."""
    from touchdown.campaign.execute import rerun_sample

    link, _, _ = rerun_sample(folder, sample)
    run = out / f"sample-{sample}"
    run_folder.write_run_folder(run, link.flight, link)
    return run


def load_source(source: Path, out: Path, flight: int | None = None
                ) -> tuple[Received, Truth | None]:
    """What the ground received (and the simulation truth, for a simulated run) from any of the
    inputs ``touchdown report`` takes; ReportInputError names what it takes otherwise."""
    if source.is_dir() and (source / "campaign.json").is_file():
        if flight is None:
            raise ReportInputError(f"{source} is a campaign results folder: give --flight "
                                   "SAMPLE_ID (a sample number from its samples.parquet)")
        source = _campaign_sample(source, flight, out)
    elif flight is not None:
        raise ReportInputError(f"--flight picks a sample of a campaign results folder, and "
                               f"{source} is not one; leave --flight out")
    if source.is_dir():
        recording = source / run_folder.RECORDING
        if not recording.is_file():
            raise ReportInputError(
                f"{source} has no {run_folder.RECORDING}: give a run folder written by `touchdown "
                "fly SCENARIO --out DIR`, a ground archive (.sqlite) or a downlink recording")
        archive = out / "ground.sqlite"
        _ingest(recording, archive)
        truth = run_folder.read_truth(source)
        rx = read_archive(archive)
        rx.source = str(source)
        return rx, truth
    if not source.exists():
        raise ReportInputError(f"{source}: no such file or folder; give a ground archive "
                               "(.sqlite), a run folder from `touchdown fly --out` or a downlink "
                               "recording")
    if is_archive(source):
        return read_archive(source), None
    archive = out / "ground.sqlite"
    _ingest(source, archive)  # a recording (RecordingError if it is not one either)
    rx = read_archive(archive)
    rx.source = str(source)
    return rx, None


def _truth_doc(truth: Truth | None) -> dict[str, Any] | None:
    if truth is None:
        return None
    f = truth.flight
    return {"outcome": f["outcome"], "impact_speed_mps": f.get("impact_speed_mps"),
            "touchdown": f.get("touchdown"),
            "t_propellant_exhausted_s": truth.event_time("propellant_exhausted"),
            "t_altitude_estimate_zero_s": truth.event_time("altitude_estimate_zero"),
            "note": "simulation truth: from the simulator, not used by any finding"}


def build_report(source: Path, out: Path, flight: int | None = None) -> Report:
    """Read the source, investigate, draw, and write the report folder ``out``."""
    from touchdown.moon.dem_tiles import load_truth_terrain
    from touchdown.report.completeness import completeness
    from touchdown.report.figures import Context, write_figures
    from touchdown.report.findings import ROLE_RULE, investigate
    from touchdown.report.html import render_report
    from touchdown.report.impact import against_truth, estimate, explanation
    from touchdown.report.track import reported_track

    out.mkdir(parents=True, exist_ok=True)
    rx, truth = load_source(source, out, flight)
    terrain = load_truth_terrain()
    track = reported_track(rx, terrain)
    inv = investigate(rx, track)
    impact = estimate(rx, terrain)
    vs_truth = None if impact is None or truth is None else against_truth(impact, truth)
    figures = write_figures(Context(rx, inv, track, truth, terrain, impact, vs_truth), out)
    epoch = rx.info.epoch_utc
    doc = jsonable({
        "source": rx.source,
        "flight": rx.info.to_dict(),
        "received": {"packets": len(rx.arrivals), "t_first_s": rx.t_first,
                     "t_last_s": rx.t_last, **rx.counters},
        "outcome": inv.outcome,
        "causal_rule": ROLE_RULE,
        "findings": [f.to_dict(epoch) for f in inv.findings],
        "completeness": completeness(rx, inv.findings, inv.outcome).to_dict(),
        "figures": {k: p.name for k, p in figures.items()},
        "figure_notes": inv.notes,
        "events": [{"t": r.t, "t_received": r.t_received, "name": r.name, "value": r.value,
                    "value_text": event_value(r.name, r.value), "meaning": event_meaning(r.name)}
                   for r in rx.events.itertuples()],
        "alarms": [{"parameter": a.parameter, "trigger_severity": a.trigger_severity,
                    "trigger_value": _named(rx, a.parameter, a.trigger_value),
                    "trigger": field_value(rx.dictionary, a.parameter, a.trigger_value),
                    "t_trigger_onboard": a.t_trigger_onboard,
                    "t_trigger_received": a.t_trigger, "severity": a.severity,
                    "most_severe_value": _named(rx, a.parameter, a.most_severe_value),
                    "most_severe": field_value(rx.dictionary, a.parameter, a.most_severe_value),
                    "t_most_severe_onboard": a.t_most_severe_onboard} for a in rx.alarms],
        "truth": _truth_doc(truth),
        "impact": None if impact is None else {
            **impact.to_dict(),
            "simulation_truth": None if vs_truth is None else {
                **vs_truth.to_dict(), "explanation": explanation(impact, vs_truth, epoch)}},
    })
    text = json.dumps(doc, indent=2) + "\n"
    findings = write_atomic(out / FINDINGS_JSON, lambda p: p.write_text(text, "utf-8"))
    page = render_report(doc, figures)
    html = write_atomic(out / REPORT_HTML, lambda p: p.write_text(page, "utf-8"))
    return Report(out, html, findings, figures, doc)


def compare_reports(a: Path, b: Path, out: Path) -> tuple[Path, Report, Report]:
    """Reports for A and B in ``out/A-name`` and ``out/B-name``, and ``out/compare.html``."""
    from touchdown.report.html import render_compare

    names = [_name(a), _name(b)]
    if names[0] == names[1]:
        names = [f"{names[0]}-1", f"{names[1]}-2"]
    ra = build_report(a, out / names[0])
    rb = build_report(b, out / names[1])
    page = render_compare(ra.document, rb.document, ra.figures, rb.figures,
                          (f"{names[0]}/{REPORT_HTML}", f"{names[1]}/{REPORT_HTML}"))
    return write_atomic(out / COMPARE_HTML, lambda p: p.write_text(page, "utf-8")), ra, rb


def _name(source: Path) -> str:
    return source.stem if source.suffix else source.name or "flight"
