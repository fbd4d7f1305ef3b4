// The operator's timeline (/api/timeline, touchdown.ground.timeline): onboard events with their
// values, the link (acquisition, gaps, loss of signal), alarm transitions, operator actions and
// commands' stages in one order, both times in T+ (UTC in each row's title), whatever the plot
// window shows; filtered by kind and least severity, and exported as CSV with the same filter.
import { getJSON } from './feed.js';
import { TIMELINE_TYPE } from './objects.js';
import { metText, utcText } from './time.js';
import { element, view } from './views.js';

export const KINDS = ['event', 'link', 'alarm', 'operator', 'command'];
const POLL_MS = 2000;

/** The URL of the timeline with these kinds (all of them: no filter) at `severity` or above;
 *  `after`: the cursor of the page before (the server's `next`). */
export function timelineUrl(kinds, severity, format = 'json', after = null) {
  const q = new URLSearchParams();
  if (kinds.length < KINDS.length) q.set('kind', kinds.join(','));
  if (severity !== 'info') q.set('severity', severity);
  if (format !== 'json') q.set('format', format);
  if (after) q.set('after', after);
  const text = q.toString();
  return `/api/timeline${text ? `?${text}` : ''}`;
}

/** An entry's cells: received and onboard time (T+; '—' where the ground alone saw it), kind,
 *  severity, what it is about and what happened. */
export function timelineCells(e) {
  return [metText(e.t_received), metText(e.t_onboard), e.kind, e.severity, e.subject, e.text];
}

export function timelineView(severities, epochMs = 0) {
  return view('touchdown.timeline', 'Timeline', 'icon-history', TIMELINE_TYPE, (root) => {
    const shown = new Set(KINDS);
    let least = 'info';
    const csv = element('a', { text: 'Export CSV', download: 'timeline.csv' });
    const boxes = KINDS.map((kind) => {
      const box = element('input', { type: 'checkbox', checked: '' });
      box.addEventListener('change', () => {
        if (box.checked) shown.add(kind);
        else shown.delete(kind);
        poll();
      });
      return element('label', {}, [box, ` ${kind}`]);
    });
    const select = element('select', { title: 'the least severity shown' },
      ['info', ...severities.order].map((s) => element('option', { value: s, text: s })));
    select.addEventListener('change', () => {
      least = select.value;
      poll();
    });
    const body = element('tbody');
    const header = ['Received', 'Onboard', 'Kind', 'Severity', 'About', 'What happened'];
    root.append(element('div', { class: 'td-view td-scroll td-timeline' }, [
      element('div', { class: 'td-timeline-filters' }, [...boxes, ' from ', select, csv]),
      element('table', {}, [
        element('thead', {}, [element('tr', {}, header.map((h) => element('th', { text: h })))]),
        body
      ])
    ]));

    async function poll() {
      const kinds = KINDS.filter((k) => shown.has(k));
      csv.setAttribute('href', timelineUrl(kinds, least, 'csv'));
      if (!kinds.length) {
        body.replaceChildren();
        return;
      }
      try {
        const entries = [];
        let next = null;
        do { // page after page (the server's pages: 1,000 entries)
          const got = await getJSON(timelineUrl(kinds, least, 'json', next));
          entries.push(...got.entries);
          next = got.next;
        } while (next);
        body.replaceChildren(...entries.map((e) => element('tr', {
          class: `td-sev-${severities.color(e.severity) ?? 'none'}`,
          title: `received ${utcText(epochMs, e.t_received)}`
        }, timelineCells(e).map((v, i) => element('td', i === 3 ? { text: v, class: 'td-sev' }
          : { text: v })))));
      } catch {
        // the server is out of reach: the rows stay as they were (the link view says why)
      }
    }
    poll();
    const timer = setInterval(poll, POLL_MS);
    return () => clearInterval(timer);
  });
}
