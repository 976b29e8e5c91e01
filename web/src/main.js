// The app's shell: sign-in, then a hash router over the pages. Operator pages are shown to administrators only.
import './style.css';
import { api, closeJobEvents, onSignedOut, session, toast } from './api.js';
import { renderEpisodes } from './episodes.js';
import { renderEpisode } from './episode.js';
import { renderDashboard } from './dashboard.js';
import { renderShows } from './shows.js';
import { renderAccount, renderSignIn, renderUsers } from './account.js';

const main = document.getElementById('main');
let leave = null;

function showNav(signedIn) {
  const admin = signedIn && session.me.user.is_admin;
  for (const a of document.querySelectorAll('[data-nav]')) {
    const forAdmin = a.dataset.nav === 'dashboard' || a.dataset.nav === 'users';
    a.hidden = !signedIn || (forAdmin && !admin);
  }
}

async function signOut(everywhere) {
  await (everywhere ? api.post('/api/v1/me/sign-out-everywhere') : api.del('/api/v1/session')).catch(() => {});
  showSignIn();
}

function showSignIn() {
  if (leave) leave();
  leave = null;
  session.me = null;
  closeJobEvents();
  showNav(false);
  document.body.dataset.page = 'signin';
  renderSignIn(main, start);
}

function route() {
  if (!session.me) return;
  if (leave) leave();
  leave = null;
  const hash = window.location.hash || '#/';
  const episode = hash.match(/^#\/episodes\/([A-Za-z0-9_]+)$/);
  const admin = session.me.user.is_admin;
  let page = 'episodes';
  if (episode) {
    leave = renderEpisode(main, episode[1]);
    page = 'episode';
  } else if (hash === '#/dashboard' && admin) {
    leave = renderDashboard(main);
    page = 'dashboard';
  } else if (hash === '#/users' && admin) {
    renderUsers(main);
    page = 'users';
  } else if (hash === '#/shows') {
    leave = renderShows(main);
    page = 'shows';
  } else if (hash === '#/account') {
    renderAccount(main, signOut);
    page = 'account';
  } else {
    leave = renderEpisodes(main);
  }
  for (const a of document.querySelectorAll('[data-nav]')) {
    if (a.dataset.nav === page) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  document.body.dataset.page = page;
}

// Who is signed in; the sign-in form when nobody is.
async function start() {
  try {
    session.me = await api.get('/api/v1/me');
  } catch {
    showSignIn();
    return;
  }
  showNav(true);
  route();
}

// A one-time link (/signin?token=…) signs in once; the token leaves the address bar at once.
async function boot() {
  const token = window.location.pathname === '/signin' && new URLSearchParams(window.location.search).get('token');
  if (token) {
    window.history.replaceState(null, '', '/#/account');
    try {
      await api.post('/api/v1/session', { link: token });
      toast('Signed in. Set a password here to sign in again later.');
    } catch (err) {
      toast(err.message, 'error');
    }
  }
  onSignedOut(showSignIn);
  document.getElementById('sign-out').addEventListener('click', () => signOut(false));
  await start();
}

window.addEventListener('hashchange', route);
boot();
