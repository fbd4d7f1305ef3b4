// Mission-elapsed time (MET): the one time base of the ground archive is seconds since the
// scenario epoch (`/api/flight` epoch_utc); UTC = epoch + MET. Open MCT gets it as a time system
// of its own, `met`, beside `utc`: both in milliseconds (MET ms since the epoch, UTC ms since
// 1970), so every datum carries both and the time conductor can show either.

export const MET_KEY = 'met';
export const UTC_KEY = 'utc';

/** Open MCT's time system for mission-elapsed time (values: ms since the scenario epoch). */
export const MET_TIME_SYSTEM = Object.freeze({
  key: MET_KEY,
  name: 'MET (T+)',
  cssClass: 'icon-clock',
  timeFormat: MET_KEY,
  durationFormat: 'duration',
  isUTCBased: false
});

/** Mission-elapsed milliseconds as T+mm:ss.s, minutes counting on past the hour (T- before the
 *  epoch): the notation of the CLI and the report (touchdown.timefmt.mission_clock), so a time
 *  reads the same everywhere; '—' for no time. */
export function formatMet(ms) {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  const tenths = Math.round(Math.abs(ms) / 100); // rounded first: 59.96 s is 01:00.0
  const sign = ms < 0 && tenths > 0 ? '-' : '+';
  const m = Math.floor(tenths / 600);
  const s = ((tenths % 600) / 10).toFixed(1).padStart(4, '0');
  return `T${sign}${String(m).padStart(2, '0')}:${s}`;
}

const MET_PATTERN = /^\s*T?\s*([+\-−])?\s*(?:(\d+)\s*d\s*)?(?:(\d+):)?(\d+):(\d+(?:\.\d*)?)\s*$/i;

/** The inverse of formatMet: 'T+72:22.3', 'T-00:05.0', and also 'T+01:02:03.4', 'T+1d 02:03:04.5'
 *  (minutes:seconds) -> ms; NaN where the text is not a mission-elapsed time. */
export function parseMet(text) {
  if (typeof text === 'number') return text;
  const m = MET_PATTERN.exec(String(text));
  if (!m) return NaN;
  const [, sign, days, hours, minutes, seconds] = m;
  if (hours !== undefined && Number(minutes) > 59) return NaN;
  if (Number(seconds) >= 60) return NaN;
  const s = Number(days ?? 0) * 86400 + Number(hours ?? 0) * 3600 + Number(minutes) * 60 +
    Number(seconds);
  return Math.round((sign === '-' || sign === '−' ? -s : s) * 1000);
}

/** Open MCT's format for the `met` time system and for MET telemetry values. */
export class MetTimeFormat {
  constructor() {
    this.key = MET_KEY;
  }

  format(value) {
    return value === undefined ? value : formatMet(value);
  }

  parse(text) {
    return parseMet(text);
  }

  validate(text) {
    return Number.isFinite(parseMet(text));
  }
}

/** Archive seconds since the epoch (MET) as text: T+mm:ss.s. */
export function metText(t) {
  return t === null || t === undefined ? '—' : formatMet(t * 1000);
}

/** Archive seconds since the epoch as UTC text, for titles: 2023-04-25 16:40:00.0 UTC. */
export function utcText(epochMs, t) {
  if (t === null || t === undefined || !Number.isFinite(t)) return '';
  const d = new Date(Math.round(epochMs + t * 1000));
  if (Number.isNaN(d.getTime())) return '';
  const iso = d.toISOString(); // 2023-04-25T16:40:00.123Z
  return `${iso.slice(0, 10)} ${iso.slice(11, 21)} UTC`;
}

/** Seconds since the epoch from a bound or datum time in time system `key`. */
export function secondsFrom(key, value, epochMs) {
  return key === MET_KEY ? value / 1000 : (value - epochMs) / 1000;
}

/** A time (ms) in time system `from` as the same instant in time system `to`. */
export function convertTime(value, from, to, epochMs) {
  if (from === to) return value;
  if (from === UTC_KEY && to === MET_KEY) return value - epochMs;
  if (from === MET_KEY && to === UTC_KEY) return value + epochMs;
  return value;
}

/** Conductor bounds in time system `from` as the same span in time system `to`. */
export function convertBounds(bounds, from, to, epochMs) {
  return {
    start: convertTime(bounds.start, from, to, epochMs),
    end: convertTime(bounds.end, from, to, epochMs)
  };
}

/** A feed that was closed (the server dropped the page as too slow to read, or went away)
 *  missed what was sent meanwhile, which the archive has. A new connection first gets where
 *  things stand: the clock (live), then the link. Once that link message is in, the clock is
 *  current again and the time bounds are set afresh (not as a clock's tick): every view asks
 *  for its window again. `time` is Open MCT's time API. */
export function askAgainAfterReconnecting(time, feed) {
  let missed = false;
  feed.on('connection', (connected) => {
    if (!connected) missed = true;
  });
  feed.on('link', () => {
    if (!missed || !feed.connected) return;
    missed = false;
    if (time.isRealTime()) {
      time.setClockOffsets(time.getClockOffsets());
    } else {
      time.setBounds(time.getBounds());
    }
  });
}
