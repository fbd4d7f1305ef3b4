// touchdown mission control: Open MCT configured for one ground server. The page asks the server
// for the flight and the telemetry dictionary, then installs the object tree, the telemetry
// providers, the ground clock, the views and the Landing display, and opens it.
import { GroundFeed, getJSON } from './feed.js';
import { ALARMS_TYPE, LINK_TYPE, TRACK_TYPE, installObjects, makeObjects } from './objects.js';
import { NAMESPACE, TELEMETRY_TYPE, TelemetryProvider } from './telemetry.js';
import { alarmsView, installLinkIndicator, linkView, trackView } from './views.js';

const CLOCK_KEY = 'touchdown.ground';
const TICK_MS = 100;
const REALTIME_WINDOW_MS = 10 * 60 * 1000; // what the realtime view shows behind now
const FIXED_WINDOW_MS = 20 * 60 * 1000; // an archived flight opens on its last 20 minutes
const LANDING_PATH = `#/browse/${NAMESPACE}:root/${NAMESPACE}:landing?hideInspector=true`;

/** Onboard time now, as the ground reckons it (the server's clock messages, interpolated at
 *  the rate it runs: a flight replayed ten times faster than real time ticks ten times
 *  faster), as UTC milliseconds. */
class GroundClock {
  constructor(feed, epochMs) {
    this.key = CLOCK_KEY;
    this.name = 'Ground clock';
    this.cssClass = 'icon-clock';
    this.description = 'Onboard time now as the ground reckons it: the newest onboard time ' +
      'received plus the time since, at the speed the flight is streamed';
    this.epochMs = epochMs;
    this.sync = null;
    this.listeners = new Set();
    this.timer = null;
    feed.on('clock', (m) => {
      if (m.t_onboard_now !== null) {
        this.sync = { t: m.t_onboard_now, rate: m.rate, at: performance.now() };
      }
    });
  }

  currentValue() {
    if (!this.sync) return this.lastTick ?? this.epochMs;
    const elapsed = ((performance.now() - this.sync.at) / 1000) * this.sync.rate;
    return this.epochMs + (this.sync.t + elapsed) * 1000;
  }

  tick() {
    this.lastTick = this.currentValue();
    this.listeners.forEach((listener) => listener(this.lastTick));
  }

  on(event, listener) {
    if (event !== 'tick') return this;
    this.listeners.add(listener);
    this.timer ??= setInterval(() => this.tick(), TICK_MS);
    return this;
  }

  off(event, listener) {
    this.listeners.delete(listener);
    if (this.listeners.size === 0 && this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
    }
    return this;
  }
}

export async function startMissionControl(openmct, element) {
  const [flight, parameters] = await Promise.all([
    getJSON('/api/flight'),
    getJSON('/api/parameters')
  ]);
  const epochMs = flight.epoch_utc ? Date.parse(flight.epoch_utc) : 0;
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const feed = new GroundFeed(`${scheme}://${location.host}/api/realtime`);

  openmct.setAssetPath('/openmct/');
  openmct.install(openmct.plugins.LocalStorage());
  openmct.install(openmct.plugins.MyItems());
  openmct.install(openmct.plugins.Espresso());
  openmct.install(openmct.plugins.UTCTimeSystem());
  openmct.time.addClock(new GroundClock(feed, epochMs));

  const realtime = {
    name: 'Realtime',
    timeSystem: 'utc',
    clock: CLOCK_KEY,
    clockOffsets: { start: -REALTIME_WINDOW_MS, end: 15 * 1000 }
  };
  const lastMs = epochMs + (flight.t_last ?? 0) * 1000;
  const firstMs = epochMs + (flight.t_first ?? 0) * 1000;
  const fixed = {
    name: 'Fixed',
    timeSystem: 'utc',
    bounds: { start: Math.max(firstMs, lastMs - FIXED_WINDOW_MS), end: lastMs + 60 * 1000 }
  };
  openmct.install(
    openmct.plugins.Conductor({
      menuOptions: flight.mode === 'realtime' ? [realtime, fixed] : [fixed, realtime]
    })
  );
  if (flight.mode !== 'realtime') {
    openmct.time.setBounds(fixed.bounds); // the conductor set them from the clock offsets
  }
  openmct.install(openmct.plugins.LADTable());

  openmct.types.addType(TELEMETRY_TYPE, {
    name: 'Telemetry point',
    description: 'A parameter from the touchdown telemetry dictionary',
    cssClass: 'icon-telemetry'
  });
  openmct.types.addType(ALARMS_TYPE, { name: 'Alarm list', cssClass: 'icon-alert-triangle' });
  openmct.types.addType(LINK_TYPE, { name: 'Link status', cssClass: 'icon-connectivity' });
  openmct.types.addType(TRACK_TYPE, { name: 'Ground track', cssClass: 'icon-map' });

  installObjects(openmct, makeObjects(flight, parameters));
  const provider = new TelemetryProvider(feed, parameters, epochMs);
  openmct.telemetry.addProvider(provider);
  openmct.objectViews.addProvider(alarmsView(feed, parameters));
  openmct.objectViews.addProvider(linkView(feed));
  openmct.objectViews.addProvider(trackView(openmct, feed, epochMs));
  installLinkIndicator(openmct, feed);

  if (!location.hash || location.hash === '#/' || location.hash === '#/browse/') {
    location.hash = LANDING_PATH;
  }
  window.touchdown = { feed, flight, provider }; // for the console and the browser tests
  openmct.start(element);
}
