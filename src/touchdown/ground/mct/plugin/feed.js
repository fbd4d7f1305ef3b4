// The ground server's realtime feed: one websocket for every view of the page. It hands out
// parameter values by name and the server's link, alarm and clock messages by type, and
// reconnects by itself when the server goes away and comes back.

const RECONNECT_MS = 1000;

export class GroundFeed {
  constructor(url) {
    this.url = url;
    this.byName = new Map(); // parameter name -> Set of callbacks(value message)
    this.byType = new Map(); // 'link' | 'alarms' | 'clock' | 'connection' -> Set of callbacks
    this.link = null; // the newest link message
    this.connected = false;
    this.connect();
  }

  connect() {
    const ws = new WebSocket(this.url);
    ws.onopen = () => this.setConnected(true);
    ws.onmessage = (event) => this.dispatch(JSON.parse(event.data));
    ws.onclose = () => {
      this.setConnected(false);
      setTimeout(() => this.connect(), RECONNECT_MS);
    };
    this.ws = ws;
  }

  setConnected(connected) {
    this.connected = connected;
    this.emit('connection', connected);
  }

  dispatch(message) {
    if (message.type === 'values') {
      for (const value of message.values) {
        const callbacks = this.byName.get(value.name);
        if (callbacks) {
          callbacks.forEach((callback) => callback(value));
        }
      }
      return;
    }
    if (message.type === 'link') {
      this.link = message;
    }
    this.emit(message.type, message);
  }

  emit(type, message) {
    const callbacks = this.byType.get(type);
    if (callbacks) {
      callbacks.forEach((callback) => callback(message));
    }
  }

  /** Call back with every new value of parameter `name`; returns the unsubscribe function. */
  onValue(name, callback) {
    return subscribe(this.byName, name, callback);
  }

  /** Call back with (first, second) when values of both parameters with the same time have
   *  come: two fields of one packet, `first` before `second` in the dictionary's order. */
  onPair(first, second, callback) {
    let pending = null;
    const off = [
      this.onValue(first, (v) => {
        pending = v;
      }),
      this.onValue(second, (v) => {
        if (pending && pending.t === v.t) {
          callback(pending, v);
        }
        pending = null;
      })
    ];
    return () => off.forEach((unsubscribe) => unsubscribe());
  }

  /** Call back with every message of a type ('link', 'alarms', 'clock', 'connection'). */
  on(type, callback) {
    return subscribe(this.byType, type, callback);
  }
}

function subscribe(map, key, callback) {
  if (!map.has(key)) {
    map.set(key, new Set());
  }
  map.get(key).add(callback);
  return () => map.get(key).delete(callback);
}

export async function getJSON(path, options) {
  const response = await fetch(path, options);
  const body = await response.json();
  if (!response.ok) {
    throw new Error(`${path}: ${body.error || response.status}`);
  }
  return body;
}

/** History of a parameter, [[t_onboard_s, value], ...] oldest first, between onboard times. */
export async function history(name, startS, endS, { limit, newest } = {}) {
  const query = new URLSearchParams();
  if (Number.isFinite(startS)) query.set('start', startS);
  if (Number.isFinite(endS)) query.set('end', endS);
  if (limit !== undefined) query.set('limit', limit);
  if (newest) query.set('newest', '1');
  const body = await getJSON(`/api/history/${encodeURIComponent(name)}?${query}`);
  return body.values;
}

/** History of two fields of one packet side by side, [[t, first, second], ...] oldest first. */
export async function pairedHistory(first, second, startS, endS) {
  const [a, b] = await Promise.all([history(first, startS, endS), history(second, startS, endS)]);
  const at = new Map(b);
  return a.filter(([t]) => at.has(t)).map(([t, v]) => [t, v, at.get(t)]);
}
