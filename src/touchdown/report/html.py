"""The report as one self-contained HTML page (shell): figures embedded, no outside requests."""

from __future__ import annotations

import base64
import html
import math
from collections import Counter
from pathlib import Path
from typing import Any

from touchdown.report.figures import FIGURES, NUMBER
from touchdown.report.findings import outcome_headline
from touchdown.telemetry.dictionary import SEVERITIES
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
.sev.info{background:#607d8b}
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


def _value(key: str, v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        if not math.isfinite(v):
            return "—"
        if key == "t_s" or (key.startswith("t_") and key.endswith("_s")):
            return f'<span class="t">{clock(v)}</span>'
        return f"{v:,.2f}" if abs(v) < 100 else f"{v:,.0f}"
    if isinstance(v, list):
        return "<br>".join(_e(x if not isinstance(x, dict) else
                              f"{x.get('t', '')} {x.get('link', '')}: {x.get('evidence', '')}")
                           for x in v)
    return _e(v)


def _fig_links(keys: list[str] | tuple[str, ...]) -> str:
    return ", ".join(f'<a href="#fig-{k}">Fig. {NUMBER[k]} ({_e(FIGURES[NUMBER[k] - 1].title)})'
                     "</a>" for k in keys if k in NUMBER)


def _finding(f: dict[str, Any]) -> str:
    rows = "".join(f"<tr><th>{_e(k.replace('_', ' '))}</th><td>{_value(k, v)}</td></tr>"
                   for k, v in f["evidence"].items() if k not in ("basis",))
    return (f'<div class="finding" id="finding-{_e(f["key"])}"><h3><span class="sev '
            f'{_e(f["severity"])}">{_e(f["severity"])}</span>{_e(f["title"])}</h3>'
            f'<p>{_e(f["text"])}</p><details><summary>Evidence</summary><table>{rows}</table>'
            f'</details><p>See {_fig_links(f["figures"])}.</p></div>')


def _outcome(o: dict[str, Any]) -> str:
    kind = o.get("outcome", "unknown")
    if kind == "impact":
        head = (f"Impact inferred at {clock(o['t_s'])}, {o['speed_mps']:.0f} m/s "
                f"({abs(o['vertical_speed_mps']):.0f} m/s vertical)")
    elif kind == "landed":
        head = (f"Landed at {clock(o['t_s'])}, {abs(o['vertical_speed_mps']):.2f} m/s vertical, "
                f"{o['horizontal_speed_mps']:.2f} m/s horizontal")
    else:
        head = "Outcome not known from telemetry"
    return (f'<div class="outcome {_e(kind)}">{_e(head)}</div><p>Basis: {_e(o.get("basis", ""))}'
            "</p>")


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


def render_report(doc: dict[str, Any], figures: dict[str, Path]) -> str:
    """The report page for one flight from its findings document and figure files."""
    info = doc["flight"]
    chain = next((f for f in doc["findings"] if f["key"] == "chain"), None)
    chain_html = ""
    if chain is not None:
        items = "".join(f'<li><span class="t">{_e(x["t"])}</span> <b>{_e(x["link"])}</b>: '
                        f'{_e(x["evidence"])}</li>' for x in chain["evidence"]["links"])
        chain_html = (f"<h2>{_e(chain['title'])}</h2><p>Reconstructed from telemetry alone; "
                      "each link is a finding below.</p>"
                      f'<ol class="chain" id="finding-chain">{items}</ol>')
    findings = "".join(_finding(f) for f in doc["findings"] if f["key"] != "chain")
    figs = "".join(
        f'<figure id="fig-{f.key}"><img alt="Fig. {NUMBER[f.key]} {_e(f.title)}" '
        f'src="{data_uri(figures[f.key])}"><figcaption><b>Fig. {NUMBER[f.key]}. '
        f"{_e(f.title)}.</b> {_e(f.caption)}</figcaption></figure>"
        for f in FIGURES if f.key in figures)
    events = "".join(f'<tr><td class="t">{_e(clock(e["t"]))}</td><td>{_e(e["name"])}</td>'
                     f"<td>{_value('value', e['value'])}</td></tr>" for e in doc["events"])
    alarms = "".join(f'<tr><td>{_e(a["parameter"])}</td><td class="t">'
                     f'{_e(clock(a["t_trigger_onboard"]))}</td><td>{_e(a["trigger_severity"])} '
                     f'at {_value("value", a["trigger_value"])}</td><td class="t">'
                     f'{_e(clock(a["t_most_severe_onboard"]))}</td><td>{_e(a["severity"])} at '
                     f'{_value("value", a["most_severe_value"])}</td></tr>'
                     for a in doc["alarms"])
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
{rec['packets']:,} packets, onboard times {_e(clock(rec['t_first_s']))} to
{_e(clock(rec['t_last_s']))}, and the public map (LRO GLD100 + LOLA) under the reported
track. Times are onboard, since the scenario epoch.</div>
{_truth(doc)}
<h2>Outcome</h2>{_outcome(doc['outcome'])}
{chain_html}
<h2>Findings</h2>{findings}
<h2>Figures</h2>{figs}
<h2>Onboard events</h2><table><tr><th>time</th><th>event</th><th>value</th></tr>{events}</table>
<h2>Ground alarms</h2><table><tr><th>parameter</th><th>raised (onboard time)</th>
<th>trigger</th><th>most severe (onboard time)</th><th>most severe</th></tr>
{alarms or '<tr><td colspan=5>none</td></tr>'}</table>
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
