// The object tree: a root for the flight, the Landing display and its parts (the command panel
// among them), and a folder per telemetry packet holding its points (all made from the
// dictionary; nothing listed twice).
import { NAMESPACE, telemetryObject, telemetryPoints } from './telemetry.js';

export const ALARMS_TYPE = 'touchdown.alarms';
export const LINK_TYPE = 'touchdown.link';
export const TRACK_TYPE = 'touchdown.track';
export const TIMELINE_TYPE = 'touchdown.timeline';
export const COMMANDS_TYPE = 'touchdown.commands';
export const IMAGERY_TYPE = 'touchdown.imagery';

const id = (key) => ({ namespace: NAMESPACE, key });

// The Landing display: what an operator watches during a descent, left to right.
const ALTITUDE = ['nav.altitude_m', 'lrf.range_m~accepted', 'lrf.range_m~rejected'];
const SPEEDS = ['nav.vertical_speed_mps', 'nav.horizontal_speed_mps'];
const PROPELLANT = ['prop.propellant_kg'];
const STATUS = [
  'gnc.mode',
  'gnc.tgo_s',
  'lrf.state',
  'lrf.rejected_run',
  'gnc.altitude_zero_seen',
  'gnc.main_engine',
  'gnc.thruster_duty',
  'nav.position_sigma_m'
];
const EVENTS = ['event.code'];
// How each altitude series is drawn: the estimate as a line, readings as marks, rejected
// readings as larger red diamonds with no line through them.
const SERIES_STYLE = {
  'nav.horizontal_speed_mps': { yAxisId: 2 }, // orbital speeds would flatten the vertical one
  'nav.altitude_m': { color: '#4dd3ff', markers: false, interpolate: 'linear' },
  'lrf.range_m~accepted': {
    color: '#5be37d',
    markers: true,
    markerShape: 'circle',
    markerSize: 2,
    interpolate: 'none'
  },
  'lrf.range_m~rejected': {
    color: '#ff4d4d',
    markers: true,
    markerShape: 'diamond',
    markerSize: 6,
    interpolate: 'none'
  }
};

function plot(key, name, members) {
  return {
    identifier: id(key),
    name,
    type: 'telemetry.plot.overlay',
    location: `${NAMESPACE}:root`,
    composition: members.map(id),
    configuration: {
      series: members.map((m) => ({
        identifier: id(m),
        markers: true,
        markerShape: 'point',
        markerSize: 2,
        interpolate: 'linear',
        alarmMarkers: true,
        ...SERIES_STYLE[m]
      })),
      yAxis: {},
      additionalYAxes: members.some((m) => SERIES_STYLE[m]?.yAxisId === 2) ? [{ id: 2 }] : [],
      xAxis: {},
      legend: { position: 'top', expandByDefault: false, hideLegendWhenSmall: true }
    }
  };
}

const container = (size, frames) => ({
  id: `c${size}-${frames.map((f) => f[0]).join('-')}`,
  size,
  frames: frames.map(([key, frameSize]) => ({
    id: `f-${key}`,
    domainObjectIdentifier: id(key),
    size: frameSize,
    noFrame: false
  }))
});

export function makeObjects(flight, parameters, severities) {
  const points = telemetryPoints(parameters);
  const known = new Set(points.map((pt) => pt.key));
  const missing = [...ALTITUDE, ...SPEEDS, ...PROPELLANT, ...STATUS, ...EVENTS].filter(
    (key) => !known.has(key)
  );
  if (missing.length) {
    throw new Error(`the Landing display shows ${missing.join(', ')}, which the telemetry ` +
      'dictionary does not define: fix plugin/objects.js or the dictionary');
  }
  const objects = new Map();
  const add = (o) => objects.set(o.identifier.key, o);
  const packets = [...new Set(parameters.map((p) => p.packet))];

  const landingParts = [
    plot('plot.altitude', 'Altitude estimate and range finder', ALTITUDE),
    plot('plot.speeds', 'Vertical and horizontal speed', SPEEDS),
    plot('plot.propellant', 'Propellant estimate', PROPELLANT),
    {
      identifier: id('table.status'),
      name: 'Guidance and range finder',
      type: 'LadTable',
      location: `${NAMESPACE}:root`,
      composition: STATUS.map(id),
      configuration: {
        isFixedLayout: true,
        hiddenColumns: Object.fromEntries(
          ['timestamp', 'type', ...severities.order.map((s) => severities.limitKey(s))]
            .map((c) => [c, true])
        )
      }
    },
    {
      identifier: id('table.events'),
      name: 'Events',
      type: 'table',
      location: `${NAMESPACE}:root`,
      composition: EVENTS.map(id),
      // T+ only: the Landing display's column is narrow (the UTC is in the table opened alone)
      configuration: { columnWidths: {}, hiddenColumns: { name: true, utc: true } }
    },
    {
      identifier: id('alarms'),
      name: 'Alarms',
      type: ALARMS_TYPE,
      location: `${NAMESPACE}:root`
    },
    { identifier: id('link'), name: 'Link', type: LINK_TYPE, location: `${NAMESPACE}:root` },
    {
      identifier: id('track'),
      name: 'Ground track',
      type: TRACK_TYPE,
      location: `${NAMESPACE}:root`
    },
    {
      identifier: id('commands'),
      name: 'Commands',
      type: COMMANDS_TYPE,
      location: `${NAMESPACE}:root`
    },
    { identifier: id('camera'), name: 'Camera', type: IMAGERY_TYPE, location: `${NAMESPACE}:root` }
  ];
  landingParts.forEach(add);
  add({
    identifier: id('landing'),
    name: 'Landing',
    type: 'flexible-layout',
    location: `${NAMESPACE}:root`,
    composition: landingParts.map((o) => o.identifier),
    configuration: {
      rowsLayout: false,
      containers: [
        container(28, [
          ['plot.altitude', 50],
          ['plot.speeds', 25],
          ['plot.propellant', 25]
        ]),
        container(20, [
          ['track', 38],
          ['camera', 38],
          ['table.status', 24]
        ]),
        container(30, [
          ['link', 31],
          ['alarms', 43],
          ['table.events', 26]
        ]),
        container(22, [['commands', 100]])
      ]
    }
  });
  for (const packet of packets) {
    add({
      identifier: id(`packet.${packet}`),
      name: `${packet} packet`,
      type: 'folder',
      location: `${NAMESPACE}:root`,
      composition: points.filter((pt) => pt.parameter.packet === packet).map((pt) => id(pt.key))
    });
  }
  points.forEach((pt) => add(telemetryObject(pt)));
  add({ identifier: id('timeline'), name: 'Timeline', type: TIMELINE_TYPE,
    location: `${NAMESPACE}:root` });
  add({
    identifier: id('root'),
    name: `touchdown · ${flight.scenario || 'ground'}`,
    type: 'folder',
    location: 'ROOT',
    composition: [
      id('landing'),
      ...landingParts.map((o) => o.identifier),
      id('timeline'),
      ...packets.map((p) => id(`packet.${p}`))
    ]
  });
  return objects;
}

/** Install the root, the read-only object provider and the composition it gives. */
export function installObjects(openmct, objects) {
  openmct.objects.addRoot(id('root'), openmct.priority.HIGH);
  openmct.objects.addProvider(NAMESPACE, {
    get: (identifier) => {
      const o = objects.get(identifier.key);
      return o ? Promise.resolve(structuredClone(o)) : Promise.reject(new Error('no such object'));
    }
  });
}
