// Who is signed in: the status-bar indicator (the user and role, or "Not signed in", with a
// Sign in / Sign out button) and the small sign-in form it opens (name, password). Reading
// needs nobody signed in; the alarm actions and commands need an operator or a flight director
// (approving a critical command, a flight director), and the server says so when it refuses
// (auth.py). The password goes to the server once, in the
// POST /api/login body, and is never kept by the page.
import { element } from './views.js';

const ROLE_NAME = {
  viewer: 'viewer',
  operator: 'operator',
  flight_director: 'flight director'
};

/** The indicator's words for a session state ({user, role, readOnly}, null before the server
 *  has said): {text, title, signedIn, canSignIn}. */
export function sessionText(state) {
  if (!state) {
    return { text: 'Session…', title: 'Asking the ground server who is signed in',
      signedIn: false, canSignIn: false };
  }
  if (state.readOnly) {
    return { text: 'Read-only archive', title: 'This server opened its archive read-only: ' +
      'nobody signs in or acts here', signedIn: false, canSignIn: false };
  }
  if (!state.user) {
    return { text: 'Not signed in',
      title: 'Anyone here may read; sign in to act on alarms and commands',
      signedIn: false, canSignIn: true };
  }
  const role = ROLE_NAME[state.role] ?? state.role;
  return { text: `${state.user} · ${role}`, title: `Signed in as ${state.user} (${role})`,
    signedIn: true, canSignIn: true };
}

/** The status-bar indicator and its sign-in form, over `api` (a GroundApi). */
export function installSessionIndicator(openmct, api) {
  const label = element('span', { class: 'td-session-user' });
  const button = element('button', { type: 'button', class: 'c-button td-session-button' });
  const root = element('div', { class: 'c-indicator td-session', 'aria-live': 'polite' },
    [element('span', { class: 'td-session-icon icon-person' }), label, button]);

  const name = element('input', { name: 'name', type: 'text', autocomplete: 'username',
    placeholder: 'name', required: '', 'aria-label': 'Name' });
  const password = element('input', { name: 'password', type: 'password',
    autocomplete: 'current-password', placeholder: 'password', required: '',
    'aria-label': 'Password' });
  const submit = element('button', { type: 'submit', class: 'c-button c-button--major',
    text: 'Sign in' });
  const cancel = element('button', { type: 'button', class: 'c-button', text: 'Cancel' });
  const message = element('div', { class: 'td-signin-message', role: 'alert' });
  const form = element('form', { class: 'td-signin', hidden: '' }, [
    element('div', { class: 'td-signin-title', text: 'Sign in to act on alarms and commands' }),
    element('label', { text: 'Name' }, [name]),
    element('label', { text: 'Password' }, [password]),
    element('div', { class: 'td-signin-buttons' }, [submit, cancel]),
    message
  ]);
  document.body.append(form);

  function render(state) {
    const s = sessionText(state);
    label.textContent = s.text;
    root.title = s.title;
    root.classList.toggle('is-signed-in', s.signedIn);
    button.textContent = s.signedIn ? 'Sign out' : 'Sign in';
    button.hidden = !s.canSignIn;
    if (s.signedIn || !s.canSignIn) close();
  }

  function open() {
    const rect = button.getBoundingClientRect();
    form.hidden = false;
    form.style.top = `${Math.round(rect.bottom + 6)}px`;
    form.style.left = `${Math.max(8, Math.round(rect.right - form.offsetWidth))}px`;
    message.textContent = '';
    (name.value ? password : name).focus();
  }

  function close() {
    form.hidden = true;
    password.value = '';
  }

  button.addEventListener('click', async () => {
    if (api.state?.user) {
      button.disabled = true;
      try {
        await api.logout();
      } catch (error) {
        root.title = `Sign-out failed: ${error.serverMessage ?? error.message}`;
      } finally {
        button.disabled = false;
      }
    } else if (form.hidden) {
      open();
    } else {
      close();
    }
  });
  cancel.addEventListener('click', close);
  form.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') close();
  });
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    submit.disabled = true;
    message.textContent = 'Signing in…';
    try {
      await api.login(name.value.trim(), password.value);
      close();
    } catch (error) {
      message.textContent = error.serverMessage ?? error.message;
      password.select();
    } finally {
      submit.disabled = false;
    }
  });

  api.onSession(render);
  render(api.state);
  api.session().catch((error) => {
    label.textContent = 'No session';
    root.title = error.message;
  });
  window.addEventListener('focus', () => api.session().catch(() => {})); // another tab's doing
  openmct.indicators.add({ key: 'touchdown.session', element: root,
    priority: openmct.priority.HIGH });
}
