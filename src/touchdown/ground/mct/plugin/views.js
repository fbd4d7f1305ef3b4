// touchdown's own views: the link (status, loss of signal, light time, every counter per link
// and per APID); the link indicator in the status bar; and the small DOM helpers the other
// views (alarms.js, map.js, los.js) share.
import { getJSON } from './feed.js';
import { LINK_TYPE } from './objects.js';
import { metText, utcText } from './time.js';

export function element(tag, attrs = {}, children = []) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'text') el.textContent = v;
    else if (k === 'onclick') el.addEventListener('click', v);
    else el.setAttribute(k, v);
  }
  for (const child of children) el.append(child);
  return el;
}

/** Latitude and longitude (deg, longitude east 0-360) as 47.500° N, 44.400° E: to 0.001°
 *  (30 m), as the report writes them. */
export function latLonText(lat, lon) {
  if (![lat, lon].every(Number.isFinite)) return '—';
  const east = ((lon % 360) + 540) % 360 - 180; // -180..180
  return `${Math.abs(lat).toFixed(3)}° ${lat < 0 ? 'S' : 'N'}, ` +
    `${Math.abs(east).toFixed(3)}° ${east < 0 ? 'W' : 'E'}`;
}

export function view(key, name, cssClass, type, make) {
  return {
    key,
    name,
    cssClass,
    canView: (domainObject) => domainObject.type === type,
    view: (domainObject) => {
      let destroy = () => {};
      return {
        show: (container) => {
          destroy = make(container, domainObject);
        },
        destroy: () => destroy()
      };
    }
  };
}

// ---------------------------------------------------------------- link

/** A counter as a number, or '—' where the server does not count it (never a made-up 0). */
export function count(n) {
  return n === null || n === undefined || !Number.isFinite(Number(n))
    ? '—'
    : Number(n).toLocaleString('en-US');
}

/** The link's counters (`/api/link` counters) as [label, text] rows: frames, sync hunting,
 *  packets and their sequence. */
export function countersRows(c) {
  if (!c) return [];
  return [
    [
      'Frames',
      `${count(c.frames_ok)} good · ${count(c.frames_bad_crc)} CRC failed · ` +
        `${count(c.frames_bad_header)} bad header · ${count(c.frames_lost)} lost in ` +
        `${count(c.frame_gaps)} gaps · ${count(c.idle_frames)} idle`
    ],
    [
      'Sync',
      `${count(c.sync_octets_discarded)} octets discarded hunting for sync ` +
        `(${count(c.junk_octets_kept)} kept as a sample)`
    ],
    [
      'Packets',
      `${count(c.packets)} (${count(c.bytes)} octets) · ${count(c.bad)} bad`
    ],
    [
      'Sequence',
      `${count(c.gaps)} gaps · ${count(c.missing)} missing · ` +
        `${count(c.duplicates)} duplicates · ${count(c.reordered)} reordered · ` +
        `${count(c.resets)} resets`
    ]
  ];
}

export const APID_COLUMNS = [
  ['packets', 'packets'],
  ['gaps', 'gaps'],
  ['missing', 'missing'],
  ['duplicates', 'dup.'],
  ['reordered', 'reord.'],
  ['resets', 'resets']
];

/** `/api/link` counters_by_apid as table rows, by APID: [packet, apid, ...APID_COLUMNS]. */
export function apidRows(byApid) {
  return Object.entries(byApid ?? {})
    .sort(([, a], [, b]) => (a.apid ?? 0) - (b.apid ?? 0))
    .map(([name, c]) => [name, c.apid ?? '—', ...APID_COLUMNS.map(([k]) => count(c[k]))]);
}

/** The one LOS text: the ground receive time of the last packet. */
export function losText(los) {
  if (!los) return '';
  return `LOS at ${metText(los.t_los)}`;
}

export function linkSummary(link, connected) {
  if (!connected) return { text: 'No ground server', cls: 's-status-error', los: true };
  if (!link) return { text: 'Waiting for the link', cls: 's-status-off', los: false };
  if (link.archive?.failure) {
    return { text: 'Archive not writing', cls: 's-status-error', los: false };
  }
  if (link.status === 'FAILED') {
    return { text: link.los ? losText(link.los) : 'LOS', cls: 's-status-error', los: true };
  }
  if (link.status === 'UNAVAIL') return { text: 'No signal yet', cls: 's-status-off', los: false };
  return { text: 'Link OK', cls: 's-status-on', los: false };
}

export function linkView(feed, epochMs = 0) {
  return view('touchdown.link', 'Link', 'icon-connectivity', LINK_TYPE, (root) => {
    const badge = element('div', { class: 'td-link-badge' });
    const rows = element('dl', { class: 'td-link-rows' });
    const apids = element('table', { class: 'td-apids' });
    root.append(element('div', { class: 'td-view td-scroll td-link' }, [badge, rows, apids]));

    function render(link) {
      const summary = linkSummary(link, feed.connected);
      badge.textContent = summary.text;
      badge.className = `td-link-badge ${summary.cls}${summary.los ? ' is-los' : ''}`;
      badge.title = link?.los ? utcText(epochMs, link.los.t_los) : '';
      if (!link) return;
      const items = [];
      const known = (x) => x !== null && x !== undefined;
      if (link.los) {
        const silence = known(link.los_timeout_s)
          ? ` after ${link.los_timeout_s} s of silence` : '';
        items.push(['LOS declared', `${metText(link.los.t_declared)}${silence}`,
          link.los.t_declared]);
      }
      items.push(
        link.los
          ? ['Onboard time', `newest received ${metText(link.los.t_onboard_last)}`,
              link.los.t_onboard_last]
          : ['Onboard time now', metText(link.t_onboard_now), link.t_onboard_now],
        [
          'Light time',
          `${known(link.light_time_s) ? `${link.light_time_s.toFixed(3)} s one way` : '—'} · ` +
            `Earth ${known(link.earth_elevation_deg)
              ? `${link.earth_elevation_deg.toFixed(1)}° above the horizon` : 'elevation —'}`
        ],
        ...countersRows(link.counters),
        ['Stale', link.stale_packets?.length ? link.stale_packets.join(', ') : 'none']
      );
      if (link.archive) {
        items.push(['Archive', link.archive.failure
          ? `NOT WRITING: ${link.archive.failure}`
          : `${link.archive.path}${link.archive.read_only ? ' (read-only)' : ''}`]);
      }
      if (link.server) {
        items.push([
          'Web clients',
          `${count(link.server.clients)} connected · ${count(link.server.clients_dropped)} ` +
            'dropped (too slow to read)'
        ]);
      }
      rows.replaceChildren(
        ...items.flatMap(([k, v, t]) => [
          element('dt', { text: k }),
          element('dd', { text: v, ...(t !== undefined ? { title: utcText(epochMs, t) } : {}) })
        ])
      );
      const byApid = apidRows(link.counters_by_apid);
      apids.replaceChildren(
        ...(byApid.length
          ? [
              element('thead', {}, [
                element('tr', {}, ['Per APID', 'APID', ...APID_COLUMNS.map(([, h]) => h)].map(
                  (h) => element('th', { text: h })
                ))
              ]),
              element('tbody', {}, byApid.map((r) => element('tr', {}, r.map(
                (v) => element('td', { text: String(v) })
              ))))
            ]
          : [])
      );
    }

    const poll = async () => {
      try {
        render(await getJSON('/api/link'));
      } catch {
        render(feed.link);
      }
    };
    poll();
    const offs = [feed.on('link', render), feed.on('connection', () => render(feed.link))];
    const timer = setInterval(poll, 1000);
    return () => {
      offs.forEach((off) => off());
      clearInterval(timer);
    };
  });
}

/** The status-bar indicator: link status and light time, red at loss of signal. */
export function installLinkIndicator(openmct, feed) {
  const indicator = openmct.indicators.simpleIndicator();
  indicator.iconClass('icon-connectivity');
  const render = () => {
    const link = feed.link;
    const summary = linkSummary(link, feed.connected);
    const light =
      link && link.light_time_s !== null && link.light_time_s !== undefined
        ? ` · light time ${link.light_time_s.toFixed(2)} s` : '';
    indicator.text(`${summary.text}${light}`);
    indicator.statusClass(summary.cls);
    indicator.description('Downlink status from the ground server (touchdown)');
  };
  render();
  feed.on('link', render);
  feed.on('connection', render);
  openmct.indicators.add(indicator);
}
