// touchdown's own views: the alarm list (with acknowledge), the link (status, loss of signal,
// light time) and the ground track on the terrain map; and the link indicator in the status bar.
import { getJSON, history, pairedHistory } from './feed.js';
import { SEVERITY_COLOR } from './telemetry.js';
import { ALARMS_TYPE, LINK_TYPE, TRACK_TYPE } from './objects.js';

const OPERATOR_KEY = 'touchdown.operator';

/** Onboard seconds as the CLI writes them: T+mm:ss.s (minutes may pass 59). */
export function missionClock(t) {
  if (t === null || t === undefined || !Number.isFinite(t)) return '—';
  const tenths = Math.round(Math.abs(t) * 10);
  const m = Math.floor(tenths / 600);
  const s = ((tenths % 600) / 10).toFixed(1).padStart(4, '0');
  return `T${t < 0 ? '−' : '+'}${String(m).padStart(2, '0')}:${s}`;
}

function element(tag, attrs = {}, children = []) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'text') el.textContent = v;
    else if (k === 'onclick') el.addEventListener('click', v);
    else el.setAttribute(k, v);
  }
  for (const child of children) el.append(child);
  return el;
}

function view(key, name, cssClass, type, make) {
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

// ---------------------------------------------------------------- alarms

export function alarmsView(feed, parameters) {
  const byName = new Map(parameters.map((p) => [p.name, p]));
  const shown = (a, v) => {
    const p = byName.get(a.parameter);
    if (v === null) return 'NaN';
    if (p && Object.keys(p.enumeration).length) return p.enumeration[String(v)] ?? String(v);
    return `${Number(v).toFixed(1)}${p && p.unit !== '-' ? ` ${p.unit}` : ''}`;
  };
  return view('touchdown.alarms', 'Alarm list', 'icon-alert-triangle', ALARMS_TYPE, (root) => {
    const body = element('tbody');
    const table = element('table', { class: 'td-alarms' }, [
      element('thead', {}, [
        element('tr', {}, [
          ...['Severity', 'Parameter', 'Value', 'Raised', 'State', ''].map((h) =>
            element('th', { text: h })
          )
        ])
      ]),
      body
    ]);
    const note = element('div', { class: 'td-note' });
    root.append(element('div', { class: 'td-view td-scroll' }, [table, note]));

    async function acknowledge(alarm) {
      let by = localStorage.getItem(OPERATOR_KEY);
      if (!by) {
        by = window.prompt('Acknowledge as (your name):', 'operator');
        if (!by) return;
        localStorage.setItem(OPERATOR_KEY, by);
      }
      try {
        await getJSON(`/api/alarms/${alarm.id}/acknowledge`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ by })
        });
      } catch (error) {
        note.textContent = error.message;
      }
      refresh();
    }

    async function refresh() {
      let alarms;
      try {
        alarms = await getJSON('/api/alarms');
      } catch (error) {
        note.textContent = `alarms unavailable: ${error.message}`;
        return;
      }
      alarms.sort((a, b) => Number(b.active) - Number(a.active) || b.id - a.id);
      body.replaceChildren(
        ...alarms.map((a) => {
          const current = a.current_severity;
          const state = !a.active
            ? `cleared (ack ${a.acknowledged_by})`
            : a.acknowledged
              ? `ack ${a.acknowledged_by}`
              : current
                ? 'ACTIVE'
                : 'back to normal';
          const ack =
            a.active && !a.acknowledged
              ? element('button', { class: 'c-button td-ack', text: 'Acknowledge' })
              : element('span');
          if (a.active && !a.acknowledged) ack.addEventListener('click', () => acknowledge(a));
          return element(
            'tr',
            {
              class: `td-alarm ${a.active ? 'is-active' : 'is-cleared'} td-sev-${SEVERITY_COLOR[a.severity]}`,
              'data-parameter': a.parameter
            },
            [
              element('td', { class: 'td-sev', text: a.severity.toUpperCase() }),
              element('td', { text: a.parameter }),
              element('td', { text: shown(a, a.value) }),
              element('td', { text: missionClock(a.t_onboard) }),
              element('td', { text: state }),
              element('td', {}, [ack])
            ]
          );
        })
      );
      note.textContent = alarms.length ? '' : 'No alarms.';
    }

    refresh();
    const off = feed.on('alarms', refresh);
    const timer = setInterval(refresh, 5000);
    return () => {
      off();
      clearInterval(timer);
    };
  });
}

// ---------------------------------------------------------------- link

function linkSummary(link, connected) {
  if (!connected) return { text: 'No ground server', cls: 's-status-error', los: true };
  if (!link) return { text: 'Waiting for the link', cls: 's-status-off', los: false };
  if (link.status === 'FAILED') {
    return { text: `LOS since ${missionClock(link.los.t_onboard_last)}`, cls: 's-status-error', los: true };
  }
  if (link.status === 'UNAVAIL') return { text: 'No signal yet', cls: 's-status-off', los: false };
  return { text: 'Link OK', cls: 's-status-on', los: false };
}

export function linkView(feed) {
  return view('touchdown.link', 'Link', 'icon-connectivity', LINK_TYPE, (root) => {
    const badge = element('div', { class: 'td-link-badge' });
    const rows = element('dl', { class: 'td-link-rows' });
    root.append(element('div', { class: 'td-view' }, [badge, rows]));

    function render(link) {
      const summary = linkSummary(link, feed.connected);
      badge.textContent = summary.text;
      badge.className = `td-link-badge ${summary.cls}${summary.los ? ' is-los' : ''}`;
      if (!link) return;
      const c = link.counters;
      const items = [
        ['Onboard time now', missionClock(link.t_onboard_now)],
        [
          'One-way light time',
          link.light_time_s === null ? '—' : `${link.light_time_s.toFixed(3)} s`
        ],
        [
          'Earth elevation',
          link.earth_elevation_deg === null ? '—' : `${link.earth_elevation_deg.toFixed(1)}°`
        ],
        [
          'Packets',
          `${c.packets.toLocaleString()} (${c.missing} missing in ${c.gaps} gaps, ${c.bad} bad)`
        ],
        ['Stale', link.stale_packets.length ? link.stale_packets.join(', ') : 'none']
      ];
      if (link.los) {
        items.unshift(['Loss of signal', `newest onboard time ${missionClock(link.los.t_onboard_last)}`]);
      }
      rows.replaceChildren(
        ...items.flatMap(([k, v]) => [element('dt', { text: k }), element('dd', { text: v })])
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
      link && link.light_time_s !== null ? ` · light time ${link.light_time_s.toFixed(2)} s` : '';
    indicator.text(`${summary.text}${light}`);
    indicator.statusClass(summary.cls);
    indicator.description('Downlink status from the ground server (touchdown)');
  };
  render();
  feed.on('link', render);
  feed.on('connection', render);
  openmct.indicators.add(indicator);
}

// ---------------------------------------------------------------- ground track

export function trackView(openmct, feed, epochMs) {
  return view('touchdown.track', 'Ground track', 'icon-map', TRACK_TYPE, (root) => {
    const canvas = element('canvas', { class: 'td-track-canvas' });
    const caption = element('div', { class: 'td-note' });
    const wrap = element('div', { class: 'td-view td-track' }, [canvas, caption]);
    root.append(wrap);
    const image = new Image();
    let map = null;
    let track = []; // [t, lat, lon]
    let rejected = []; // [lat, lon] where range readings were rejected
    let alive = true;

    function draw() {
      const w = wrap.clientWidth;
      const h = Math.max(50, wrap.clientHeight - caption.offsetHeight);
      const side = Math.min(w, h);
      canvas.width = side * devicePixelRatio;
      canvas.height = side * devicePixelRatio;
      canvas.style.width = `${side}px`;
      canvas.style.height = `${side}px`;
      const ctx = canvas.getContext('2d');
      ctx.scale(devicePixelRatio, devicePixelRatio);
      ctx.fillStyle = '#111';
      ctx.fillRect(0, 0, side, side);
      if (!map) return;
      if (image.complete) ctx.drawImage(image, 0, 0, side, side);
      const x = (lon) => ((lon - map.west_deg) / (map.east_deg - map.west_deg)) * side;
      const y = (lat) => ((map.north_deg - lat) / (map.north_deg - map.south_deg)) * side;
      ctx.fillStyle = 'rgba(255, 77, 77, 0.8)';
      for (const [lat, lon] of rejected) {
        ctx.beginPath();
        ctx.arc(x(lon), y(lat), 3.5, 0, 2 * Math.PI);
        ctx.fill();
      }
      ctx.strokeStyle = '#4dd3ff';
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      track.forEach(([, lat, lon], i) => (i ? ctx.lineTo(x(lon), y(lat)) : ctx.moveTo(x(lon), y(lat))));
      ctx.stroke();
      if (map.target) {
        const tx = x(map.target.lon_deg);
        const ty = y(map.target.lat_deg);
        ctx.strokeStyle = '#ffd400';
        ctx.lineWidth = 2;
        ctx.beginPath();
        ctx.moveTo(tx - 8, ty);
        ctx.lineTo(tx + 8, ty);
        ctx.moveTo(tx, ty - 8);
        ctx.lineTo(tx, ty + 8);
        ctx.stroke();
      }
      if (track.length) {
        const [, lat, lon] = track[track.length - 1];
        ctx.fillStyle = '#ffffff';
        ctx.beginPath();
        ctx.arc(x(lon), y(lat), 5, 0, 2 * Math.PI);
        ctx.fill();
      }
      const bar = (20 / (2 * halfWidthKm())) * side;
      ctx.strokeStyle = '#fff';
      ctx.beginPath();
      ctx.moveTo(10, side - 12);
      ctx.lineTo(10 + bar, side - 12);
      ctx.stroke();
      ctx.fillStyle = '#fff';
      ctx.font = '11px sans-serif';
      ctx.fillText('20 km', 12, side - 16);
    }

    async function load() {
      try {
        map = await getJSON('/api/terrain/map');
      } catch (error) {
        caption.textContent = `No map: ${error.message}`;
        return;
      }
      image.onload = draw;
      image.src = map.image;
      const end = openmct.time.getBounds().end;
      const endS = (end - epochMs) / 1000;
      const [positions, accepted] = await Promise.all([
        pairedHistory('nav.lat_deg', 'nav.lon_deg', -Infinity, endS),
        history('lrf.accepted', -Infinity, endS)
      ]);
      track = positions.filter(([, lat, lon]) => lat !== null && lon !== null);
      rejected = accepted.filter(([, a]) => a === 0).map(([t]) => positionAt(t)).filter(Boolean);
      caption.textContent =
        `${map.source} relief, ±${Math.round(halfWidthKm())} km around the target (yellow cross); ` +
        'the lander’s own position estimate (blue), rejected range readings (red)';
      if (alive) draw();
    }

    function halfWidthKm() {
      return ((map.north_deg - map.south_deg) / 2) * (Math.PI / 180) * 1737.4;
    }

    function positionAt(t) {
      // the newest track point at or before t (nav comes at 1 Hz, the range finder at 2 Hz)
      let lo = 0;
      let hi = track.length - 1;
      if (hi < 0 || track[0][0] > t) return null;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (track[mid][0] <= t) lo = mid;
        else hi = mid - 1;
      }
      return [track[lo][1], track[lo][2]];
    }

    const offs = [
      feed.onPair('nav.lat_deg', 'nav.lon_deg', (lat, lon) => {
        if (lat.value !== null && lon.value !== null) {
          track.push([lat.t, lat.value, lon.value]);
          draw();
        }
      }),
      feed.onValue('lrf.accepted', (v) => {
        if (v.value === 0) {
          const p = positionAt(v.t);
          if (p) rejected.push(p);
        }
      })
    ];
    const onBounds = (bounds, isTick) => {
      if (!isTick) load();
    };
    openmct.time.on('boundsChanged', onBounds);
    const resize = new ResizeObserver(() => draw());
    resize.observe(wrap);
    load();
    return () => {
      alive = false;
      offs.forEach((off) => off());
      openmct.time.off('boundsChanged', onBounds);
      resize.disconnect();
    };
  });
}
