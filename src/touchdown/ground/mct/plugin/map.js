// The ground track on the map: the lander's own position estimates over the whole approach,
// on the whole Moon's relief (LOLA) with the site's finer map (GLD100, ±80 km) laid over it;
// the last reported position marked, an arrow at the edge pointing to it when it is off the
// map; range readings rejected apart from those taken before the range finder acquired the
// ground; after loss of signal, the impact point estimate with its 95 % ellipse.
import { estimate, getJSON, history, pairedHistory } from './feed.js';
import { TRACK_TYPE } from './objects.js';
import { metText, secondsFrom } from './time.js';
import { element, view } from './views.js';

const MOON_RADIUS_KM = 1737.4;
const DEG_KM = (Math.PI / 180) * MOON_RADIUS_KM;
export const COLOURS = Object.freeze({
  track: '#4dd3ff', rejected: '#ff4d4d', waiting: '#9e9e9e', target: '#ffd400',
  last: '#ffffff', impact: '#ff9f1a'
});

/** What a range-finder packet's reading was: null (no reading), 'accepted', 'waiting' (taken
 *  before the range finder acquired the ground: nothing to accept it against yet) or
 *  'rejected' (the filter refused it). */
export function readingKind(range, accepted, state) {
  if (range === null || range === undefined || !Number.isFinite(range)) return null;
  if (accepted === 1) return 'accepted';
  return state === 0 ? 'waiting' : 'rejected';
}

/** A longitude (deg) moved by whole turns to within 180° of lon0. */
export function unwrap(lon, lon0) {
  return lon0 + ((((lon - lon0) % 360) + 540) % 360) - 180;
}

/** The box (south, north, west, east deg) the approach is shown in: the site's box grown to
 *  every reported position within 90° of longitude of the site, squared in kilometres at its
 *  middle latitude, a tenth more all round, never past a pole. */
export function approachBox(site, points) {
  const lon0 = (site.west_deg + site.east_deg) / 2;
  let [s, n, w, e] = [site.south_deg, site.north_deg, site.west_deg, site.east_deg];
  for (const [lat, lon] of points) {
    const u = unwrap(lon, lon0);
    if (Math.abs(u - lon0) > 90) continue; // across a pole: the box would span the globe
    s = Math.min(s, lat);
    n = Math.max(n, lat);
    w = Math.min(w, u);
    e = Math.max(e, u);
  }
  const lat0 = (s + n) / 2;
  const cos = Math.max(Math.cos((lat0 * Math.PI) / 180), 0.2);
  const half = Math.min(90, 1.1 * Math.max((n - s) / 2, ((e - w) / 2) * cos));
  const mid = Math.min(90 - half, Math.max(-90 + half, lat0));
  const lonMid = (w + e) / 2;
  return { south_deg: mid - half, north_deg: mid + half,
    west_deg: lonMid - half / cos, east_deg: lonMid + half / cos };
}

/** Where an arrow at the edge of a square of side `side` px points to (x, y) outside it: the
 *  point where the line from the centre meets the edge, inset by `inset` px, and the angle. */
export function edgeArrow(x, y, side, inset = 14) {
  const c = side / 2;
  const dx = x - c;
  const dy = y - c;
  const k = (c - inset) / Math.max(Math.abs(dx), Math.abs(dy));
  return { x: c + dx * k, y: c + dy * k, angle: Math.atan2(dy, dx) };
}

/** Great-circle distance (km) between two points (deg). */
export function distanceKm(lat1, lon1, lat2, lon2) {
  const r = Math.PI / 180;
  const c = Math.sin(lat1 * r) * Math.sin(lat2 * r) +
    Math.cos(lat1 * r) * Math.cos(lat2 * r) * Math.cos((lon1 - lon2) * r);
  return MOON_RADIUS_KM * Math.acos(Math.min(1, Math.max(-1, c)));
}

export function trackView(openmct, feed, epochMs) {
  return view('touchdown.track', 'Ground track', 'icon-map', TRACK_TYPE, (root) => {
    const canvas = element('canvas', { class: 'td-track-canvas' });
    const caption = element('div', { class: 'td-note' });
    const scopes = ['auto', 'site', 'approach'].map((s) => element('button', {
      class: 'c-button td-scope', 'data-scope': s, text: s === 'auto' ? 'Auto' : s === 'site'
        ? 'Site' : 'Approach', onclick: () => { scope = s; requestDraw(); }
    }));
    const bar = element('div', { class: 'td-toolbar td-track-bar' }, scopes);
    const wrap = element('div', { class: 'td-view td-track' }, [bar, canvas, caption]);
    root.append(wrap);
    const siteImage = new Image();
    const globeImage = new Image();
    let site = null;
    let globe = null;
    let scope = 'auto';
    let track = []; // [t, lat, lon]
    const readings = { rejected: [], waiting: [] }; // [lat, lon]
    let pendingReading = null; // the range finder packet being assembled (range, accepted, state)
    let impact = null; // /api/estimate's impact, after loss of signal
    let impactFor = null; // the loss of signal (its t_los) the impact is for
    let alive = true;

    function shownScope() {
      if (scope !== 'auto') return scope;
      const last = track[track.length - 1];
      if (!last || !site) return 'site';
      const lon = unwrap(last[2], (site.west_deg + site.east_deg) / 2);
      const inside = last[1] >= site.south_deg && last[1] <= site.north_deg &&
        lon >= site.west_deg && lon <= site.east_deg;
      return inside ? 'site' : 'approach';
    }

    let drawing = false;
    function requestDraw() { // at most once a frame, however fast the values come
      if (drawing) return;
      drawing = true;
      requestAnimationFrame(() => {
        drawing = false;
        if (alive) draw();
      });
    }

    function draw() {
      const h = Math.max(50, wrap.clientHeight - caption.offsetHeight - bar.offsetHeight);
      const side = Math.min(wrap.clientWidth, h);
      canvas.width = side * devicePixelRatio;
      canvas.height = side * devicePixelRatio;
      canvas.style.width = `${side}px`;
      canvas.style.height = `${side}px`;
      const ctx = canvas.getContext('2d');
      ctx.scale(devicePixelRatio, devicePixelRatio);
      ctx.fillStyle = '#111';
      ctx.fillRect(0, 0, side, side);
      if (!site) return;
      const now = shownScope();
      scopes.forEach((b) => b.classList.toggle('is-on', b.dataset.scope === scope));
      canvas.dataset.scope = now;
      const box = now === 'site' ? site : approachBox(site, track.map(([, la, lo]) => [la, lo]));
      const lon0 = (box.west_deg + box.east_deg) / 2;
      const x = (lon) => ((unwrap(lon, lon0) - box.west_deg) / (box.east_deg - box.west_deg)) * side;
      const y = (lat) => ((box.north_deg - lat) / (box.north_deg - box.south_deg)) * side;
      if (globe && globeImage.complete && now === 'approach') {
        for (const turn of [-360, 0, 360]) { // the globe's image, wherever the box reaches
          const left = ((turn - box.west_deg) / (box.east_deg - box.west_deg)) * side;
          const width = (360 / (box.east_deg - box.west_deg)) * side;
          ctx.drawImage(globeImage, left, y(90), width, y(-90) - y(90));
        }
      }
      if (siteImage.complete) {
        ctx.drawImage(siteImage, x(site.west_deg), y(site.north_deg),
          x(site.east_deg) - x(site.west_deg), y(site.south_deg) - y(site.north_deg));
        if (now === 'approach') {
          ctx.strokeStyle = COLOURS.target;
          ctx.lineWidth = 1;
          ctx.strokeRect(x(site.west_deg), y(site.north_deg),
            x(site.east_deg) - x(site.west_deg), y(site.south_deg) - y(site.north_deg));
        }
      }
      dots(ctx, readings.waiting, x, y, COLOURS.waiting, false);
      dots(ctx, readings.rejected, x, y, COLOURS.rejected, true);
      ctx.strokeStyle = COLOURS.track;
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      let prev = null;
      for (const [, lat, lon] of track) { // a jump across the map (over a pole) is not drawn
        const px = x(lon);
        if (prev === null || Math.abs(px - prev) > side / 2) ctx.moveTo(px, y(lat));
        else ctx.lineTo(px, y(lat));
        prev = px;
      }
      ctx.stroke();
      if (site.target) cross(ctx, x(site.target.lon_deg), y(site.target.lat_deg), COLOURS.target);
      drawLast(ctx, x, y, side);
      if (impact) drawImpact(ctx, x, y); // on top: after loss of signal, what matters most
      scaleBar(ctx, side, (box.north_deg - box.south_deg) * DEG_KM);
    }

    function drawImpact(ctx, x, y) {
      ctx.strokeStyle = COLOURS.impact;
      ctx.fillStyle = 'rgba(255, 159, 26, 0.18)';
      ctx.lineWidth = 2;
      ctx.beginPath();
      impact.ellipse.forEach(([lat, lon], i) => (i ? ctx.lineTo(x(lon), y(lat))
        : ctx.moveTo(x(lon), y(lat))));
      ctx.fill();
      ctx.stroke();
      cross(ctx, x(impact.lon_deg), y(impact.lat_deg), COLOURS.impact, true);
    }

    function drawLast(ctx, x, y, side) {
      canvas.dataset.offMap = 'false';
      if (!track.length) return;
      const [t, lat, lon] = track[track.length - 1];
      const px = x(lon);
      const py = y(lat);
      ctx.font = '11px sans-serif';
      if (px >= 0 && px <= side && py >= 0 && py <= side) {
        ctx.fillStyle = COLOURS.last;
        ctx.beginPath();
        ctx.arc(px, py, 5, 0, 2 * Math.PI);
        ctx.fill();
        ctx.fillText(`last ${metText(t)}`, Math.min(px + 8, side - 80), Math.max(py - 8, 12));
        return;
      }
      const a = edgeArrow(px, py, side); // off the map: an arrow at the edge points to it
      ctx.save();
      ctx.translate(a.x, a.y);
      ctx.rotate(a.angle);
      ctx.fillStyle = COLOURS.last;
      ctx.beginPath();
      ctx.moveTo(10, 0);
      ctx.lineTo(-6, -7);
      ctx.lineTo(-6, 7);
      ctx.closePath();
      ctx.fill();
      ctx.restore();
      const target = site.target ?? { lat_deg: (site.south_deg + site.north_deg) / 2,
        lon_deg: (site.west_deg + site.east_deg) / 2 };
      const km = distanceKm(lat, lon, target.lat_deg, target.lon_deg);
      const label = `last ${metText(t)}: ${Math.round(km).toLocaleString('en-US')} km`;
      const tx = Math.min(Math.max(a.x - 40, 4), side - 150);
      const ty = Math.min(Math.max(a.y + (a.y < side / 2 ? 22 : -12), 12), side - 4);
      ctx.fillText(label, tx, ty);
      canvas.dataset.offMap = 'true';
    }

    async function load() {
      const end = openmct.time.getBounds().end;
      const endS = secondsFrom(openmct.time.getTimeSystem().key, end, epochMs);
      const histories = Promise.all([ // asked for beside the maps, not after them
        pairedHistory('nav.lat_deg', 'nav.lon_deg', -Infinity, endS),
        history('lrf.range_m', -Infinity, endS),
        history('lrf.accepted', -Infinity, endS),
        history('lrf.state', -Infinity, endS)
      ]);
      try {
        [site, globe] = await Promise.all([getJSON('/api/terrain/map'),
          getJSON('/api/terrain/globe').catch(() => null)]);
      } catch (error) {
        caption.textContent = `No map: ${error.message}`;
        histories.catch(() => {});
        return;
      }
      siteImage.onload = draw;
      siteImage.src = site.image;
      if (globe) {
        globeImage.onload = draw;
        globeImage.src = globe.image;
      }
      let positions;
      let ranges;
      let accepted;
      let states;
      try {
        [positions, ranges, accepted, states] = await histories;
      } catch (error) {
        caption.textContent = `No track: ${error.message}`;
        return;
      }
      track = positions.filter(([, lat, lon]) => lat !== null && lon !== null);
      const acceptedAt = new Map(accepted);
      const stateAt = new Map(states);
      readings.rejected = [];
      readings.waiting = [];
      for (const [t, range] of ranges) addReading(t, readingKind(range, acceptedAt.get(t), stateAt.get(t)));
      caption.textContent = `${site.source} ±${Math.round(halfWidthKm())} km around the target ` +
        `(yellow)${globe ? ` over ${globe.source}` : ''}. Blue: the lander’s position estimate ` +
        '(white: the last). Range readings rejected: red; before acquisition: grey. ' +
        'Orange: impact point estimate, 95 %.';
      caption.title = caption.textContent; // two lines shown (touchdown.css), all of it here
      impactFor = feed.link?.los?.t_los ?? null;
      if (impactFor !== null) await loadImpact();
      if (alive) draw();
    }

    async function loadImpact() {
      try {
        impact = (await estimate(impactFor)).impact ?? null;
      } catch {
        impact = null;
      }
    }

    function addReading(t, kind) {
      if (kind !== 'rejected' && kind !== 'waiting') return;
      const p = positionAt(t);
      if (p) readings[kind].push(p);
    }

    function halfWidthKm() {
      return ((site.north_deg - site.south_deg) / 2) * DEG_KM;
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
          requestDraw();
        }
      }),
      // a range-finder packet's three fields come in the dictionary's order: range first
      feed.onValue('lrf.range_m', (v) => { pendingReading = { t: v.t, range: v.value }; }),
      feed.onValue('lrf.accepted', (v) => {
        if (pendingReading?.t === v.t) pendingReading.accepted = v.value;
      }),
      feed.onValue('lrf.state', (v) => {
        const r = pendingReading;
        pendingReading = null;
        if (r?.t === v.t) addReading(v.t, readingKind(r.range, r.accepted, v.value));
      }),
      feed.on('link', async (link) => { // each loss of signal has its own last state
        const los = link.los?.t_los ?? null;
        if (los === impactFor) return;
        impactFor = los;
        impact = null;
        if (los !== null) await loadImpact();
        requestDraw();
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

function dots(ctx, points, x, y, colour, filled) {
  ctx.fillStyle = colour;
  ctx.strokeStyle = colour;
  ctx.lineWidth = 1;
  for (const [lat, lon] of points) {
    ctx.beginPath();
    ctx.arc(x(lon), y(lat), filled ? 3.5 : 2.5, 0, 2 * Math.PI);
    if (filled) ctx.fill();
    else ctx.stroke();
  }
}

function cross(ctx, px, py, colour, diagonal = false) {
  const r = 8;
  ctx.strokeStyle = colour;
  ctx.lineWidth = 2;
  ctx.beginPath();
  if (diagonal) {
    ctx.moveTo(px - r * 0.7, py - r * 0.7);
    ctx.lineTo(px + r * 0.7, py + r * 0.7);
    ctx.moveTo(px - r * 0.7, py + r * 0.7);
    ctx.lineTo(px + r * 0.7, py - r * 0.7);
  } else {
    ctx.moveTo(px - r, py);
    ctx.lineTo(px + r, py);
    ctx.moveTo(px, py - r);
    ctx.lineTo(px, py + r);
  }
  ctx.stroke();
}

function scaleBar(ctx, side, heightKm) {
  const nice = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000];
  const km = nice.find((k) => (k / heightKm) * side >= 50) ?? nice[nice.length - 1];
  const length = (km / heightKm) * side;
  ctx.strokeStyle = '#fff';
  ctx.lineWidth = 1.5;
  ctx.beginPath();
  ctx.moveTo(10, side - 12);
  ctx.lineTo(10 + length, side - 12);
  ctx.stroke();
  ctx.fillStyle = '#fff';
  ctx.font = '11px sans-serif';
  ctx.fillText(`${km.toLocaleString('en-US')} km`, 12, side - 16);
}
