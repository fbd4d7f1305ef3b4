// The alarm list as Yamcs keeps alarms: for each, what triggered it (severity, value, time), the
// most severe it reached, where it is now (or when it went back to normal), who acknowledged it
// (when, why), whether it is shelved (until when) and whether it was cleared; with the actions
// acknowledge, shelve, unshelve and clear (as the user signed in, with a comment: the server
// takes who acts from the session and refuses, with its reason, when nobody is signed in or the
// role may not), and the alarm history, for one alarm or all, as a chronological list. Times are
// T+ (MET); the UTC is in each time's title.
import { api } from './feed.js';
import { metText, utcText } from './time.js';
import { ALARMS_TYPE } from './objects.js';
import { element, view } from './views.js';

const REFRESH_MS = 5000;

/** Shelve durations offered (MET s; the server takes 1 s .. 1 day). */
export const SHELVE_DURATIONS = [
  [300, '5 min'],
  [900, '15 min'],
  [3600, '1 h'],
  [4 * 3600, '4 h'],
  [86400, '24 h']
];

const ACTION_TITLE = {
  acknowledge: 'Acknowledge: you have seen it (you, signed in, and a comment go into the history)',
  shelve: 'Shelve: hide it from the active alarms for a time you choose',
  unshelve: 'Unshelve: show it among the active alarms again',
  clear: 'Clear: close it (a new violation raises a new alarm)'
};

const sev = (severity) => (severity ? String(severity).toUpperCase() : '—');
const quoted = (comment) => (comment ? `: “${comment}”` : '');

/** A parameter's value as the dictionary writes it: an enumeration by name (the server's
 *  state_text first), a number with its unit; null is NaN (no reading). */
export function valueText(value, parameter, stateText) {
  if (stateText !== null && stateText !== undefined && stateText !== '') return String(stateText);
  if (value === null || value === undefined) return 'NaN';
  const p = parameter;
  if (p && Object.keys(p.enumeration ?? {}).length) {
    return p.enumeration[String(value)] ?? String(value);
  }
  const v = Number(value);
  let text;
  if (!Number.isFinite(v)) text = String(value);
  else if (Number.isInteger(v)) text = String(v);
  else text = v.toFixed(Math.abs(v) >= 10 ? 1 : 2);
  return `${text}${p && p.unit && p.unit !== '-' ? ` ${p.unit}` : ''}`;
}

/** Onboard time where the alarm has one (it lines up with the plots), else the ground one. */
const when = (onboard, received) => (onboard ?? received ?? null);

/** The lines of one alarm (contract JSON `a`, dictionary entry `p`), Yamcs' columns in order:
 *  [{key, label, text, t}] where t is the time (MET s) the line is about (for its UTC title). */
export function alarmLines(a, p) {
  const st = a.state_text ?? {};
  const lines = [];
  const reached = (key, label, severity, value, t) => lines.push({
    key, label, text: `${sev(severity)} ${valueText(value, p, st[key])} at ${metText(t)}`, t
  });
  reached('trigger', 'Trigger', a.trigger_severity, a.trigger_value,
    when(a.t_trigger_onboard, a.t_trigger));
  reached('most_severe', 'Most severe', a.severity, a.most_severe_value,
    when(a.t_most_severe_onboard, a.t_most_severe));
  const tCurrent = when(a.t_current_onboard, a.t_current);
  const current = a.current_value === undefined ? null : a.current_value;
  if (a.current_severity) {
    reached('current', 'Current', a.current_severity, current, tCurrent);
  } else {
    const tReturned = a.t_returned ?? tCurrent;
    const now = current === null && !st.current ? '' : ` (${valueText(current, p, st.current)})`;
    lines.push({
      key: 'current',
      label: 'Current',
      text: `back to normal at ${metText(tReturned)}${now}`,
      t: tReturned
    });
  }
  const acknowledged = a.acknowledged || (a.t_acknowledged ?? null) !== null;
  lines.push(
    acknowledged
      ? {
          key: 'acknowledged',
          label: 'Acknowledged',
          text: `${a.acknowledged_by ?? '?'} at ${metText(a.t_acknowledged)}` +
            quoted(a.ack_comment),
          t: a.t_acknowledged
        }
      : { key: 'acknowledged', label: 'Acknowledged', text: 'not yet', t: null }
  );
  if (a.shelved) {
    lines.push({
      key: 'shelved',
      label: 'Shelved',
      text: `until ${metText(a.shelved_until)} by ${a.shelved_by ?? '?'}` +
        quoted(a.shelve_comment),
      t: a.shelved_until
    });
  }
  if (a.t_cleared !== null && a.t_cleared !== undefined) {
    lines.push({
      key: 'cleared',
      label: 'Cleared',
      text: `by ${a.cleared_by ?? '?'} at ${metText(a.t_cleared)}`,
      t: a.t_cleared
    });
  }
  return lines;
}

/** The alarm's state in one word or two, as a chip beside its name. */
export function alarmState(a) {
  if (!a.active) return 'CLEARED';
  if (a.shelved) return 'SHELVED';
  const normal = a.current_severity ? '' : ' · back to normal';
  return `${a.acknowledged ? 'ACKNOWLEDGED' : 'UNACKNOWLEDGED'}${normal}`;
}

/** Which actions an alarm offers now. */
export function alarmActions(a) {
  if (!a.active) return [];
  const actions = [];
  if (!a.acknowledged) actions.push('acknowledge');
  actions.push(a.shelved ? 'unshelve' : 'shelve');
  actions.push('clear');
  return actions;
}

const KIND_TEXT = {
  triggered: 'triggered',
  escalated: 'escalated to',
  deescalated: 'de-escalated to',
  returned: 'back to normal',
  acknowledged: 'acknowledged',
  shelved: 'shelved',
  unshelved: 'unshelved',
  shelve_expired: 'shelve expired',
  cleared: 'cleared'
};

/** One alarm-history entry as a line: its time (MET s) and what happened. */
export function historyLine(entry, p) {
  const t = when(entry.t_onboard, entry.t_received);
  const kind = KIND_TEXT[entry.kind] ?? entry.kind;
  let what;
  if (['triggered', 'escalated', 'deescalated'].includes(entry.kind)) {
    what = `${kind} ${sev(entry.severity)} ${valueText(entry.value, p, entry.state_text)}`;
  } else if (entry.kind === 'returned') {
    const v = entry.value === null || entry.value === undefined ? '' :
      ` (${valueText(entry.value, p, entry.state_text)})`;
    what = `${kind}${v}`;
  } else {
    what = `${kind}${entry.by ? ` by ${entry.by}` : ''}${quoted(entry.comment)}`;
  }
  return { t, time: metText(t), parameter: entry.parameter, text: what };
}

/** Alarm-history entries in the order the ground learnt of them (receive time; ties as the
 *  server gave them). */
export function chronological(entries) {
  const t = (e) => e.t_received ?? e.t_onboard ?? -Infinity;
  return entries.map((e, i) => [e, i]).sort(([a, i], [b, j]) => t(a) - t(b) || i - j)
    .map(([e]) => e);
}

/** Alarms in the order the list shows them: active first, the gravest (by the dictionary's
 *  `severities`, a Severities) then the newest. */
export function sortAlarms(alarms, severities) {
  return [...alarms].sort(
    (a, b) =>
      Number(b.active) - Number(a.active) ||
      Number(!b.acknowledged && b.active) - Number(!a.acknowledged && a.active) ||
      severities.rank(b.severity) - severities.rank(a.severity) ||
      (b.t_trigger ?? 0) - (a.t_trigger ?? 0) ||
      b.id - a.id
  );
}

// ---------------------------------------------------------------- the view

function timeTitle(epochMs, t, tReceived) {
  const parts = [];
  if (t !== null && t !== undefined) parts.push(utcText(epochMs, t));
  if (tReceived !== null && tReceived !== undefined && tReceived !== t) {
    parts.push(`received ${metText(tReceived)} (${utcText(epochMs, tReceived)})`);
  }
  return parts.join(' · ');
}

const RECEIVED = {
  trigger: 't_trigger',
  most_severe: 't_most_severe',
  current: 't_current'
};

export function alarmsView(feed, parameters, severities, epochMs) {
  const byName = new Map(parameters.map((p) => [p.name, p]));
  return view('touchdown.alarms', 'Alarm list', 'icon-alert-triangle', ALARMS_TYPE, (root) => {
    const summary = element('span', { class: 'td-alarm-summary' });
    const historyButton = element('button', {
      class: 'c-button td-history-toggle',
      text: 'History',
      title: 'The alarm history: every alarm’s changes and the operators’ actions, in order'
    });
    const list = element('div', { class: 'td-alarm-list' });
    const historyPanel = element('div', { class: 'td-alarm-history', hidden: '' });
    const note = element('div', { class: 'td-note' });
    root.append(
      element('div', { class: 'td-view td-scroll td-alarms-view' }, [
        element('div', { class: 'td-toolbar' }, [summary, historyButton]),
        note,
        list,
        historyPanel
      ])
    );
    const cards = new Map(); // alarm id -> {root, body, slot, alarm}
    let alive = true;

    historyButton.addEventListener('click', () => {
      const show = historyPanel.hidden;
      historyPanel.hidden = !show;
      list.hidden = show;
      historyButton.classList.toggle('is-on', show);
      historyButton.textContent = show ? 'Alarms' : 'History';
      if (show) loadHistory(historyPanel, '/api/alarm-history', 'history');
    });

    async function loadHistory(panel, path, key, single = false, quiet = false) {
      if (!quiet) {
        panel.replaceChildren(element('div', { class: 'td-note', text: 'Loading the history…' }));
      }
      let rows;
      let complete = true;
      try {
        if (single) {
          rows = (await api.getJSON(path)).history ?? [];
        } else {
          ({ rows, complete } = await api.pages(path, key, {}, { maxPages: 20 }));
        }
      } catch (error) {
        panel.replaceChildren(element('div', { class: 'td-note td-error', text: error.message }));
        return;
      }
      const lines = chronological(rows).map((e) =>
        ({ e, line: historyLine(e, byName.get(e.parameter)) }));
      const table = element('table', { class: 'td-history' }, [
        element('tbody', {}, lines.map(({ e, line }) =>
          element('tr', { class: `td-h-${e.kind}`, 'data-kind': e.kind }, [
            element('td', {
              class: 'td-time',
              text: line.time,
              title: timeTitle(epochMs, line.t, e.t_received)
            }),
            ...(single ? [] : [element('td', { class: 'td-param', text: line.parameter })]),
            element('td', {
              class: `td-what td-sev-${severities.color(e.severity) ?? 'none'}`,
              text: line.text
            })
          ])
        ))
      ]);
      const footer = rows.length === 0 ? 'No alarm history.' :
        complete ? `${rows.length} entries, oldest first.` :
          `The first ${rows.length} entries, oldest first (more in the archive).`;
      panel.replaceChildren(table, element('div', { class: 'td-note', text: footer }));
    }

    /** Who the actions will be done as, in an open form's words. */
    function actingAs() {
      const state = api.state;
      if (state?.readOnly) return 'read-only archive: nobody acts here';
      if (!state?.user) return 'not signed in: sign in (top right) to act';
      return `as ${state.user}`;
    }

    function openForm(card, action) {
      const a = card.alarm;
      const comment = element('input', {
        name: 'comment',
        type: 'text',
        placeholder: action === 'unshelve' ? '' : 'comment (optional)',
        'aria-label': 'Comment'
      });
      const as = element('span', { class: 'td-form-as', text: actingAs() });
      const fields = [as];
      let duration = null;
      if (action === 'shelve') {
        duration = element('select', { name: 'duration', 'aria-label': 'Shelve for' },
          SHELVE_DURATIONS.map(([s, label]) =>
            element('option', { value: String(s), text: label })));
        duration.value = '3600';
        fields.push(element('label', { text: 'for' }, [duration]));
      }
      if (action !== 'unshelve') fields.push(element('label', { text: 'Comment' }, [comment]));
      const label = action[0].toUpperCase() + action.slice(1);
      const submit = element('button', {
        type: 'submit',
        class: 'c-button c-button--major td-form-submit',
        text: label
      });
      const cancel = element('button', {
        type: 'button',
        class: 'c-button td-form-cancel',
        text: 'Cancel'
      });
      const message = element('span', { class: 'td-form-message', role: 'alert' });
      const form = element('form', { class: `td-alarm-form td-form-${action}` }, [
        ...fields,
        submit,
        cancel,
        message
      ]);
      cancel.addEventListener('click', () => card.slot.replaceChildren());
      form.addEventListener('submit', async (event) => {
        event.preventDefault();
        const body = {};
        if (action !== 'unshelve' && comment.value.trim()) body.comment = comment.value.trim();
        if (duration) body.duration_s = Number(duration.value);
        submit.disabled = true;
        message.textContent = '';
        try {
          await api.postJSON(`/api/alarms/${a.id}/${action}`, body);
          card.slot.replaceChildren();
        } catch (error) {
          message.textContent = error.serverMessage ?? error.message; // the server's reason
          submit.disabled = false;
          return;
        }
        refresh();
      });
      card.slot.replaceChildren(form);
      (action !== 'unshelve' ? comment : submit).focus();
    }

    function toggleAlarmHistory(card) {
      if (card.history.hidden) {
        card.history.hidden = false;
        loadHistory(card.history, `/api/alarms/${card.alarm.id}`, 'history', true);
      } else {
        card.history.hidden = true;
      }
    }

    function render(card) {
      const a = card.alarm;
      const p = byName.get(a.parameter);
      const color = severities.color(a.severity) ?? 'none';
      const state = alarmState(a);
      card.root.className =
        `td-alarm td-sev-${color} ${a.active ? 'is-active' : 'is-cleared'}` +
        `${a.acknowledged ? ' is-acknowledged' : ''}${a.shelved ? ' is-shelved' : ''}` +
        `${a.current_severity ? '' : ' is-normal'}`;
      const actions = alarmActions(a).map((action) => {
        const b = element('button', {
          class: `c-button td-act td-act-${action}`,
          text: action[0].toUpperCase() + action.slice(1),
          title: ACTION_TITLE[action]
        });
        b.addEventListener('click', () => openForm(card, action));
        return b;
      });
      const historyButton = element('button', {
        class: 'c-button td-act td-act-history',
        text: 'History',
        title: 'This alarm’s history'
      });
      historyButton.addEventListener('click', () => toggleAlarmHistory(card));
      const head = element('div', { class: 'td-alarm-head' }, [
        element('span', { class: 'td-sev', text: sev(a.severity), title: 'Most severe' }),
        element('span', { class: 'td-param', text: a.parameter, title: p?.description ?? '' }),
        element('span', { class: 'td-state', text: state })
      ]);
      const grid = element('dl', { class: 'td-alarm-lines' },
        alarmLines(a, p).flatMap((line) => [
          element('dt', { text: line.label }),
          element('dd', {
            class: `td-line-${line.key}`,
            text: line.text,
            title: timeTitle(epochMs, line.t, a[RECEIVED[line.key]])
          })
        ]));
      card.body.replaceChildren(
        element('div', { class: 'td-alarm-main' }, [head, grid]),
        element('div', { class: 'td-actions' }, [...actions, historyButton])
      );
    }

    function cardFor(a) {
      let card = cards.get(a.id);
      if (!card) {
        const body = element('div', { class: 'td-alarm-body' });
        const slot = element('div', { class: 'td-alarm-slot' });
        const hist = element('div', { class: 'td-alarm-own-history', hidden: '' });
        const rootEl = element('div', {
          'data-parameter': a.parameter,
          'data-alarm-id': String(a.id)
        }, [body, slot, hist]);
        card = { root: rootEl, body, slot, history: hist, alarm: a };
        cards.set(a.id, card);
      }
      card.alarm = a;
      return card;
    }

    let loading = null;
    let again = false;
    async function refresh() {
      if (loading) {
        again = true; // one more once this one is done: the newest state wins
        return loading;
      }
      loading = (async () => {
        try {
          const { rows, complete } = await api.pages('/api/alarms', 'alarms', {}, { maxPages: 10 });
          if (!alive) return;
          const alarms = sortAlarms(rows, severities);
          const seen = new Set();
          const order = alarms.map((a) => {
            const card = cardFor(a);
            seen.add(a.id);
            render(card);
            return card.root;
          });
          for (const id of [...cards.keys()]) if (!seen.has(id)) cards.delete(id);
          list.replaceChildren(...order); // moves the cards: open forms keep what was typed
          const active = alarms.filter((a) => a.active);
          const unack = active.filter((a) => !a.acknowledged).length;
          summary.textContent = alarms.length
            ? `${active.length} active, ${unack} unacknowledged, ` +
              `${alarms.length - active.length} cleared`
            : 'No alarms.';
          note.textContent = complete ? '' :
            `The first ${alarms.length} alarms the server gave; the archive holds more.`;
          if (!historyPanel.hidden) {
            await loadHistory(historyPanel, '/api/alarm-history', 'history', false, true);
          }
          note.classList.remove('td-error');
        } catch (error) {
          note.textContent = `alarms unavailable: ${error.message}`;
          note.classList.add('td-error');
        }
      })();
      await loading;
      loading = null;
      if (again && alive) {
        again = false;
        refresh();
      }
    }

    refresh();
    const off = feed.on('alarms', () => refresh());
    const offSession = api.onSession(() => {
      for (const as of root.querySelectorAll('.td-form-as')) as.textContent = actingAs();
    });
    const timer = setInterval(refresh, REFRESH_MS);
    return () => {
      alive = false;
      off();
      offSession();
      clearInterval(timer);
    };
  });
}
