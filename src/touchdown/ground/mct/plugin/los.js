// The loss-of-signal banner: when the ground declares LOS it holds across the top of the page
// what the lander last said (its altitude estimate, speeds, propellant and mode), what follows
// if it kept falling (the outcome and the impact point, /api/estimate) and the basis of both.
// The clock holds at the newest onboard time received meanwhile (server.clock_message), so the
// displays keep what was last seen. A reopened archive shows the same; a packet arriving again
// (acquisition of signal) takes the banner down.
import { estimate } from './feed.js';
import { metText, utcText } from './time.js';
import { element, latLonText } from './views.js';

const known = (x) => x !== null && x !== undefined && Number.isFinite(x);
const fixed = (x, digits, unit) =>
  known(x)
    ? `${x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })}` +
      ` ${unit}`
    : '—';

/** A time on both scales: T+mm:ss.s (UTC). */
export function bothScales(t, epochMs) {
  const utc = utcText(epochMs, t);
  return utc ? `${metText(t)} (${utc})` : metText(t);
}

/** The banner's lines from /api/estimate: {title, state, outcome, impact, notes, basis}; null
 *  while the signal is present. */
export function losLines(answer, epochMs) {
  const los = answer?.los;
  if (!los) return null;
  const o = answer.outcome ?? {};
  const mode = o.mode ? o.mode.replaceAll('_', ' ') : '—';
  const title = `LOSS OF SIGNAL · last packet received ${metText(los.t_los)}, newest onboard ` +
    `time ${bothScales(los.t_onboard_last, epochMs)} · declared ${metText(los.t_declared)}`;
  const state = `Last known state (${metText(o.t_state)}): altitude estimate ` +
    `${fixed(o.altitude_m, 0, 'm')} · vertical speed ${fixed(o.vertical_speed_mps, 1, 'm/s')} · ` +
    `horizontal speed ${fixed(o.horizontal_speed_mps, 1, 'm/s')} · propellant ` +
    `${fixed(o.propellant_kg, 1, 'kg')} · mode ${mode}`;
  const fall = o.powered ? 'if it fell from there (the worst case: it had propellant left)'
    : 'falling with no thrust';
  const outcome = known(o.time_to_impact_s)
    ? `Outcome estimate, ${fall}: impact at ${metText(o.t_impact)} at ` +
      `${fixed(o.impact_speed_mps, 0, 'm/s')}`
    : 'Outcome estimate: none (no altitude or vertical speed received)';
  const i = answer.impact;
  const impact = i
    ? `Impact point estimate: ${latLonText(i.lat_deg, i.lon_deg)}, ` +
      `${Math.round(i.confidence * 100)} % ellipse ${fixed(i.semi_major_m / 1000, 1, 'km')} × ` +
      `${fixed(i.semi_minor_m / 1000, 1, 'km')} (semi-axes)`
    : `Impact point estimate: none (${answer.impact_unavailable ?? 'no navigation state'})`;
  const notes = [...(o.notes ?? []), ...(i?.notes ?? [])];
  const basis = [o.basis, i?.basis].filter(Boolean);
  return { title, state, outcome, impact, notes, basis };
}

/** Put the banner in ``host`` (above Open MCT): shown while the link says LOS. */
export function installLosBanner(feed, epochMs, host) {
  let shown = null; // the t_los the banner shows
  async function update(link) {
    const los = link?.los ?? null;
    if (!los) {
      shown = null;
      host.replaceChildren();
      host.hidden = true;
      return;
    }
    if (shown === los.t_los) return;
    shown = los.t_los;
    let lines;
    try {
      lines = losLines(await estimate(los.t_los), epochMs);
    } catch (error) {
      lines = { title: `LOSS OF SIGNAL at ${metText(los.t_los)}`, state: '', outcome: '',
        impact: `No estimate: ${error.message}`, notes: [], basis: [] };
    }
    if (!lines || shown !== los.t_los) return;
    const rows = [lines.state, lines.outcome, lines.impact].filter(Boolean)
      .map((text) => element('div', { class: 'td-los-line' }, [text]));
    const basis = element('details', { class: 'td-los-basis' }, [
      element('summary', {}, ['Basis and notes']),
      ...lines.notes.map((n) => element('div', { class: 'td-los-note' }, [`• ${n}`])),
      ...lines.basis.map((b) => element('p', {}, [b]))
    ]);
    const fold = element('button', { class: 'c-button td-los-fold', title: 'Fold the banner to ' +
      'its first line, or unfold it', onclick: () => host.classList.toggle('is-folded') }, ['±']);
    host.replaceChildren(element('div', { class: 'td-los-title' }, [
      element('span', {}, [lines.title]), fold]), ...rows, basis);
    host.hidden = false;
  }
  feed.on('link', update);
  if (feed.link) update(feed.link);
}
