// Telemetry objects made from the server's telemetry dictionary (GET /api/dictionary), and the
// Open MCT providers behind them: history from the archive, realtime from the feed, limits with
// the dictionary's severities, and staleness from the server's packet expiry. Every datum
// carries its time twice: `utc` (ms since 1970) and `met` (ms since the scenario epoch), for
// the two time systems.
import { history, pairedHistory } from './feed.js';
import { MET_KEY, UTC_KEY, secondsFrom } from './time.js';

export const NAMESPACE = 'touchdown';
export const TELEMETRY_TYPE = 'touchdown.telemetry';

// Open MCT's limit colours, mildest first: the dictionary's alarm severities take them in order.
const LIMIT_COLORS = ['cyan', 'yellow', 'orange', 'red', 'purple'];

/** The dictionary's alarm severities (`alarm_severities` of GET /api/dictionary, mildest
 *  first): each one's rank (1 the mildest, 0 none) and the Open MCT limit colour it is drawn in.
 *  The plugin names no severity of its own. */
export class Severities {
  constructor(alarmSeverities) {
    this.order = [...alarmSeverities];
    this.ranks = new Map(this.order.map((s, i) => [s, i + 1]));
  }

  rank(severity) {
    return this.ranks.get(severity) ?? 0;
  }

  /** The key of a severity's limits (and of their column in a LAD table). */
  limitKey(severity) {
    return severity.toUpperCase();
  }

  /** The colour of a severity (undefined: none, or not an alarm severity). */
  color(severity) {
    const rank = this.rank(severity);
    return rank ? LIMIT_COLORS[Math.min(rank, LIMIT_COLORS.length) - 1] : undefined;
  }
}

/** The telemetry points: one per dictionary field, and one per state of a `split_by` field. */
export function telemetryPoints(parameters) {
  const byName = new Map(parameters.map((p) => [p.name, p]));
  const points = [];
  for (const p of parameters) {
    points.push({ key: p.name, parameter: p, label: `${p.field}` });
    if (p.split_by) {
      const by = byName.get(p.split_by);
      for (const [raw, state] of Object.entries(by.enumeration)) {
        points.push({
          key: `${p.name}~${state}`,
          parameter: p,
          split: { by: by.name, raw: Number(raw), state },
          label: `${p.field} (${state})`
        });
      }
    }
  }
  return points;
}

export function telemetryObject(point) {
  const p = point.parameter;
  const value = {
    key: 'value',
    name: point.label,
    unit: p.unit === '-' ? undefined : p.unit,
    hints: { range: 1 }
  };
  if (Object.keys(p.enumeration).length > 0) {
    value.format = 'enum';
    value.enumerations = Object.entries(p.enumeration).map(([raw, state]) => ({
      value: Number(raw),
      string: state
    }));
  } else if (p.type.startsWith('f')) {
    value.formatString = p.unit === 'deg' ? '%0.4f' : '%0.2f';
  }
  return {
    identifier: { namespace: NAMESPACE, key: point.key },
    name: point.split ? `${p.name} (${point.split.state})` : p.name,
    type: TELEMETRY_TYPE,
    location: `${NAMESPACE}:packet.${p.packet}`,
    notes: p.description,
    telemetry: {
      values: [
        { key: UTC_KEY, source: UTC_KEY, name: 'UTC', format: UTC_KEY, hints: { domain: 1 } },
        { key: MET_KEY, source: MET_KEY, name: 'MET', format: MET_KEY, hints: { domain: 2 } },
        value
      ]
    },
    touchdown: { name: p.name, packet: p.packet, split: point.split || null }
  };
}

/** The Open MCT telemetry provider over the archive, the feed and the dictionary's limits. */
export class TelemetryProvider {
  constructor(feed, parameters, severities, epochMs) {
    this.feed = feed;
    this.parameters = new Map(parameters.map((p) => [p.name, p]));
    this.severities = severities;
    this.epochMs = epochMs;
    this.staleness = new Map(); // packet -> Set of callbacks
    feed.on('link', () => this.notifyStaleness());
    feed.on('connection', () => this.notifyStaleness());
  }

  /** A value at t (s since the epoch) as Open MCT's datum: both times in ms. */
  datum(t, value) {
    return datum(this.epochMs, t, value);
  }

  supportsRequest(domainObject) {
    return domainObject.type === TELEMETRY_TYPE;
  }

  async request(domainObject, options = {}) {
    const { name, split } = domainObject.touchdown;
    const domain = options.domain ?? UTC_KEY; // the time system the bounds are in
    const startS = secondsFrom(domain, options.start, this.epochMs);
    const endS = secondsFrom(domain, options.end, this.epochMs);
    if (split) {
      const rows = await pairedHistory(name, split.by, startS, endS);
      return rows
        .filter(([, v, by]) => v !== null && by === split.raw) // null: NaN onboard (no reading)
        .map(([t, v]) => this.datum(t, v));
    }
    const latest = options.strategy === 'latest' && options.size === 1;
    const rows = await history(name, startS, endS, latest ? { limit: 1, newest: true } : {});
    return rows.filter(([, v]) => v !== null).map(([t, v]) => this.datum(t, v));
  }

  supportsSubscribe(domainObject) {
    return domainObject.type === TELEMETRY_TYPE;
  }

  subscribe(domainObject, callback) {
    const { name, split } = domainObject.touchdown;
    if (!split) {
      return this.feed.onValue(name, (v) => {
        if (v.value !== null) {
          callback(this.datum(v.t, v.value));
        }
      });
    }
    return this.feed.onPair(name, split.by, (v, by) => {
      if (by.value === split.raw && v.value !== null) {
        callback(this.datum(v.t, v.value));
      }
    });
  }

  supportsLimits(domainObject) {
    const p = domainObject.touchdown && this.parameters.get(domainObject.touchdown.name);
    return Boolean(p && (Object.keys(p.limits).length || Object.keys(p.alarms).length));
  }

  getLimitEvaluator(domainObject) {
    const p = this.parameters.get(domainObject.touchdown.name);
    return {
      evaluate: (datum) => evaluateLimits(p, datum.value, this.severities)
    };
  }

  getLimits(domainObject) {
    const p = this.parameters.get(domainObject.touchdown.name);
    const limits = {};
    for (const [severity, [low, high]] of Object.entries(p.limits)) {
      const color = this.severities.color(severity);
      limits[this.severities.limitKey(severity)] = {
        low: { color, value: low },
        high: { color, value: high }
      };
    }
    return { limits: () => Promise.resolve(limits) };
  }

  supportsStaleness(domainObject) {
    const p = domainObject.touchdown && this.parameters.get(domainObject.touchdown.name);
    return Boolean(p && p.period_s > 0);
  }

  isStale(domainObject) {
    const isStale = this.packetIsStale(domainObject.touchdown.packet);
    return Promise.resolve(this.stalenessResponse(isStale));
  }

  /** A staleness answer stamped now in both time systems (Open MCT ignores one that is not
   *  newer than the last, or before the bounds, in the active time system). */
  stalenessResponse(isStale) {
    const now = Date.now();
    return { isStale, [UTC_KEY]: now, [MET_KEY]: now - this.epochMs };
  }

  subscribeToStaleness(domainObject, callback) {
    const packet = domainObject.touchdown.packet;
    const entry = { callback, last: undefined };
    if (!this.staleness.has(packet)) {
      this.staleness.set(packet, new Set());
    }
    this.staleness.get(packet).add(entry);
    this.notifyStaleness();
    return () => this.staleness.get(packet).delete(entry);
  }

  packetIsStale(packet) {
    const link = this.feed.link;
    if (!this.feed.connected || !link) {
      return true;
    }
    return link.status !== 'OK' || link.stale_packets.includes(packet);
  }

  notifyStaleness() {
    for (const [packet, entries] of this.staleness) {
      const isStale = this.packetIsStale(packet);
      for (const entry of entries) {
        if (entry.last !== isStale) {
          entry.last = isStale;
          entry.callback(this.stalenessResponse(isStale));
        }
      }
    }
  }
}

/** Open MCT's datum for a value at t (s since the epoch): UTC and MET, both in ms. */
export function datum(epochMs, t, value) {
  return { [UTC_KEY]: epochMs + t * 1000, [MET_KEY]: t * 1000, value, t };
}

/** The limit a value breaks, as Open MCT's limit evaluators answer (undefined: nominal): the
 *  gravest of the dictionary's `severities` (a Severities) whose range it is outside. */
export function evaluateLimits(p, value, severities) {
  if (value === null || value === undefined || Number.isNaN(value)) {
    return undefined;
  }
  const state = p.enumeration[String(value)];
  if (state !== undefined) {
    const severity = p.alarms[state];
    return severity && { cssClass: `is-limit--${severities.color(severity)}`, name: state };
  }
  for (const severity of [...severities.order].reverse()) {
    const range = p.limits[severity];
    if (range && (value < range[0] || value > range[1])) {
      const upper = value > range[1];
      return {
        cssClass: `is-limit--${upper ? 'upr' : 'lwr'} is-limit--${severities.color(severity)}`,
        name: `${severity} ${upper ? 'high' : 'low'}`,
        low: upper ? range[1] : -Infinity,
        high: upper ? Infinity : range[0]
      };
    }
  }
  return undefined;
}
