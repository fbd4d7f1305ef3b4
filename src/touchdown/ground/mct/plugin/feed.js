// The ground server's realtime feed: one websocket for every view of the page. It hands out
// parameter values by name and the server's link, alarm and clock messages by type, and
// reconnects by itself when the server goes away and comes back (or drops it as too slow). It
// subscribes to the parameters the page shows, not all of them: fewer values to read.

const RECONNECT_MS = 1000;

export class GroundFeed {
  constructor(url) {
    this.url = url;
    this.byName = new Map(); // parameter name -> Set of callbacks(value message)
    this.byType = new Map(); // 'link' | 'alarms' | 'clock' | 'connection' -> Set of callbacks
    this.link = null; // the newest link message
    this.connected = false;
    this.changes = null; // {subscribe: Set, unsubscribe: Set} waiting to be sent
    this.connect();
  }

  connect() {
    const ws = new WebSocket(this.url);
    ws.onopen = () => {
      this.changes = null;
      const names = [...this.byName.keys()];
      if (names.length) ws.send(JSON.stringify({ subscribe: names }));
      this.setConnected(true);
    };
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
    if (!this.byName.has(name)) this.change('subscribe', name);
    const off = subscribe(this.byName, name, callback);
    return () => {
      off();
      if (this.byName.get(name)?.size === 0) {
        this.byName.delete(name);
        this.change('unsubscribe', name);
      }
    };
  }

  /** Tell the server of a name (un)subscribed, with the others of this turn in one message. */
  change(kind, name) {
    if (!this.connected) return; // connecting sends every name
    if (this.changes === null) {
      this.changes = { subscribe: new Set(), unsubscribe: new Set() };
      queueMicrotask(() => {
        const { subscribe: sub, unsubscribe: unsub } = this.changes ?? {};
        this.changes = null;
        if (!this.connected || this.ws.readyState !== WebSocket.OPEN) return;
        if (unsub?.size) this.ws.send(JSON.stringify({ unsubscribe: [...unsub] }));
        if (sub?.size) this.ws.send(JSON.stringify({ subscribe: [...sub] }));
      });
    }
    const other = kind === 'subscribe' ? 'unsubscribe' : 'subscribe';
    this.changes[other].delete(name);
    this.changes[kind].add(name);
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

export const MAX_PAGES = 100; // pages of a list followed at most (a plot's span, an alarm history)

/** An answer that is not 2xx: `message` is `path: the server's words`; `serverMessage` the
 *  server's words alone (what a form shows), `status` the HTTP status, `refused` what the
 *  server says would cure it ('csrf', 'session', 'role', ...; see guard.py and auth.py). */
export class ApiError extends Error {
  constructor(path, status, body) {
    const words = body.error || `HTTP ${status}`;
    super(`${path}: ${words}`);
    this.status = status;
    this.serverMessage = words;
    this.refused = body.refused ?? null;
  }
}

/** The ground server's REST API: JSON in and out, the session's CSRF token for every POST,
 *  who is signed in (sign in and out), and lists that come in pages (`next` cursors).
 *  `fetchImpl` is the browser's fetch (tests give their own). */
export class GroundApi {
  constructor(fetchImpl = (...args) => fetch(...args)) {
    this.fetch = fetchImpl;
    this.token = null; // Promise of the session's CSRF token, asked for once per page
    this.state = null; // {user, role, readOnly}: who is signed in, once the server has said
    this.listeners = new Set();
    this.estimates = new Map(); // t_los -> Promise of GET /api/estimate
  }

  async getJSON(path, options) {
    const response = await this.fetch(path, options);
    return readJSON(path, response);
  }

  /** GET /api/session (once, or again with `renew`): it sets the session cookie and answers
   *  {"csrf_token", "user", "role", "read_only"}; resolves to the token. */
  csrfToken(renew = false) {
    if (renew || this.token === null) {
      const asked = this.getJSON('/api/session', { credentials: 'same-origin' }).then(
        (body) => {
          this.setSession(body);
          return body.csrf_token;
        },
        (error) => {
          if (this.token === asked) this.token = null; // ask again next time
          throw error;
        }
      );
      this.token = asked;
    }
    return this.token;
  }

  /** Who is signed in, asked of the server afresh: {user, role, readOnly}. */
  async session() {
    await this.csrfToken(true);
    return this.state;
  }

  /** Sign in: the server answers a new session and its token (the old one is void). */
  async login(name, password) {
    return this.takeSession(await this.postJSON('/api/login', { name, password }));
  }

  /** Sign out: a new, anonymous session and its token. */
  async logout() {
    return this.takeSession(await this.postJSON('/api/logout', {}));
  }

  takeSession(body) {
    this.token = Promise.resolve(body.csrf_token);
    this.setSession(body);
    return this.state;
  }

  /** Call back with {user, role, readOnly} whenever who is signed in changes; returns the
   *  unsubscribe function. */
  onSession(callback) {
    this.listeners.add(callback);
    return () => this.listeners.delete(callback);
  }

  setSession(body) {
    const next = { user: body.user ?? null, role: body.role ?? null,
      readOnly: Boolean(body.read_only) };
    const before = this.state;
    this.state = next;
    if (!before || before.user !== next.user || before.role !== next.role ||
        before.readOnly !== next.readOnly) {
      this.listeners.forEach((callback) => callback(next));
    }
  }

  /** POST a JSON body with the session's CSRF token. A token the server no longer takes (it
   *  restarted: `refused: 'csrf'`) is renewed once and the POST tried again; nobody signed in
   *  (401) asks the server who is, so the page shows it. Other refusals (a role that may not,
   *  403) are thrown as they are: an ApiError with the server's words. */
  async postJSON(path, body) {
    for (let attempt = 0; ; attempt++) {
      const token = await this.csrfToken(attempt > 0);
      const response = await this.fetch(path, {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': token },
        body: JSON.stringify(body)
      });
      const answer = await readBody(response);
      if (response.ok) return answer;
      if (response.status === 403 && answer.refused === 'csrf' && attempt === 0) continue;
      if (response.status === 401 && answer.refused === 'session') {
        this.csrfToken(true).catch(() => {});
      }
      throw new ApiError(path, response.status, answer);
    }
  }

  /** Every row of a paged list: GET path?query, then again with after=<next> while the server
   *  gives a `next` cursor, at most maxPages pages. Answers {rows, complete} (complete: false
   *  when it stopped at maxPages). `key` names the list in the answer ('alarms', 'values'...);
   *  a plain JSON array (a server before paging) is one whole page. */
  async pages(path, key, query = {}, { maxPages = MAX_PAGES } = {}) {
    const rows = [];
    let after = null;
    for (let page = 0; page < maxPages; page++) {
      const params = new URLSearchParams(query);
      if (after !== null) params.set('after', after);
      const q = params.toString();
      const body = await this.getJSON(q ? `${path}?${q}` : path);
      if (Array.isArray(body)) return { rows: body, complete: true };
      rows.push(...(body[key] ?? []));
      after = body.next ?? null;
      if (after === null || after === '') return { rows, complete: true };
    }
    return { rows, complete: false };
  }

  /** History of a parameter, [[t_s, value], ...] oldest first, between MET s (the whole span,
   *  page after page); with limit (and newest): one page of at most limit values. */
  async history(name, startS, endS, { limit, newest } = {}) {
    const query = {};
    if (Number.isFinite(startS)) query.start = startS;
    if (Number.isFinite(endS)) query.end = endS;
    const path = `/api/history/${encodeURIComponent(name)}`;
    if (limit !== undefined) {
      query.limit = limit;
      if (newest) query.newest = '1';
      return (await this.getJSON(`${path}?${new URLSearchParams(query)}`)).values;
    }
    return (await this.pages(path, 'values', query)).rows;
  }

  /** GET /api/estimate for the loss of signal at tLos (MET s): asked once, however many
   *  views show it (the banner, the map); a request that failed is made again next time. */
  estimate(tLos) {
    if (!this.estimates.has(tLos)) {
      const asked = this.getJSON('/api/estimate');
      asked.catch(() => this.estimates.delete(tLos));
      this.estimates.set(tLos, asked);
    }
    return this.estimates.get(tLos);
  }

  /** History of two fields of one packet side by side, [[t, first, second], ...] oldest first. */
  async pairedHistory(first, second, startS, endS) {
    const [a, b] = await Promise.all([
      this.history(first, startS, endS),
      this.history(second, startS, endS)
    ]);
    const at = new Map(b);
    return a.filter(([t]) => at.has(t)).map(([t, v]) => [t, v, at.get(t)]);
  }
}

async function readBody(response) {
  try {
    return (await response.json()) ?? {};
  } catch {
    return {};
  }
}

async function readJSON(path, response) {
  const body = await readBody(response);
  if (!response.ok) throw new ApiError(path, response.status, body);
  return body;
}

/** The page's one API client. */
export const api = new GroundApi();

export const getJSON = (path, options) => api.getJSON(path, options);
export const postJSON = (path, body) => api.postJSON(path, body);
export const estimate = (tLos) => api.estimate(tLos);
export const history = (name, startS, endS, options) => api.history(name, startS, endS, options);
export const pairedHistory = (first, second, startS, endS) =>
  api.pairedHistory(first, second, startS, endS);
