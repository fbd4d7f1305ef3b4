"""The report as one self-contained HTML page (shell): figures embedded, no outside requests."""

from __future__ import annotations

import base64
import html
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

from touchdown.report.figures import FIGURES, NUMBER
from touchdown.report.findings import outcome_headline
from touchdown.report.impact import latlon
from touchdown.report.values import evidence_label, evidence_value, percent, utc, when
from touchdown.telemetry.dictionary import SEVERITIES
from touchdown.telemetry.flight_info import FlightInfo
from touchdown.timefmt import mission_clock as clock

STYLE = """
body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;color:#1d2733;
background:#f4f6f8}
main{max-width:1180px;margin:0 auto;padding:24px 28px 60px;background:#fff}
h1{font-size:26px;margin:0 0 4px}h2{font-size:20px;margin:34px 0 10px;border-bottom:2px solid
#dde3ea;padding-bottom:4px}.sub{color:#566474;margin:0 0 14px}
.basis{background:#eef3f8;border-left:4px solid #6a8fb5;padding:10px 14px;margin:14px 0}
.truth{background:#f3f3f3;border-left:4px dashed #777;padding:10px 14px;margin:14px 0}
.outcome{font-size:19px;font-weight:600;padding:12px 16px;border-radius:6px;margin:12px 0}
.outcome.impact{background:#fdecea;color:#8a1c12}.outcome.landed{background:#e8f5e9;
color:#1b5e20}.outcome.unknown{background:#fff8e1;color:#6d4c00}
.finding{border:1px solid #dde3ea;border-radius:6px;padding:10px 14px;margin:10px 0}
.finding h3{font-size:16px;margin:0 0 6px}.sev{display:inline-block;font-size:11px;
font-weight:700;text-transform:uppercase;padding:2px 7px;border-radius:3px;margin-right:8px;
color:#fff;vertical-align:2px}.sev.severe{background:#6a1b9a}.sev.critical{background:#c62828}
.sev.distress{background:#d84315}.sev.warning{background:#ef6c00}.sev.watch{background:#1565c0}
.sev.info{background:#607d8b}.role{display:inline-block;font-size:11px;font-weight:700;
text-transform:uppercase;padding:1px 6px;border-radius:3px;margin-right:8px;vertical-align:2px;
border:1px solid #455565;color:#455565}.role.root{background:#1d2733;color:#fff}
.when{color:#566474;font-size:13px;margin:0 0 6px}.num{text-align:right}
table{border-collapse:collapse;font-size:13px;margin:6px 0}td,th{border:1px solid #e1e6eb;
padding:3px 8px;text-align:left;vertical-align:top}th{background:#f5f7f9}
ol.chain li{margin:4px 0}.t{font-family:ui-monospace,monospace;white-space:nowrap}
figure{margin:18px 0}figure img{max-width:100%;border:1px solid #e1e6eb}
figcaption{color:#455565;font-size:13px}a{color:#1b5fa8}
.pair{display:grid;grid-template-columns:1fr 1fr;gap:14px}.pair img{width:100%}
"""


def data_uri(png: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(png.read_bytes()).decode("ascii")


def _e(x: Any) -> str:
    return html.escape(str(x))


def _t(t: float | None, epoch: datetime | None) -> str:
    """A time cell: T+ over UTC."""
    return f'<span class="t">{_e(clock(t))}<br>{_e(utc(t, epoch))}</span>'


def _packets(packets: list[dict[str, Any]], epoch: datetime | None) -> str:
    """The packets a finding rests on: type, APID, counts, onboard and received times."""
    rows = "".join(
        f"<tr><td>{_e(p['packet'])}</td><td>{p['apid']:#05x}</td><td class=num>"
        f"{_e(_counts(p))}</td><td class=num>{p['packets']:,}"
        + (f" ({p['missing']} missing)" if p["missing"] else "") + "</td>"
        f"<td>{_t(p['t_first_s'], epoch)}</td><td>{_t(p['t_last_s'], epoch)}</td>"
        f"<td>{_t(p['t_received_first_s'], epoch)}</td><td>{_t(p['t_received_last_s'], epoch)}"
        "</td></tr>" for p in packets)
    return ("<table><tr><th>packet</th><th>APID</th><th>sequence counts</th><th>packets</th>"
            "<th>onboard, first</th><th>onboard, last</th><th>received, first</th>"
            f"<th>received, last</th></tr>{rows}</table>")


def _counts(p: dict[str, Any]) -> str:
    first, last = p["seq_first"], p["seq_last"]
    return f"{first:,}" if first == last else f"{first:,}–{last:,}"


def _fig_links(keys: list[str] | tuple[str, ...]) -> str:
    return ", ".join(f'<a href="#fig-{k}">Fig. {NUMBER[k]} ({_e(FIGURES[NUMBER[k] - 1].title)})'
                     "</a>" for k in keys if k in NUMBER)


def _refs(ids: list[str], titles: dict[str, str]) -> str:
    return "; ".join(f'<a href="#finding-{_e(i)}">{_e(titles.get(i, i))}</a>' for i in ids)


def _finding(f: dict[str, Any], titles: dict[str, str], epoch: datetime | None) -> str:
    rows = "".join(f"<tr><th>{_e(evidence_label(k))}</th><td>{_e(evidence_value(k, v, epoch))}"
                   "</td></tr>" for k, v in f["evidence"].items() if k not in ("basis",))
    links = "".join(f"<p>{label}: {_refs(f[k], titles)}.</p>" for k, label in
                    (("follows_from", "Follows from"), ("leads_to", "Leads to")) if f.get(k))
    role = f.get("role", "context")
    return (f'<div class="finding" id="finding-{_e(f.get("id") or f["key"])}"><h3>'
            f'<span class="role{" root" if role == "root cause" else ""}">{_e(role)}</span>'
            f'<span class="sev {_e(f["severity"])}">{_e(f["severity"])}</span>{_e(f["title"])}'
            f'</h3><p class="when">{_e(when(f["t_s"], epoch))}</p><p>{_e(f["text"])}</p>{links}'
            f"<details open><summary>Evidence</summary><table>{rows}</table></details>"
            f"<details open><summary>The packets behind it</summary>"
            f"{_packets(f.get('packets', []), epoch)}</details>"
            f'<p>See {_fig_links(f["figures"])}.</p></div>')


def _period(p: dict[str, Any]) -> str:
    return f"{p['period_s']:g} s" if p["period_s"] > 0 else "on occasion"


def _completeness(c: dict[str, Any], epoch: datetime | None) -> str:
    """What was received of what was sent, what never was, and what it means."""
    rows = "".join(
        f"<tr><td>{_e(p['packet'])}</td><td>{p['apid']:#05x}</td><td>{_period(p)}</td>"
        f"<td class=num>{p['sent']:,}</td><td class=num>{p['received']:,}</td>"
        f"<td class=num>{p['missing']:,}</td><td class=num>{p['gaps']:,}</td>"
        f"<td class=num>{_e(percent(p['received'], p['sent']))}</td>"
        f"<td class=num>{'' if p['seq_first'] is None else _e(_counts(p))}</td>"
        f"<td>{_t(p['t_first_s'], epoch) if p['received'] else 'none received'}</td>"
        f"<td>{_t(p['t_last_s'], epoch) if p['received'] else ''}</td></tr>"
        for p in c["packets"])
    fr = c["frames"]
    frames = (f"Frames: {fr['frames_ok']:,} decoded; {fr['frames_lost']:,} missing from the "
              f"frame count, {fr['frames_bad_crc']:,} of them received but failing their CRC"
              + (f", {fr['frames_bad_header']:,} of another spacecraft"
                 if fr["frames_bad_header"] else "")
              + (f"; {fr['packets_incomplete']:,} packets cut by a lost frame"
                 if fr["packets_incomplete"] else "")
              + f"; {fr['sync_octets_discarded']:,} octets discarded between frames.")
    never = "".join(f"<li>{_e(x)}</li>" for x in c["never"])
    meaning = " ".join(c["meaning"])
    sent = sum(p["sent"] for p in c["packets"])
    return (f"<h2 id=\"completeness\">Data completeness</h2><p>The ground received "
            f"{c['received']:,} of the {sent:,} packets the lander's sequence counts say it "
            f"sent between the first and the last received of each type "
            f"({_e(percent(c['received'], sent))}); {c['missing']:,} are missing. Sent: from "
            "the sequence counts of the first and last received; missing: the counts skipped "
            "(gaps).</p><table><tr><th>packet</th><th>APID</th><th>period</th><th>sent</th>"
            "<th>received</th><th>missing</th><th>gaps</th><th>share</th>"
            "<th>sequence counts</th><th>first (onboard)</th><th>last (onboard)</th></tr>"
            f"{rows}</table><p>{_e(frames)}</p><p><b>Never received:</b></p><ul>{never}</ul>"
            f"<p><b>What it means for the findings:</b> {_e(meaning)}</p>")


def _outcome(o: dict[str, Any], epoch: datetime | None) -> str:
    kind = o.get("outcome", "unknown")
    if kind == "impact":
        head = (f"Impact inferred at {when(o['t_s'], epoch)}, {o['speed_mps']:.0f} m/s "
                f"({abs(o['vertical_speed_mps']):.0f} m/s vertical)")
    elif kind == "landed":
        head = (f"Landed at {when(o['t_s'], epoch)}, {abs(o['vertical_speed_mps']):.2f} m/s "
                f"vertical, "
                f"{o['horizontal_speed_mps']:.2f} m/s horizontal")
    else:
        head = "Outcome not known from telemetry"
    return (f'<div class="outcome {_e(kind)}">{_e(head)}</div><p>Basis: {_e(o.get("basis", ""))}'
            "</p>")


def _impact(i: dict[str, Any] | None, epoch: datetime | None) -> str:
    """Where to look for the lander: the estimate, its basis, and against the simulation."""
    if i is None:
        return ("<h2>Impact point</h2><p>No estimate: no navigation state with a position was "
                "received.</p>")
    direction = ("none the track shows" if i["bearing_deg"] is None
                 else f"{i['bearing_deg']:.0f}° from north")
    rows = [("impact point estimate", latlon(i["lat_deg"], i["lon_deg"])),
            ("95 % ellipse", f"{i['semi_major_m'] / 1e3:.1f} km × "
                             f"{i['semi_minor_m'] / 1e3:.1f} km (semi-axes), major axis "
                             f"{i['major_bearing_deg']:.0f}° from north"),
            ("at", when(i["t_impact"], epoch)),
            ("from the nav state of", when(i["t_state"], epoch)),
            ("last reported position", latlon(i["last_lat_deg"], i["last_lon_deg"])),
            ("its height above the map", f"{i['height_above_map_m']:,.0f} m"),
            ("fall", f"{i['fall_s']:.1f} s, {i['travel_m']:,.0f} m along the track"),
            ("direction of motion", direction),
            ("filter's position σ (3-D)", f"{i['position_sigma_m']:,.0f} m")]
    table = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows)
    notes = "".join(f"<li>{_e(n)}</li>" for n in i["notes"])
    t = i.get("simulation_truth")
    truth = "" if not t else (
        '<div class="truth"><b>Against the simulation truth</b> (from the simulator, not the '
        "telemetry; no finding uses it): "
        + " ".join(_e(x) for x in t["explanation"]) + "</div>")
    return (f'<h2 id="impact">Impact point</h2><p>{_e(i["basis"])} Fig. 8 draws it.</p>'
            f"<table>{table}</table>{f'<ul>{notes}</ul>' if notes else ''}{truth}")


def _truth(doc: dict[str, Any]) -> str:
    t = doc.get("truth")
    if not t:
        return ('<div class="basis">No simulation truth: this flight is known only from its '
                "telemetry.</div>")
    td = t.get("touchdown") or {}
    speed = t.get("impact_speed_mps")
    what = (f"{t['outcome']}" + (f" at {speed:.1f} m/s" if speed is not None else "")
            + (f", contact at {clock(td.get('time_s'))}" if td else ""))
    exhausted = t.get("t_propellant_exhausted_s")
    return ('<div class="truth"><b>Simulation truth</b> (from the simulator, not the telemetry; '
            f"shown for comparison only): {_e(what)}"
            + (f"; propellant ran out at {clock(exhausted)}" if exhausted is not None else "")
            + ". In the figures, simulation truth is the grey dashed lines.</div>")


def _chain(chain: dict[str, Any] | None, epoch: datetime | None) -> str:
    if chain is None:
        return ""
    items = "".join(f'<li><span class="t">{_e(when(x["t_s"], epoch))}</span> '
                    f'<b>{_e(x["link"])}</b>: {_e(x["evidence"])}</li>'
                    for x in chain["evidence"]["links"])
    return (f"<h2>{_e(chain['title'])}</h2><p>Reconstructed from telemetry alone; each link is "
            f'a finding below.</p><ol class="chain" id="finding-chain">{items}</ol>')


def _figure(key: str, png: Path, note: str | None) -> str:
    spec = FIGURES[NUMBER[key] - 1]
    return (f'<figure id="fig-{key}"><img alt="Fig. {NUMBER[key]} {_e(spec.title)}" '
            f'src="{data_uri(png)}"><figcaption><b>Fig. {NUMBER[key]}. {_e(spec.title)}.</b> '
            f"{_e(spec.caption)}" + (f" <b>{_e(note)}</b>" if note else "")
            + "</figcaption></figure>")


def _events(events: list[dict[str, Any]], epoch: datetime | None) -> str:
    rows = "".join(f"<tr><td>{_t(e['t'], epoch)}</td><td>{_t(e.get('t_received'), epoch)}</td>"
                   f"<td>{_e(e['name'])}</td><td class=num>{_e(e.get('value_text', ''))}</td>"
                   f"<td>{_e(e.get('meaning', ''))}</td></tr>" for e in events)
    return ("<table><tr><th>onboard time</th><th>received</th><th>event</th><th>value</th>"
            f"<th>what the value is</th></tr>{rows}</table>")


def _alarms(alarms: list[dict[str, Any]], epoch: datetime | None) -> str:
    rows = "".join(f"<tr><td>{_e(a['parameter'])}</td><td>{_t(a['t_trigger_onboard'], epoch)}"
                   f"</td><td>{_e(a['trigger_severity'])} at {_e(a['trigger'])}</td>"
                   f"<td>{_t(a['t_most_severe_onboard'], epoch)}</td><td>{_e(a['severity'])} "
                   f"at {_e(a['most_severe'])}</td></tr>" for a in alarms)
    return ("<table><tr><th>parameter</th><th>raised (onboard time)</th><th>trigger</th>"
            "<th>most severe (onboard time)</th><th>most severe</th></tr>"
            f"{rows or '<tr><td colspan=5>none</td></tr>'}</table>")


def render_report(doc: dict[str, Any], figures: dict[str, Path]) -> str:
    """The report page for one flight from its findings document and figure files."""
    info = doc["flight"]
    epoch = FlightInfo.from_dict(info).epoch_utc
    chain = next((f for f in doc["findings"] if f["key"] == "chain"), None)
    titles = {f["id"]: f["title"] for f in doc["findings"]}
    findings = "".join(_finding(f, titles, epoch) for f in doc["findings"]
                       if f["key"] != "chain")
    notes = doc.get("figure_notes", {})
    figs = "".join(_figure(f.key, figures[f.key], notes.get(f.key)) for f in FIGURES
                   if f.key in figures)
    rec = doc["received"]
    target = info.get("target") or {}
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Investigation: {_e(info.get('scenario') or doc['source'])}</title>
<style>{STYLE}</style></head><body><main>
<h1>Investigation report: {_e(info.get('scenario') or doc['source'])}</h1>
<p class="sub">{_e(info.get('description') or '')}<br>Epoch {_e(info.get('epoch_utc') or '?')}
· target {_e(target.get('lat_deg', '?'))} N, {_e(target.get('lon_deg', '?'))} E
· source {_e(doc['source'])}</p>
<div class="basis">Every finding below comes from what the ground received:
{rec['packets']:,} packets, onboard times {_e(when(rec['t_first_s'], epoch))} to
{_e(when(rec['t_last_s'], epoch))}, and the public map (LRO GLD100 + LOLA) under the reported
track (see <a href="#completeness">Data completeness</a>). Times are on two scales: T+mm:ss.s,
mission-elapsed since the scenario epoch{' ' + _e(info['epoch_utc']) if info.get('epoch_utc')
else ' (none known: counted from 1970-01-01)'}, and UTC, the epoch plus that. Onboard times
are the packets' own; received times are the ground's clock on the same scale.</div>
{_truth(doc)}
<h2>Outcome</h2>{_outcome(doc['outcome'], epoch)}
{_impact(doc.get('impact'), epoch)}
{_chain(chain, epoch)}
{_completeness(doc['completeness'], epoch)}
<h2>Findings</h2><p>{_e(doc.get('causal_rule', ''))}</p>{findings}
<h2>Figures</h2>{figs}
<h2>Onboard events</h2>{_events(doc['events'], epoch)}
<h2>Ground alarms</h2>{_alarms(doc['alarms'], epoch)}
</main></body></html>
"""


def render_compare(a: dict[str, Any], b: dict[str, Any], figs_a: dict[str, Path],
                   figs_b: dict[str, Path], links: tuple[str, str]) -> str:
    """Two flights side by side: key facts, then each figure pair."""
    def name(d: dict[str, Any]) -> str:
        return str(d["flight"].get("scenario") or d["source"])

    def fact(d: dict[str, Any], key: str) -> str:
        f = next((x for x in d["findings"] if x["key"] == key), None)
        return f'<span class="t">{_e(f["t"])}</span> {_e(f["title"])}' if f else "—"

    def count(d: dict[str, Any]) -> str:
        counts = Counter(f["severity"] for f in d["findings"] if f["severity"] != "info")
        return ", ".join(f"{counts[s]} {s}" for s in reversed(SEVERITIES) if counts[s]) or "none"

    rows = [("outcome", _e(outcome_headline(a["outcome"])), _e(outcome_headline(b["outcome"]))),
            ("findings", _e(count(a)), _e(count(b)))]
    for key, label in (("lrf_rejected", "range finder rejected"),
                       ("terrain_step", "terrain step"), ("divergence", "divergence"),
                       ("estimate_zero_above_surface", "estimate at zero above the surface"),
                       ("propellant_exhausted", "propellant exhausted"), ("los", "signal")):
        rows.append((label, fact(a, key), fact(b, key)))
    truth = [(d.get("truth") or {}) for d in (a, b)]
    if any(truth):
        rows.append(("simulation truth", *(
            _e(f"{t.get('outcome')}" + (f" at {t['impact_speed_mps']:.1f} m/s"
                                        if t.get("impact_speed_mps") is not None else ""))
            if t else "—" for t in truth)))
    table = "".join(f"<tr><th>{_e(k)}</th><td>{va}</td><td>{vb}</td></tr>" for k, va, vb in rows)
    pairs = "".join(
        f'<h2 id="fig-{f.key}">Fig. {NUMBER[f.key]}. {_e(f.title)}</h2><div class="pair">'
        f'<img alt="{_e(name(a))}: {_e(f.title)}" src="{data_uri(figs_a[f.key])}">'
        f'<img alt="{_e(name(b))}: {_e(f.title)}" src="{data_uri(figs_b[f.key])}"></div>'
        for f in FIGURES if f.key in figs_a and f.key in figs_b)
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Compare: {_e(name(a))} and {_e(name(b))}</title><style>{STYLE}
main{{max-width:1500px}}</style></head><body><main>
<h1>{_e(name(a))} and {_e(name(b))}, side by side</h1>
<p class="sub">Each from its own telemetry; full reports: <a href="{_e(links[0])}">{_e(name(a))}
</a>, <a href="{_e(links[1])}">{_e(name(b))}</a>.</p>
<table><tr><th></th><th>{_e(name(a))}</th><th>{_e(name(b))}</th></tr>{table}</table>
{pairs}
</main></body></html>
"""
