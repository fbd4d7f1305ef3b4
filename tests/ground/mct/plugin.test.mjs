// The plugin's pure parts, in Node (run by tests/ground/test_plugin_js.py).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { makeObjects } from '../../../src/touchdown/ground/mct/plugin/objects.js';
import { evaluateLimits, telemetryPoints } from '../../../src/touchdown/ground/mct/plugin/telemetry.js';
import { missionClock } from '../../../src/touchdown/ground/mct/plugin/views.js';

const parameters = JSON.parse(process.env.TOUCHDOWN_PARAMETERS);
const byName = new Map(parameters.map((p) => [p.name, p]));

test('limits: the gravest range broken wins, with its colour and side', () => {
  const alt = byName.get('nav.altitude_m'); // warning [-50, 200000], critical [-500, 250000]
  assert.equal(evaluateLimits(alt, 1000), undefined);
  assert.equal(evaluateLimits(alt, -100).name, 'warning low');
  assert.match(evaluateLimits(alt, -100).cssClass, /is-limit--lwr is-limit--yellow/);
  assert.equal(evaluateLimits(alt, -600).name, 'critical low');
  assert.match(evaluateLimits(alt, 300000).cssClass, /is-limit--upr is-limit--red/);
  assert.equal(evaluateLimits(alt, null), undefined);
});

test('limits: an enumerated state that alarms', () => {
  const state = byName.get('lrf.state');
  assert.equal(evaluateLimits(state, 1), undefined); // tracking
  assert.deepEqual(evaluateLimits(state, 2), { cssClass: 'is-limit--red', name: 'faulty' });
});

test('points: one per field and one per state of a split_by field', () => {
  const keys = telemetryPoints(parameters).map((p) => p.key);
  assert.equal(keys.length, parameters.length + 2);
  assert.ok(keys.includes('lrf.range_m~accepted') && keys.includes('lrf.range_m~rejected'));
});

test('objects: the Landing display and every point, made from the dictionary', () => {
  const objects = makeObjects({ scenario: 'm1' }, parameters);
  const landing = objects.get('landing');
  assert.equal(landing.type, 'flexible-layout');
  for (const member of landing.composition) assert.ok(objects.has(member.key), member.key);
  const alt = objects.get('nav.altitude_m');
  assert.equal(alt.telemetry.values[1].unit, 'm');
  const mode = objects.get('gnc.mode').telemetry.values[1];
  assert.equal(mode.format, 'enum');
  assert.deepEqual(mode.enumerations[3], { value: 3, string: 'braking' });
  assert.throws(() => makeObjects({}, parameters.filter((p) => p.name !== 'gnc.mode')),
    /does not define: fix/);
});

test('mission clock as the CLI writes it', () => {
  assert.equal(missionClock(4342.29), 'T+72:22.3');
  assert.equal(missionClock(59.96), 'T+01:00.0');
  assert.equal(missionClock(null), '—');
});
