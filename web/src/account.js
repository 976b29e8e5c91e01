// Signing in, the signed-in user's account (password, API keys, sign-out) and, for administrators, the users and
// the audit log.
import { api, el, session, toast } from './api.js';

// The sign-in form; `done` runs once signed in.
export function renderSignIn(root, done) {
  const name = el('input', { id: 'signin-name', name: 'username', autocomplete: 'username', required: true });
  const password = el('input', { id: 'signin-password', name: 'password', type: 'password',
    autocomplete: 'current-password', required: true });
  const error = el('p', { class: 'error', role: 'alert' });
  const form = el('form', { class: 'panel signin', onsubmit: async (e) => {
    e.preventDefault();
    error.textContent = '';
    try {
      await api.post('/api/v1/session', { name: name.value.trim(), password: password.value });
      done();
    } catch (err) {
      error.textContent = err.message;
    }
  } },
  el('h1', {}, 'Sign in'),
  el('label', { for: 'signin-name' }, 'Name'), name,
  el('label', { for: 'signin-password' }, 'Password'), password,
  el('button', { type: 'submit', class: 'primary' }, 'Sign in'), error,
  el('p', { class: 'hint' }, 'No password yet? Ask your administrator for a sign-in link, or run '),
  el('code', {}, 'podpromo user link NAME'), ' on the server.');
  root.replaceChildren(form);
  name.focus();
}

function keyRow(k, reload) {
  const live = !k.revoked_at;
  return el('tr', {},
    el('td', {}, el('code', {}, `pp_${k.prefix}`)), el('td', {}, k.name || '–'), el('td', {}, k.scopes),
    el('td', {}, k.last_used_at ? new Date(k.last_used_at).toLocaleString() : 'never'),
    el('td', {}, live ? el('button', { class: 'danger', onclick: async () => {
      await api.del(`/api/v1/keys/${k.prefix}`).catch((e) => toast(e.message, 'error'));
      reload();
    } }, 'Revoke') : 'revoked'));
}

function passwordForm() {
  const current = el('input', { id: 'pw-current', type: 'password', autocomplete: 'current-password' });
  const next = el('input', { id: 'pw-new', type: 'password', autocomplete: 'new-password', minlength: 12, required: true });
  const note = el('p', { role: 'status' });
  return el('form', { class: 'panel', onsubmit: async (e) => {
    e.preventDefault();
    try {
      const answer = await api.put('/api/v1/me/password', { current: current.value, password: next.value });
      if (answer?.csrf_token) session.me = { ...session.me, csrf_token: answer.csrf_token, has_password: true };
      current.value = '';
      next.value = '';
      note.textContent = 'Password changed. Your other sessions were signed out.';
    } catch (err) {
      note.textContent = err.message;
    }
  } },
  el('h2', {}, session.me.has_password ? 'Change password' : 'Set a password'),
  session.me.has_password ? [el('label', { for: 'pw-current' }, 'Current password'), current] : null,
  el('label', { for: 'pw-new' }, 'New password (12 characters or more)'), next,
  el('button', { type: 'submit' }, 'Save password'), note);
}

function keysPanel() {
  const rows = el('tbody');
  const shown = el('div', { class: 'new-key' });
  const name = el('input', { id: 'key-name', placeholder: 'e.g. publishing script' });
  const scopes = ['read', 'write', 'render'].map((s) => el('input', { type: 'checkbox', value: s, checked: true,
    id: `scope-${s}` }));
  const reload = async () => {
    const { items } = await api.get('/api/v1/keys');
    rows.replaceChildren(...items.map((k) => keyRow(k, reload)));
  };
  const create = el('form', { onsubmit: async (e) => {
    e.preventDefault();
    try {
      const made = await api.post('/api/v1/keys', { name: name.value,
        scopes: scopes.filter((c) => c.checked).map((c) => c.value).join(',') });
      const code = el('code', { class: 'secret', 'data-key': made.key }, made.key);
      shown.replaceChildren(el('p', {}, 'Your new key, shown this once:'), code,
        el('button', { type: 'button', onclick: () => navigator.clipboard?.writeText(made.key)
          .then(() => toast('Copied'), () => toast('Select the key and copy it', 'error')) }, 'Copy'));
      reload();
    } catch (err) {
      toast(err.message, 'error');
    }
  } }, el('label', { for: 'key-name' }, 'Name'), name,
  el('fieldset', {}, el('legend', {}, 'Scopes'),
    scopes.map((c) => el('label', { for: c.id }, c, ` ${c.value}`))),
  el('button', { type: 'submit' }, 'Create key'));
  reload().catch((e) => toast(e.message, 'error'));
  return el('section', { class: 'panel' }, el('h2', {}, 'API keys'),
    el('p', { class: 'hint' }, 'Send a key as "Authorization: Bearer <key>". It is stored only as a hash.'),
    create, shown, el('div', { class: 'scroll' }, el('table', { class: 'keys' }, el('thead', {}, el('tr', {},
      ['Key', 'Name', 'Scopes', 'Last used', ''].map((h) => el('th', { scope: 'col' }, h)))), rows)));
}

export function renderAccount(root, signOut) {
  root.replaceChildren(el('h1', {}, 'Account'),
    el('p', {}, `Signed in as ${session.me.user.name}${session.me.user.is_admin ? ' (administrator)' : ''}.`),
    passwordForm(), keysPanel(),
    el('section', { class: 'panel' }, el('h2', {}, 'Sessions'),
      el('button', { onclick: () => signOut(false) }, 'Sign out'), ' ',
      el('button', { class: 'danger', onclick: () => signOut(true) }, 'Sign out everywhere')));
}

function usersPanel() {
  const rows = el('tbody');
  const reload = async () => {
    const { items } = await api.get('/api/v1/users');
    rows.replaceChildren(...items.map((u) => el('tr', {}, el('td', {}, u.name),
      el('td', {}, u.is_admin ? 'administrator' : 'member'), el('td', {}, u.disabled ? 'disabled' : 'active'),
      el('td', {}, u.disabled || u.name === session.me.user.name ? '' : [
        el('button', { onclick: async () => {
          const link = await api.post(`/api/v1/users/${u.name}/link`);
          toast(`One-time link for ${u.name}: ${window.location.origin}${link.path}`);
        } }, 'Sign-in link'), ' ',
        el('button', { class: 'danger', onclick: async () => {
          await api.post(`/api/v1/users/${u.name}/disable`).catch((e) => toast(e.message, 'error'));
          reload();
        } }, 'Disable')]))));
  };
  const name = el('input', { id: 'user-name', required: true });
  const password = el('input', { id: 'user-password', type: 'password', minlength: 12, required: true,
    autocomplete: 'new-password' });
  const admin = el('input', { id: 'user-admin', type: 'checkbox' });
  reload().catch((e) => toast(e.message, 'error'));
  return el('section', { class: 'panel' }, el('h2', {}, 'Users'),
    el('form', { onsubmit: async (e) => {
      e.preventDefault();
      try {
        await api.post('/api/v1/users', { name: name.value.trim(), password: password.value, admin: admin.checked });
        name.value = '';
        password.value = '';
        reload();
      } catch (err) {
        toast(err.message, 'error');
      }
    } }, el('label', { for: 'user-name' }, 'Name'), name,
    el('label', { for: 'user-password' }, 'First password'), password,
    el('label', { for: 'user-admin' }, admin, ' Administrator'), el('button', { type: 'submit' }, 'Add user')),
    el('div', { class: 'scroll' }, el('table', {}, el('thead', {}, el('tr', {},
      ['Name', 'Role', 'State', ''].map((h) => el('th', { scope: 'col' }, h)))), rows)));
}

function auditPanel() {
  const rows = el('tbody');
  api.get('/api/v1/admin/audit?limit=100').then(({ items }) => rows.replaceChildren(...items.map((a) =>
    el('tr', {}, el('td', {}, new Date(a.at).toLocaleString()), el('td', {}, a.actor), el('td', {}, a.action),
      el('td', {}, a.target), el('td', {}, a.outcome), el('td', {}, a.address))))).catch((e) => toast(e.message, 'error'));
  return el('section', { class: 'panel' }, el('h2', {}, 'Audit log'), el('div', { class: 'scroll' },
    el('table', {}, el('thead', {}, el('tr', {},
      ['When', 'Who', 'What', 'On', 'Outcome', 'From'].map((h) => el('th', { scope: 'col' }, h)))), rows)));
}

export function renderUsers(root) {
  root.replaceChildren(el('h1', {}, 'Users'), usersPanel(), auditPanel());
}
