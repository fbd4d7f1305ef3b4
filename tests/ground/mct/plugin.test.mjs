// The plugin's pure parts, in Node (run by tests/ground/test_plugin_js.py).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  alarmActions,
  alarmLines,
  alarmState,
  chronological,
  historyLine,
  sortAlarms
} from '../../../src/touchdown/ground/mct/plugin/alarms.js';
import {
  KINDS,
  timelineCells,
  timelineUrl
} from '../../../src/touchdown/ground/mct/plugin/timeline.js';
import {
  ROLES,
  argumentControl,
  argumentsText,
  checkArguments,
  commandActions,
  commandNote,
  commandPhase,
  detailText,
  executedBy,
  linkWarning,
  may,
  parseArgument,
  refusal,
  rulesFor,
  sendBlock,
  stageLines,
  stateText,
  uplinkDirectives,
  uplinkText
} from '../../../src/touchdown/ground/mct/plugin/commands.js';
import { captionText, receivedText } from '../../../src/touchdown/ground/mct/plugin/imagery.js';
import { GroundApi } from '../../../src/touchdown/ground/mct/plugin/feed.js';
import { losLines } from '../../../src/touchdown/ground/mct/plugin/los.js';
import { latLonText } from '../../../src/touchdown/ground/mct/plugin/views.js';
import {
  approachBox,
  distanceKm,
  edgeArrow,
  readingKind,
  unwrap
} from '../../../src/touchdown/ground/mct/plugin/map.js';
import { COMMANDS_TYPE, makeObjects } from '../../../src/touchdown/ground/mct/plugin/objects.js';
import { sessionText } from '../../../src/touchdown/ground/mct/plugin/session.js';
import {
  Severities,
  datum,
  evaluateLimits,
  telemetryPoints
} from '../../../src/touchdown/ground/mct/plugin/telemetry.js';
import {
  MetTimeFormat,
  askAgainAfterReconnecting,
  convertBounds,
  formatMet,
  metText,
  parseMet,
  utcText
} from '../../../src/touchdown/ground/mct/plugin/time.js';
import {
  apidRows,
  countersRows,
  linkSummary,
  losText
} from '../../../src/touchdown/ground/mct/plugin/views.js';

const dictionary = JSON.parse(process.env.TOUCHDOWN_DICTIONARY); // GET /api/dictionary
const parameters = dictionary.parameters;
const byName = new Map(parameters.map((p) => [p.name, p]));
const severities = new Severities(dictionary.alarm_severities);

test('severities: ranks, colours and limit columns follow the dictionary\'s order', () => {
  const scale = dictionary.alarm_severities;
  assert.deepEqual(dictionary.severities.slice(-scale.length), scale); // one scale
  assert.deepEqual(scale.map((s) => severities.rank(s)), scale.map((_, i) => i + 1));
  assert.equal(severities.rank('info'), 0); // nominal: no alarm, no colour
  assert.equal(severities.color(null), undefined);
  assert.equal(severities.color(scale[0]), 'cyan');
  assert.equal(severities.color(scale.at(-1)), 'purple');
  const reordered = new Severities(['minor', 'major']); // the plugin names none itself
  assert.deepEqual([reordered.color('minor'), reordered.color('major')], ['cyan', 'yellow']);
  assert.equal(reordered.limitKey('major'), 'MAJOR');
});

test('limits: the gravest range broken wins, with its colour and side', () => {
  const alt = byName.get('nav.altitude_m'); // warning [-50, 200000], critical [-500, 250000]
  assert.equal(evaluateLimits(alt, 1000, severities), undefined);
  assert.equal(evaluateLimits(alt, -100, severities).name, 'warning low');
  assert.match(evaluateLimits(alt, -100, severities).cssClass, /is-limit--lwr is-limit--yellow/);
  assert.equal(evaluateLimits(alt, -600, severities).name, 'critical low');
  assert.match(evaluateLimits(alt, 300000, severities).cssClass, /is-limit--upr is-limit--red/);
  assert.equal(evaluateLimits(alt, null, severities), undefined);
});

test('limits: an enumerated state that alarms', () => {
  const state = byName.get('lrf.state');
  assert.equal(evaluateLimits(state, 1, severities), undefined); // tracking
  assert.deepEqual(evaluateLimits(state, 2, severities),
    { cssClass: 'is-limit--red', name: 'faulty' });
});

test('points: one per field and one per state of a split_by field', () => {
  const keys = telemetryPoints(parameters).map((p) => p.key);
  assert.equal(keys.length, parameters.length + 2);
  assert.ok(keys.includes('lrf.range_m~accepted') && keys.includes('lrf.range_m~rejected'));
});

test('objects: the Landing display and every point, made from the dictionary', () => {
  const objects = makeObjects({ scenario: 'm1' }, parameters, severities);
  const landing = objects.get('landing');
  assert.equal(landing.type, 'flexible-layout');
  for (const member of landing.composition) assert.ok(objects.has(member.key), member.key);
  const valueOf = (key) => objects.get(key).telemetry.values.find((v) => v.key === 'value');
  assert.equal(valueOf('nav.altitude_m').unit, 'm');
  const mode = valueOf('gnc.mode');
  assert.equal(mode.format, 'enum');
  assert.deepEqual(mode.enumerations[3], { value: 3, string: 'braking' });
  assert.throws(
    () => makeObjects({}, parameters.filter((p) => p.name !== 'gnc.mode'), severities),
    /does not define: fix/);
});

const EPOCH_MS = Date.parse('2023-04-25T15:40:00Z'); // any epoch: UTC = epoch + MET

test('MET: T+HH:MM:SS.s, T- before the epoch, days past 24 h', () => {
  assert.equal(formatMet(4342.29 * 1000), 'T+72:22.3');
  assert.equal(formatMet(59.96 * 1000), 'T+01:00.0'); // rounded before it is split
  assert.equal(formatMet(0), 'T+00:00.0');
  assert.equal(formatMet(-5 * 1000), 'T-00:05.0');
  assert.equal(formatMet(-0.04 * 1000), 'T+00:00.0'); // no T-00:00.0
  assert.equal(formatMet(-(3600 + 61.25) * 1000), 'T-61:01.3');
  assert.equal(formatMet((86400 + 2 * 3600 + 3 * 60 + 4.5) * 1000), 'T+1563:04.5');
  assert.equal(formatMet(-(3 * 86400 + 59) * 1000), 'T-4320:59.0');
  assert.equal(formatMet(null), '—');
  assert.equal(formatMet(NaN), '—');
  assert.equal(metText(4342.29), 'T+72:22.3'); // archive seconds
  assert.equal(metText(null), '—');
});

test('MET: parsed back from what it writes, and from the CLI\'s minutes:seconds', () => {
  for (const ms of [0, 4342300, -5000, -3661300, 93784500, -259259000, 100]) {
    assert.equal(parseMet(formatMet(ms)), ms, formatMet(ms));
  }
  assert.equal(parseMet('T+72:22.3'), 4342300);
  assert.equal(parseMet('T−00:00:05.0'), -5000); // the typographic minus too
  assert.equal(parseMet('1d 00:00:00'), 86400000);
  assert.ok(Number.isNaN(parseMet('2023-04-25 16:40:00')));
  assert.ok(Number.isNaN(parseMet('T+01:75:00.0')));
  const format = new MetTimeFormat();
  assert.equal(format.key, 'met');
  assert.equal(format.format(-5000), 'T-00:05.0');
  assert.equal(format.parse('T+00:00:05.0'), 5000);
  assert.ok(format.validate('T+72:22.3') && !format.validate('soon'));
});

test('time systems: a datum carries both times; bounds convert both ways', () => {
  assert.deepEqual(datum(EPOCH_MS, 4342.3, 7), {
    utc: EPOCH_MS + 4342300,
    met: 4342300,
    value: 7,
    t: 4342.3
  });
  const met = { start: 1000, end: 61000 };
  const utc = convertBounds(met, 'met', 'utc', EPOCH_MS);
  assert.deepEqual(utc, { start: EPOCH_MS + 1000, end: EPOCH_MS + 61000 });
  assert.deepEqual(convertBounds(utc, 'utc', 'met', EPOCH_MS), met);
  assert.equal(utcText(EPOCH_MS, 3600.25), '2023-04-25 16:40:00.2 UTC');
  const alt = makeObjects({ scenario: 'm1' }, parameters, severities).get('nav.altitude_m');
  const domains = alt.telemetry.values.filter((v) => v.hints.domain).map((v) => v.key);
  assert.deepEqual(domains, ['utc', 'met']);
});

test('a feed open again asks for the window once the link message says where things stand', () => {
  const callbacks = new Map();
  const feed = {
    connected: true,
    on: (type, callback) => callbacks.set(type, callback),
    emit(type, message) {
      if (type === 'connection') this.connected = message;
      callbacks.get(type)(message);
    }
  };
  const asked = [];
  const offsets = { start: -600000, end: 15000 };
  const bounds = { start: 1, end: 2 };
  const time = {
    realtime: true,
    isRealTime() { return this.realtime; },
    getClockOffsets: () => offsets,
    setClockOffsets: (o) => asked.push(['offsets', o]),
    getBounds: () => bounds,
    setBounds: (b) => asked.push(['bounds', b])
  };
  askAgainAfterReconnecting(time, feed);
  feed.emit('link', {}); // the first connection: the views asked already
  assert.deepEqual(asked, []);
  feed.emit('connection', false);
  feed.emit('link', {}); // the last message of the closed one: not yet
  feed.emit('connection', true);
  assert.deepEqual(asked, []); // the clock is not current until the link message is in
  feed.emit('link', {});
  assert.deepEqual(asked, [['offsets', offsets]]); // realtime: the window at the clock's now
  feed.emit('link', {});
  assert.equal(asked.length, 1); // once per reconnection
  time.realtime = false;
  feed.emit('connection', false);
  feed.emit('connection', true);
  feed.emit('link', {});
  assert.deepEqual(asked[1], ['bounds', bounds]); // a fixed span: the same span again
});

/** A fetch that answers from a list of [check(url, options), status, body], in order. */
function scriptedFetch(script) {
  const calls = [];
  const fetchImpl = async (url, options = {}) => {
    calls.push({ url, options });
    const step = script.shift();
    assert.ok(step, `unexpected request ${url}`);
    const [check, status, body] = step;
    check(url, options);
    return { ok: status < 400, status, json: async () => body };
  };
  return { fetchImpl, calls };
}

test('estimate: one request per loss of signal for every view; a failed one asked again', async () => {
  const answer = (t) => ({ los: { t_los: t } });
  const { fetchImpl, calls } = scriptedFetch([
    [(u) => assert.equal(u, '/api/estimate'), 200, answer(100)],
    [(u) => assert.equal(u, '/api/estimate'), 503, { error: 'busy' }],
    [(u) => assert.equal(u, '/api/estimate'), 200, answer(200)]
  ]);
  const api = new GroundApi(fetchImpl);
  const [banner, map] = await Promise.all([api.estimate(100), api.estimate(100)]);
  assert.equal(banner, map);
  assert.equal(calls.length, 1);
  await assert.rejects(api.estimate(200), /busy/);
  assert.deepEqual(await api.estimate(200), answer(200)); // asked again
  assert.deepEqual(await api.estimate(100), answer(100)); // still the first answer
  assert.equal(calls.length, 3);
});

test('paging: every page followed with after=<next>, and no more than maxPages', async () => {
  const { fetchImpl, calls } = scriptedFetch([
    [(u) => assert.equal(u, '/api/history/nav.altitude_m?start=10&end=20'), 200,
      { name: 'nav.altitude_m', values: [[10, 1], [11, 2]], next: 'c1' }],
    [(u) => assert.equal(u, '/api/history/nav.altitude_m?start=10&end=20&after=c1'), 200,
      { name: 'nav.altitude_m', values: [[12, 3]], next: 'c2' }],
    [(u) => assert.match(u, /after=c2$/), 200,
      { name: 'nav.altitude_m', values: [[13, 4]], next: null }]
  ]);
  const api = new GroundApi(fetchImpl);
  assert.deepEqual(await api.history('nav.altitude_m', 10, 20),
    [[10, 1], [11, 2], [12, 3], [13, 4]]);
  assert.equal(calls.length, 3);

  const endless = new GroundApi(async () => ({
    ok: true, status: 200, json: async () => ({ alarms: [{ id: 1 }], next: 'more' })
  }));
  const { rows, complete } = await endless.pages('/api/alarms', 'alarms', {}, { maxPages: 4 });
  assert.equal(rows.length, 4);
  assert.equal(complete, false);

  const latest = scriptedFetch([
    [(u) => assert.equal(u, '/api/history/gnc.mode?start=0&limit=1&newest=1'), 200,
      { name: 'gnc.mode', values: [[99, 3]], next: 'ignored' }]
  ]);
  assert.deepEqual(await new GroundApi(latest.fetchImpl).history('gnc.mode', 0, Infinity,
    { limit: 1, newest: true }), [[99, 3]]);
});

test('POST: the session\'s CSRF token, JSON, asked once; renewed once when the token is refused', async () => {
  const posted = (token) => (u, o) => {
    assert.equal(o.method, 'POST');
    assert.equal(o.headers['Content-Type'], 'application/json');
    assert.equal(o.headers['X-CSRF-Token'], token);
    assert.deepEqual(JSON.parse(o.body), { comment: 'seen' });
  };
  const { fetchImpl, calls } = scriptedFetch([
    [(u) => assert.equal(u, '/api/session'), 200, { csrf_token: 't1', user: 'ann', role: 'operator' }],
    [posted('t1'), 200, { id: 3 }],
    [posted('t1'), 403, { error: 'the X-CSRF-Token header is not this session\'s', refused: 'csrf' }],
    [(u) => assert.equal(u, '/api/session'), 200, { csrf_token: 't2', user: 'ann', role: 'operator' }],
    [posted('t2'), 200, { id: 3 }],
    [posted('t2'), 409, { error: 'alarm 3 is cleared' }],
    // a role that may not: the server's words, no second try
    [posted('t2'), 403, { error: 'signed in as vic, a viewer: a viewer may not clear alarms',
      refused: 'role' }]
  ]);
  const api = new GroundApi(fetchImpl);
  const body = { comment: 'seen' };
  assert.deepEqual(await api.postJSON('/api/alarms/3/acknowledge', body), { id: 3 });
  assert.deepEqual(await api.postJSON('/api/alarms/3/acknowledge', body), { id: 3 });
  await assert.rejects(api.postJSON('/api/alarms/3/clear', body), /alarm 3 is cleared/);
  await assert.rejects(api.postJSON('/api/alarms/3/clear', body), (error) => {
    assert.equal(error.status, 403);
    assert.equal(error.refused, 'role');
    assert.equal(error.serverMessage, 'signed in as vic, a viewer: a viewer may not clear alarms');
    return true;
  });
  assert.equal(calls.filter((c) => c.url === '/api/session').length, 2);
});

test('sign in and out: the new session\'s token is used, listeners hear who it is', async () => {
  const withToken = (token, path, expected) => (u, o) => {
    assert.equal(u, path);
    assert.equal(o.headers['X-CSRF-Token'], token);
    if (expected) assert.deepEqual(JSON.parse(o.body), expected);
  };
  const { fetchImpl } = scriptedFetch([
    [(u) => assert.equal(u, '/api/session'), 200, { csrf_token: 'anon', user: null, role: null }],
    [withToken('anon', '/api/login', { name: 'ann', password: 'pw-123456' }), 200,
      { csrf_token: 'ann1', user: 'ann', role: 'operator' }],
    [withToken('ann1', '/api/alarms/1/acknowledge'), 200, { id: 1 }],
    [withToken('ann1', '/api/logout', {}), 200, { csrf_token: 'anon2', user: null, role: null }],
    [withToken('anon2', '/api/alarms/1/clear'), 401,
      { error: 'sign in first: POST /api/login', refused: 'session' }],
    [(u) => assert.equal(u, '/api/session'), 200, { csrf_token: 'anon2', user: null, role: null,
      read_only: false }],
    [withToken('anon2', '/api/login'), 401,
      { error: 'sign-in failed: wrong name or password', refused: 'credentials' }]
  ]);
  const api = new GroundApi(fetchImpl);
  const heard = [];
  api.onSession((s) => heard.push(s.user));
  assert.deepEqual(await api.session(), { user: null, role: null, readOnly: false });
  assert.deepEqual(await api.login('ann', 'pw-123456'),
    { user: 'ann', role: 'operator', readOnly: false });
  await api.postJSON('/api/alarms/1/acknowledge', {});
  await api.logout();
  await assert.rejects(api.postJSON('/api/alarms/1/clear', {}), /sign in first/);
  await new Promise((resolve) => setTimeout(resolve, 0)); // the session asked again
  await assert.rejects(api.login('ann', 'wrong'), (e) => e.status === 401 &&
    e.serverMessage === 'sign-in failed: wrong name or password');
  assert.deepEqual(heard, [null, 'ann', null]); // changes only
});

test('session indicator: who is signed in, with the role by name', () => {
  assert.equal(sessionText(null).text, 'Session…');
  assert.deepEqual(
    [sessionText({ user: null, role: null, readOnly: false }).text,
      sessionText({ user: null, role: null, readOnly: false }).signedIn],
    ['Not signed in', false]);
  const fd = sessionText({ user: 'gene', role: 'flight_director', readOnly: false });
  assert.equal(fd.text, 'gene · flight director');
  assert.equal(fd.signedIn, true);
  assert.match(sessionText({ user: null, role: null, readOnly: true }).text, /read-only/i);
  assert.equal(sessionText({ user: null, role: null, readOnly: true }).canSignIn, false);
});

// an alarm as the contract gives it (times MET s)
const PROPELLANT_ALARM = {
  id: 7,
  parameter: 'prop.propellant_kg',
  trigger_severity: 'watch',
  trigger_value: 39.96,
  t_trigger: 4121.3,
  t_trigger_onboard: 4120.0,
  severity: 'critical',
  most_severe_value: -1.2,
  t_most_severe: 4330.3,
  t_most_severe_onboard: 4329.0,
  current_severity: null,
  current_value: 41.0,
  t_current: 4340.3,
  t_current_onboard: 4339.0,
  t_returned: 4339.0,
  t_acknowledged: 4335.5,
  acknowledged_by: 'ann',
  ack_comment: 'leak suspected',
  t_shelved: null,
  shelved_by: null,
  shelve_comment: null,
  shelved_until: null,
  t_cleared: null,
  cleared_by: null,
  active: true,
  acknowledged: true,
  shelved: false,
  state_text: { trigger: null, most_severe: null, current: null }
};

test('alarm rows: trigger, most severe, back to normal, acknowledgement', () => {
  const p = byName.get('prop.propellant_kg');
  const lines = Object.fromEntries(alarmLines(PROPELLANT_ALARM, p).map((l) => [l.key, l]));
  assert.equal(lines.trigger.text, `WATCH ${(39.96).toFixed(1)} ${p.unit} at T+68:40.0`);
  assert.equal(lines.most_severe.text, `CRITICAL -1.20 ${p.unit} at T+72:09.0`);
  assert.equal(lines.current.text, `back to normal at T+72:19.0 (41 ${p.unit})`);
  assert.equal(lines.acknowledged.text, 'ann at T+72:15.5: “leak suspected”');
  assert.equal(lines.trigger.t, 4120.0);
  assert.ok(!('shelved' in lines) && !('cleared' in lines));
  assert.equal(alarmState(PROPELLANT_ALARM), 'ACKNOWLEDGED · back to normal');
  assert.deepEqual(alarmActions(PROPELLANT_ALARM), ['shelve', 'clear']);
});

test('alarm rows: an enumeration by name, shelved until, cleared', () => {
  const p = byName.get('lrf.state');
  const faulty = {
    ...PROPELLANT_ALARM,
    id: 8,
    parameter: 'lrf.state',
    trigger_severity: 'critical',
    trigger_value: 2,
    severity: 'critical',
    most_severe_value: 2,
    current_severity: 'critical',
    current_value: 2,
    t_returned: null,
    acknowledged: false,
    t_acknowledged: null,
    acknowledged_by: null,
    ack_comment: null,
    shelved: true,
    t_shelved: 4336.0,
    shelved_by: 'bob',
    shelve_comment: 'known',
    shelved_until: 7936.0,
    state_text: { trigger: 'faulty', most_severe: 'faulty', current: 'faulty' }
  };
  const lines = Object.fromEntries(alarmLines(faulty, p).map((l) => [l.key, l.text]));
  assert.equal(lines.trigger, 'CRITICAL faulty at T+68:40.0');
  assert.equal(lines.current, 'CRITICAL faulty at T+72:19.0');
  assert.equal(lines.acknowledged, 'not yet');
  assert.equal(lines.shelved, 'until T+132:16.0 by bob: “known”');
  assert.equal(alarmState(faulty), 'SHELVED');
  assert.deepEqual(alarmActions(faulty), ['acknowledge', 'unshelve', 'clear']);
  // without state_text the dictionary names the state
  const bare = { ...faulty, state_text: undefined };
  assert.match(alarmLines(bare, p)[0].text, /^CRITICAL faulty /);
  const cleared = { ...faulty, active: false, shelved: false, t_cleared: 4400, cleared_by: 'cy' };
  assert.equal(alarmLines(cleared, p).at(-1).text, 'by cy at T+73:20.0');
  assert.equal(alarmState(cleared), 'CLEARED');
  assert.deepEqual(alarmActions(cleared), []);
  assert.deepEqual(
    sortAlarms([cleared, PROPELLANT_ALARM, faulty], severities).map((a) => a.id), [8, 7, 8]);
});

test('alarm history: one line per entry, enumerations by name', () => {
  const p = byName.get('lrf.state');
  const entry = (kind, extra) => ({
    alarm_id: 8, parameter: 'lrf.state', kind, severity: null, value: null,
    t_received: 4121.3, t_onboard: null, by: null, comment: null, ...extra
  });
  const triggered = entry('triggered', { severity: 'critical', value: 2, t_onboard: 4120 });
  assert.deepEqual(historyLine(triggered, p),
    { t: 4120, time: 'T+68:40.0', parameter: 'lrf.state', text: 'triggered CRITICAL faulty' });
  assert.equal(historyLine(entry('acknowledged', { by: 'ann', comment: 'seen' }), p).text,
    'acknowledged by ann: “seen”');
  assert.equal(historyLine(entry('acknowledged', { by: 'ann' }), p).time, 'T+68:41.3');
  assert.equal(historyLine(entry('returned', { value: 1 }), p).text, 'back to normal (tracking)');
  assert.equal(historyLine(entry('shelve_expired', {}), p).text, 'shelve expired');
  const order = chronological([
    entry('cleared', { t_received: 9 }), entry('triggered', { t_received: 1 }),
    entry('acknowledged', { t_received: 5 }), entry('shelved', { t_received: 5 })
  ]).map((e) => e.kind);
  assert.deepEqual(order, ['triggered', 'acknowledged', 'shelved', 'cleared']);
});

const COUNTERS = {
  packets: 12000, bytes: 480000, bad: 3, gaps: 2, missing: 40, duplicates: 1, reordered: 0,
  resets: 0, frames_ok: 5000, frames_bad_crc: 3, frames_bad_header: 1, frames_lost: 12,
  frame_gaps: 2, idle_frames: 7, sync_octets_discarded: 1048576, junk_octets_kept: 4096
};

test('link: every counter per link and per APID; missing counters are not zero', () => {
  const rows = Object.fromEntries(countersRows(COUNTERS));
  assert.equal(rows.Frames,
    '5,000 good · 3 CRC failed · 1 bad header · 12 lost in 2 gaps · 7 idle');
  assert.equal(rows.Sync, '1,048,576 octets discarded hunting for sync (4,096 kept as a sample)');
  assert.equal(rows.Packets, '12,000 (480,000 octets) · 3 bad');
  assert.equal(rows.Sequence, '2 gaps · 40 missing · 1 duplicates · 0 reordered · 0 resets');
  const old = Object.fromEntries(countersRows({ packets: 5 }));
  assert.equal(old.Frames,
    '— good · — CRC failed · — bad header · — lost in — gaps · — idle');
  assert.deepEqual(apidRows({
    nav: {
      apid: 0x101, packets: 3200, bytes: 1, gaps: 1, missing: 4, duplicates: 0, reordered: 2,
      resets: 0
    },
    lrf: { apid: 0x100, packets: 6400, bytes: 1, gaps: 0, missing: 0, duplicates: 1, reordered: 0 }
  }), [
    ['lrf', 256, '6,400', '0', '0', '1', '0', '—'],
    ['nav', 257, '3,200', '1', '4', '0', '2', '0']
  ]);
});

test('LOS: the ground receive time of the last packet, the one definition', () => {
  const los = { t_los: 4342.29, t_declared: 4361.3, t_onboard_last: 4341.0 };
  assert.equal(losText(los), 'LOS at T+72:22.3');
  assert.equal(losText(null), '');
  const failed = linkSummary({ status: 'FAILED', los }, true);
  assert.equal(failed.text, 'LOS at T+72:22.3');
  assert.ok(failed.los);
  assert.equal(linkSummary({ status: 'OK', los: null }, true).text, 'Link OK');
  assert.equal(linkSummary(null, false).text, 'No ground server');
  const broken = { status: 'OK', los: null, archive: { path: 'g.sqlite', failure: 'disk full' } };
  assert.equal(linkSummary(broken, true).text, 'Archive not writing'); // never a quiet "OK"
});

// ---------------------------------------------------------------- the command panel

// GET /api/commands/dictionary of a server with no live flight
const commandDictionary = JSON.parse(process.env.TOUCHDOWN_COMMANDS);
const commandsByName = new Map(commandDictionary.commands.map((c) => [c.name, c]));
const VIEWER = { user: 'vera', role: 'viewer', readOnly: false };
const OPERATOR = { user: 'ann', role: 'operator', readOnly: false };
const DIRECTOR = { user: 'gene', role: 'flight_director', readOnly: false };
const NOBODY = { user: null, role: null, readOnly: false };

test('commands: the roles are the server\'s; who may not, in the server\'s words', () => {
  const server = JSON.parse(process.env.TOUCHDOWN_ROLES); // touchdown.ground.users.ROLES
  assert.deepEqual(Object.keys(ROLES), Object.keys(server)); // least first
  for (const [role, permissions] of Object.entries(ROLES)) {
    assert.deepEqual([...permissions].sort(), server[role], role);
  }
  assert.equal(refusal(VIEWER, 'commands', 'send commands'),
    'signed in as vera, a viewer: a viewer may not send commands; sign in as an operator or ' +
    'a flight director');
  assert.equal(refusal(OPERATOR, 'approve', 'approve critical commands'),
    'signed in as ann, an operator: an operator may not approve critical commands; sign in ' +
    'as a flight director');
  assert.match(refusal(NOBODY, 'commands', 'send commands'), /^not signed in: sign in/);
  assert.match(refusal({ ...OPERATOR, readOnly: true }, 'commands', 'x'), /read-only/);
  assert.equal(refusal(OPERATOR, 'commands', 'send commands'), null);
  assert.equal(refusal(DIRECTOR, 'override', 'override flight rules'), null);
  assert.equal(sendBlock(OPERATOR, true), null);
  assert.match(sendBlock(OPERATOR, false), /no uplink here: commands go to a live flight/);
  assert.match(sendBlock(VIEWER, true), /a viewer may not send commands/);
  assert.equal(commandDictionary.uplink, false); // a server with no live flight
  assert.equal(linkWarning({ status: 'OK' }, true), null);
  assert.match(linkWarning({ status: 'UNAVAIL' }, true), /^no signal from the lander yet/);
  assert.match(linkWarning({ status: 'FAILED', los: { t_los: 4342.29 } }, true),
    /^LOS at T\+72:22\.3: a command sent now may not arrive/);
  assert.match(linkWarning({ status: 'OK' }, false), /no ground server/);
});

test('the command link: its line, and the directives that bring a stopped FOP back', () => {
  const stopped = JSON.parse(process.env.TOUCHDOWN_UPLINK); // the server's, lander in lockout
  const line = uplinkText(stopped);
  assert.equal(line.stopped, true);
  assert.match(line.text, /^Uplink STOPPED: the lander is in lockout/);
  assert.match(line.text, /lander V\(R\) 5 \(lockout\) at T\+70:00\.0$/);
  const [unlock, resume] = uplinkDirectives(stopped, OPERATOR);
  assert.deepEqual([unlock.directive, resume.directive, unlock.enabled], ['unlock', 'resume', true]);
  const refused = uplinkDirectives(stopped, VIEWER);
  assert.ok(refused.every((d) => !d.enabled && /a viewer may not direct the uplink/.test(d.why)));
  const limit = { ...stopped, alert: 'frame 3 sent 10 times without acknowledgement',
    clcw: { ...stopped.clcw, lockout: false } };
  const [setVr] = uplinkDirectives(limit, OPERATOR);
  assert.deepEqual([setVr.directive, setVr.value, setVr.label], ['set_vr', 5, 'Set V(R) 5']);
  const running = { ...stopped, alert: '', clcw: null };
  assert.deepEqual(uplinkDirectives(running, OPERATOR), []);
  assert.equal(uplinkText(running).text,
    'Uplink running · 0 unacknowledged, 0 waiting · no CLCW from the lander yet');
  assert.deepEqual(uplinkText({ uplink: false }), { text: '', stopped: false });
});

test('command arguments: an enumeration chosen from its states; nothing empty sent', () => {
  const policy = commandsByName.get('lrf_policy').arguments[0];
  const control = argumentControl(policy);
  assert.equal(control.kind, 'select');
  assert.deepEqual(control.options, policy.states);
  assert.ok(control.options.includes('terrain_aware'));
  assert.deepEqual(parseArgument(policy, ''), { error: 'choose a policy' });
  assert.deepEqual(parseArgument(policy, 'terrain_aware'), { value: 'terrain_aware' });
  assert.equal(parseArgument(policy, 'sphere').error,
    `policy must be one of ${policy.states.join(', ')}, got 'sphere'`); // the server's words
  for (const command of commandDictionary.commands) {
    const { arguments: args, errors } = checkArguments(command, {});
    assert.deepEqual(Object.keys(errors), command.arguments.map((a) => a.name), command.name);
    if (!command.arguments.length) assert.deepEqual(args, {});
    for (const arg of command.arguments) {
      assert.equal(argumentControl(arg).kind, arg.states.length ? 'select' : 'number');
    }
  }
  assert.deepEqual(checkArguments(commandsByName.get('imu_reset'), { unit: 'B' }),
    { arguments: { unit: 'B' }, errors: {} });
  assert.equal(argumentsText({ policy: 'terrain_aware' }), 'policy=terrain_aware');
  assert.deepEqual(rulesFor(commandDictionary.rules, 'computer_reset').map((r) => r.name),
    ['no_reset_in_powered_descent']);
  assert.deepEqual(rulesFor(commandDictionary.rules, 'engine_arm'), []);
});

test('command arguments: a number within its range and unit; whole for an integer type', () => {
  const period = { name: 'period_s', type: 'f4', unit: 's', description: 'its period',
    range: [0.1, 60], states: [] };
  const c = argumentControl(period);
  assert.deepEqual([c.kind, c.min, c.max, c.step, c.hint],
    ['number', 0.1, 60, 'any', '[0.1, 60] s']);
  assert.deepEqual(parseArgument(period, ' 2.5 '), { value: 2.5 });
  assert.deepEqual(parseArgument(period, '60'), { value: 60 });
  assert.equal(parseArgument(period, '0.05').error,
    'period_s must be within [0.1, 60] s, got 0.05');
  assert.equal(parseArgument(period, 'fast').error, 'period_s must be a number (s), got \'fast\'');
  assert.equal(parseArgument(period, '').error, 'give period_s ([0.1, 60] s)');
  const count = { name: 'n', type: 'u1', unit: '-', description: '', range: null, states: [] };
  const k = argumentControl(count);
  assert.deepEqual([k.min, k.max, k.step, k.hint], [0, 255, '1', '[0, 255], whole']);
  assert.equal(parseArgument(count, '2.5').error, 'n must be a whole number, got 2.5');
  assert.equal(parseArgument(count, '256').error, 'n must be within [0, 255], got 256');
  assert.deepEqual(parseArgument(count, '7'), { value: 7 });
});

/** A command as GET /api/commands gives it, through `stages` ([name, t, by, detail]). */
function record(id, name, stages, args = {}) {
  return {
    id, name, arguments: args, significance: commandsByName.get(name).significance,
    state: stages.at(-1)[0],
    stages: stages.map(([stage, t, by = '', detail = '']) => ({ stage, t, by, detail }))
  };
}

test('command history: each stage at T+ with who; where each command stands', () => {
  const flown = [['queued', 3409.1, 'ann'], ['released', 3409.2, 'ann'], ['sent', 3409.2],
    ['radiated', 3409.25, '', 'due onboard at 3410.540 s']];
  const arm = record(1, 'engine_arm', [...flown, ['received', 3411.0], ['executed', 3411.0],
    ['effect', 3412.0]]);
  assert.equal(commandPhase(arm, commandsByName.get('engine_arm')), 'done');
  assert.equal(stateText(arm), 'EFFECT SEEN');
  assert.deepEqual(stageLines(arm)[3], { stage: 'radiated', t: 3409.25, time: 'T+56:49.3',
    by: '', detail: 'due onboard at T+56:50.5' }); // onboard times as T+ too
  assert.equal(detailText('executed', 'event.code == command_executed at onboard 2072.5 s'),
    'event.code == command_executed at onboard T+34:32.5');
  assert.equal(detailText('timed_out', 'no received verifier (x) within 2 s of the arrival'),
    'no received verifier (x) within 2 s of the arrival');
  assert.equal(detailText('blocked', 'no_reset_in_powered_descent: No reset. | other: Why.'),
    'no_reset_in_powered_descent, other'); // the reasons are in the command's note
  assert.equal(stageLines(arm)[0].by, 'ann');
  const flying = record(2, 'engine_arm', flown);
  assert.equal(commandPhase(flying, commandsByName.get('engine_arm')), 'flying');
  // lrf_policy has no effect verifier: executed is the end of its story
  const policy = record(3, 'lrf_policy', [['queued', 1], ['armed', 2, 'ann'],
    ['approval', 3, 'ann'], ['released', 4, 'gene'], ['sent', 4], ['radiated', 4],
    ['received', 6], ['executed', 6]], { policy: 'terrain_aware' });
  assert.equal(commandPhase(policy, commandsByName.get('lrf_policy')), 'done');
  assert.equal(executedBy(policy), 'ann');
  const phase = (stages) => commandPhase(record(4, 'computer_reset', stages));
  assert.equal(phase([['queued', 1], ['armed', 2]]), 'waiting');
  assert.equal(phase([['queued', 1], ['blocked', 2, '', 'no_reset_in_powered_descent: ...']]),
    'blocked');
  assert.equal(phase([['queued', 1], ['released', 2], ['timed_out', 30]]), 'failed');
  assert.equal(phase([['queued', 1], ['cancelled', 2, 'ann']]), 'cancelled');
  // a POST's answer names its stages `name`
  const posted = { ...arm, stages: arm.stages.map(({ stage, ...s }) => ({ name: stage, ...s })) };
  assert.deepEqual(stageLines(posted), stageLines(arm));
});

test('command actions: an operator arms, executes; a flight director approves, overrides', () => {
  const reset = (stages) => record(5, 'computer_reset', stages);
  const kinds = (r, s) => commandActions(r, s)
    .map((a) => `${a.action}${a.enabled ? '' : ' (off)'}`);
  const queued = reset([['queued', 1, 'ann']]);
  assert.deepEqual(kinds(queued, OPERATOR), ['arm', 'cancel']);
  assert.deepEqual(kinds(queued, VIEWER), ['arm (off)', 'cancel (off)']);
  assert.deepEqual(commandActions(queued, OPERATOR, false), []); // no uplink: history only
  assert.match(commandActions(queued, VIEWER)[0].why, /a viewer may not arm commands/);
  assert.match(commandActions(queued, NOBODY)[0].why, /^not signed in/);
  assert.equal(commandNote(queued, OPERATOR), 'queued: arm it, then execute it');
  const armed = reset([['queued', 1, 'ann'], ['armed', 2, 'ann']]);
  assert.deepEqual(kinds(armed, OPERATOR), ['execute', 'cancel']);
  const waiting = reset([['queued', 1, 'ann'], ['armed', 2, 'ann'], ['approval', 3, 'ann']]);
  assert.deepEqual(kinds(waiting, OPERATOR), ['cancel']); // approving is a flight director's
  assert.deepEqual(kinds(waiting, DIRECTOR), ['approve', 'cancel']);
  const own = commandActions(waiting, { ...DIRECTOR, user: 'ann' });
  assert.deepEqual([own[0].action, own[0].enabled], ['approve', false]);
  assert.match(own[0].why, /two-person rule/);
  assert.equal(commandNote(waiting, OPERATOR), 'executed by ann: waiting for a flight director ' +
    'other than ann to approve it (two-person rule)');
  const reason = 'no_reset_in_powered_descent: No computer or IMU reset in powered descent';
  const blocked = reset([['queued', 1, 'ann'], ['armed', 2, 'ann'], ['approval', 3, 'ann'],
    ['blocked', 4, '', reason]]);
  assert.deepEqual(kinds(blocked, OPERATOR), ['cancel']);
  assert.deepEqual(kinds(blocked, DIRECTOR), ['override', 'cancel']);
  assert.equal(commandNote(blocked, OPERATOR),
    `${reason} (a flight director may override it, saying why)`);
  assert.equal(commandNote(blocked, DIRECTOR), reason);
  const normal = record(6, 'engine_arm', [['queued', 1, 'ann']]);
  assert.deepEqual(kinds(normal, OPERATOR), ['cancel']); // a normal command is never armed
  assert.deepEqual(kinds(reset([['queued', 1], ['released', 2, 'gene']]), DIRECTOR), []);
  assert.ok(may('flight_director', 'approve') && !may('operator', 'override'));
});

test('the Landing display holds the command panel', () => {
  const objects = makeObjects({ scenario: 'm1' }, parameters, severities);
  assert.equal(objects.get('commands').type, COMMANDS_TYPE);
  const landing = objects.get('landing');
  assert.ok(landing.composition.some((m) => m.key === 'commands'));
  const frames = landing.configuration.containers.flatMap((c) => c.frames);
  assert.ok(frames.some((f) => f.domainObjectIdentifier.key === 'commands'));
  const sizes = landing.configuration.containers.map((c) => c.size);
  assert.equal(sizes.reduce((a, b) => a + b), 100);
  assert.ok(objects.get('root').composition.some((m) => m.key === 'commands'));
});

test('the camera: how much of an image came, and its caption', () => {
  // shaped as GET /api/images answers (touchdown.ground.images.GroundImages.listing)
  const base = { image_id: 6, t: 3540.0, strips: 8, strips_complete: 7, octets: 16648,
    octets_received: 16462, complete: false, t_received: 3901.2, url: '/api/images/6.png',
    width_px: 512, height_px: 512, exposure_s: 0.004, lat_deg: 46.10512, lon_deg: 38.2,
    altitude_m: 22150.0 };
  assert.deepEqual(receivedText(base), { state: 'partial', text: '98 % (7 of 8 strips)' });
  assert.deepEqual(receivedText({ ...base, complete: true }),
    { state: 'complete', text: 'complete' });
  assert.equal(receivedText({ ...base, octets_received: 0 }).text,
    'announced, nothing received yet');
  assert.equal(receivedText({ ...base, octets: 0, octets_received: 0 }).text,
    'not kept onboard (storage full)');
  assert.match(receivedText({ ...base, octets: null }).text, /description not received/);
  assert.equal(captionText(base),
    '#6 · T+59:00.0 · 98 % (7 of 8 strips) · estimate 46.105° N, 38.200° E, 22.15 km up');
});

test('the timeline asks for what its filter shows and writes both times in T+', () => {
  assert.equal(timelineUrl(KINDS, 'info'), '/api/timeline');
  assert.equal(timelineUrl(['event', 'link'], 'warning', 'csv'),
    '/api/timeline?kind=event%2Clink&severity=warning&format=csv');
  assert.equal(timelineUrl(KINDS, 'info', 'json', 'AAB/='), '/api/timeline?after=AAB%2F%3D');
  assert.deepEqual(timelineCells({
    t_received: 99.5, t_onboard: 94.5, kind: 'event', severity: 'info',
    subject: 'lrf_rejected', text: 'lrf_rejected: 1,276'
  }), ['T+01:39.5', 'T+01:34.5', 'event', 'info', 'lrf_rejected', 'lrf_rejected: 1,276']);
  assert.equal(timelineCells({ t_received: 101, t_onboard: null })[1], '—');
});

test('the map tells rejected readings from those taken before acquisition', () => {
  assert.equal(readingKind(null, 0, 0), null); // no reading at all
  assert.equal(readingKind(NaN, 0, 2), null);
  assert.equal(readingKind(19980.8, 0, 0), 'waiting'); // before the range finder acquired
  assert.equal(readingKind(5123.0, 0, 2), 'rejected');
  assert.equal(readingKind(5123.0, 0, 1), 'rejected');
  assert.equal(readingKind(5123.0, 1, 1), 'accepted');
});

test('the approach box holds the whole reported track and the site, square in km', () => {
  const site = { south_deg: 46.7, north_deg: 48.3, west_deg: 43.2, east_deg: 45.6 };
  assert.ok(Math.abs(unwrap(224.8, 44.4) + 135.2) < 1e-9);
  assert.ok(Math.abs(unwrap(350, 44.4) + 10) < 1e-9);
  assert.ok(Math.abs(unwrap(-10, 200) - 350) < 1e-9);
  const track = [[-87.9, 224.8], [-60.9, 44.8], [3.3, 44.6], [47.5, 44.4]];
  const box = approachBox(site, track);
  assert.ok(box.south_deg <= -60.9 && box.north_deg >= 48.3, JSON.stringify(box));
  assert.ok(box.south_deg >= -90 && box.north_deg <= 90);
  assert.ok(box.west_deg <= 43.2 && box.east_deg >= 45.6);
  const mid = ((box.south_deg + box.north_deg) / 2) * Math.PI / 180;
  const widthKm = (box.east_deg - box.west_deg) * Math.cos(mid);
  assert.ok(Math.abs(widthKm - (box.north_deg - box.south_deg)) < 1e-9); // square
  assert.deepEqual(approachBox(site, []).south_deg < site.south_deg, true); // a tenth more
});

test('an off-map position gets an arrow at the edge pointing at it', () => {
  const a = edgeArrow(1000, 10, 200); // far to the east, a little north of the centre
  assert.ok(Math.abs(a.x - 186) < 1e-9 && a.y > 90 && a.y < 100, JSON.stringify(a));
  assert.ok(Math.abs(a.angle - Math.atan2(-90, 900)) < 1e-9);
  const b = edgeArrow(100, -500, 200); // due north
  assert.equal(b.x, 100);
  assert.equal(b.y, 14);
  assert.ok(Math.abs(distanceKm(0, 0, 0, 1) - 30.32) < 0.01);
});

test('the loss-of-signal banner: last known state, outcome and impact point, both scales', () => {
  assert.equal(losLines({ los: null }, 0), null);
  assert.equal(latLonText(47.50003, 44.39992), '47.500° N, 44.400° E');
  assert.equal(latLonText(-12.5, 350.25), '12.500° S, 9.750° W');
  const epochMs = Date.parse('2023-04-25T15:40:00Z');
  const lines = losLines({
    los: { t_los: 4342.29, t_declared: 4361.29, t_onboard_last: 4340.44 },
    outcome: { t_state: 4340, altitude_m: -3892.87, vertical_speed_mps: -111.867,
      horizontal_speed_mps: 0.043, propellant_kg: -28.62, mode: 'terminal_descent',
      powered: false, time_to_impact_s: 0, t_impact: 4340, impact_speed_mps: 111.87,
      notes: ['propellant estimate -28.6 kg: engines taken as dead'], basis: 'own estimates' },
    impact: { lat_deg: 47.50003, lon_deg: 44.39992, semi_major_m: 3123.5,
      semi_minor_m: 3123.5, confidence: 0.95, notes: [], basis: 'fall to the map' }
  }, epochMs);
  assert.match(lines.title, /^LOSS OF SIGNAL · last packet received T\+72:22\.3, newest onboard time T\+72:20\.4 \(2023-04-25 16:52:20\.4 UTC\) · declared T\+72:41\.3$/);
  assert.equal(lines.state, 'Last known state (T+72:20.0): altitude estimate -3,893 m · ' +
    'vertical speed -111.9 m/s · horizontal speed 0.0 m/s · propellant -28.6 kg · ' +
    'mode terminal descent');
  assert.equal(lines.outcome,
    'Outcome estimate, falling with no thrust: impact at T+72:20.0 at 112 m/s');
  assert.equal(lines.impact,
    'Impact point estimate: 47.500° N, 44.400° E, 95 % ellipse 3.1 km × 3.1 km (semi-axes)');
  assert.deepEqual(lines.basis, ['own estimates', 'fall to the map']);
  const none = losLines({ los: { t_los: 1, t_declared: 2, t_onboard_last: 1 }, outcome: {},
    impact: null, impact_unavailable: 'no navigation state received yet' }, 0);
  assert.match(none.impact, /none \(no navigation state received yet\)/);
  assert.match(none.outcome, /none/);
});
