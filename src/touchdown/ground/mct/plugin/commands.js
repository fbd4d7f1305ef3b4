// The command panel: pick a command of the command dictionary (GET /api/commands/dictionary:
// its significance, description, effect, flight rules), fill its arguments as the dictionary
// says (a list for enumerated ones, a number in its range and unit for the others; a value the
// dictionary refuses blocks sending and says why), and send it: a normal command with Send, a
// critical one with Arm (queued and armed), then Execute, then a flight director's Approve (a
// second person). Below, the command history, newest first and polled every second: each
// command's stages with their T+ times, who and why, and what may be done to it now (Execute,
// Approve, Override a flight rule with a reason, Cancel before release); the whole history as
// CSV. Above, the command link (GET /api/uplink: the FOP, the lander's CLCW) and, when the FOP
// has stopped, the COP-1 directives that bring it back (Unlock, Set V(R), Resume). The server decides (the session's user and role; auth.py, commanding.py) and its words
// are shown when it refuses; the panel disables what the one signed in may not do, saying why.
import { api } from './feed.js';
import { COMMANDS_TYPE } from './objects.js';
import { metText, utcText } from './time.js';
import { element, view } from './views.js';

export const POLL_MS = 1000; // the history asked for again (ms)

/** What each role may do, least first: touchdown.ground.users.ROLES (a test keeps them equal). */
export const ROLES = {
  viewer: [],
  operator: ['alarms', 'commands'],
  flight_director: ['alarms', 'commands', 'approve', 'override']
};

const ROLE_NAME = { viewer: 'viewer', operator: 'operator', flight_director: 'flight director' };
const roleName = (role) => ROLE_NAME[role] ?? role;
const withArticle = (role) => `${/^[aeiou]/.test(roleName(role)) ? 'an' : 'a'} ${roleName(role)}`;

/** Whether `role` may do `permission` ('commands', 'approve', 'override'). */
export function may(role, permission) {
  return (ROLES[role] ?? []).includes(permission);
}

/** The roles that may do `permission`, in words: 'an operator or a flight director'. */
export function rolesThatMay(permission) {
  return Object.keys(ROLES).filter((r) => may(r, permission)).map(withArticle).join(' or ');
}

/** Why the session (`state`: {user, role, readOnly}, as GroundApi keeps it) may not do
 *  `permission` (`what`: 'send commands'), in the server's manner; null when it may. */
export function refusal(state, permission, what) {
  if (!state) return 'asking the ground server who is signed in…';
  if (state.readOnly) return 'read-only archive: nobody acts here';
  if (!state.user) {
    return `not signed in: sign in (top right) as ${rolesThatMay(permission)} to ${what}`;
  }
  if (!may(state.role, permission)) {
    return `signed in as ${state.user}, ${withArticle(state.role)}: ` +
      `${withArticle(state.role)} may not ${what}; sign in as ${rolesThatMay(permission)}`;
  }
  return null;
}

/** Why nothing can be sent from this page now (`uplink`: the dictionary's flag), or null. */
export function sendBlock(state, uplink) {
  if (!uplink) return 'no uplink here: commands go to a live flight';
  return refusal(state, 'commands', 'send commands');
}

/** A warning while the lander cannot be heard (`link`: the feed's newest link message):
 *  sending is not stopped, but a command may not arrive and nothing would verify it; null
 *  while the link is OK. */
export function linkWarning(link, connected) {
  if (!connected) return 'no ground server connection: the history may be out of date';
  if (!link || link.status === 'UNAVAIL') {
    return 'no signal from the lander yet: a command sent now may not arrive (the Earth may be ' +
      'below its horizon), and no telemetry would verify it';
  }
  if (link.status === 'FAILED') {
    return `${link.los ? `LOS at ${metText(link.los.t_los)}` : 'loss of signal'}: a command sent ` +
      'now may not arrive, and no telemetry would verify it';
  }
  return null;
}

/** The command link in a line (GET /api/uplink): the FOP running or stopped and why, and the
 *  lander's last CLCW (from the telemetry frames' OCF). {text, stopped}. */
export function uplinkText(status) {
  if (!status?.uplink) return { text: '', stopped: false };
  const fop = status.alert ? `Uplink STOPPED: ${status.alert}` : 'Uplink running';
  const queue = `${status.outstanding} unacknowledged, ${status.waiting} waiting`;
  const c = status.clcw;
  const flags = c ? ['lockout', 'wait', 'retransmit'].filter((f) => c[f]) : [];
  const lander = c
    ? `lander V(R) ${c.report_value}${flags.length ? ` (${flags.join(', ')})` : ''} at ` +
      metText(c.t)
    : 'no CLCW from the lander yet';
  return { text: `${fop} · ${queue} · ${lander}`, stopped: Boolean(status.alert) };
}

/** The COP-1 directives an operator may give now (POST /api/uplink/{directive}): Unlock while
 *  the lander reports lockout, Set V(R) to the lander's while the FOP is stopped for another
 *  reason, Resume while stopped. [{directive, label, value?, enabled, why}]. */
export function uplinkDirectives(status, state) {
  if (!status?.uplink || !status.alert) return [];
  const block = refusal(state, 'commands', 'direct the uplink');
  const c = status.clcw;
  const out = [];
  if (c?.lockout) {
    out.push({ directive: 'unlock', label: 'Unlock',
      why: block ?? 'radiate an Unlock: the lander accepts sequence-controlled frames again' });
  } else if (c) {
    out.push({ directive: 'set_vr', label: `Set V(R) ${c.report_value}`, value: c.report_value,
      why: block ?? `both ends number from ${c.report_value}; frames unacknowledged are dropped` });
  }
  out.push({ directive: 'resume', label: 'Resume',
    why: block ?? 'clear the alert: the FOP sends again, resending what is unacknowledged' });
  return out.map((d) => ({ ...d, enabled: block === null }));
}

// ---------------------------------------------------------------- arguments

// the bounds of the dictionary's integer types (telemetry/dictionary.py TYPES), where an
// argument gives no range of its own
const INTEGER_BOUNDS = {
  u1: [0, 255],
  u2: [0, 65535],
  u4: [0, 4294967295],
  i1: [-128, 127],
  i2: [-32768, 32767],
  i4: [-2147483648, 2147483647]
};

const unitText = (unit) => (unit && unit !== '-' ? unit : '');

/** How an argument is asked for: {kind: 'select', options} for an enumerated one, else
 *  {kind: 'number', min, max, step, unit, hint} ('[lo, hi] unit'). */
export function argumentControl(arg) {
  if (arg.states?.length) return { kind: 'select', options: [...arg.states] };
  const whole = !String(arg.type).startsWith('f');
  const [min, max] = arg.range ?? INTEGER_BOUNDS[arg.type] ?? [-Infinity, Infinity];
  const unit = unitText(arg.unit);
  const span = Number.isFinite(min) || Number.isFinite(max) ? `[${min}, ${max}]` : 'any number';
  return {
    kind: 'number', min, max, step: whole ? '1' : 'any', unit,
    hint: `${span}${unit ? ` ${unit}` : ''}${whole ? ', whole' : ''}`
  };
}

/** An argument's value from what was typed or chosen: {value} or {error} (what it must be, as
 *  the server's check says it: telecommands.raw_arguments). */
export function parseArgument(arg, text) {
  const raw = String(text ?? '').trim();
  const control = argumentControl(arg);
  if (control.kind === 'select') {
    if (raw === '') return { error: `choose a ${arg.name}` };
    if (!control.options.includes(raw)) {
      return { error: `${arg.name} must be one of ${control.options.join(', ')}, got '${raw}'` };
    }
    return { value: raw };
  }
  const unit = control.unit ? ` ${control.unit}` : '';
  if (raw === '') return { error: `give ${arg.name} (${control.hint})` };
  const value = Number(raw);
  if (!Number.isFinite(value)) {
    return { error: `${arg.name} must be a number${control.unit ? ` (${control.unit})` : ''}, ` +
      `got '${raw}'` };
  }
  if (control.step === '1' && !Number.isInteger(value)) {
    return { error: `${arg.name} must be a whole number, got ${raw}` };
  }
  if (value < control.min || value > control.max) {
    return { error: `${arg.name} must be within [${control.min}, ${control.max}]${unit}, got ` +
      `${raw}` };
  }
  return { value };
}

/** A command's arguments from the form's texts by name: {arguments, errors} (errors by name;
 *  none: it may be sent). */
export function checkArguments(command, texts) {
  const args = {};
  const errors = {};
  for (const arg of command.arguments) {
    const { value, error } = parseArgument(arg, texts[arg.name]);
    if (error) errors[arg.name] = error;
    else args[arg.name] = value;
  }
  return { arguments: args, errors };
}

/** Arguments as one line: 'policy=terrain_aware' ('' for none). */
export function argumentsText(args) {
  return Object.entries(args ?? {}).map(([k, v]) => `${k}=${v}`).join(' ');
}

/** The flight rules that may block a command ({name, condition, reason}). */
export function rulesFor(rules, name) {
  return (rules ?? []).filter((r) => r.commands.includes(name));
}

// ---------------------------------------------------------------- the history

const stageName = (s) => s.stage ?? s.name; // the history says `stage`, a POST's answer `name`

const STATE_TEXT = {
  queued: 'QUEUED',
  armed: 'ARMED',
  approval: 'WAITING FOR APPROVAL',
  blocked: 'BLOCKED BY A FLIGHT RULE',
  released: 'RELEASED',
  sent: 'SENT',
  radiated: 'RADIATED',
  received: 'RECEIVED ONBOARD',
  executed: 'EXECUTED',
  failed: 'FAILED ONBOARD',
  effect: 'EFFECT SEEN',
  timed_out: 'TIMED OUT',
  cancelled: 'CANCELLED'
};

/** Where a command stands (`command`: its dictionary entry, for its verifiers): 'waiting' (for
 *  a person), 'blocked', 'flying' (released, not yet verified), 'done' (every verifier held),
 *  'failed' (refused onboard or timed out) or 'cancelled'. */
export function commandPhase(record, command) {
  const state = record.state;
  if (state === 'cancelled') return 'cancelled';
  if (state === 'failed' || state === 'timed_out') return 'failed';
  if (state === 'blocked') return 'blocked';
  if (['queued', 'armed', 'approval'].includes(state)) return 'waiting';
  const reached = new Set(record.stages.map(stageName));
  const verifiers = command?.verifiers ?? [];
  if (state === 'effect' || (verifiers.length && verifiers.every((v) => reached.has(v.stage)))) {
    return 'done';
  }
  return 'flying';
}

/** The state chip's words. */
export function stateText(record) {
  return STATE_TEXT[record.state] ?? String(record.state).toUpperCase();
}

/** A stage's detail as the panel shows it: onboard times (s since the epoch, as the server
 *  writes them) as T+, and a blocked stage's rules by name (the command's note gives their
 *  reasons). The CSV export keeps the server's words. */
export function detailText(stage, detail) {
  const text = detail || '';
  if (stage === 'blocked') return text.split(' | ').map((part) => part.split(':')[0]).join(', ');
  return text.replace(/\b(onboard(?: at)?) (-?\d+(?:\.\d+)?) s\b/g,
    (_, words, t) => `${words} ${metText(Number(t))}`);
}

/** One line per stage: {stage, t, time (T+), by, detail}. */
export function stageLines(record) {
  return record.stages.map((s) => ({
    stage: stageName(s), t: s.t, time: metText(s.t), by: s.by || '',
    detail: detailText(stageName(s), s.detail)
  }));
}

/** Who executed a critical command (the `approval` stage's user), or null. */
export function executedBy(record) {
  const s = record.stages.find((x) => stageName(x) === 'approval');
  return s ? s.by || null : null;
}

const ACTION = {
  arm: ['Arm', 'arm commands'],
  execute: ['Execute', 'execute commands'],
  approve: ['Approve', 'approve critical commands'],
  override: ['Override…', 'override flight rules'],
  cancel: ['Cancel', 'cancel commands']
};

/** What may be done to a command now, for the session `state`: [{action, label, enabled,
 *  why}] (why: the reason it is disabled, or what it does). Approve and Override are offered to
 *  flight directors only (the others read who may in the command's note); approving a command
 *  one executed oneself is the two-person rule's refusal. Without an `uplink` (a recorded
 *  flight's archive) nothing is offered: its commands are history. */
export function commandActions(record, state, uplink = true) {
  const out = [];
  if (!uplink) return out;
  const offer = (action, permission, title) => {
    const why = refusal(state, permission, ACTION[action][1]);
    out.push({ action, label: ACTION[action][0], enabled: why === null, why: why ?? title });
  };
  const s = record.state;
  if (s === 'queued' && record.significance === 'critical') {
    offer('arm', 'commands', 'Arm it: then Execute it, then a flight director approves it');
  }
  if (s === 'armed') {
    offer('execute', 'commands', 'Execute it: it waits for a flight director’s approval');
  }
  if (s === 'approval' && state?.user && may(state.role, 'approve')) {
    const by = executedBy(record);
    if (by !== null && by === state.user) {
      out.push({ action: 'approve', label: 'Approve', enabled: false,
        why: `${by} executed it: a second person must approve it (two-person rule)` });
    } else {
      offer('approve', 'approve', 'Approve it: it is released to the lander (flight rules ' +
        'permitting)');
    }
  }
  if (s === 'blocked' && state?.user && may(state.role, 'override')) {
    offer('override', 'override', 'Override the flight rule and release it: say why');
  }
  if (['queued', 'armed', 'approval', 'blocked'].includes(s)) {
    offer('cancel', 'commands', 'Withdraw it: it is never sent');
  }
  return out;
}

/** A line saying what a command waits for, or why it is blocked ('' for none). */
export function commandNote(record, state) {
  const last = record.stages.at(-1);
  switch (record.state) {
    case 'queued':
      return record.significance === 'critical' ? 'queued: arm it, then execute it' : '';
    case 'armed':
      return `armed by ${last?.by || '?'}: execute it, then a flight director approves it`;
    case 'approval': {
      const by = executedBy(record) ?? '?';
      return `executed by ${by}: waiting for a flight director other than ${by} to approve it ` +
        '(two-person rule)';
    }
    case 'blocked':
      return `${last?.detail ?? ''}${state?.user && may(state.role, 'override') ? '' :
        ' (a flight director may override it, saying why)'}`;
    default:
      return '';
  }
}

// ---------------------------------------------------------------- the view

export function commandsView(feed, epochMs) {
  return view('touchdown.commands', 'Commands', 'icon-command', COMMANDS_TYPE, (root) => {
    const summary = element('span', { class: 'td-cmd-summary' });
    const csv = element('a', {
      class: 'c-button td-cmd-csv', href: '/api/commands.csv', download: 'commands.csv',
      text: 'Export CSV', title: 'Every stage of every command, one row each (CSV)'
    });
    const banner = element('div', { class: 'td-cmd-banner', hidden: '' });
    const who = element('div', { class: 'td-cmd-as' });
    const select = element('select', { name: 'command', 'aria-label': 'Command' });
    const info = element('div', { class: 'td-cmd-info' });
    const argsBox = element('div', { class: 'td-cmd-args' });
    const send = element('button', { type: 'submit', class: 'c-button c-button--major td-cmd-send',
      text: 'Send' });
    const message = element('div', { class: 'td-cmd-message', role: 'alert' });
    const why = element('div', { class: 'td-cmd-why' });
    const warning = element('div', { class: 'td-cmd-link' });
    const uplinkLine = element('span', { class: 'td-cmd-uplink-text' });
    const uplinkButtons = element('span', { class: 'td-cmd-uplink-actions' });
    const uplinkBox = element('div', { class: 'td-cmd-uplink', hidden: '' },
      [uplinkLine, uplinkButtons]);
    const form = element('form', { class: 'td-cmd-compose' }, [
      who,
      uplinkBox,
      warning,
      element('label', { class: 'td-cmd-pick' }, [element('span', { text: 'Command' }), select]),
      info,
      argsBox,
      element('div', { class: 'td-cmd-buttons' }, [send, why]),
      message
    ]);
    const list = element('div', { class: 'td-cmd-list' });
    const note = element('div', { class: 'td-note' });
    root.append(element('div', { class: 'td-view td-scroll td-commands-view' }, [
      element('div', { class: 'td-cmd-panel' }, [
        banner,
        form,
        element('div', { class: 'td-toolbar td-cmd-history-bar' }, [
          element('span', { class: 'td-cmd-history-title', text: 'History' }), summary, csv
        ]),
        note,
        list
      ])
    ]));

    let dictionary = null; // GET /api/commands/dictionary
    let byName = new Map();
    let inputs = new Map(); // argument name -> {input, error}
    const cards = new Map(); // command id -> {root, body, slot, key, record}
    let alive = true;
    let sending = false;

    function chosen() {
      return byName.get(select.value) ?? null;
    }

    function showCommand() {
      const c = chosen();
      message.textContent = '';
      inputs = new Map();
      form.classList.toggle('is-critical', c?.significance === 'critical');
      if (!c) {
        info.replaceChildren();
        argsBox.replaceChildren();
        update();
        return;
      }
      const rules = rulesFor(dictionary.rules, c.name);
      info.replaceChildren(
        element('div', { class: 'td-cmd-title' }, [
          element('span', {
            class: `td-badge td-badge-${c.significance}`,
            text: c.significance === 'critical' ? 'CRITICAL · two people' : 'NORMAL',
            title: c.significance === 'critical'
              ? 'Critical: an operator arms and executes it, a flight director approves it'
              : 'Normal: sent at once (flight rules permitting)'
          }),
          element('span', { class: 'td-cmd-desc', text: c.description })
        ]),
        element('div', { class: 'td-cmd-effect', text: c.effect }),
        ...rules.map((r) => element('div', {
          class: 'td-cmd-rule',
          text: `Flight rule ${r.name}: blocked while ${r.condition.replaceAll(',', ', ')}`,
          title: r.reason
        }))
      );
      argsBox.replaceChildren(...c.arguments.map((arg) => {
        const control = argumentControl(arg);
        let input;
        if (control.kind === 'select') {
          input = element('select', { name: arg.name, 'aria-label': arg.name }, [
            element('option', { value: '', text: `— choose ${arg.name} —` }),
            ...control.options.map((s) => element('option', { value: s, text: s }))
          ]);
        } else {
          input = element('input', {
            name: arg.name, type: 'number', step: control.step, 'aria-label': arg.name,
            placeholder: control.hint,
            ...(Number.isFinite(control.min) ? { min: String(control.min) } : {}),
            ...(Number.isFinite(control.max) ? { max: String(control.max) } : {})
          });
        }
        const error = element('span', { class: 'td-cmd-arg-error' });
        inputs.set(arg.name, { input, error });
        input.addEventListener('input', update);
        input.addEventListener('change', update);
        return element('label', { class: 'td-cmd-arg', title: arg.description }, [
          element('span', { class: 'td-cmd-arg-name', text: arg.name }),
          input,
          element('span', { class: 'td-cmd-arg-unit',
            text: control.kind === 'number' ? control.hint : arg.description }),
          error
        ]);
      }));
      update();
    }

    /** The form's state: which button, enabled or not, and why not. */
    function update() {
      const c = chosen();
      const block = dictionary ? sendBlock(api.state, dictionary.uplink) : 'loading…';
      who.textContent = api.state?.user && !api.state.readOnly
        ? `Signed in as ${api.state.user} (${roleName(api.state.role)})` : '';
      send.textContent = c?.significance === 'critical' ? 'Arm' : 'Send';
      send.title = c?.significance === 'critical'
        ? 'Queue and arm it; then Execute it in the history; a flight director approves it'
        : 'Send it now (flight rules permitting)';
      let reason = block;
      if (!reason && !c) reason = 'choose a command';
      if (c) {
        const texts = Object.fromEntries([...inputs].map(([k, v]) => [k, v.input.value]));
        const { errors } = checkArguments(c, texts);
        for (const [name, { input, error }] of inputs) {
          const touched = input.value !== '';
          error.textContent = touched ? (errors[name] ?? '') : '';
          input.classList.toggle('is-invalid', touched && Boolean(errors[name]));
        }
        const first = Object.keys(errors)[0];
        if (!reason && first) {  // (an error shown beside its field is named only)
          reason = inputs.get(first)?.input.value ? `fix ${first} (above)` : errors[first];
        }
      }
      send.disabled = sending || reason !== null;
      why.textContent = reason ?? '';
      // (said to those who may send: a reason not to, or to send again later)
      warning.textContent = dictionary?.uplink && !block
        ? (linkWarning(feed.link, feed.connected) ?? '') : '';
    }

    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const c = chosen();
      if (!c || send.disabled) return;
      const texts = Object.fromEntries([...inputs].map(([k, v]) => [k, v.input.value]));
      const checked = checkArguments(c, texts);
      if (Object.keys(checked.errors).length) return update();
      sending = true;
      update();
      message.classList.remove('is-ok');
      message.textContent = c.significance === 'critical' ? 'Arming…' : 'Sending…';
      try {
        let record = await api.postJSON('/api/commands', { name: c.name,
          arguments: checked.arguments });
        const label = `command ${record.id} (${c.name})`;
        if (c.significance === 'critical') {
          try {
            record = await api.postJSON(`/api/commands/${record.id}/arm`, {});
            message.textContent = `${label} armed: Execute it below; then a flight director ` +
              'approves it';
          } catch (error) {
            message.textContent = `${label} queued, not armed: ` +
              `${error.serverMessage ?? error.message}`;
            return;
          }
        } else {
          const last = record.stages.at(-1);
          message.textContent = record.state === 'blocked'
            ? `${label} blocked: ${last.detail}` : `${label} released: its stages below`;
        }
        message.classList.add('is-ok');
      } catch (error) {
        message.textContent = error.serverMessage ?? error.message; // the server's reason
      } finally {
        sending = false;
        update();
        refresh();
      }
    });
    select.addEventListener('change', showCommand);

    // ------------------------------------------------ the history

    async function act(card, action) {
      for (const b of card.body.querySelectorAll('.td-cmd-act')) b.disabled = true;
      try {
        await api.postJSON(`/api/commands/${card.record.id}/${action}`, {});
      } catch (error) {
        card.key = null;
        render(card, error.serverMessage ?? error.message); // the server's reason
        return;
      }
      card.key = null;
      refresh();
    }

    function openOverride(card) {
      const reason = element('input', { name: 'reason', type: 'text',
        placeholder: 'why the rule is overridden (kept in the audit log)',
        'aria-label': 'Reason' });
      const submit = element('button', { type: 'submit',
        class: 'c-button c-button--major td-form-submit', text: 'Override' });
      const cancel = element('button', { type: 'button', class: 'c-button td-form-cancel',
        text: 'Cancel' });
      const msg = element('span', { class: 'td-form-message', role: 'alert' });
      const f = element('form', { class: 'td-alarm-form td-cmd-override' }, [
        element('label', { text: 'Reason' }, [reason]), submit, cancel, msg
      ]);
      cancel.addEventListener('click', () => card.slot.replaceChildren());
      f.addEventListener('submit', async (event) => {
        event.preventDefault();
        if (!reason.value.trim()) {
          msg.textContent = 'say why the rule is overridden: the audit log keeps the reason';
          return;
        }
        submit.disabled = true;
        msg.textContent = '';
        try {
          await api.postJSON(`/api/commands/${card.record.id}/override`,
            { reason: reason.value.trim() });
          card.slot.replaceChildren();
          card.key = null;
        } catch (error) {
          msg.textContent = error.serverMessage ?? error.message;
          submit.disabled = false;
          return;
        }
        refresh();
      });
      card.slot.replaceChildren(f);
      reason.focus();
    }

    function render(card, refused = '') {
      const r = card.record;
      const state = api.state;
      const key = JSON.stringify([r.state, r.stages.length, state]);
      if (card.key === key && !refused) return;
      card.key = key;
      const command = byName.get(r.name);
      const phase = commandPhase(r, command);
      card.root.className = `td-cmd td-cmd-${phase} td-cmd-is-${r.significance}`;
      card.root.dataset.state = r.state;
      const actions = commandActions(r, state, dictionary?.uplink).map((a) => {
        const b = element('button', { type: 'button',
          class: `c-button td-cmd-act td-cmd-act-${a.action}`, text: a.label, title: a.why });
        b.disabled = !a.enabled;
        b.addEventListener('click', () => (a.action === 'override' ? openOverride(card)
          : act(card, a.action)));
        return b;
      });
      const noteText = commandNote(r, state);
      const stages = element('table', { class: 'td-cmd-stages' }, [
        element('tbody', {}, stageLines(r).map((line) =>
          element('tr', { class: `td-stage-${line.stage}`, 'data-stage': line.stage }, [
            element('td', { class: 'td-time', text: line.time, title: utcText(epochMs, line.t) }),
            element('td', { class: 'td-stage', text: line.stage }),
            element('td', { class: 'td-what',
              text: [line.by && `by ${line.by}`, line.detail].filter(Boolean).join(': ') })
          ])))
      ]);
      card.body.replaceChildren(
        element('div', { class: 'td-cmd-head' }, [
          element('span', { class: 'td-cmd-id', text: `#${r.id}` }),
          element('span', { class: 'td-cmd-name', text: r.name,
            title: command?.description ?? '' }),
          element('span', { class: 'td-cmd-argtext', text: argumentsText(r.arguments) }),
          element('span', { class: `td-badge td-badge-${r.significance}`,
            text: r.significance === 'critical' ? 'CRITICAL' : 'NORMAL' }),
          element('span', { class: 'td-cmd-state', text: stateText(r) })
        ]),
        ...(noteText ? [element('div', { class: `td-cmd-note td-cmd-note-${r.state}`,
          text: noteText })] : []),
        stages,
        ...(actions.length ? [element('div', { class: 'td-cmd-actions' }, [
          ...actions,
          element('span', { class: `td-cmd-act-message${refused ? ' td-error' : ''}`,
            role: 'alert', text: refused || (actions.find((a) => !a.enabled)?.why ?? '') })
        ])] : [])
      );
    }

    function cardFor(r) {
      let card = cards.get(r.id);
      if (!card) {
        const body = element('div', { class: 'td-cmd-body' });
        const slot = element('div', { class: 'td-cmd-slot' });
        const rootEl = element('div', { 'data-command-id': String(r.id), 'data-name': r.name },
          [body, slot]);
        card = { root: rootEl, body, slot, key: null, record: r };
        cards.set(r.id, card);
      }
      card.record = r;
      if (!['approval', 'blocked'].includes(r.state) && card.slot.firstChild) {
        card.slot.replaceChildren(); // an override form whose moment passed
      }
      return card;
    }

    let uplink = null; // GET /api/uplink
    let uplinkKey = null;
    function renderUplink(refused = '') {
      const { text, stopped } = uplinkText(uplink);
      const directives = uplinkDirectives(uplink, api.state);
      const key = JSON.stringify([text, directives]);
      if (key === uplinkKey && !refused) return;
      uplinkKey = key;
      uplinkBox.hidden = !text;
      uplinkBox.classList.toggle('is-stopped', stopped);
      uplinkLine.textContent = refused ? `${text} · ${refused}` : text;
      uplinkButtons.replaceChildren(...directives.map((d) => {
        const b = element('button', { type: 'button',
          class: `c-button td-cmd-uplink-${d.directive}`, text: d.label, title: d.why });
        b.disabled = !d.enabled;
        b.addEventListener('click', async () => {
          b.disabled = true;
          try {
            uplink = await api.postJSON(`/api/uplink/${d.directive}`,
              d.value === undefined ? {} : { value: d.value });
            uplinkKey = null;
            renderUplink();
          } catch (error) {
            uplinkKey = null;
            renderUplink(error.serverMessage ?? error.message);
          }
        });
        return b;
      }));
    }

    let loading = null;
    async function refresh() {
      if (!dictionary) return undefined; // load() asks once the dictionary is there
      if (loading) return loading; // one at a time: the next poll brings what came meanwhile
      loading = (async () => {
        try {
          const { rows, complete } = await api.pages('/api/commands', 'commands', {},
            { maxPages: 20 });
          if (!alive) return;
          const newest = [...rows].sort((a, b) => b.id - a.id);
          list.replaceChildren(...newest.map((r) => {
            const card = cardFor(r);
            render(card);
            return card.root;
          }));
          const waiting = rows.filter((r) => ['queued', 'armed', 'approval', 'blocked']
            .includes(r.state)).length;
          summary.textContent = rows.length
            ? `${rows.length} command${rows.length === 1 ? '' : 's'}` +
              (waiting ? `, ${waiting} not yet released` : '') : 'No commands yet.';
          note.textContent = complete ? '' :
            `The first ${rows.length} commands; the archive holds more (Export CSV has all).`;
          note.classList.remove('td-error');
          if (dictionary.uplink) {
            uplink = await api.getJSON('/api/uplink');
            if (alive) renderUplink();
          }
        } catch (error) {
          note.textContent = `command history unavailable: ${error.message}`;
          note.classList.add('td-error');
        }
      })();
      try {
        await loading;
      } finally {
        loading = null;
      }
    }

    async function load() {
      try {
        dictionary = await api.getJSON('/api/commands/dictionary');
      } catch (error) {
        banner.hidden = false;
        banner.textContent = `command dictionary unavailable: ${error.message}`;
        return;
      }
      if (!alive) return;
      byName = new Map(dictionary.commands.map((c) => [c.name, c]));
      const group = (significance, label) => element('optgroup', { label },
        dictionary.commands.filter((c) => c.significance === significance).map((c) =>
          element('option', { value: c.name, text: c.name, title: c.description })));
      select.replaceChildren(
        element('option', { value: '', text: '— choose a command —' }),
        group('normal', 'Normal: sent at once'),
        group('critical', 'Critical: armed, executed, approved by a flight director')
      );
      if (!dictionary.uplink) {
        banner.hidden = false;
        banner.textContent = 'This server has no uplink (a recorded flight): commands go to a ' +
          'live flight, `touchdown fly SCENARIO --live`. The history below is this archive’s.';
      }
      showCommand();
      refresh();
    }

    load();
    const offs = [
      api.onSession(() => {
        message.textContent = ''; // said to whoever was signed in before
        update();
        uplinkKey = null;
        renderUplink();
        for (const card of cards.values()) render(card);
      }),
      feed.on('link', update),
      feed.on('connection', update)
    ];
    const timer = setInterval(refresh, POLL_MS);
    return () => {
      alive = false;
      offs.forEach((off) => off());
      clearInterval(timer);
    };
  });
}
