// touchdown mission control: Open MCT configured for one ground server. The page asks the server
// for the flight and the telemetry dictionary, then installs the object tree, the telemetry
// providers, the two time systems (UTC and mission-elapsed T+), the ground clock, the views (the
// command panel among them), the sign-in indicator, the loss-of-signal banner and the Landing
// display, and opens it.
import { alarmsView } from './alarms.js';
import { commandsView } from './commands.js';
import { imageryView } from './imagery.js';
import { GroundFeed, api, getJSON } from './feed.js';
import {
  ALARMS_TYPE,
  COMMANDS_TYPE,
  IMAGERY_TYPE,
  LINK_TYPE,
  TIMELINE_TYPE,
  TRACK_TYPE,
  installObjects,
  makeObjects
} from './objects.js';
import { installLosBanner } from './los.js';
import { trackView } from './map.js';
import { installSessionIndicator } from './session.js';
import { NAMESPACE, Severities, TELEMETRY_TYPE, TelemetryProvider } from './telemetry.js';
import {
  MET_KEY,
  MET_TIME_SYSTEM,
  MetTimeFormat,
  UTC_KEY,
  askAgainAfterReconnecting,
  convertBounds
} from './time.js';
import { timelineView } from './timeline.js';
import { installLinkIndicator, linkView } from './views.js';

const CLOCK_KEY = 'touchdown.ground';
const TICK_MS = 100;
const REALTIME_WINDOW_MS = 10 * 60 * 1000; // what the realtime view shows behind now
const FIXED_WINDOW_MS = 20 * 60 * 1000; // an archived flight opens on its last 20 minutes
const LANDING_PATH = `#/browse/${NAMESPACE}:root/${NAMESPACE}:landing?hideInspector=true`;

/** Onboard time now, as the ground reckons it (the server's clock messages, interpolated at
 *  the rate it runs: a flight replayed ten times faster than real time ticks ten times
 *  faster; after loss of signal the rate is 0 and the clock holds at the newest onboard time
 *  received), in the active time system: UTC ms, or MET ms (since the scenario epoch). */
class GroundClock {
  constructor(feed, epochMs, timeSystemKey) {
    this.key = CLOCK_KEY;
    this.name = 'Ground clock';
    this.cssClass = 'icon-clock';
    this.description = 'Onboard time now as the ground reckons it: the newest onboard time ' +
      'received plus the time since, at the speed the flight is streamed';
    this.epochMs = epochMs;
    this.timeSystemKey = timeSystemKey; // () -> the active time system's key
    this.sync = null;
    this.lastMet = 0;
    this.listeners = new Set();
    this.timer = null;
    feed.on('clock', (m) => {
      if (m.t_onboard_now !== null) {
        this.sync = { t: m.t_onboard_now, rate: m.rate, at: performance.now() };
      }
    });
  }

  /** MET ms now. */
  metNow() {
    if (!this.sync) return this.lastMet;
    const elapsed = ((performance.now() - this.sync.at) / 1000) * this.sync.rate;
    return (this.sync.t + elapsed) * 1000;
  }

  currentValue() {
    const met = this.metNow();
    return this.timeSystemKey() === MET_KEY ? met : this.epochMs + met;
  }

  tick() {
    this.lastMet = this.metNow();
    const value = this.currentValue();
    this.listeners.forEach((listener) => listener(value));
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
  const [flight, dictionary] = await Promise.all([
    getJSON('/api/flight'),
    getJSON('/api/dictionary')
  ]);
  const parameters = dictionary.parameters;
  const severities = new Severities(dictionary.alarm_severities);
  const epochMs = flight.epoch_utc ? Date.parse(flight.epoch_utc) : 0;
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const feed = new GroundFeed(`${scheme}://${location.host}/api/realtime`);

  openmct.setAssetPath('/openmct/');
  openmct.install(openmct.plugins.LocalStorage());
  openmct.install(openmct.plugins.MyItems());
  openmct.install(openmct.plugins.Espresso());
  openmct.install(openmct.plugins.UTCTimeSystem());
  openmct.time.addTimeSystem(MET_TIME_SYSTEM);
  openmct.telemetry.addFormat(new MetTimeFormat());
  openmct.time.addClock(new GroundClock(feed, epochMs, () => openmct.time.getTimeSystem()?.key));

  const offsets = { start: -REALTIME_WINDOW_MS, end: 15 * 1000 };
  const realtime = [UTC_KEY, MET_KEY].map((timeSystem) => ({
    name: 'Realtime',
    timeSystem,
    clock: CLOCK_KEY,
    clockOffsets: offsets
  }));
  const lastS = flight.t_last ?? 0; // MET s
  const firstS = flight.t_first ?? 0;
  const metBounds = {
    start: Math.max(firstS * 1000, (lastS * 1000) - FIXED_WINDOW_MS),
    end: (lastS * 1000) + 60 * 1000
  };
  const fixed = [UTC_KEY, MET_KEY].map((timeSystem) => ({
    name: 'Fixed',
    timeSystem,
    bounds: convertBounds(metBounds, MET_KEY, timeSystem, epochMs)
  }));
  openmct.install(
    openmct.plugins.Conductor({
      menuOptions: flight.mode === 'realtime' ? [...realtime, ...fixed] : [...fixed, ...realtime]
    })
  );
  if (flight.mode !== 'realtime') {
    openmct.time.setBounds(fixed[0].bounds); // the conductor set them from the clock offsets
  }
  followTimeSystems(openmct, epochMs);
  askAgainAfterReconnecting(openmct.time, feed);
  openmct.install(openmct.plugins.LADTable());

  openmct.types.addType(TELEMETRY_TYPE, {
    name: 'Telemetry point',
    description: 'A parameter from the touchdown telemetry dictionary',
    cssClass: 'icon-telemetry'
  });
  openmct.types.addType(ALARMS_TYPE, { name: 'Alarm list', cssClass: 'icon-alert-triangle' });
  openmct.types.addType(LINK_TYPE, { name: 'Link status', cssClass: 'icon-connectivity' });
  openmct.types.addType(TRACK_TYPE, { name: 'Ground track', cssClass: 'icon-map' });
  openmct.types.addType(COMMANDS_TYPE, { name: 'Command panel', cssClass: 'icon-command' });
  openmct.types.addType(IMAGERY_TYPE, { name: 'Camera images', cssClass: 'icon-image' });
  openmct.types.addType(TIMELINE_TYPE, { name: 'Timeline', cssClass: 'icon-history' });

  installObjects(openmct, makeObjects(flight, parameters, severities));
  const provider = new TelemetryProvider(feed, parameters, severities, epochMs);
  openmct.telemetry.addProvider(provider);
  openmct.objectViews.addProvider(alarmsView(feed, parameters, severities, epochMs));
  openmct.objectViews.addProvider(linkView(feed, epochMs));
  openmct.objectViews.addProvider(trackView(openmct, feed, epochMs));
  openmct.objectViews.addProvider(commandsView(feed, epochMs));
  openmct.objectViews.addProvider(imageryView(epochMs));
  openmct.objectViews.addProvider(timelineView(severities, epochMs));
  installLinkIndicator(openmct, feed);
  installSessionIndicator(openmct, api);
  installLosBanner(feed, epochMs, makeRoomForBanner(element));

  if (!location.hash || location.hash === '#/' || location.hash === '#/browse/') {
    location.hash = LANDING_PATH;
  }
  window.touchdown = { feed, flight, provider, epochMs, api }; // for the console and the tests
  openmct.start(element);
}

/** The page as a column: the loss-of-signal banner (returned), then Open MCT in the rest
 *  (it fills its parent, which is no longer the whole window). */
function makeRoomForBanner(element) {
  const page = Object.assign(document.createElement('div'), { className: 'td-page' });
  const banner = Object.assign(document.createElement('div'), { className: 'td-los', hidden: true });
  const shell = Object.assign(document.createElement('div'), { className: 'td-shell' });
  element.replaceWith(page);
  page.append(banner, shell);
  shell.append(element);
  return banner;
}

/** Switching between UTC and T+: in a fixed time span the span is kept (Open MCT's conductor
 *  would move it to the clock's window: it sets the clock offsets after the time system; the
 *  bounds from before the switch are converted and set once it is done; a switch that came with
 *  its own bounds, the URL's, keeps those). Then the open view is shown afresh: Open MCT 4.2's
 *  plots keep the x offset of their first point across a time system change, and UTC ms minus a
 *  MET ms offset (~1.7e12) leaves float32 vertices no better than two minutes. */
function followTimeSystems(openmct, epochMs) {
  let current = openmct.time.getTimeSystem().key;
  let pending = null;
  openmct.time.on('timeSystemChanged', (timeSystem) => {
    const from = current;
    current = timeSystem.key;
    if (from === current) return;
    if (openmct.time.isFixed()) {
      pending = {
        bounds: convertBounds(openmct.time.getBounds(), from, current, epochMs),
        byOffsets: false
      };
      queueMicrotask(() => {
        const p = pending;
        pending = null;
        if (p && p.byOffsets && openmct.time.isFixed()) openmct.time.setBounds(p.bounds);
      });
    }
    setTimeout(() => {
      const shown = openmct.router.path?.[0];
      if (shown) openmct.objectViews.emit('reload', shown);
    }, 0);
  });
  openmct.time.on('clockOffsetsChanged', () => {
    if (pending) pending.byOffsets = true;
  });
}
